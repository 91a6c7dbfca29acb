"""The inbox worker applies a batch of changes with a handful of statements, on SQLite and
PostgreSQL, and the batch keeps every guarantee a change applied alone has: Meta-time order per
template, complete history, one active alert per kind (resolved before reopened), exactly once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.sql.engine import create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory, is_transient_error
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateOrganization
from app.inbox import ChangeState, Delivery
from app.inbox_worker import InboxSettings, InboxWorker
from app.ports import AlertQuery
from domain.alerts import AlertKind, AlertState
from domain.status import TemplateStatus
from fakes import FrozenClock
from support.databases import migrated, new_database_url

WABA = "301122334455667"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated(new_database_url(str(request.param), request, tmp_path_factory))


@dataclass
class World:
    factory: SqlUnitOfWorkFactory
    worker: InboxWorker
    clock: FrozenClock
    org_id: str
    statements: list[str]
    deliveries: int = 0

    async def post(self, *changes: dict[str, Any], time: int) -> None:
        self.deliveries += 1
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": WABA, "time": time, "changes": list(changes)}],
            }
        ).encode()
        async with self.factory() as uow:
            await uow.inbox.add_delivery(
                Delivery(id=f"{self.deliveries:020d}-x", body=body, received_at=self.clock.now())
            )
            await uow.commit()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    engine = create_engine(database_url)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    factory = SqlUnitOfWorkFactory(engine)
    clock = FrozenClock()
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA))
    worker = InboxWorker(
        factory,
        clock,
        bus,
        MetaWebhookTranslator(),
        # One claim, one transaction for everything posted.
        InboxSettings(batch=500, changes_per_transaction=500),
        transient=is_transient_error,
    )
    try:
        yield World(factory, worker, clock, org.org_id, statements)
    finally:
        await engine.dispose()


def status(event: str, number: int) -> dict[str, Any]:
    return {
        "field": "message_template_status_update",
        "value": {
            "event": event,
            "message_template_id": 918273645500000 + number,
            "message_template_name": f"digest_{number}",
            "message_template_language": "en_US",
            "reason": "NONE",
            "message_template_category": "MARKETING",
        },
    }


async def test_a_batch_costs_a_handful_of_statements_however_many_changes_it_holds(world: World) -> None:
    # Ten templates, created by the first batch.
    for number in range(10):
        await world.post(status("APPROVED", number), time=1000)
    await world.worker.split_deliveries()
    await world.worker.process_changes()

    # Then 100 changes to them, alternating pauses and approvals in Meta's time order.
    for round_ in range(10):
        for number in range(10):
            await world.post(status("PAUSED" if round_ % 2 == 0 else "APPROVED", number), time=2000 + round_)
    await world.worker.split_deliveries()
    world.statements.clear()
    assert await world.worker.process_changes() == 100

    # Begin, the history lock (PostgreSQL), the due changes locked (1), their templates (1), the
    # templates' updates (1), history (1), alerts: one read and two writes, the channels to notify
    # of the alerts (1), the templates' campaigns (1), the changes' states (1), commit: ten to
    # thirteen by dialect, however many changes. Applied alone, each change cost about five.
    assert len(world.statements) <= 14, world.statements
    async with world.factory(read_only=True) as uow:
        counts = await uow.inbox.count_changes()
        digest = await uow.templates.get_by_key(world.org_id, WABA, "digest_3", "en_US")
        assert digest is not None
        history = await uow.template_events.list_for_template(world.org_id, digest.id, limit=100)
        alerts = await uow.alerts.list(AlertQuery(org_id=world.org_id, template_id=digest.id, limit=100))
    assert counts[ChangeState.DONE] == 110
    assert counts[ChangeState.PENDING] == 0
    assert digest.status is TemplateStatus.APPROVED  # the last round approved
    assert [entry.event.to_value for entry in history] == ["APPROVED"] + ["PAUSED", "APPROVED"] * 5
    # Each pause opened an alert, each approval resolved it: five, none active.
    assert sorted((a.kind, a.state) for a in alerts) == [(AlertKind.PAUSED, AlertState.RESOLVED)] * 5


async def test_in_one_batch_out_of_order_changes_converge_and_a_reopened_alert_is_the_only_active_one(
    world: World,
) -> None:
    await world.post(status("APPROVED", 1), time=1000)
    await world.worker.split_deliveries()
    await world.worker.process_changes()

    # Arriving out of Meta's order, all in one batch: pause (3000) is the latest.
    await world.post(status("PAUSED", 1), time=3000)
    await world.post(status("PAUSED", 1), time=2000)
    await world.post(status("APPROVED", 1), time=2500)
    # And the same change again (Meta retries): applied once.
    await world.post(status("PAUSED", 1), time=3000)
    world.clock.advance(timedelta(seconds=1))
    await world.worker.split_deliveries()
    await world.worker.process_changes()

    async with world.factory(read_only=True) as uow:
        digest = await uow.templates.get_by_key(world.org_id, WABA, "digest_1", "en_US")
        assert digest is not None
        alerts = await uow.alerts.list(AlertQuery(org_id=world.org_id, limit=100))
        history = await uow.template_events.list_for_template(world.org_id, digest.id, limit=100)
        counts = await uow.inbox.count_changes()
    assert digest.status is TemplateStatus.PAUSED
    assert counts[ChangeState.DONE] == 4  # the retry's change was never stored a second time
    assert len(history) == 4
    active = [a for a in alerts if a.state is not AlertState.RESOLVED]
    assert [(a.kind, a.state) for a in active] == [(AlertKind.PAUSED, AlertState.OPEN)]
