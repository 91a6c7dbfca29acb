"""Campaign protection through the real inbox on SQLite and PostgreSQL: Meta's template webhooks,
in order, out of order and repeated, pause and resume the campaigns that use the template exactly as
Meta's time order says; a campaign a person paused stays paused; the organization's policy decides
about quality RED and a change to MARKETING."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.auth import Principal
from app.bootstrap import build_bus
from app.campaign_commands import CampaignMove, CreateCampaign, MoveCampaign, UpdateCampaignPolicy
from app.commands import AddWaba, CreateOrganization
from app.errors import CampaignTemplateNotSendable
from app.inbox import ChangeState, Delivery
from app.inbox_worker import InboxSettings, InboxWorker
from app.messagebus import MessageBus
from app.resource_names import TemplateKey
from domain.campaigns import CampaignPolicy, CampaignState, PauseReason
from domain.tenancy import Role
from fakes import FrozenClock

WABA, PHONE = "301122334455667", "109876543210987"
META_ID = 918273645500114
KEY = TemplateKey(WABA, "order_ready", "en_US")
T0 = 1764150000


def status(event: str, at: int, **extra: Any) -> tuple[str, dict[str, Any], int]:
    value = {
        "event": event,
        "message_template_id": META_ID,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
        **extra,
    }
    return ("message_template_status_update", value, at)


def quality(new: str, at: int) -> tuple[str, dict[str, Any], int]:
    value = {
        "previous_quality_score": "GREEN",
        "new_quality_score": new,
        "message_template_id": META_ID,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
    }
    return ("message_template_quality_update", value, at)


def category(new: str, at: int) -> tuple[str, dict[str, Any], int]:
    value = {
        "message_template_id": META_ID,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "previous_category": "UTILITY",
        "new_category": new,
    }
    return ("template_category_update", value, at)


@dataclass
class World:
    factory: SqlUnitOfWorkFactory
    clock: FrozenClock
    bus: MessageBus
    worker: InboxWorker
    operator: Principal
    deliveries: int = 0

    async def webhook(self, *changes: tuple[str, dict[str, Any], int]) -> None:
        async with self.factory() as uow:
            for field, value, at in changes:
                self.deliveries += 1
                body = {
                    "object": "whatsapp_business_account",
                    "entry": [{"id": WABA, "time": at, "changes": [{"field": field, "value": value}]}],
                }
                await uow.inbox.add_delivery(
                    Delivery(f"{self.deliveries:020d}-x", json.dumps(body).encode(), self.clock.now())
                )
            await uow.commit()
        while await self.worker.run_once():
            pass
        async with self.factory(read_only=True) as uow:
            left = await uow.inbox.list_changes(
                states=frozenset({ChangeState.PENDING, ChangeState.DEAD}), limit=5
            )
        assert list(left) == []

    async def campaign(self, name: str = "Spring sale") -> str:
        created = await self.bus.handle(CreateCampaign(self.operator, KEY, name))
        return str(created.id)

    async def move(self, campaign_id: str, move: CampaignMove) -> None:
        await self.bus.handle(MoveCampaign(self.operator, campaign_id, move))

    async def state(self, campaign_id: str) -> tuple[CampaignState, PauseReason | None]:
        async with self.factory(read_only=True) as uow:
            found = await uow.campaigns.get(self.operator.org_id, campaign_id)
        assert found is not None
        return found.state, found.pause_reason


@pytest.fixture
async def world(sql_engine: SqlEngine) -> World:
    factory = SqlUnitOfWorkFactory(sql_engine)
    clock = FrozenClock(datetime.fromtimestamp(T0 + 100_000, UTC))
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA, phone_number_ids=(PHONE,)))
    worker = InboxWorker(factory, clock, bus, MetaWebhookTranslator(), InboxSettings(batch=50))
    w = World(factory, clock, bus, worker, Principal(org.org_id, Role.OPERATOR, "k", "abc123"))
    await w.webhook(status("APPROVED", T0), quality("GREEN", T0 + 1))
    return w


async def test_a_paused_template_pauses_its_running_campaign_and_approval_resumes_it(world: World) -> None:
    running, draft = await world.campaign(), await world.campaign("Later")
    await world.move(running, CampaignMove.START)
    await world.webhook(status("PAUSED", T0 + 10, other_info={"title": "FIRST_PAUSE"}))
    assert await world.state(running) == (CampaignState.PAUSED, PauseReason.TEMPLATE_PAUSED)
    assert await world.state(draft) == (CampaignState.DRAFT, None)
    with pytest.raises(CampaignTemplateNotSendable):
        await world.move(draft, CampaignMove.START)
    await world.webhook(status("APPROVED", T0 + 20, other_info={"title": "UNPAUSE"}))
    assert await world.state(running) == (CampaignState.RUNNING, None)
    async with world.factory(read_only=True) as uow:
        history = await uow.campaigns.history(world.operator.org_id, running)
    assert [(h.transition.to_state, h.transition.actor) for h in history] == [
        (CampaignState.DRAFT, "apiKeys/abc123"),
        (CampaignState.RUNNING, "apiKeys/abc123"),
        (CampaignState.PAUSED, "service"),
        (CampaignState.RUNNING, "service"),
    ]
    assert "PAUSED" in history[2].transition.detail


async def test_out_of_order_and_repeated_webhooks_leave_campaigns_where_meta_s_order_says(
    world: World,
) -> None:
    running = await world.campaign()
    await world.move(running, CampaignMove.START)
    # Meta paused it at +10 and unpaused it at +20; the unpause arrives first, then both repeat.
    await world.webhook(status("APPROVED", T0 + 20))
    await world.webhook(status("PAUSED", T0 + 10), status("APPROVED", T0 + 20), status("PAUSED", T0 + 10))
    assert await world.state(running) == (CampaignState.RUNNING, None)
    # Shuffled: the last by Meta's time is DISABLED.
    events = [status("PAUSED", T0 + 30), status("APPROVED", T0 + 40), status("DISABLED", T0 + 50)]
    random.Random(7).shuffle(events)
    await world.webhook(*events)
    assert await world.state(running) == (CampaignState.PAUSED, PauseReason.TEMPLATE_DISABLED)


async def test_a_campaign_paused_by_a_person_is_never_resumed_by_the_service(world: World) -> None:
    campaign = await world.campaign()
    await world.move(campaign, CampaignMove.START)
    await world.move(campaign, CampaignMove.PAUSE)
    await world.webhook(status("PAUSED", T0 + 10))
    await world.webhook(status("APPROVED", T0 + 20))
    assert await world.state(campaign) == (CampaignState.PAUSED, PauseReason.MANUAL)


async def test_quality_red_pauses_by_default_and_the_policy_decides(world: World) -> None:
    campaign = await world.campaign()
    await world.move(campaign, CampaignMove.START)
    await world.webhook(quality("RED", T0 + 10))
    assert await world.state(campaign) == (CampaignState.PAUSED, PauseReason.QUALITY_RED)
    await world.webhook(quality("YELLOW", T0 + 20))
    assert await world.state(campaign) == (CampaignState.RUNNING, None)

    admin = Principal(world.operator.org_id, Role.ADMIN, "k2", "adm")
    await world.bus.handle(
        UpdateCampaignPolicy(
            admin, CampaignPolicy(pause_on_quality_red=False, pause_on_marketing_category=True)
        )
    )
    await world.webhook(quality("RED", T0 + 30))
    assert await world.state(campaign) == (CampaignState.RUNNING, None)
    await world.webhook(category("MARKETING", T0 + 40))
    assert await world.state(campaign) == (CampaignState.PAUSED, PauseReason.CATEGORY_CHANGED)
