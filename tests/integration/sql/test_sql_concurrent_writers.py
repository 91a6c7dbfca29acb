"""Two transactions writing at once, which only PostgreSQL allows (SQLite has one writer: BEGIN
IMMEDIATE queues the second unit of work until the first ends, and the in-memory fake has no
isolation at all): claims skip each other's rows, a change being applied is waited for, unique
indexes see rows committed meanwhile, and a version check sees a row deleted meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.errors import AlreadyExists, ConcurrentModification
from app.inbox import ChangeState
from app.ports import AlertQuery
from domain.status import TemplateCategory
from support.store_samples import (
    LEASE,
    NOW,
    ORG_A,
    add_templates,
    alert,
    change,
    delivery,
    new_template,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def uow_factory(postgres_uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    return postgres_uow_factory


async def add_changes(factory: SqlUnitOfWorkFactory, count: int) -> set[str]:
    async with factory() as uow:
        assert await uow.inbox.add_changes([change(n) for n in range(1, count + 1)]) == count
        await uow.commit()
    return {f"d{n:04d}-0000" for n in range(1, count + 1)}


async def test_concurrent_claims_take_disjoint_batches(uow_factory: SqlUnitOfWorkFactory) -> None:
    all_ids = await add_changes(uow_factory, 10)

    # Both transactions open at once; the first holds its rows' locks while the second claims.
    async with uow_factory() as first, uow_factory() as second:
        mine = await first.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)
        theirs = await asyncio.wait_for(
            second.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5), timeout=10
        )
        await first.commit()
        await second.commit()
    mine_ids, theirs_ids = {c.id for c in mine}, {c.id for c in theirs}
    assert len(mine_ids) == len(theirs_ids) == 5
    assert mine_ids.isdisjoint(theirs_ids)
    assert mine_ids | theirs_ids == all_ids
    # Both leases were committed: nothing is left to claim.
    async with uow_factory() as uow:
        assert await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=10) == []


async def test_racing_delivery_claims_never_overlap(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for number in range(1, 11):
            await uow.inbox.add_delivery(delivery(number))
        await uow.commit()

    async with uow_factory() as first, uow_factory() as second:
        # Claimed in parallel: each skips what the other has locked, and neither waits.
        mine, theirs = await asyncio.wait_for(
            asyncio.gather(
                first.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=6),
                second.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=6),
            ),
            timeout=10,
        )
        await first.commit()
        await second.commit()
    mine_ids, theirs_ids = {d.id for d in mine}, {d.id for d in theirs}
    assert mine_ids.isdisjoint(theirs_ids)
    assert mine_ids | theirs_ids == {f"d{n:04d}" for n in range(1, 11)}


async def test_lock_change_waits_for_the_transaction_applying_it(uow_factory: SqlUnitOfWorkFactory) -> None:
    await add_changes(uow_factory, 1)

    async with uow_factory() as applying, uow_factory() as duplicate:
        held = await applying.inbox.lock_change("d0001-0000")
        assert held is not None
        waiting = asyncio.ensure_future(duplicate.inbox.lock_change("d0001-0000"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        held.state, held.processed_at = ChangeState.DONE, NOW
        await applying.inbox.save_change(held)
        await applying.commit()
        # The second worker sees what the first committed, so it does not apply the change again.
        seen = await asyncio.wait_for(waiting, timeout=10)
        assert seen is not None
        assert seen.state is ChangeState.DONE
        # It read the committed row, so writing it back is no conflict.
        await duplicate.inbox.save_change(seen)
        await duplicate.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.count_changes() == {**dict.fromkeys(ChangeState, 0), ChangeState.DONE: 1}


async def test_add_changes_skips_a_key_committed_meanwhile(uow_factory: SqlUnitOfWorkFactory) -> None:
    await add_changes(uow_factory, 1)
    async with uow_factory() as late:
        # Committed after `late` began: INSERT ... ON CONFLICT still sees it.
        async with uow_factory() as early:
            assert await early.inbox.add_changes([change(4)]) == 1
            await early.commit()
        assert await late.inbox.add_changes([change(11, key="key-1"), change(14, key="key-4")]) == 0
        assert await late.inbox.add_changes([change(5)]) == 1
        await late.commit()
    async with uow_factory() as uow:
        assert [c.id for c in await uow.inbox.list_changes()] == ["d0001-0000", "d0004-0000", "d0005-0000"]


async def test_concurrent_second_active_alert_is_already_exists(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as first, uow_factory() as second:
        await first.alerts.add(alert("al-1"))
        # Waits on the first transaction's uncommitted row, then sees it committed.
        racing = asyncio.ensure_future(second.alerts.add(alert("al-2")))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await first.commit()
        with pytest.raises(AlreadyExists):
            await asyncio.wait_for(racing, timeout=10)
        # The committed alert keeps counting, and the refusals left the transaction usable.
        with pytest.raises(AlreadyExists):
            await second.alerts.add(alert("al-3"))
        await second.commit()
    async with uow_factory() as uow:
        assert [a.id for a in await uow.alerts.list(AlertQuery(org_id=ORG_A))] == ["al-1"]


async def test_a_write_over_a_template_deleted_meanwhile_is_concurrent_modification(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))

    async with uow_factory() as slow:
        mine = await slow.templates.get(ORG_A, "tpl-1")
        assert mine is not None
        async with uow_factory() as fast:
            theirs = await fast.templates.get(ORG_A, "tpl-1")
            assert theirs is not None
            await fast.templates.delete(theirs)
            await fast.commit()
        mine.category = TemplateCategory.MARKETING
        with pytest.raises(ConcurrentModification):
            await slow.templates.update(mine)
        await slow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None
