"""PostgreSQL LISTEN/NOTIFY wakes an inbox worker in another process: a notification for stored
deliveries arrives when their transaction commits, never before, and none for a rollback."""

from __future__ import annotations

import asyncio

import pytest

from adapters.sql.notifications import INBOX_CHANNEL, PostgresListener
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from support.store_samples import delivery

pytestmark = pytest.mark.postgres
QUIET_SECONDS = 0.3


@pytest.fixture
def uow_factory(postgres_uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    return postgres_uow_factory


async def test_stored_deliveries_notify_listeners_at_commit(
    postgres_url: str, uow_factory: SqlUnitOfWorkFactory
) -> None:
    woken = asyncio.Queue[None]()
    stop = asyncio.Event()
    listener = PostgresListener(postgres_url, INBOX_CHANNEL, lambda: woken.put_nowait(None))
    listening = asyncio.create_task(listener.run(stop))
    try:
        await asyncio.wait_for(woken.get(), 10)  # once on connecting: anything sent before is gone

        async with uow_factory() as uow:
            await uow.inbox.add_deliveries([delivery(1)])
            await asyncio.sleep(QUIET_SECONDS)
            assert woken.empty(), "notified before the commit"
            await uow.rollback()
        await asyncio.sleep(QUIET_SECONDS)
        assert woken.empty(), "notified for a rolled-back transaction"

        async with uow_factory() as uow:
            await uow.inbox.add_deliveries([delivery(2), delivery(3)])
            await uow.commit()
        await asyncio.wait_for(woken.get(), 10)
    finally:
        stop.set()
        await asyncio.wait_for(listening, 10)
