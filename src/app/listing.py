"""The newest-first listings (messages, campaigns, notifications): one way to page them (AIP-158), keyset on
(created_at, id), optionally narrowed to one template; and reading all of an organization's templates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from app.auth import Principal
from app.handlers.templates import load_template
from app.paging import Page, PageTokenCodec, SizeOf, effective_page_size, fingerprint, fit_page
from app.ports import TemplateCursor, TemplateQuery, UnitOfWork, UnitOfWorkFactory
from app.resource_names import TemplateKey
from domain.templates import Template


class Listed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


T = TypeVar("T", bound=Listed)
# A frozen dataclass with org_id, template_id, after ((created_at, id) or None) and limit.
Q = TypeVar("Q", bound=Any)


async def newest_first(
    uow_factory: UnitOfWorkFactory,
    page_tokens: PageTokenCodec,
    listing: str,
    principal: Principal,
    query: Q,
    read: Callable[[UnitOfWork, Q], Awaitable[Sequence[T]]],
    *,
    template: TemplateKey | None,
    page_size: int,
    page_token: str,
    size_of: SizeOf[T] | None = None,
) -> Page[T]:
    limit = effective_page_size(page_size)
    query = replace(query, org_id=principal.org_id, after=None, limit=limit + 1)
    async with uow_factory(read_only=True) as uow:
        if template is not None:
            query = replace(query, template_id=(await load_template(uow, principal, template)).id)
        # The page size may change from page to page (AIP-158); what is listed may not.
        query_id = fingerprint(listing, replace(query, limit=0))
        if page_token:
            created_at, item_id = page_tokens.decode(page_token, query_id, size=2)
            query = replace(query, after=(datetime.fromisoformat(created_at), item_id))
        found = list(await read(uow, query))
    page, more = fit_page(found, limit, size_of)
    token = page_tokens.encode(query_id, [page[-1].created_at.isoformat(), page[-1].id]) if more else ""
    return Page(page, token)


# Templates read in pages of this many when all of them are wanted (a sync, a summary, a trend).
ALL_TEMPLATES_PAGE = 500


async def all_templates(uow: UnitOfWork, org_id: str, waba_id: str | None = None) -> list[Template]:
    """Every template of the organization (of one WABA when given), in the listing's order, read a
    page at a time so no single query returns an unbounded result."""
    found: list[Template] = []
    cursor: TemplateCursor | None = None
    while True:
        page = list(
            await uow.templates.list(
                TemplateQuery(org_id=org_id, waba_id=waba_id, after=cursor, limit=ALL_TEMPLATES_PAGE)
            )
        )
        found.extend(page)
        if len(page) < ALL_TEMPLATES_PAGE:
            return found
        last = page[-1]
        cursor = TemplateCursor(last.display_name, last.language_code, last.id)
