"""The in-memory inbox and alert repositories behave like the SQL ones on the scenarios the use cases
rely on (tests/integration/sql/test_sql_inbox_alerts.py runs the same ones on SQLite and PostgreSQL):
idempotent adds, leases, due times, disjoint concurrent claims, waiting locks, one active alert."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import AlreadyExists
from app.inbox import ChangeState, Delivery, DeliveryState, InboxChange
from app.ports import AlertQuery
from domain.alerts import Alert, AlertKind, AlertState, Severity
from fakes.memory import FakeUnitOfWorkFactory

NOW = datetime(2025, 11, 26, 9, 30, 15, tzinfo=UTC)
LEASE = timedelta(seconds=60)
WABA_X = "100000000000001"
WABA_Y = "100000000000002"


def change(number: int, *, key: str = "", waba_id: str = WABA_X, **changes: object) -> InboxChange:
    made = InboxChange(
        id=f"d{number:04d}-0000",
        delivery_id=f"d{number:04d}",
        key=key or f"key-{number}",
        waba_id=waba_id,
        field="message_template_status_update",
        entry_time=None,
        value={"event": "APPROVED"},
        received_at=NOW,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def alert(alert_id: str, *, template_id: str = "tpl-1", **changes: object) -> Alert:
    made = Alert(
        id=alert_id,
        org_id="org-a",
        template_id=template_id,
        waba_id=WABA_X,
        template_name="order_ready.en_US",
        kind=AlertKind.PAUSED,
        severity=Severity.HIGH,
        state=AlertState.OPEN,
        reason="template is PAUSED",
        opened_at=NOW,
        last_seen_at=NOW,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


@pytest.fixture
def factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


async def add_changes(factory: FakeUnitOfWorkFactory, *changes: InboxChange) -> None:
    async with factory() as uow:
        assert await uow.inbox.add_changes(changes) == len(changes)
        await uow.commit()


async def claim_changes(factory: FakeUnitOfWorkFactory, now: datetime, limit: int = 100) -> list[str]:
    async with factory() as uow:
        claimed = await uow.inbox.claim_changes(now=now, lease_until=now + LEASE, limit=limit)
        await uow.commit()
    return [c.id for c in claimed]


# ---- inbox --------------------------------------------------------------------------------------


async def test_add_changes_skips_taken_keys_even_when_committed_meanwhile(
    factory: FakeUnitOfWorkFactory,
) -> None:
    async with factory() as uow:
        assert await uow.inbox.add_changes([change(1), change(2), change(3, key="key-1")]) == 2
        await uow.commit()

    async with factory() as late:
        # Committed after `late` began: INSERT ... ON CONFLICT still sees it.
        await add_changes(factory, change(4))
        assert await late.inbox.add_changes([change(11, key="key-1"), change(14, key="key-4")]) == 0
        assert await late.inbox.add_changes([change(5)]) == 1
        await late.commit()

    assert sorted(factory.store.changes) == ["d0001-0000", "d0002-0000", "d0004-0000", "d0005-0000"]


async def test_claims_follow_due_times_and_leases(factory: FakeUnitOfWorkFactory) -> None:
    # The timeline of the SQL test of the same name.
    await add_changes(
        factory,
        change(5),
        change(1),
        change(2, next_attempt_at=NOW + timedelta(seconds=10)),
        change(3, state=ChangeState.DONE),
        change(4, state=ChangeState.PARKED),
    )
    assert await claim_changes(factory, NOW, limit=1) == ["d0001-0000"]
    assert await claim_changes(factory, NOW) == ["d0005-0000"]
    assert await claim_changes(factory, NOW + timedelta(seconds=9)) == []
    assert await claim_changes(factory, NOW + timedelta(seconds=10)) == ["d0002-0000"]

    async with factory() as uow:
        failed = await uow.inbox.lock_change("d0001-0000")
        assert failed is not None
        failed.attempts, failed.next_attempt_at = 1, NOW + timedelta(seconds=20)
        await uow.inbox.save_change(failed)
        await uow.commit()
    assert await claim_changes(factory, NOW + timedelta(seconds=19)) == []
    assert await claim_changes(factory, NOW + timedelta(seconds=20)) == ["d0001-0000"]
    assert await claim_changes(factory, NOW + timedelta(seconds=61)) == ["d0005-0000"]


async def test_a_claim_that_rolls_back_leases_nothing(factory: FakeUnitOfWorkFactory) -> None:
    await add_changes(factory, change(1))
    async with factory() as uow:
        assert len(await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)) == 1
    assert await claim_changes(factory, NOW) == ["d0001-0000"]


async def test_deliveries_are_leased_and_saving_releases_the_lease(factory: FakeUnitOfWorkFactory) -> None:
    async with factory() as uow:
        for number in (1, 2):
            await uow.inbox.add_delivery(Delivery(id=f"d{number}", body=b"{}", received_at=NOW))
        await uow.commit()

    async with factory() as uow:
        first, second = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=5)
        first.state = DeliveryState.SPLIT
        await uow.inbox.save_delivery(first)
        await uow.commit()
    async with factory() as uow:
        assert await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=5) == []
        later = NOW + timedelta(seconds=61)
        assert await uow.inbox.claim_deliveries(now=later, lease_until=later + LEASE, limit=5) == [second]
    assert factory.store.deliveries["d1"].state is DeliveryState.SPLIT


async def test_concurrent_claims_take_disjoint_batches(factory: FakeUnitOfWorkFactory) -> None:
    await add_changes(factory, *(change(n) for n in range(1, 11)))
    async with factory() as first, factory() as second:
        mine = await first.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)
        theirs = await second.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)
        # Both commit: skipping locked rows means there is nothing to conflict on.
        await first.commit()
        await second.commit()
    mine_ids, theirs_ids = {c.id for c in mine}, {c.id for c in theirs}
    assert len(mine_ids) == len(theirs_ids) == 5
    assert mine_ids.isdisjoint(theirs_ids)
    assert mine_ids | theirs_ids == set(factory.store.changes)
    assert await claim_changes(factory, NOW) == []


async def test_lock_change_waits_for_the_unit_applying_it(factory: FakeUnitOfWorkFactory) -> None:
    await add_changes(factory, change(1))
    async with factory() as applying, factory() as duplicate:
        held = await applying.inbox.lock_change("d0001-0000")
        assert held is not None
        waiting = asyncio.ensure_future(duplicate.inbox.lock_change("d0001-0000"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        held.state, held.processed_at = ChangeState.DONE, NOW
        await applying.inbox.save_change(held)
        await applying.commit()
        seen = await asyncio.wait_for(waiting, timeout=5)
        assert seen is not None
        assert seen.state is ChangeState.DONE
        # It read the committed row, so writing it is no conflict.
        await duplicate.inbox.save_change(seen)
        await duplicate.commit()


async def test_a_read_only_unit_cannot_claim_or_lock(factory: FakeUnitOfWorkFactory) -> None:
    await add_changes(factory, change(1))
    async with factory(read_only=True) as uow:
        with pytest.raises(RuntimeError, match="read_only"):
            await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)
        with pytest.raises(RuntimeError, match="read_only"):
            await uow.inbox.lock_change("d0001-0000")
        assert [c.id for c in await uow.inbox.list_changes()] == ["d0001-0000"]


async def test_release_parked_touches_only_that_wabas_parked_changes(factory: FakeUnitOfWorkFactory) -> None:
    reason = "WABA is not registered"
    parked: dict[str, Any] = {"state": ChangeState.PARKED, "attempts": 3, "last_error": reason}
    await add_changes(
        factory,
        change(1, **parked, next_attempt_at=NOW + timedelta(hours=1)),
        change(2, **parked),
        change(3, waba_id=WABA_Y, **parked),
        change(4, state=ChangeState.DEAD, attempts=8),
    )
    async with factory() as uow:
        assert await uow.inbox.release_parked(WABA_X) == 2
        assert await uow.inbox.release_parked(WABA_X) == 0
        await uow.commit()
    stored = factory.store.changes
    assert [(c.id, c.state, c.attempts, c.next_attempt_at) for _, c in sorted(stored.items())] == [
        ("d0001-0000", ChangeState.PENDING, 0, None),
        ("d0002-0000", ChangeState.PENDING, 0, None),
        ("d0003-0000", ChangeState.PARKED, 3, None),
        ("d0004-0000", ChangeState.DEAD, 8, None),
    ]
    assert stored["d0001-0000"].last_error == "WABA is not registered"


async def test_list_and_count_changes(factory: FakeUnitOfWorkFactory) -> None:
    async with factory() as uow:
        assert await uow.inbox.count_changes() == dict.fromkeys(ChangeState, 0)
    await add_changes(
        factory,
        change(1),
        change(2, state=ChangeState.DONE),
        change(3, waba_id=WABA_Y, state=ChangeState.DEAD),
        change(4, state=ChangeState.DEAD),
        change(5, waba_id=WABA_Y),
    )
    async with factory() as uow:
        dead = await uow.inbox.list_changes(states=frozenset({ChangeState.DEAD}))
        assert [c.id for c in dead] == ["d0003-0000", "d0004-0000"]
        page = await uow.inbox.list_changes(waba_id=WABA_Y, after_id="d0003-0000", limit=1)
        assert [c.id for c in page] == ["d0005-0000"]
        counts = await uow.inbox.count_changes()
    assert counts == {
        ChangeState.PENDING: 2,
        ChangeState.DONE: 1,
        ChangeState.PARKED: 0,
        ChangeState.DEAD: 2,
        ChangeState.SKIPPED: 0,
    }


# ---- alerts -------------------------------------------------------------------------------------


async def test_one_active_alert_per_template_and_kind(factory: FakeUnitOfWorkFactory) -> None:
    async with factory() as uow:
        await uow.alerts.add(alert("al-1"))
        with pytest.raises(AlreadyExists) as raised:
            await uow.alerts.add(alert("al-2", state=AlertState.ACKNOWLEDGED))
        assert raised.value.name == "tpl-1/PAUSED"
        await uow.alerts.add(alert("al-3", kind=AlertKind.QUALITY_RED))
        await uow.alerts.add(alert("al-4", template_id="tpl-2"))
        for number in (5, 6):
            await uow.alerts.add(alert(f"al-{number}", state=AlertState.RESOLVED, resolved_at=NOW))
        await uow.commit()

    async with factory() as uow:
        first = await uow.alerts.get("org-a", "al-1")
        assert first is not None
        first.resolve(NOW + timedelta(minutes=1))
        await uow.alerts.save(first)
        await uow.alerts.add(alert("al-7", opened_at=NOW + timedelta(minutes=2)))
        await uow.commit()

    async with factory() as uow:
        active = await uow.alerts.active_for_template("tpl-1")
    assert [a.id for a in active] == ["al-3", "al-7"]
    assert sorted(factory.store.alerts) == ["al-1", "al-3", "al-4", "al-5", "al-6", "al-7"]


async def test_second_active_alert_from_another_unit_is_already_exists(
    factory: FakeUnitOfWorkFactory,
) -> None:
    async with factory() as first, factory() as second:
        await first.alerts.add(alert("al-1"))
        await second.alerts.add(alert("al-2"))
        await first.commit()
        # Committed by the first unit: the index sees it on add, and the commit re-checks it.
        with pytest.raises(AlreadyExists):
            await second.alerts.add(alert("al-3"))
        with pytest.raises(AlreadyExists):
            await second.commit()
    assert sorted(factory.store.alerts) == ["al-1"]


async def test_alert_listing_and_active_order(factory: FakeUnitOfWorkFactory) -> None:
    hour = timedelta(hours=1)
    rows = [
        alert("al-1", kind=AlertKind.REJECTED, severity=Severity.WARNING, state=AlertState.RESOLVED,
              resolved_at=NOW, opened_at=NOW - 3 * hour),
        alert("al-2", opened_at=NOW - 2 * hour),
        alert("al-3", template_id="tpl-2", kind=AlertKind.DISABLED, severity=Severity.CRITICAL,
              opened_at=NOW - hour),
        alert("al-4", template_id="tpl-2", kind=AlertKind.QUALITY_YELLOW, severity=Severity.WARNING,
              state=AlertState.ACKNOWLEDGED, opened_at=NOW - hour),
        alert("al-5", kind=AlertKind.QUALITY_RED, opened_at=NOW),
        alert("al-9", org_id="org-b", template_id="tpl-9"),
    ]  # fmt: skip
    async with factory() as uow:
        for row in rows:
            await uow.alerts.add(row)
        await uow.commit()

    async with factory() as uow:
        listed = await uow.alerts.list(AlertQuery(org_id="org-a"))
        assert [a.id for a in listed] == ["al-5", "al-4", "al-3", "al-2", "al-1"]
        page = await uow.alerts.list(AlertQuery(org_id="org-a", before=(NOW - hour, "al-4"), limit=2))
        assert [a.id for a in page] == ["al-3", "al-2"]
        severe = await uow.alerts.list(
            AlertQuery(org_id="org-a", severities=frozenset({Severity.CRITICAL}), template_id="tpl-2")
        )
        assert [a.id for a in severe] == ["al-3"]
        assert [a.id for a in await uow.alerts.active_for_org("org-a")] == ["al-3", "al-5", "al-2", "al-4"]
        assert await uow.alerts.get("org-b", "al-1") is None
