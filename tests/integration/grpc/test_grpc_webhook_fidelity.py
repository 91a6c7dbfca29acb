"""What Meta's real-shaped webhooks leave behind, read back through the API as a client sees it:
the samples in tests/fixtures/samples (Meta's documented payloads), moved to a registered WABA."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.inbox import ChangeState
from integration.grpc.health_world import (
    ACME_WABA,
    UNREGISTERED_WABA,
    HealthWorld,
    health_world,
    resource,
    status,
)
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import template_health_pb2 as hp
from watemplates.v1 import templates_pb2 as tp
from watemplates.v1 import templates_pb2_grpc

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"


@pytest.fixture
async def world() -> AsyncIterator[HealthWorld]:
    async with health_world() as opened:
        yield opened


def sample(name: str, waba: str | None = ACME_WABA, **value_changes: Any) -> bytes:
    """A sample delivery, sent for `waba` (None: an entry without an id), its first change's value
    amended with `value_changes`."""
    body = json.loads((SAMPLES / name).read_text())
    entry = body["entry"][0]
    if waba is None:
        del entry["id"]
    else:
        entry["id"] = waba
    entry["changes"][0]["value"].update(value_changes)
    return json.dumps(body).encode()


async def deliver(world: HealthWorld, body: bytes) -> str:
    change_id = await world.post_body(body)
    await world.drain()
    world.clock.advance(minutes=1)
    return change_id


async def template(world: HealthWorld, name: str) -> pb.Template:
    stub = templates_pb2_grpc.TemplateServiceStub(world.channel)
    response: tp.GetTemplateResponse = await stub.GetTemplate(
        tp.GetTemplateRequest(name=resource(name)), metadata=world.a.auth()
    )
    return response.template


async def history(world: HealthWorld, name: str) -> list[hp.TemplateEvent]:
    response = await world.health.ListTemplateHistory(
        hp.ListTemplateHistoryRequest(name=resource(name)), metadata=world.a.auth("viewer")
    )
    return list(response.events)


async def alerts(world: HealthWorld) -> list[hp.Alert]:
    response = await world.health.ListAlerts(hp.ListAlertsRequest(), metadata=world.a.auth("viewer"))
    return list(response.alerts)


async def test_a_pause_alert_says_what_other_info_says_not_meta_s_placeholder(world: HealthWorld) -> None:
    await deliver(world, sample("07_template_paused_first_pause.json"))
    explained = "FIRST_PAUSE: Your template was paused because of low quality feedback from recipients."
    [alert] = await alerts(world)
    assert (alert.kind, alert.reason) == (hp.ALERT_KIND_PAUSED, explained)
    [event] = await history(world, "weekly_digest")
    assert event.reason == explained


async def test_a_rejection_for_its_format_says_why_and_what_to_do(world: HealthWorld) -> None:
    await deliver(world, sample("06_template_rejected_invalid_format.json"))
    [alert] = await alerts(world)
    assert alert.reason.startswith("INVALID_FORMAT: Two variables appear side by side")
    assert "Recommendation: Put descriptive words or punctuation between each variable." in alert.reason


async def test_unarchived_keeps_the_status_asks_for_a_sync_and_is_in_history(world: HealthWorld) -> None:
    await deliver(world, sample("05_template_approved.json"))
    await deliver(world, sample("05_template_approved.json", event="ARCHIVED"))
    await deliver(world, sample("05_template_approved.json", event="UNARCHIVED"))
    found = await template(world, "order_ready")
    # Not OTHER: unarchiving restores a status only Meta knows, so ours stays and a sync asks.
    assert (found.status, found.raw_status, found.needs_sync) == (
        pb.TEMPLATE_STATUS_ARCHIVED,
        "ARCHIVED",
        True,
    )
    assert [(e.to_value, e.outcome) for e in await history(world, "order_ready")] == [
        ("APPROVED", hp.CHANGE_OUTCOME_APPLIED),
        ("ARCHIVED", hp.CHANGE_OUTCOME_APPLIED),
        ("UNARCHIVED", hp.CHANGE_OUTCOME_APPLIED),
    ]
    assert await alerts(world) == []


async def test_a_template_first_seen_through_a_quality_rating_is_approved(world: HealthWorld) -> None:
    await deliver(world, sample("09_quality_green_to_red.json"))
    found = await template(world, "weekly_digest")
    assert (found.status, found.quality, found.needs_sync) == (
        pb.TEMPLATE_STATUS_APPROVED,
        pb.TEMPLATE_QUALITY_RED,
        True,  # its text is still to be fetched
    )
    events = await history(world, "weekly_digest")
    assert [(e.aspect, e.from_value, e.to_value) for e in events] == [
        (hp.HISTORY_ASPECT_STATUS, "", "APPROVED"),
        # The first quality event comes from what Meta says it was, not from our UNKNOWN.
        (hp.HISTORY_ASPECT_QUALITY, "GREEN", "RED"),
    ]
    assert "approved templates only" in events[0].reason
    assert [a.kind for a in await alerts(world)] == [hp.ALERT_KIND_QUALITY_RED]


async def test_a_template_first_seen_without_its_status_is_unknown_until_a_sync(world: HealthWorld) -> None:
    await deliver(world, sample("10_batched_category_and_components.json"))
    for name in ("order_ready", "pickup_reminder"):
        found = await template(world, name)
        assert (found.status, found.needs_sync) == (pb.TEMPLATE_STATUS_UNKNOWN, True), name
    # A later status webhook is Meta's word, whenever it happened.
    await deliver(world, sample("05_template_approved.json", event="PAUSED"))
    assert (await template(world, "order_ready")).status == pb.TEMPLATE_STATUS_PAUSED


async def test_deliveries_naming_no_waba_are_the_operators_not_a_tenants(world: HealthWorld) -> None:
    nobodys = await deliver(world, sample("07_template_paused_first_pause.json", waba=None))
    unregistered = await deliver(world, sample("07_template_paused_first_pause.json", waba=UNREGISTERED_WABA))
    for tenant in (world.a, world.b):
        listed = await world.inbox.ListInboxChanges(
            hp.ListInboxChangesRequest(), metadata=tenant.auth("admin")
        )
        assert list(listed.changes) == []
    # The operator's view (`watemplates inbox list`) has both, each saying why it is stuck.
    page = await world.services.inbox_queries.changes(None, frozenset(), 100, "")
    by_id = {change.id: change for change in page.items}
    assert by_id[nobodys].state is ChangeState.DEAD
    assert "no WABA id" in by_id[nobodys].last_error
    assert by_id[unregistered].state is ChangeState.PARKED
    assert "not registered" in by_id[unregistered].last_error


async def test_status_webhooks_set_a_status_the_status_field_names(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("fresh", "REJECTED", reason="SCAM"))
    found = await template(world, "fresh")
    assert (found.status, found.rejection_reason) == (pb.TEMPLATE_STATUS_REJECTED, "SCAM")
