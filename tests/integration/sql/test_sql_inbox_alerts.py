"""The webhook inbox and alert repositories; every test runs on SQLite and on PostgreSQL, except
the concurrency tests, which need two writers at once (SQLite has one: BEGIN IMMEDIATE queues the
second unit of work until the first ends)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import tables
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.errors import AlreadyExists
from app.inbox import ChangeState, Delivery, DeliveryState, InboxChange
from app.ports import AlertQuery
from domain.alerts import Alert, AlertKind, AlertState, Severity
from domain.tenancy import Organization

NOW = datetime(2025, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ORG_A = "org-a"
ORG_B = "org-b"
WABA_X = "100000000000001"
WABA_Y = "100000000000002"


@pytest.fixture
async def uow_factory(sql_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    """Two organizations (alerts belong to one)."""
    factory = SqlUnitOfWorkFactory(sql_engine)
    async with factory() as uow:
        for org_id, slug in ((ORG_A, "acme"), (ORG_B, "globex")):
            await uow.organizations.add(
                Organization(id=org_id, slug=slug, display_name=slug.title(), created_at=NOW)
            )
        await uow.commit()
    return factory


def postgres_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("two concurrent writers: SQLite serializes them (BEGIN IMMEDIATE)")


def delivery(number: int, **changes: object) -> Delivery:
    made = Delivery(id=f"d{number:04d}", body=b'{"object":"whatsapp_business_account"}', received_at=NOW)
    return replace(made, **changes)  # type: ignore[arg-type]


def change(number: int, *, key: str = "", waba_id: str = WABA_X, **changes: object) -> InboxChange:
    made = InboxChange(
        id=f"d{number:04d}-0000",
        delivery_id=f"d{number:04d}",
        key=key or f"key-{number}",
        waba_id=waba_id,
        field="message_template_status_update",
        entry_time=None,
        value={"event": "APPROVED", "message_template_id": number},
        received_at=NOW,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def add_changes(factory: SqlUnitOfWorkFactory, *changes: InboxChange) -> None:
    async with factory() as uow:
        assert await uow.inbox.add_changes(changes) == len(changes)
        await uow.commit()


async def claim_changes(factory: SqlUnitOfWorkFactory, now: datetime, limit: int = 100) -> list[str]:
    """Claims in a unit of work of its own, committed, as a worker does."""
    async with factory() as uow:
        claimed = await uow.inbox.claim_changes(now=now, lease_until=now + LEASE, limit=limit)
        await uow.commit()
    return [c.id for c in claimed]


async def claim_deliveries(factory: SqlUnitOfWorkFactory, now: datetime, limit: int = 100) -> list[str]:
    async with factory() as uow:
        claimed = await uow.inbox.claim_deliveries(now=now, lease_until=now + LEASE, limit=limit)
        await uow.commit()
    return [d.id for d in claimed]


# Deliveries


async def test_delivery_round_trips_and_a_lease_keeps_it_from_being_claimed_again(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    # Not UTF-8, and received in another offset: stored as bytes, returned as the same UTC instant.
    odd = delivery(1, body=b"\xff\x00{}", received_at=NOW.astimezone(timezone(timedelta(hours=-3))))
    async with uow_factory() as uow:
        for d in (odd, delivery(2), delivery(3)):
            await uow.inbox.add_delivery(d)
        await uow.commit()

    async with uow_factory() as uow:
        claimed = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=2)
        await uow.commit()
    assert claimed == [odd, delivery(2)]
    assert claimed[0].received_at.utcoffset() == timedelta(0)

    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=1)) == ["d0003"]
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=2)) == []
    # A lease ends strictly after lease_until: d0003's runs to NOW + 61 s.
    assert await claim_deliveries(uow_factory, NOW + LEASE) == []
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=61)) == ["d0001", "d0002"]
    assert await claim_deliveries(uow_factory, NOW + timedelta(seconds=62)) == ["d0003"]


async def test_saving_a_delivery_stores_its_state_and_releases_the_lease(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        for number in (1, 2, 3):
            await uow.inbox.add_delivery(delivery(number))
        await uow.commit()

    async with uow_factory() as uow:
        first, second, third = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=3)
        first.state = DeliveryState.SPLIT
        second.state, second.error = DeliveryState.DEAD, "no entries ✗"
        # Still PENDING (e.g. the worker gave up on it this round): claimable again at once.
        await uow.inbox.save_delivery(first)
        await uow.inbox.save_delivery(second)
        await uow.inbox.save_delivery(third)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=10) == [third]
    async with sql_engine.connect() as connection:
        rows = (await connection.execute(sa.select(tables.webhook_deliveries).order_by("id"))).all()
    assert [(r.state, r.error, r.lease_until) for r in rows] == [
        ("SPLIT", "", None),
        ("DEAD", "no entries ✗", None),
        ("PENDING", "", None),
    ]


# Changes


async def test_add_changes_skips_keys_already_stored(uow_factory: SqlUnitOfWorkFactory) -> None:
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


async def test_change_round_trips_every_field_through_lock_and_save(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
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
    assert again.entry_time is not None
    assert again.entry_time.utcoffset() == timedelta(0)

    # And back: every nullable field can be cleared again.
    async with uow_factory() as uow:
        again.state, again.next_attempt_at, again.processed_at = ChangeState.PENDING, None, None
        await uow.inbox.save_change(again)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.inbox.lock_change(rich.id) == again


async def test_claim_changes_takes_due_pending_unleased_changes_in_id_order(
    uow_factory: SqlUnitOfWorkFactory,
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


async def test_a_claim_that_rolls_back_leases_nothing(uow_factory: SqlUnitOfWorkFactory) -> None:
    await add_changes(uow_factory, change(1))
    async with uow_factory() as uow:
        assert len(await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)) == 1
    assert await claim_changes(uow_factory, NOW) == ["d0001-0000"]


async def test_release_parked_touches_only_that_wabas_parked_changes(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    reason = "WABA is not registered"
    parked: dict[str, Any] = {"state": ChangeState.PARKED, "attempts": 3, "last_error": reason}
    await add_changes(
        uow_factory,
        change(1, **parked, next_attempt_at=NOW + timedelta(hours=1)),
        change(2, **parked),
        change(3, waba_id=WABA_Y, **parked),
        change(4, state=ChangeState.DEAD, attempts=8),
        change(5, state=ChangeState.DONE, processed_at=NOW),
    )
    async with uow_factory() as uow:
        assert await uow.inbox.release_parked(WABA_X) == 2
        assert await uow.inbox.release_parked(WABA_X) == 0
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


async def seed_changes(factory: SqlUnitOfWorkFactory) -> None:
    await add_changes(
        factory,
        change(1),
        change(2, state=ChangeState.DONE),
        change(3, waba_id=WABA_Y, state=ChangeState.DEAD),
        change(4, state=ChangeState.DEAD),
        change(5, waba_id=WABA_Y),
        change(6, state=ChangeState.PARKED),
        change(7, waba_id=WABA_Y, state=ChangeState.SKIPPED),
    )


@pytest.mark.parametrize(
    ("states", "waba_id", "expected"),
    [
        pytest.param(frozenset(), None, [1, 2, 3, 4, 5, 6, 7], id="all"),
        pytest.param(frozenset({ChangeState.DEAD}), None, [3, 4], id="state"),
        pytest.param(frozenset({ChangeState.DEAD, ChangeState.PENDING}), None, [1, 3, 4, 5], id="states"),
        pytest.param(frozenset(), WABA_Y, [3, 5, 7], id="waba"),
        pytest.param(frozenset({ChangeState.DEAD}), WABA_Y, [3], id="combined"),
        pytest.param(frozenset({ChangeState.DONE}), WABA_Y, [], id="none"),
    ],
)
async def test_list_changes_filters(
    uow_factory: SqlUnitOfWorkFactory,
    states: frozenset[ChangeState],
    waba_id: str | None,
    expected: list[int],
) -> None:
    await seed_changes(uow_factory)
    async with uow_factory() as uow:
        found = await uow.inbox.list_changes(states=states, waba_id=waba_id)
    assert [c.id for c in found] == [f"d{n:04d}-0000" for n in expected]


async def test_list_changes_pages_by_id(uow_factory: SqlUnitOfWorkFactory) -> None:
    await seed_changes(uow_factory)
    pages: list[list[str]] = []
    after = ""
    async with uow_factory() as uow:
        while page := await uow.inbox.list_changes(after_id=after, limit=3):
            pages.append([c.id for c in page])
            after = page[-1].id
        filtered = await uow.inbox.list_changes(waba_id=WABA_Y, after_id="d0003-0000", limit=1)
    assert pages == [
        ["d0001-0000", "d0002-0000", "d0003-0000"],
        ["d0004-0000", "d0005-0000", "d0006-0000"],
        ["d0007-0000"],
    ]
    assert [c.id for c in filtered] == ["d0005-0000"]


async def test_count_changes_counts_every_state(uow_factory: SqlUnitOfWorkFactory) -> None:
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


# Concurrent workers (PostgreSQL)


async def test_concurrent_claims_take_disjoint_batches(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    postgres_only(sql_engine)
    await add_changes(uow_factory, *(change(n) for n in range(1, 11)))
    all_ids = {f"d{n:04d}-0000" for n in range(1, 11)}

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
    assert await claim_changes(uow_factory, NOW) == []


async def test_racing_delivery_claims_never_overlap(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    postgres_only(sql_engine)
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


async def test_lock_change_waits_for_the_transaction_applying_it(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    postgres_only(sql_engine)
    await add_changes(uow_factory, change(1))

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


# Alerts


def alert(
    alert_id: str,
    *,
    org_id: str = ORG_A,
    template_id: str = "tpl-1",
    kind: AlertKind = AlertKind.PAUSED,
    opened_at: datetime = NOW,
    **changes: object,
) -> Alert:
    made = Alert(
        id=alert_id,
        org_id=org_id,
        template_id=template_id,
        waba_id=WABA_X,
        template_name="order_ready.en_US",
        kind=kind,
        severity=Severity.HIGH,
        state=AlertState.OPEN,
        reason="template is PAUSED",
        opened_at=opened_at,
        last_seen_at=opened_at,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_alert_round_trips_and_saves_its_state(uow_factory: SqlUnitOfWorkFactory) -> None:
    acknowledged = alert(
        "al-1",
        kind=AlertKind.DISABLED,
        severity=Severity.CRITICAL,
        state=AlertState.ACKNOWLEDGED,
        reason="Plantilla desactivada ✗",
        opened_at=NOW.astimezone(timezone(timedelta(hours=5))),
        last_seen_at=NOW + timedelta(minutes=1),
        acknowledged_at=NOW + timedelta(minutes=2),
        acknowledged_by="key-7",
    )
    async with uow_factory() as uow:
        await uow.alerts.add(acknowledged)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.alerts.get(ORG_A, "al-1")
        assert stored == acknowledged
        assert stored.opened_at.utcoffset() == timedelta(0)
        assert await uow.alerts.get(ORG_B, "al-1") is None
        assert await uow.alerts.get(ORG_A, "missing") is None
        assert await uow.alerts.active_for_template("tpl-1") == [acknowledged]
        stored.last_seen_at, stored.reason = NOW + timedelta(hours=1), "still disabled"
        stored.resolve(NOW + timedelta(hours=2))
        await uow.alerts.save(stored)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.alerts.get(ORG_A, "al-1") == stored
        assert await uow.alerts.active_for_template("tpl-1") == []
        assert await uow.alerts.active_for_org(ORG_A) == []
        # Saving under another organization changes nothing.
        intruder = replace(stored, org_id=ORG_B, reason="hijacked")
        await uow.alerts.save(intruder)
        assert (await uow.alerts.get(ORG_A, "al-1")) == stored


async def test_one_active_alert_per_template_and_kind(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.alerts.add(alert("al-1"))
        with pytest.raises(AlreadyExists) as raised:
            await uow.alerts.add(alert("al-2", state=AlertState.ACKNOWLEDGED))
        assert raised.value.resource_type == "alert"
        assert raised.value.name == "tpl-1/PAUSED"
        # Another kind, another template: allowed; and the transaction is still usable.
        await uow.alerts.add(alert("al-3", kind=AlertKind.QUALITY_RED))
        await uow.alerts.add(alert("al-4", template_id="tpl-2"))
        # Resolved alerts never count (NULL active markers do not collide).
        for number in (5, 6):
            await uow.alerts.add(alert(f"al-{number}", state=AlertState.RESOLVED, resolved_at=NOW))
        await uow.commit()

    # Once resolved, the condition may open a new alert.
    async with uow_factory() as uow:
        first = await uow.alerts.get(ORG_A, "al-1")
        assert first is not None
        first.resolve(NOW + timedelta(minutes=1))
        await uow.alerts.save(first)
        await uow.alerts.add(alert("al-7", opened_at=NOW + timedelta(minutes=2)))
        await uow.commit()

    async with uow_factory() as uow:
        active = await uow.alerts.active_for_template("tpl-1")
        assert [(a.id, a.kind) for a in active] == [
            ("al-3", AlertKind.QUALITY_RED),
            ("al-7", AlertKind.PAUSED),
        ]
        # Reopening a resolved alert beside an active one is a bug the database refuses.
        first.state, first.resolved_at = AlertState.OPEN, None
        with pytest.raises(sa.exc.IntegrityError):
            await uow.alerts.save(first)
    async with sql_engine.connect() as connection:
        count = sa.select(sa.func.count()).select_from(tables.alerts)
        assert (await connection.execute(count)).scalar_one() == 6


async def test_concurrent_second_active_alert_is_already_exists(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    postgres_only(sql_engine)
    async with uow_factory() as first, uow_factory() as second:
        await first.alerts.add(alert("al-1"))
        # Waits on the first transaction's uncommitted row, then sees it committed.
        racing = asyncio.ensure_future(second.alerts.add(alert("al-2")))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await first.commit()
        with pytest.raises(AlreadyExists):
            await asyncio.wait_for(racing, timeout=10)


async def seed_alerts(factory: SqlUnitOfWorkFactory) -> None:
    """Org A: six alerts over three hours (two opened at the same instant); org B: one."""
    rows = [
        alert("al-1", kind=AlertKind.REJECTED, severity=Severity.WARNING, state=AlertState.RESOLVED,
              resolved_at=NOW, opened_at=NOW - timedelta(hours=3)),
        alert("al-2", kind=AlertKind.PAUSED, severity=Severity.HIGH, opened_at=NOW - timedelta(hours=2)),
        alert("al-3", template_id="tpl-2", kind=AlertKind.DISABLED, severity=Severity.CRITICAL,
              opened_at=NOW - timedelta(hours=1)),
        alert("al-4", template_id="tpl-2", kind=AlertKind.QUALITY_YELLOW, severity=Severity.WARNING,
              state=AlertState.ACKNOWLEDGED, acknowledged_at=NOW, acknowledged_by="key-1",
              opened_at=NOW - timedelta(hours=1)),
        alert("al-5", kind=AlertKind.QUALITY_RED, severity=Severity.HIGH, opened_at=NOW),
        alert("al-6", kind=AlertKind.CATEGORY_PRICIER, severity=Severity.WARNING, state=AlertState.RESOLVED,
              resolved_at=NOW, opened_at=NOW),
        alert("al-9", org_id=ORG_B, template_id="tpl-9", opened_at=NOW),
    ]  # fmt: skip
    async with factory() as uow:
        for row in rows:
            await uow.alerts.add(row)
        await uow.commit()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Newest first; the tie at NOW and at NOW - 1 h is broken by id, descending.
        pytest.param(AlertQuery(org_id=ORG_A), ["al-6", "al-5", "al-4", "al-3", "al-2", "al-1"], id="all"),
        pytest.param(AlertQuery(org_id=ORG_B), ["al-9"], id="other-org"),
        pytest.param(
            AlertQuery(org_id=ORG_A, states=frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED})),
            ["al-5", "al-4", "al-3", "al-2"],
            id="active",
        ),
        pytest.param(
            AlertQuery(org_id=ORG_A, severities=frozenset({Severity.HIGH, Severity.CRITICAL})),
            ["al-5", "al-3", "al-2"],
            id="severities",
        ),
        pytest.param(AlertQuery(org_id=ORG_A, template_id="tpl-2"), ["al-4", "al-3"], id="template"),
        pytest.param(
            AlertQuery(
                org_id=ORG_A,
                template_id="tpl-1",
                states=frozenset({AlertState.RESOLVED}),
                severities=frozenset({Severity.WARNING}),
            ),
            ["al-6", "al-1"],
            id="combined",
        ),
        pytest.param(AlertQuery(org_id=ORG_A, limit=2), ["al-6", "al-5"], id="limit"),
        pytest.param(
            AlertQuery(org_id=ORG_A, before=(NOW - timedelta(hours=1), "al-4")),
            ["al-3", "al-2", "al-1"],
            id="before",
        ),
    ],
)
async def test_list_alerts_filters(
    uow_factory: SqlUnitOfWorkFactory, query: AlertQuery, expected: list[str]
) -> None:
    await seed_alerts(uow_factory)
    async with uow_factory() as uow:
        assert [a.id for a in await uow.alerts.list(query)] == expected


async def test_list_alerts_pages_newest_first(uow_factory: SqlUnitOfWorkFactory) -> None:
    await seed_alerts(uow_factory)
    pages: list[list[str]] = []
    before: tuple[datetime, str] | None = None
    async with uow_factory() as uow:
        while page := await uow.alerts.list(AlertQuery(org_id=ORG_A, before=before, limit=4)):
            pages.append([a.id for a in page])
            before = (page[-1].opened_at, page[-1].id)
    assert pages == [["al-6", "al-5", "al-4", "al-3"], ["al-2", "al-1"]]


async def test_active_alerts_most_urgent_first(uow_factory: SqlUnitOfWorkFactory) -> None:
    await seed_alerts(uow_factory)
    async with uow_factory() as uow:
        assert [a.id for a in await uow.alerts.active_for_org(ORG_A)] == ["al-3", "al-5", "al-2", "al-4"]
        assert [a.id for a in await uow.alerts.active_for_org(ORG_B)] == ["al-9"]
        # Oldest first within a template.
        assert [a.id for a in await uow.alerts.active_for_template("tpl-1")] == ["al-2", "al-5"]
        assert [a.id for a in await uow.alerts.active_for_template("tpl-2")] == ["al-3", "al-4"]
