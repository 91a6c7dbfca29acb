"""Read side of message records: get one, list (AIP-158 paging, newest first), count deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.auth import Principal
from app.errors import NotFound
from app.handlers.templates import load_template
from app.listing import newest_first
from app.message_ports import DeliveryCounts, MessageQuery
from app.paging import Page, PageTokenCodec, SizeOf
from app.ports import UnitOfWork, UnitOfWorkFactory
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

        async def read(uow: UnitOfWork, query: MessageQuery) -> Sequence[OutboundMessage]:
            return await uow.messages.list(query)

        return await newest_first(
            self._uow_factory,
            self._page_tokens,
            "messages",
            principal,
            query,
            read,
            template=template,
            page_size=page_size,
            page_token=page_token,
            size_of=size_of,
        )

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
