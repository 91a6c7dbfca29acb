"""What only the database shows about the SQL repositories: what the columns hold. Their behaviour
through the ports is the contract suite's (tests/contract), run on the fake, SQLite and PostgreSQL;
racing writers are in test_sql_concurrent_writers.py. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.inbox import DeliveryState
from domain.alerts import AlertKind
from support.store_samples import (
    LEASE,
    NOW,
    ORG_A,
    add_organizations_and_wabas,
    alert,
    change,
    delivery,
    rich_template,
)


async def test_datetimes_come_back_as_utc_whatever_offset_they_were_stored_in(
    sql_engine: SqlEngine,
) -> None:
    # SQLite has no time zone type: UtcDateTime normalises on the way in and re-attaches UTC on the
    # way out, so both dialects return the same aware instant.
    factory = SqlUnitOfWorkFactory(sql_engine)
    await add_organizations_and_wabas(factory)
    minus_three, plus_five = timezone(timedelta(hours=-3)), timezone(timedelta(hours=5))
    template = rich_template()
    assert template.created_at.utcoffset() == timedelta(hours=-3)
    async with factory() as uow:
        await uow.templates.add(template)
        await uow.inbox.add_delivery(delivery(1, received_at=NOW.astimezone(minus_three)))
        await uow.inbox.add_changes([change(1, entry_time=datetime(2025, 11, 26, 6, 30, tzinfo=minus_three))])
        await uow.alerts.add(alert("al-1", kind=AlertKind.DISABLED, opened_at=NOW.astimezone(plus_five)))
        await uow.commit()

    async with factory() as uow:
        organization = await uow.organizations.get(ORG_A)
        stored = await uow.templates.get(ORG_A, template.id)
        (claimed,) = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=1)
        stored_change = await uow.inbox.lock_change("d0001-0000")
        stored_alert = await uow.alerts.get(ORG_A, "al-1")
    assert organization is not None
    assert stored is not None
    assert stored_change is not None
    assert stored_change.entry_time is not None
    assert stored_alert is not None
    utc_moments = [
        organization.created_at,
        stored.created_at,
        stored.updated_at,
        claimed.received_at,
        stored_change.entry_time,
        stored_alert.opened_at,
    ]
    assert [moment.utcoffset() for moment in utc_moments] == [timedelta(0)] * len(utc_moments)
    assert (stored.created_at, claimed.received_at) == (template.created_at, NOW)


async def test_saving_a_delivery_clears_its_lease_column(sql_engine: SqlEngine) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)
    async with factory() as uow:
        for number in (1, 2, 3):
            await uow.inbox.add_delivery(delivery(number))
        await uow.commit()

    async with factory() as uow:
        first, second, third = await uow.inbox.claim_deliveries(now=NOW, lease_until=NOW + LEASE, limit=3)
        first.state = DeliveryState.SPLIT
        second.state, second.error = DeliveryState.DEAD, "no entries ✗"
        for claimed in (first, second, third):
            await uow.inbox.save_delivery(claimed)
        await uow.commit()

    async with sql_engine.connect() as connection:
        rows = (await connection.execute(sa.select(tables.webhook_deliveries).order_by("id"))).all()
    assert [(r.state, r.error, r.lease_until) for r in rows] == [
        ("SPLIT", "", None),
        ("DEAD", "no entries ✗", None),
        ("PENDING", "", None),
    ]
