"""Notifications over the in-memory store: written with the alert or campaign move they tell, once
per interested channel however often the event repeats, and delivered by the dispatcher with
retries, backoff, Retry-After and a budget, then replayable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from app.auth import Principal
from app.bootstrap import build_bus, publishing
from app.campaign_commands import CreateChannel, ReplayNotification
from app.commands import AddWaba, CreateOrganization, CreateTemplate
from app.messagebus import MessageBus
from app.notification_dispatcher import DispatchSettings, NotificationDispatcher
from app.notification_ports import DeliveryFailed, NotificationQuery
from app.ports import UnitOfWorkFactory
from domain.alerts import AlertKind, Severity
from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.notifications import Channel, ChannelKind, Notification, NotificationKind, NotificationState
from domain.observations import Aspect, ChangeSource, Observation
from domain.status import TemplateCategory
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock

WABA = "301122334455667"


@dataclass
class RecordingSender:
    """A channel that takes what it is given, or fails as scripted."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    failures: list[DeliveryFailed] = field(default_factory=list)

    async def send(self, channel: Channel, notification: Notification) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((channel.display_name, notification.content.subject))


@dataclass
class World:
    factory: UnitOfWorkFactory
    clock: FrozenClock
    bus: MessageBus
    admin: Principal

    async def status(self, value: str, minutes: int) -> None:
        async with self.factory() as uow:
            template = await uow.templates.get_by_key(self.admin.org_id, WABA, "order_ready", "en_US")
            assert template is not None
            at = self.clock.now() + timedelta(minutes=minutes)
            template.observe(Observation(Aspect.STATUS, value, ChangeSource.WEBHOOK, at), received_at=at)
            await uow.templates.update(template)
            await uow.commit()

    async def notifications(self) -> list[Notification]:
        async with self.factory(read_only=True) as uow:
            return list(await uow.notifications.list(NotificationQuery(self.admin.org_id, limit=100)))


@pytest.fixture
async def world() -> World:
    store, clock = FakeUnitOfWorkFactory(), FrozenClock()
    factory = publishing(store)
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA))
    admin = Principal(org.org_id, Role.ADMIN, "k", "adm")
    definition = TemplateDefinition(
        "order_ready",
        "en_US",
        TemplateCategory.UTILITY,
        Components(body="Hi {{first_name}}, your order is ready."),
        (ParameterSpec("first_name", "Dana"),),
    )
    await bus.handle(CreateTemplate(admin, WABA, definition))
    return World(factory, clock, bus, admin)


async def channel(world: World, name: str, **kwargs: object) -> Channel:
    command = CreateChannel(world.admin, ChannelKind.EMAIL, name, ["ops@example.com"], **kwargs)  # type: ignore[arg-type]
    created: Channel = await world.bus.handle(command)
    return created


async def test_an_alert_is_told_once_to_each_channel_that_wants_it(world: World) -> None:
    await channel(world, "everything")
    await channel(world, "critical only", min_severity=Severity.CRITICAL)
    await channel(world, "no pauses", muted=frozenset({AlertKind.PAUSED}))
    await world.status("APPROVED", 1)
    await world.status("PAUSED", 2)
    await world.status("PAUSED", 2)  # the same event again
    opened = [n for n in await world.notifications() if n.content.kind is NotificationKind.ALERT_OPENED]
    assert [n.content.alert_kind for n in opened] == [AlertKind.PAUSED]
    await world.status("APPROVED", 3)
    kinds = sorted(n.content.kind.value for n in await world.notifications())
    assert kinds == ["ALERT_OPENED", "ALERT_RESOLVED"]


async def test_the_dispatcher_delivers_retries_and_gives_up_after_its_budget(world: World) -> None:
    await channel(world, "ops")
    await world.status("APPROVED", 1)
    await world.status("PAUSED", 2)
    sender = RecordingSender(failures=[DeliveryFailed("SMTP 451", retry_after=None)])
    settings = DispatchSettings(attempts=3, backoff=timedelta(seconds=10))
    dispatcher = NotificationDispatcher(world.factory, world.clock, sender, settings)
    assert await dispatcher.run_once() == 1
    [pending] = await world.notifications()
    assert (pending.state, pending.attempts, pending.last_error) == (NotificationState.PENDING, 1, "SMTP 451")
    assert await dispatcher.run_once() == 0  # not due for 10 s
    world.clock.advance(seconds=10)
    assert await dispatcher.run_once() == 1
    [sent] = await world.notifications()
    assert (sent.state, sent.attempts) == (NotificationState.SENT, 2)
    assert [subject for _, subject in sender.sent] == [sent.content.subject]
    assert "PAUSED" in sent.content.subject


async def test_retry_after_is_honoured_and_a_permanent_refusal_fails_at_once(world: World) -> None:
    await channel(world, "ops")
    await world.status("APPROVED", 1)
    await world.status("PAUSED", 2)
    sender = RecordingSender(
        failures=[DeliveryFailed("429", retry_after=120), DeliveryFailed("HTTP 404", permanent=True)]
    )
    dispatcher = NotificationDispatcher(
        world.factory, world.clock, sender, DispatchSettings(backoff=timedelta(seconds=1))
    )
    await dispatcher.run_once()
    [waiting] = await world.notifications()
    assert waiting.next_attempt_at == world.clock.now() + timedelta(seconds=120)
    world.clock.advance(seconds=120)
    await dispatcher.run_once()
    [failed] = await world.notifications()
    assert (failed.state, failed.last_error) == (NotificationState.FAILED, "HTTP 404")
    replayed = await world.bus.handle(ReplayNotification(world.admin, failed.id))
    assert replayed.state is NotificationState.PENDING
    await dispatcher.run_once()
    assert [n.state for n in await world.notifications()] == [NotificationState.SENT]


async def test_a_claimed_notification_is_not_sent_twice_until_its_lease_expires(world: World) -> None:
    await channel(world, "ops")
    await world.status("APPROVED", 1)
    await world.status("PAUSED", 2)
    async with world.factory() as uow:
        claimed = await uow.notifications.claim_due(
            world.clock.now(), 10, world.clock.now() + timedelta(minutes=2)
        )
        await uow.commit()
    assert len(claimed) == 1
    sender = RecordingSender()
    dispatcher = NotificationDispatcher(world.factory, world.clock, sender)
    assert await dispatcher.run_once() == 0  # another dispatcher holds it (or died holding it)
    world.clock.advance(minutes=2)
    assert await dispatcher.run_once() == 1
    assert len(sender.sent) == 1


async def test_a_dispatcher_whose_claim_ran_out_reports_nothing(world: World) -> None:
    await channel(world, "ops")
    await world.status("APPROVED", 1)
    await world.status("PAUSED", 2)
    async with world.factory() as uow:
        [late] = await uow.notifications.claim_due(
            world.clock.now(), 10, world.clock.now() + timedelta(minutes=2)
        )
        await uow.commit()
    world.clock.advance(minutes=3)  # the first dispatcher is stuck; its claim runs out
    sender = RecordingSender()
    assert await NotificationDispatcher(world.factory, world.clock, sender).run_once() == 1
    late.failed("timed out", world.clock.now(), budget=8, backoff=timedelta(seconds=5), retry_after=None)
    async with world.factory() as uow:
        await uow.notifications.save_many([late])  # the stuck one finally reports
        await uow.commit()
    [notification] = await world.notifications()
    assert (notification.state, notification.attempts, len(sender.sent)) == (NotificationState.SENT, 1, 1)
