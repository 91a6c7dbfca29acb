"""Every writer of template history takes PostgreSQL's history lock before any template row, so two
writers never wait for each other in a circle: a user's delete (history appended at its commit)
against a sync that took the history lock first, as SyncTemplates and the inbox worker do."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.bootstrap import publishing
from app.errors import ConcurrentModification
from support.store_samples import NOW, ORG_A, add_templates, new_template

pytestmark = pytest.mark.postgres
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.01


@pytest.fixture
def uow_factory(postgres_uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    return postgres_uow_factory


async def until_someone_waits_for_the_history_lock(factory: SqlUnitOfWorkFactory) -> None:
    query = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    for _ in range(int(WAIT_SECONDS / POLL_SECONDS)):
        async with factory(read_only=True) as uow:
            connection = uow.templates._connection  # type: ignore[attr-defined]  # the SQL adapter's
            if (await connection.execute(query)).scalar_one():
                return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError("nobody queued for the history lock")


async def test_a_delete_queues_behind_a_sync_instead_of_deadlocking(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))

    async def delete() -> None:
        async with publishing(uow_factory)() as deleting:
            mine = await deleting.templates.get(ORG_A, "tpl-1")
            assert mine is not None
            mine.mark_deleted(now=NOW + timedelta(days=1))
            await deleting.templates.delete(mine)
            await deleting.commit()

    async with uow_factory() as syncing:
        await syncing.template_events.reserve()  # SyncTemplates' first statement
        deleting = asyncio.create_task(delete())
        await until_someone_waits_for_the_history_lock(uow_factory)
        # The delete waits for the history lock without holding the template's row: the sync
        # writes it, and commits.
        theirs = await syncing.templates.get(ORG_A, "tpl-1")
        assert theirs is not None
        theirs.needs_sync = True
        await asyncio.wait_for(syncing.templates.update(theirs), WAIT_SECONDS)
        await syncing.commit()
    # Then the delete finds the template moved on, as any optimistic writer would: retry, not INTERNAL.
    with pytest.raises(ConcurrentModification) as refused:
        await asyncio.wait_for(deleting, WAIT_SECONDS)
    assert type(refused.value) is ConcurrentModification
