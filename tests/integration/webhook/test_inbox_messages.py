"""The inbox worker applies `messages` changes on SQLite and PostgreSQL: inbound messages move
conversation windows, statuses move message records, and 131047 / 132015 / 132016 failures say
something about a window or a template. The translator and the store are the real ones."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateOrganization
from app.inbox import ChangeState, Delivery
from app.inbox_worker import InboxSettings, InboxWorker
from domain.conversations import ConversationWindow, WindowState
from domain.messages import DeliveryStatus, MessageKind, OutboundMessage, SendOutcome
from domain.observations import ChangeSource
from domain.status import TemplateStatus
from fakes import FrozenClock
from support.webhooks import messages_delivery

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
WABA = "301122334455667"
OTHER_WABA = "301122334455999"
PHONE = "109876543210987"
T0 = 1764151200


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def envelope(value: Mapping[str, Any], waba: str = WABA) -> bytes:
    return messages_delivery(value, waba, PHONE)


def inbound(wamid: str, seconds: int, wa_id: str = "447700900123", user_id: str = "", **extra: Any) -> bytes:
    contact: dict[str, Any] = {"wa_id": wa_id}
    if user_id:
        contact["user_id"] = user_id
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(seconds), "type": "text", **extra}
    if user_id:
        message["from_user_id"] = user_id
    return envelope({"contacts": [contact], "messages": [message]})


def status(wamid: str, state: str, seconds: int, recipient: str = "447700900123", **extra: Any) -> bytes:
    entry = {"id": wamid, "status": state, "timestamp": str(seconds), "recipient_id": recipient, **extra}
    return envelope({"statuses": [entry]})


def failed(wamid: str, seconds: int, code: int, recipient: str = "447700900123") -> bytes:
    return status(wamid, "failed", seconds, recipient, errors=[{"code": code, "title": f"error {code}"}])


@dataclass
class World:
    factory: SqlUnitOfWorkFactory
    clock: FrozenClock
    worker: InboxWorker
    org_id: str
    other_org_id: str
    deliveries: int = 0

    async def post(self, *bodies: bytes) -> None:
        async with self.factory() as uow:
            for body in bodies:
                self.deliveries += 1
                await uow.inbox.add_delivery(
                    Delivery(id=f"{self.deliveries:020d}-x", body=body, received_at=self.clock.now())
                )
            await uow.commit()
        for _ in range(100):
            if not await self.worker.run_once():
                break
        async with self.factory(read_only=True) as uow:
            left = await uow.inbox.list_changes(
                states=frozenset({ChangeState.PENDING, ChangeState.DEAD}), limit=10
            )
        assert list(left) == []

    async def window(self, contact: str, org_id: str | None = None) -> ConversationWindow | None:
        async with self.factory(read_only=True) as uow:
            return await uow.windows.find(org_id or self.org_id, PHONE, contact)

    async def message(self, wamid: str) -> OutboundMessage | None:
        async with self.factory(read_only=True) as uow:
            return await uow.messages.get_by_wamid(self.org_id, wamid)


@pytest.fixture
async def world(sql_engine: SqlEngine) -> World:
    factory, clock = SqlUnitOfWorkFactory(sql_engine), FrozenClock(at(T0 + 3600))
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    other = await bus.handle(CreateOrganization("globex"))
    await bus.handle(AddWaba("acme", WABA))
    await bus.handle(AddWaba("globex", OTHER_WABA))
    worker = InboxWorker(factory, clock, bus, MetaWebhookTranslator(), InboxSettings(batch=50))
    return World(factory, clock, worker, org.org_id, other.org_id)


async def test_the_samples_open_windows_and_record_statuses(world: World) -> None:
    await world.post(*(p.read_bytes() for p in sorted(SAMPLES.glob("0[1-4]_*.json"))))

    rosa = await world.window("447700900123")
    assert rosa is not None
    assert rosa.last_inbound_at == at(1764151200)
    assert rosa.status(at(1764151200) + timedelta(hours=23)).state is WindowState.OPEN
    tom = await world.window("4915112345678")
    assert tom is not None
    assert tom.referral_source_id == "120200000000000001"
    delivered = await world.message("wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQjc4")
    assert delivered is not None
    assert (delivered.outcome, delivered.status, delivered.callback_data) == (
        SendOutcome.OBSERVED,
        DeliveryStatus.DELIVERED,
        "campaign=spring26;row=42",
    )
    # Dated by Meta's status time, not when the worker ran (a replayed backlog lists in order).
    assert delivered.created_at == at(1764151262)
    capped = await world.message("wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEkZG")
    assert capped is not None
    assert (capped.status, capped.error_code) == (DeliveryStatus.FAILED, 131049)


async def test_order_and_duplicates_do_not_matter(world: World) -> None:
    await world.post(inbound("wamid.2", T0 + 600), inbound("wamid.1", T0), inbound("wamid.2", T0 + 600))
    await world.post(inbound("wamid.1", T0))
    window = await world.window("447700900123")
    assert window is not None
    assert (window.last_inbound_at, window.last_inbound_message_id) == (at(T0 + 600), "wamid.2")


async def test_a_username_contact_is_tracked_and_found_by_either_id_once_both_are_known(world: World) -> None:
    await world.post(inbound("wamid.u1", T0, wa_id="", user_id="US.42"))
    assert await world.window("US.42") is not None
    await world.post(inbound("wamid.p1", T0 + 60, wa_id="15550002222"))
    # Two windows so far (nothing tells they are one person); a message naming both joins them.
    await world.post(inbound("wamid.b1", T0 + 120, wa_id="15550002222", user_id="US.42"))
    by_user, by_phone = await world.window("US.42"), await world.window("15550002222")
    assert by_user is not None
    assert by_phone is not None
    assert by_user.id == by_phone.id
    assert by_user.last_inbound_at == at(T0 + 120)


async def test_windows_are_per_organization_and_per_phone_number(world: World) -> None:
    await world.post(inbound("wamid.a", T0))
    assert await world.window("447700900123", world.other_org_id) is None
    async with world.factory(read_only=True) as uow:
        assert await uow.windows.find(world.org_id, "another-phone", "447700900123") is None


async def test_system_messages_are_recorded_without_opening_the_window(world: World) -> None:
    system = {"body": "User changed number", "type": "user_changed_number"}
    await world.post(inbound("wamid.s", T0, type="system", system=system))
    window = await world.window("447700900123")
    assert window is not None
    assert (window.last_inbound_at, window.last_system_type) == (None, "user_changed_number")


async def test_a_131047_failure_closes_the_window_until_a_newer_inbound_message(world: World) -> None:
    await world.post(inbound("wamid.in", T0))
    await world.post(failed("wamid.out", T0 + 600, 131047))
    window = await world.window("447700900123")
    assert window is not None
    assert window.status(at(T0 + 700)).state is WindowState.CLOSED
    await world.post(inbound("wamid.in2", T0 + 900))
    window = await world.window("447700900123")
    assert window is not None
    assert window.status(at(T0 + 1000)).state is WindowState.OPEN


async def test_statuses_update_our_record_and_a_132015_pauses_its_template(world: World) -> None:
    approved = {
        "event": "APPROVED",
        "message_template_id": 918273645500114,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA,
                    "time": T0 - 60,
                    "changes": [{"field": "message_template_status_update", "value": approved}],
                }
            ],
        }
    ).encode()
    await world.post(body)
    async with world.factory() as uow:
        template = await uow.templates.get_by_key(world.org_id, WABA, "order_ready", "en_US")
        assert template is not None
        assert template.status is TemplateStatus.APPROVED
        record = OutboundMessage(
            "m1", world.org_id, WABA, PHONE, "447700900123", MessageKind.TEMPLATE, at(T0),
            outcome=SendOutcome.ACCEPTED, template_id=template.id, template_name="order_ready",
            language_code="en_US", wamid="wamid.ours",
        )  # fmt: skip
        assert await uow.messages.add(record)
        await uow.commit()

    await world.post(status("wamid.ours", "sent", T0 + 1), failed("wamid.ours", T0 + 2, 132015))

    mine = await world.message("wamid.ours")
    assert mine is not None
    assert mine.id == "m1"
    assert (mine.outcome, mine.status, mine.sent_at, mine.error_code) == (
        SendOutcome.ACCEPTED,
        DeliveryStatus.FAILED,
        at(T0 + 1),
        132015,
    )
    async with world.factory(read_only=True) as uow:
        paused = await uow.templates.get_by_key(world.org_id, WABA, "order_ready", "en_US")
        assert paused is not None
        assert paused.status is TemplateStatus.PAUSED
        history = await uow.template_events.list_for_template(world.org_id, paused.id, limit=10)
    assert [(r.event.to_value, r.event.source) for r in history][-1] == (
        "PAUSED",
        ChangeSource.MESSAGE_STATUS,
    )


async def test_a_status_of_another_organizations_message_stays_in_its_organization(world: World) -> None:
    await world.post(
        envelope({"statuses": [{"id": "wamid.g", "status": "read", "timestamp": str(T0)}]}, OTHER_WABA)
    )
    assert await world.message("wamid.g") is None
    async with world.factory(read_only=True) as uow:
        assert await uow.messages.get_by_wamid(world.other_org_id, "wamid.g") is not None
