"""The webhook inbox: deliveries and changes, leases, due times, idempotent adds, on every store.
Racing workers (row locks, SKIP LOCKED) are in tests/integration/sql/test_sql_concurrent_writers.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from app.inbox import ChangeState, DeliveryBacklog, DeliveryState
from app.ports import UnitOfWorkFactory
from support.store_samples import LEASE, NOW, WABA_A1, WABA_A2, change, delivery


async def add_changes(factory: UnitOfWorkFactory, *changes: Any) -> None:
    async with factory() as uow:
        assert await uow.inbox.add_changes(changes) == len(changes)
        await uow.commit()


async def claim_changes(factory: UnitOfWorkFactory, now: datetime, limit: int = 100) -> list[str]:
    """Claims in a unit of work of its own, committed, as a worker does."""
    async with factory() as uow:
        claimed = await uow.inbox.claim_changes(now=now, lease_until=now + LEASE, limit=limit)
        await uow.commit()
    return [c.id for c in claimed]


async def claim_deliveries(factory: UnitOfWorkFactory, now: datetime, limit: int = 100) -> list[str]:
    async with factory() as uow:
        claimed = await uow.inbox.claim_deliveries(now=now, lease_until=now + LEASE, limit=limit)
        await uow.commit()
    return [d.id for d in claimed]


# Deliveries


async def test_delivery_round_trips_and_a_lease_keeps_it_from_being_claimed_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # Not UTF-8, and received in another offset.
    odd = delivery(1, body=b"\xff\x00{}", received_at=NOW.astimezone(timezone(timedelta(hours=-3))))
    async with uow_factory() as uow:
        for d in (odd, delivery(2), delivery(3)):
            await uow.inbox.add_delivery(d)
        await uow.commit()

    async with uow_factory() as uow:
        claimed = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=2)
        await uow.commit()
    assert claimed == [odd, delivery(2)]

    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=1)) == ["d0003"]
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=2)) == []
    # A lease ends strictly after lease_until: d0003's runs to NOW + 61 s.
    assert await claim_deliveries(uow_factory, NOW + LEASE) == []
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=61)) == ["d0001", "d0002"]
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=62)) == ["d0003"]


async def test_saving_a_delivery_stores_its_state_and_releases_the_lease(
    uow_factory: UnitOfWorkFactory, integrity_error: type[Exception]
) -> None:
    async with uow_factory() as uow:
        for number in (1, 2, 3, 4):
            await uow.inbox.add_delivery(delivery(number))
        await uow.commit()

    async with uow_factory() as uow:
        first, second, third, unsaved = await uow.inbox.claim_deliveries(
            now=NOW, lease_until=NOW + LEASE, limit=4
        )
        first.state = DeliveryState.SPLIT
        second.state, second.error = DeliveryState.DEAD, "no entries ✗"
        # Still PENDING (e.g. the worker gave up on it this round): claimable again at once.
        await uow.inbox.save_delivery(first)
        await uow.inbox.save_delivery(second)
        await uow.inbox.save_delivery(third)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=10) == [third]
        # Pending: the third and the one whose lease runs on.
        assert await uow.inbox.delivery_backlog() == DeliveryBacklog(pending=2, failing=0)
        # The unsaved one comes back when its lease passes (with the third, claimed again above).
        later = NOW + timedelta(seconds=61)
        assert await uow.inbox.claim_deliveries(now=later, lease_until=later + LEASE, limit=10) == [
            third,
            unsaved,
        ]
        # Delivery ids are generated: a clash is a bug.
        with pytest.raises(integrity_error):
            await uow.inbox.add_delivery(delivery(1))


async def test_requeued_deliveries_start_over_and_count_in_the_backlog(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.inbox.delivery_backlog() == DeliveryBacklog(pending=0, failing=0)
        await uow.inbox.add_delivery(delivery(1, state=DeliveryState.DEAD, error="bad", attempts=5))
        await uow.inbox.add_delivery(delivery(2, attempts=2, next_attempt_at=NOW + timedelta(minutes=1)))
        await uow.inbox.add_delivery(delivery(3, state=DeliveryState.SPLIT))
        await uow.inbox.add_delivery(delivery(4))
        await uow.commit()

    async with uow_factory() as uow:
        # The failing one waits for its next attempt.
        assert await uow.inbox.delivery_backlog() == DeliveryBacklog(pending=2, failing=1)
        assert [
            d.id for d in await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=5)
        ] == ["d0004"]
        assert await uow.inbox.requeue_delivery("d0001")
        assert await uow.inbox.requeue_delivery("d0002")
        assert not await uow.inbox.requeue_delivery("d9999")
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.inbox.delivery_backlog() == DeliveryBacklog(pending=3, failing=0)
        claimed = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=5)
    assert claimed == [delivery(1), delivery(2)]


# Changes


async def test_add_changes_skips_keys_already_stored(
    uow_factory: UnitOfWorkFactory, integrity_error: type[Exception]
) -> None:
    async with uow_factory() as uow:
        assert await uow.inbox.add_changes([]) == 0
        # A key twice in one batch is stored once.
        assert await uow.inbox.add_changes([change(1), change(2), change(3, key="key-1")]) == 2
        await uow.commit()

    # The same changes delivered again (new delivery, new ids, same keys) add nothing.
    async with uow_factory() as uow:
        again = [change(11, key="key-1"), change(12, key="key-2")]
        assert await uow.inbox.add_changes(again) == 0
        assert await uow.inbox.add_changes([change(13, key="key-2"), change(14)]) == 1
        # The skipped rows left the transaction usable (PostgreSQL would abort it on an error).
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.inbox.list_changes()
        assert [(c.id, c.key) for c in stored] == [
            ("d0001-0000", "key-1"),
            ("d0002-0000", "key-2"),
            ("d0014-0000", "key-14"),
        ]
        # Only the key may clash quietly: a new key under a taken (generated) id is a bug.
        with pytest.raises(integrity_error):
            await uow.inbox.add_changes([change(1, key="key-new")])


async def test_change_round_trips_every_field_through_lock_and_save(uow_factory: UnitOfWorkFactory) -> None:
    rich = change(
        1,
        entry_time=datetime(2025, 11, 26, 6, 30, tzinfo=timezone(timedelta(hours=-3))),
        value={
            "event": "REJECTED",
            "reason": "Política de conteúdo ✗",
            "nested": {"list": [1, 2.5, None, True], "empty": {}},
        },
        received_at=NOW - timedelta(seconds=3),
    )
    await add_changes(uow_factory, rich)

    async with uow_factory() as uow:
        stored = await uow.inbox.lock_change(rich.id)
        assert stored == rich
        assert await uow.inbox.lock_change("missing") is None
        assert stored is not None
        stored.state = ChangeState.DEAD
        stored.attempts = 8
        stored.next_attempt_at = NOW + timedelta(minutes=5)
        stored.last_error = "TimeoutError: Meta did not answer"
        stored.processed_at = NOW + timedelta(minutes=6)
        await uow.inbox.save_change(stored)
        await uow.commit()

    async with uow_factory() as uow:
        again = await uow.inbox.lock_change(rich.id)
    assert again == stored
    assert again.entry_time == rich.entry_time

    # And back: every nullable field can be cleared again.
    async with uow_factory() as uow:
        again.state, again.next_attempt_at, again.processed_at = ChangeState.PENDING, None, None
        await uow.inbox.save_change(again)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.lock_change(rich.id) == again


async def test_delete_change(uow_factory: UnitOfWorkFactory) -> None:
    await add_changes(uow_factory, change(1), change(2))
    async with uow_factory() as uow:
        await uow.inbox.delete_change("d0001-0000")
        await uow.inbox.delete_change("missing")
        await uow.commit()
    assert await claim_changes(uow_factory, NOW) == ["d0002-0000"]


async def test_claim_changes_takes_due_pending_unleased_changes_in_id_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_changes(
        uow_factory,
        change(5),
        change(1),
        change(2, next_attempt_at=NOW + timedelta(seconds=10)),
        change(3, state=ChangeState.DONE, processed_at=NOW),
        change(4, state=ChangeState.PARKED),
        change(6, state=ChangeState.DEAD),
        change(7, state=ChangeState.SKIPPED),
    )
    assert await claim_changes(uow_factory, NOW, limit=1) == ["d0001-0000"]
    assert await claim_changes(uow_factory, NOW) == ["d0005-0000"]
    # Both are leased until NOW + 60 s; d0002 is due at NOW + 10 s (inclusive).
    assert await claim_changes(uow_factory, NOW + timedelta(seconds=9)) == []
    assert await claim_changes(uow_factory, NOW + timedelta(seconds=10)) == ["d0002-0000"]

    # A failed attempt: saved with a retry time, which now governs (the save released the lease).
    async with uow_factory() as uow:
        failed = await uow.inbox.lock_change("d0001-0000")
        assert failed is not None
        failed.attempts, failed.next_attempt_at = 1, NOW + timedelta(seconds=20)
        failed.last_error = "ConnectionError: reset"
        await uow.inbox.save_change(failed)
        await uow.commit()
    assert await claim_changes(uow_factory, NOW + timedelta(seconds=19)) == []
    assert await claim_changes(uow_factory, NOW + timedelta(seconds=20)) == ["d0001-0000"]
    # A worker that died: its rows come back when the lease passes.
    assert await claim_changes(uow_factory, NOW + timedelta(seconds=61)) == ["d0005-0000"]


async def test_a_claim_that_rolls_back_leases_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await add_changes(uow_factory, change(1))
    async with uow_factory() as uow:
        assert len(await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)) == 1
    assert await claim_changes(uow_factory, NOW) == ["d0001-0000"]


async def test_release_parked_touches_only_that_wabas_parked_changes(uow_factory: UnitOfWorkFactory) -> None:
    reason = "WABA is not registered"
    parked: dict[str, Any] = {"state": ChangeState.PARKED, "attempts": 3, "last_error": reason}
    await add_changes(
        uow_factory,
        change(1, **parked, next_attempt_at=NOW + timedelta(hours=1)),
        change(2, **parked),
        change(3, waba_id=WABA_A2, **parked),
        change(4, state=ChangeState.DEAD, attempts=8),
        change(5, state=ChangeState.DONE, processed_at=NOW),
    )
    async with uow_factory() as uow:
        assert await uow.inbox.release_parked(WABA_A1) == 2
        assert await uow.inbox.release_parked(WABA_A1) == 0
        assert await uow.inbox.release_parked("999") == 0
        await uow.commit()

    async with uow_factory() as uow:
        stored = {c.id: c for c in await uow.inbox.list_changes()}
    assert [(s.id, s.state, s.attempts, s.next_attempt_at) for s in stored.values()] == [
        ("d0001-0000", ChangeState.PENDING, 0, None),
        ("d0002-0000", ChangeState.PENDING, 0, None),
        ("d0003-0000", ChangeState.PARKED, 3, None),
        ("d0004-0000", ChangeState.DEAD, 8, None),
        ("d0005-0000", ChangeState.DONE, 0, None),
    ]
    # Why it was parked stays readable.
    assert stored["d0001-0000"].last_error == "WABA is not registered"
    assert await claim_changes(uow_factory, NOW) == ["d0001-0000", "d0002-0000"]


async def seed_changes(factory: UnitOfWorkFactory) -> None:
    await add_changes(
        factory,
        change(1),
        change(2, state=ChangeState.DONE),
        change(3, waba_id=WABA_A2, state=ChangeState.DEAD),
        change(4, state=ChangeState.DEAD),
        change(5, waba_id=WABA_A2),
        change(6, state=ChangeState.PARKED),
        change(7, waba_id=WABA_A2, state=ChangeState.SKIPPED),
    )


@pytest.mark.parametrize(
    ("states", "waba_id", "expected"),
    [
        pytest.param(frozenset(), None, [1, 2, 3, 4, 5, 6, 7], id="all"),
        pytest.param(frozenset({ChangeState.DEAD}), None, [3, 4], id="state"),
        pytest.param(frozenset({ChangeState.DEAD, ChangeState.PENDING}), None, [1, 3, 4, 5], id="states"),
        pytest.param(frozenset(), WABA_A2, [3, 5, 7], id="waba"),
        pytest.param(frozenset({ChangeState.DEAD}), WABA_A2, [3], id="combined"),
        pytest.param(frozenset({ChangeState.DONE}), WABA_A2, [], id="none"),
    ],
)
async def test_list_changes_filters(
    uow_factory: UnitOfWorkFactory,
    states: frozenset[ChangeState],
    waba_id: str | None,
    expected: list[int],
) -> None:
    await seed_changes(uow_factory)
    async with uow_factory() as uow:
        found = await uow.inbox.list_changes(states=states, waba_id=waba_id)
    assert [c.id for c in found] == [f"d{n:04d}-0000" for n in expected]


async def test_list_changes_pages_by_id(uow_factory: UnitOfWorkFactory) -> None:
    await seed_changes(uow_factory)
    pages: list[list[str]] = []
    after = ""
    async with uow_factory() as uow:
        while page := await uow.inbox.list_changes(after_id=after, limit=3):
            pages.append([c.id for c in page])
            after = page[-1].id
        filtered = await uow.inbox.list_changes(waba_id=WABA_A2, after_id="d0003-0000", limit=1)
    assert pages == [
        ["d0001-0000", "d0002-0000", "d0003-0000"],
        ["d0004-0000", "d0005-0000", "d0006-0000"],
        ["d0007-0000"],
    ]
    assert [c.id for c in filtered] == ["d0005-0000"]


async def test_count_changes_counts_every_state(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.inbox.count_changes() == dict.fromkeys(ChangeState, 0)
    await seed_changes(uow_factory)
    async with uow_factory() as uow:
        assert await uow.inbox.count_changes() == {
            ChangeState.PENDING: 2,
            ChangeState.DONE: 1,
            ChangeState.PARKED: 1,
            ChangeState.DEAD: 2,
            ChangeState.SKIPPED: 1,
        }


async def test_deliveries_and_changes_in_bulk(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.inbox.add_deliveries([delivery(1), delivery(2), delivery(3)])
        await uow.inbox.add_deliveries([])
        await uow.commit()
    async with uow_factory() as uow:
        first, second, _unsaved = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=10)
        first.state, second.state = DeliveryState.SPLIT, DeliveryState.DEAD
        second.error, second.attempts = "not a delivery", 8
        await uow.inbox.save_deliveries([first, second])
        await uow.commit()
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=1)) == []  # third still leased
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=61)) == ["d0003"]

    await add_changes(uow_factory, change(1), change(2), change(3))
    async with uow_factory() as uow:
        locked = await uow.inbox.lock_changes(["d0003-0000", "missing", "d0001-0000"])
        assert [c.id for c in locked] == ["d0001-0000", "d0003-0000"]
        locked[0].state, locked[0].processed_at = ChangeState.DONE, NOW
        locked[1].state, locked[1].last_error = ChangeState.DEAD, "cannot be understood ✗"
        await uow.inbox.save_changes(locked)
        await uow.inbox.save_changes([])
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.inbox.lock_changes(["d0001-0000", "d0002-0000", "d0003-0000"])
    assert [(c.id, c.state) for c in again] == [
        ("d0001-0000", ChangeState.DONE),
        ("d0002-0000", ChangeState.PENDING),
        ("d0003-0000", ChangeState.DEAD),
    ]
    assert again[0] == locked[0]
    assert again[2].last_error == "cannot be understood ✗"


async def test_due_work_is_locked_for_the_transaction_without_a_lease(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.inbox.add_deliveries([delivery(1), delivery(2), delivery(3)])
        await uow.commit()
    await add_changes(uow_factory, change(1), change(2), change(3, next_attempt_at=NOW + timedelta(hours=1)))
    # Leased by another worker: not due for anyone else.
    assert await claim_deliveries(uow_factory, NOW, limit=1) == ["d0001"]
    assert await claim_changes(uow_factory, NOW, limit=1) == ["d0001-0000"]

    async with uow_factory() as uow:
        deliveries = await uow.inbox.lock_due_deliveries(now=NOW, limit=10)
        changes = await uow.inbox.lock_due_changes(now=NOW, limit=10)
        assert [c.id for c in await uow.inbox.lock_due_changes(now=NOW, limit=0)] == []
    assert [d.id for d in deliveries] == ["d0002", "d0003"]
    assert [c.id for c in changes] == ["d0002-0000"]  # d0003's retry is not due yet

    # Nothing was leased: the same rows are due again once the transaction is over.
    assert await claim_deliveries(uow_factory, NOW) == ["d0002", "d0003"]
    assert await claim_changes(uow_factory, NOW) == ["d0002-0000"]
