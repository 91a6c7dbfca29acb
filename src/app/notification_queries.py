"""Read side of notifications: the organization's channels and its notifications (AIP-158 paging)."""

from __future__ import annotations

from collections.abc import Sequence

from app.auth import Principal
from app.listing import newest_first
from app.notification_ports import NotificationQuery
from app.paging import Page, PageTokenCodec
from app.ports import UnitOfWork, UnitOfWorkFactory
from domain.notifications import Channel, Notification
from domain.tenancy import Role


class NotificationQueries:
    def __init__(self, uow_factory: UnitOfWorkFactory, page_tokens: PageTokenCodec) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens

    async def channels(self, principal: Principal) -> Sequence[Channel]:
        principal.require(Role.ADMIN)
        async with self._uow_factory(read_only=True) as uow:
            return await uow.channels.list_for_org(principal.org_id)

    async def notifications(
        self, principal: Principal, query: NotificationQuery, page_size: int, page_token: str
    ) -> Page[Notification]:
        principal.require(Role.VIEWER)

        async def read(uow: UnitOfWork, query: NotificationQuery) -> Sequence[Notification]:
            return await uow.notifications.list(query)

        return await newest_first(
            self._uow_factory,
            self._page_tokens,
            "notifications",
            principal,
            query,
            read,
            template=None,
            page_size=page_size,
            page_token=page_token,
        )
