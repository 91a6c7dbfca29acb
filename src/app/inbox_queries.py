"""The webhook inbox as an administrator sees it (InboxService and `watemplates inbox`)."""

from __future__ import annotations

from app.auth import Principal
from app.inbox import ChangeState, DeliveryBacklog, InboxChange
from app.observability import InboxGauges
from app.paging import Page, PageTokenCodec, SizeOf, effective_page_size, fingerprint, fit_page
from app.ports import (
    UnitOfWorkFactory,
)
from domain.tenancy import Role


class InboxQueries:
    """The inbox as an administrator sees it: an organization's admin sees its WABAs' changes; the
    operator's CLI (principal None) sees every change, including those of unregistered WABAs."""

    def __init__(self, uow_factory: UnitOfWorkFactory, page_tokens: PageTokenCodec) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens

    async def changes(
        self,
        principal: Principal | None,
        states: frozenset[ChangeState],
        page_size: int,
        page_token: str,
        size_of: SizeOf[InboxChange] | None = None,
    ) -> Page[InboxChange]:
        if principal is not None:
            principal.require(Role.ADMIN)
        states = states or NEEDS_A_LOOK
        limit = effective_page_size(page_size)
        scope = principal.org_id if principal else None
        query_id = fingerprint("inbox", scope, states)
        after = self._page_tokens.decode(page_token, query_id, size=1)[0] if page_token else ""
        async with self._uow_factory(read_only=True) as uow:
            if principal is None:
                found = list(await uow.inbox.list_changes(states=states, after_id=after, limit=limit + 1))
            else:
                found = []
                for waba in await uow.wabas.list_for_org(principal.org_id):
                    found += await uow.inbox.list_changes(
                        states=states, waba_id=waba.waba_id, after_id=after, limit=limit + 1
                    )
                found.sort(key=lambda c: c.id)
        page, more = fit_page(found, limit, size_of)
        token = self._page_tokens.encode(query_id, [page[-1].id]) if more else ""
        return Page(page, token)

    async def gauges(self) -> InboxGauges:
        """The inbox's state for /metrics."""
        async with self._uow_factory(read_only=True) as uow:
            return await uow.inbox.gauges()

    async def backlog(self) -> DeliveryBacklog:
        """Deliveries not yet split into changes (the operator's CLI: every WABA, none named)."""
        async with self._uow_factory(read_only=True) as uow:
            return await uow.inbox.delivery_backlog()


NEEDS_A_LOOK = frozenset({ChangeState.DEAD, ChangeState.PARKED, ChangeState.SKIPPED})
