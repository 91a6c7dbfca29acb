"""Read side of message records: get one, list (AIP-158 paging, newest first), count deliveries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.auth import Principal
from app.errors import NotFound
from app.handlers.templates import load_template
from app.message_ports import DeliveryCounts, MessageCursor, MessageQuery
from app.paging import Page, PageTokenCodec, SizeOf, effective_page_size, fingerprint, fit_page
from app.ports import UnitOfWorkFactory
from app.resource_names import TemplateKey, message_name
from domain.messages import OutboundMessage
from domain.tenancy import Role


class MessageQueries:
    def __init__(self, uow_factory: UnitOfWorkFactory, page_tokens: PageTokenCodec) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens

    async def get(self, principal: Principal, message_id: str) -> OutboundMessage:
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            found = await uow.messages.get(principal.org_id, message_id)
        if found is None:
            raise NotFound("message", message_name(message_id))
        return found

    async def list(
        self,
        principal: Principal,
        query: MessageQuery,
        template: TemplateKey | None,
        page_size: int,
        page_token: str,
        size_of: SizeOf[OutboundMessage] | None = None,
    ) -> Page[OutboundMessage]:
        principal.require(Role.VIEWER)
        limit = effective_page_size(page_size)
        query = replace(query, org_id=principal.org_id, after=None, limit=limit + 1)
        async with self._uow_factory(read_only=True) as uow:
            if template is not None:
                query = replace(query, template_id=(await load_template(uow, principal, template)).id)
            query_id = fingerprint("messages", query)
            if page_token:
                created_at, message_id = self._page_tokens.decode(page_token, query_id, size=2)
                query = replace(query, after=MessageCursor(datetime.fromisoformat(created_at), message_id))
            found = list(await uow.messages.list(query))
        page, more = fit_page(found, limit, size_of)
        token = (
            self._page_tokens.encode(query_id, [page[-1].created_at.isoformat(), page[-1].id]) if more else ""
        )
        return Page(page, token)

    async def delivery_counts(
        self,
        principal: Principal,
        template: TemplateKey,
        created_from: datetime | None,
        created_before: datetime | None,
    ) -> DeliveryCounts:
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            found = await load_template(uow, principal, template)
            return await uow.messages.delivery_counts(
                principal.org_id, found.id, created_from, created_before
            )
