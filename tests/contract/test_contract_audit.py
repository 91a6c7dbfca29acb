"""The audit log behaves alike on every store: appended, filtered, newest first, per organization."""

from __future__ import annotations

from datetime import timedelta

from app.audit_ports import AuditEvent, AuditQuery
from app.ports import UnitOfWorkFactory
from support.store_samples import NOW, ORG_A, ORG_B


def event(event_id: str, minutes: int, org_id: str = ORG_A, **kwargs: str) -> AuditEvent:
    values = {
        "actor": "apiKeys/abc",
        "action": "CreateTemplate",
        "resource": "wabas/1/templates/a.en",
        "request_id": "",
    }
    values.update(kwargs)
    return AuditEvent(id=event_id, org_id=org_id, outcome="OK", at=NOW + timedelta(minutes=minutes), **values)


async def test_the_log_is_filtered_and_paged_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.audit.add_many(
            [
                event("e1", 1),
                event("e2", 2, actor="cli", action="AddWaba", resource="wabas/1"),
                event("e3", 3, action="DeleteTemplate"),
                event("e4", 4, org_id=ORG_B),
            ]
        )
        await uow.commit()
    async with uow_factory() as uow:

        async def ids(**kwargs: object) -> list[str]:
            return [e.id for e in await uow.audit.list(AuditQuery(ORG_A, **kwargs))]  # type: ignore[arg-type]

        assert await ids() == ["e3", "e2", "e1"]
        assert await ids(actor="cli") == ["e2"]
        assert await ids(action="DeleteTemplate") == ["e3"]
        assert await ids(resource="wabas/1/templates/a.en") == ["e3", "e1"]
        assert await ids(since=NOW + timedelta(minutes=2), until=NOW + timedelta(minutes=3)) == ["e2"]
        assert await ids(limit=1, after=(NOW + timedelta(minutes=3), "e3")) == ["e2"]
        [stored] = await uow.audit.list(AuditQuery(ORG_A, action="DeleteTemplate"))
        assert stored == event("e3", 3, action="DeleteTemplate")
