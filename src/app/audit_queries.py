"""Read side of the audit log (admin)."""

from __future__ import annotations

from collections.abc import Sequence

from app.audit_ports import AuditEvent, AuditQuery
from app.auth import Principal
from app.listing import newest_first
from app.paging import Page, PageTokenCodec
from app.ports import UnitOfWork, UnitOfWorkFactory
from domain.tenancy import Role


class AuditQueries:
    def __init__(self, uow_factory: UnitOfWorkFactory, page_tokens: PageTokenCodec) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens

    async def events(
        self, principal: Principal, query: AuditQuery, page_size: int, page_token: str
    ) -> Page[AuditEvent]:
        principal.require(Role.ADMIN)

        async def read(uow: UnitOfWork, query: AuditQuery) -> Sequence[AuditEvent]:
            return await uow.audit.list(query)

        return await newest_first(
            self._uow_factory,
            self._page_tokens,
            "audit",
            principal,
            query,
            read,
            template=None,
            page_size=page_size,
            page_token=page_token,
        )
