"""The inbox's gauges for /metrics, read from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.inbox import ChangeState
from app.observability import InboxGauges
from support.store_samples import NOW, change, delivery


async def test_gauges_count_the_changes_that_matter_and_find_the_oldest_waiting(
    sql_engine: SqlEngine,
) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)
    async with factory() as uow:
        assert await uow.inbox.gauges() == InboxGauges(changes={}, deliveries_pending=0)
        await uow.inbox.add_delivery(delivery(1))
        await uow.inbox.add_delivery(delivery(2))
        await uow.inbox.add_changes(
            [
                change(3, received_at=NOW - timedelta(minutes=9)),
                change(4, received_at=NOW - timedelta(minutes=2)),
                change(5, state=ChangeState.DEAD),
                change(6, state=ChangeState.DONE),
                change(7, state=ChangeState.PARKED),
            ]
        )
        await uow.commit()

    async with factory(read_only=True) as uow:
        gauges = await uow.inbox.gauges()

    assert gauges.changes == {"PENDING": 2, "DEAD": 1, "PARKED": 1}
    assert gauges.deliveries_pending == 2
    assert gauges.oldest_pending_received_at == NOW - timedelta(minutes=9)
