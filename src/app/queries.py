"""Read side: get, list (AIP-158 paging), lint and render. Nothing here writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from app.auth import Principal
from app.errors import NotFound
from app.handlers.templates import load_template
from app.meta_ports import SendPayloads
from app.paging import PageTokenCodec, SizeOf, effective_page_size, fingerprint, fit_page
from app.ports import TemplateCursor, TemplateQuery, UnitOfWorkFactory
from app.resource_names import TemplateKey, waba_name
from app.template_cache import TemplateCache
from domain.components import TemplateDefinition
from domain.lint import LintReport, lint
from domain.rendering import RenderedMessage
from domain.templates import Template
from domain.tenancy import Role

# TemplateQuery fields that position a page rather than select what is listed.
_PAGING = ("after", "limit")


@dataclass(frozen=True, slots=True)
class TemplatePage:
    templates: Sequence[Template]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class Rendered:
    template: Template
    message: RenderedMessage
    # The `template` object of Meta's send request for this message.
    meta_template: Mapping[str, object]


class TemplateQueries:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        page_tokens: PageTokenCodec,
        send_payloads: SendPayloads,
        template_cache: TemplateCache | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens
        self._send_payloads = send_payloads
        self._cache = template_cache or TemplateCache(uow_factory)

    async def get(self, principal: Principal, key: TemplateKey) -> Template:
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            return await load_template(uow, principal, key)

    async def list(
        self,
        principal: Principal,
        query: TemplateQuery,
        page_size: int,
        page_token: str,
        size_of: SizeOf[Template] | None = None,
    ) -> TemplatePage:
        """`query.org_id` is replaced by the caller's organization; the cursor comes from the token."""
        principal.require(Role.VIEWER)
        limit = effective_page_size(page_size)
        query = replace(query, org_id=principal.org_id, after=None, limit=limit + 1)
        # Every parameter but the paging ones (AIP-158: a later page may change page_size), passed one
        # by one so fingerprint() sorts the sets; a dataclass repr lists them in per-process hash order.
        query_id = fingerprint(*(getattr(query, f.name) for f in fields(query) if f.name not in _PAGING))
        if page_token:
            name, language, template_id = self._page_tokens.decode(page_token, query_id, size=3)
            query = replace(query, after=TemplateCursor(name, language, template_id))
        async with self._uow_factory(read_only=True) as uow:
            if query.waba_id is not None:
                waba = await uow.wabas.get(query.waba_id)
                if waba is None or waba.org_id != principal.org_id:
                    raise NotFound("waba", waba_name(query.waba_id))
            found = list(await uow.templates.list(query))
        page, more = fit_page(found, limit, size_of)
        next_token = ""
        if more:
            last = page[-1]
            next_token = self._page_tokens.encode(query_id, [last.display_name, last.language_code, last.id])
        return TemplatePage(page, next_token)

    async def render(self, principal: Principal, key: TemplateKey, values: Mapping[str, str]) -> Rendered:
        principal.require(Role.VIEWER)
        template = (await self._cache.get(principal, key)).template
        message = template.render(values)
        return Rendered(
            template,
            message,
            self._send_payloads.template(template.display_name, template.language_code, message),
        )


def lint_definition(principal: Principal, definition: TemplateDefinition) -> LintReport:
    principal.require(Role.VIEWER)
    return lint(definition)
