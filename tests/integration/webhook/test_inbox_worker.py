"""The inbox worker end to end over the in-memory store: raw deliveries in, template state, history,
alerts and inbox states out (the translator is the real one)."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.http.webhook.translators import MetaWebhookTranslator
from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import AcknowledgeAlert, AddWaba, CreateOrganization, ReplayInboxChange
from app.inbox import ChangeState, Delivery
from app.inbox_worker import InboxSettings, InboxWorker
from app.ports import AlertQuery
from domain.alerts import AlertKind, AlertState
from domain.observations import Outcome
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock
from fakes.translators import FailingTranslator

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
WABA = "301122334455667"


def envelope(*changes: tuple[str, Mapping[str, Any]], time: int = 1764153000, waba: str = WABA) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba, "time": time, "changes": [{"field": f, "value": v} for f, v in changes]}],
        }
    ).encode()


def status(event: str, template_id: int = 918273645500114, **extra: Any) -> tuple[str, dict[str, Any]]:
    return (
        "message_template_status_update",
        {
            "event": event,
            "message_template_id": template_id,
            "message_template_name": "weekly_digest",
            "message_template_language": "en_US",
            "reason": "NONE",
            "message_template_category": "MARKETING",
            **extra,
        },
    )


def quality(new: str, template_id: int = 918273645500114) -> tuple[str, dict[str, Any]]:
    return (
        "message_template_quality_update",
        {
            "previous_quality_score": "GREEN",
            "new_quality_score": new,
            "message_template_id": template_id,
            "message_template_name": "weekly_digest",
            "message_template_language": "en_US",
        },
    )


@dataclass
class Inbox:
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    worker: InboxWorker
    principal: Principal
    bus: Any
    deliveries: int = 0

    async def post(self, body: bytes) -> None:
        self.deliveries += 1
        async with self.factory() as uow:
            await uow.inbox.add_delivery(
                Delivery(id=f"{self.deliveries:020d}-x", body=body, received_at=self.clock.now())
            )
            await uow.commit()

    async def drain(self, worker: InboxWorker | None = None) -> None:
        for _ in range(100):
            if not await (worker or self.worker).run_once():
                return
        raise AssertionError("the worker did not settle")

    async def template(self, name: str = "weekly_digest") -> Template:
        async with self.factory(read_only=True) as uow:
            found = await uow.templates.get_by_key(self.principal.org_id, WABA, name, "en_US")
        assert found is not None, f"{name} was not created"
        return found

    async def history(self, template: Template) -> list[tuple[str, Outcome]]:
        async with self.factory(read_only=True) as uow:
            records = await uow.template_events.list_for_template(
                self.principal.org_id, template.id, limit=1000
            )
        return [(r.event.to_value, r.event.outcome) for r in records]

    async def alerts(self) -> list[tuple[AlertKind, AlertState]]:
        async with self.factory(read_only=True) as uow:
            found = await uow.alerts.list(AlertQuery(org_id=self.principal.org_id, limit=100))
        return sorted((a.kind, a.state) for a in found)

    async def changes(self, *states: ChangeState) -> list[Any]:
        async with self.factory(read_only=True) as uow:
            return list(await uow.inbox.list_changes(states=frozenset(states), limit=1000))


@pytest.fixture
async def inbox() -> Inbox:
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA))
    worker = InboxWorker(
        factory,
        clock,
        bus,
        MetaWebhookTranslator(),
        InboxSettings(max_attempts=3, backoff_initial=timedelta(seconds=1)),
    )
    return Inbox(factory, clock, worker, Principal(org.org_id, Role.OPERATOR, "key1"), bus)


async def test_every_sample_is_processed_and_nothing_is_lost(inbox: Inbox) -> None:
    for sample in sorted(SAMPLES.glob("*.json")):
        await inbox.post(sample.read_bytes())
    await inbox.drain()
    assert await inbox.changes(ChangeState.PENDING, ChangeState.DEAD) == []
    # The messages samples are applied too (windows and message records).
    assert await inbox.changes(ChangeState.SKIPPED) == []
    assert {c.field for c in await inbox.changes(ChangeState.DONE)} >= {"messages"}
    digest = await inbox.template()
    assert digest.status is TemplateStatus.DISABLED
    assert digest.quality is TemplateQuality.RED
    assert digest.needs_sync
    # Batched sample 10: the impending category change and the components update both landed.
    pickup = await inbox.template("pickup_reminder")
    assert pickup.components.body == "Hi {{1}}, your pickup window closes at {{2}} today."
    assert ("MARKETING", Outcome.NOTICE) in await inbox.history(await inbox.template("order_ready"))
    assert (AlertKind.CATEGORY_PRICIER, AlertState.OPEN) in await inbox.alerts()
    assert (AlertKind.DISABLED, AlertState.OPEN) in await inbox.alerts()
    assert (AlertKind.REJECTED, AlertState.OPEN) in await inbox.alerts()


async def test_duplicates_are_no_ops_and_history_has_each_change_once(inbox: Inbox) -> None:
    body = envelope(status("PAUSED"), time=1000)
    for _ in range(5):
        await inbox.post(body)
    await inbox.drain()
    digest = await inbox.template()
    assert await inbox.history(digest) == [("PAUSED", Outcome.APPLIED)]
    assert await inbox.alerts() == [(AlertKind.PAUSED, AlertState.OPEN)]


async def test_out_of_order_deliveries_end_in_the_state_of_the_latest_meta_time(inbox: Inbox) -> None:
    events = [("APPROVED", 1000), ("PAUSED", 2000), ("APPROVED", 3000), ("FLAGGED", 4000), ("DISABLED", 5000)]
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    for event, time in shuffled:
        await inbox.post(envelope(status(event), time=time))
    await inbox.drain()
    digest = await inbox.template()
    assert digest.status is TemplateStatus.DISABLED
    history = await inbox.history(digest)
    assert len(history) == len(events)


async def test_recovery_resolves_the_alert_and_a_new_pause_opens_a_new_one(inbox: Inbox) -> None:
    await inbox.post(envelope(status("PAUSED"), time=1000))
    await inbox.post(envelope(quality("RED"), time=1001))
    await inbox.drain()
    assert await inbox.alerts() == [
        (AlertKind.PAUSED, AlertState.OPEN),
        (AlertKind.QUALITY_RED, AlertState.OPEN),
    ]
    await inbox.post(envelope(status("APPROVED", other_info={"title": "UNPAUSE"}), time=2000))
    await inbox.post(envelope(quality("GREEN"), time=2001))
    await inbox.drain()
    assert await inbox.alerts() == [
        (AlertKind.PAUSED, AlertState.RESOLVED),
        (AlertKind.QUALITY_RED, AlertState.RESOLVED),
    ]
    await inbox.post(envelope(status("PAUSED"), time=3000))
    await inbox.drain()
    assert sorted(await inbox.alerts()) == sorted(
        [
            (AlertKind.PAUSED, AlertState.RESOLVED),
            (AlertKind.QUALITY_RED, AlertState.RESOLVED),
            (AlertKind.PAUSED, AlertState.OPEN),
        ]
    )


async def test_repeated_pause_refreshes_one_alert_and_acknowledging_twice_is_idempotent(inbox: Inbox) -> None:
    await inbox.post(envelope(status("PAUSED"), time=1000))
    await inbox.post(envelope(status("PAUSED", other_info={"title": "SECOND_PAUSE"}), time=2000))
    await inbox.drain()
    async with inbox.factory(read_only=True) as uow:
        [alert] = await uow.alerts.list(AlertQuery(org_id=inbox.principal.org_id))
    first = await inbox.bus.handle(AcknowledgeAlert(inbox.principal, alert.id))
    inbox.clock.advance(minutes=5)
    second = await inbox.bus.handle(AcknowledgeAlert(inbox.principal, alert.id))
    assert first.state is AlertState.ACKNOWLEDGED
    assert (second.acknowledged_at, second.acknowledged_by) == (first.acknowledged_at, "key1")


async def test_unknown_waba_is_parked_until_registered(inbox: Inbox) -> None:
    other = "999000111"
    await inbox.post(envelope(status("APPROVED"), waba=other))
    await inbox.drain()
    [parked] = await inbox.changes(ChangeState.PARKED)
    assert other in parked.last_error
    await inbox.bus.handle(CreateOrganization("globex"))
    await inbox.bus.handle(AddWaba("globex", other))
    await inbox.drain()
    assert await inbox.changes(ChangeState.PARKED) == []
    assert len(await inbox.changes(ChangeState.DONE)) == 1


async def test_untranslatable_change_is_dead_with_its_reason_and_the_rest_is_applied(inbox: Inbox) -> None:
    bad = ("message_template_status_update", {"event": "APPROVED", "message_template_id": True})
    await inbox.post(envelope(bad, status("PAUSED")))
    await inbox.drain()
    [dead] = await inbox.changes(ChangeState.DEAD)
    assert "message_template_id" in dead.last_error
    assert (await inbox.template()).status is TemplateStatus.PAUSED


async def test_malformed_delivery_is_kept_dead_not_dropped(inbox: Inbox) -> None:
    await inbox.post(b'{"object": "whatsapp_business_account", "entry": "nope"}')
    await inbox.drain()
    inbox.clock.advance(hours=1)  # past any lease
    async with inbox.factory() as uow:
        # Nothing left to claim: the delivery is settled (DEAD, with its reason), not pending.
        claimed = await uow.inbox.claim_deliveries(
            now=inbox.clock.now(), lease_until=inbox.clock.now(), limit=10
        )
    assert claimed == []
    assert await inbox.changes(ChangeState.PENDING, ChangeState.DONE) == []
    [dead] = await inbox.changes(ChangeState.DEAD)
    assert "entry" in dead.last_error
    assert "nope" in dead.value["_raw"]


async def test_failures_retry_with_backoff_then_park_dead_and_replay_applies(inbox: Inbox) -> None:
    broken = FailingTranslator(RuntimeError("database hiccup"))
    worker = InboxWorker(
        inbox.factory,
        inbox.clock,
        build_bus(inbox.factory, inbox.clock, webhook_translator=broken),
        broken,
        InboxSettings(max_attempts=3, backoff_initial=timedelta(seconds=1)),
    )
    await inbox.post(envelope(status("APPROVED")))
    await inbox.drain(worker)
    [pending] = await inbox.changes(ChangeState.PENDING)
    # Tried in its group, then alone (to tell a bad change from a bad group): one attempt counted.
    assert (pending.attempts, broken.calls) == (1, 2)
    assert pending.next_attempt_at == inbox.clock.now() + timedelta(seconds=1)
    await inbox.drain(worker)
    assert broken.calls == 2  # not due yet
    inbox.clock.advance(seconds=1)
    await inbox.drain(worker)
    inbox.clock.advance(seconds=2)
    await inbox.drain(worker)
    [dead] = await inbox.changes(ChangeState.DEAD)
    assert dead.attempts == 3
    assert "database hiccup" in dead.last_error

    broken.failing = False
    await inbox.bus.handle(ReplayInboxChange(None, dead.id))
    await inbox.drain(worker)
    assert (await inbox.template()).status is TemplateStatus.APPROVED


async def test_a_webhook_for_an_unseen_template_creates_it_flagged_for_sync(inbox: Inbox) -> None:
    await inbox.post(envelope(status("APPROVED", template_id=42)))
    await inbox.drain()
    made = await inbox.template()
    assert (made.meta_template_id, made.category, made.needs_sync) == ("42", TemplateCategory.MARKETING, True)


async def test_a_category_update_naming_only_the_new_category_is_applied(inbox: Inbox) -> None:
    await inbox.post(envelope(status("APPROVED"), time=1764153000))
    change = (
        "template_category_update",
        {
            "message_template_id": 918273645500114,
            "message_template_name": "weekly_digest",
            "message_template_language": "en_US",
            "new_category": "UTILITY",
        },
    )
    await inbox.post(envelope(change, time=1764153060))
    await inbox.drain()
    assert await inbox.changes(ChangeState.DEAD) == []
    assert (await inbox.template()).category is TemplateCategory.UTILITY
