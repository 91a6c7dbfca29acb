"""Sends are recorded before Meta is called, and one request_id never sends twice: not on a repeat,
not while the first attempt waits for Meta, not after a crash between the record and Meta's answer,
not after Meta's answer was lost (in-memory fakes; the gRPC side is in test_grpc_conversations)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from adapters.http.webhook.translators import MetaWebhookTranslator
from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import (
    AddWaba,
    CreateOrganization,
    CreateTemplate,
    ExpireStaleSends,
    SendTemplateMessage,
    SentMessage,
)
from app.errors import MetaUnavailable, MetaWindowClosed, RequestIdReused, SendAlreadyAttempted
from app.inbox import Delivery
from app.inbox_worker import InboxWorker
from app.message_ports import MessageQuery
from app.messagebus import MessageBus
from app.meta_ports import MetaSendResult
from app.resource_names import TemplateKey
from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.messages import DeliveryStatus, OutboundMessage, SendOutcome
from domain.observations import Aspect, ChangeSource, Observation
from domain.rendering import RenderedMessage
from domain.status import TemplateCategory
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock
from fakes.meta import FakeMessageGateway
from support.webhooks import messages_delivery

WABA = "301122334455667"
PHONE = "109876543210987"
KEY = TemplateKey(WABA, "order_ready", "en_US")
VALUES = {"first_name": "Dana"}


class InterceptingGateway(FakeMessageGateway):
    """Meta, with `on_send` run while the send is with Meta (before its answer comes back)."""

    def __init__(self, on_send: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self._on_send = on_send

    async def send_template(
        self,
        phone_number_id: str,
        to: str,
        template_name: str,
        language_code: str,
        message: RenderedMessage,
        *,
        callback_data: str = "",
    ) -> MetaSendResult:
        await self._on_send()
        return MetaSendResult("wamid.early", "accepted", to.lstrip("+"))


class HangingGateway(InterceptingGateway):
    """Meta that never answers: the send stays in flight until cancelled."""

    def __init__(self) -> None:
        super().__init__(self._hang)
        self.called = asyncio.Event()

    async def _hang(self) -> None:
        self.called.set()
        await asyncio.Event().wait()


@dataclass
class World:
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    principal: Principal

    def bus(self, gateway: FakeMessageGateway) -> MessageBus:
        return build_bus(self.factory, self.clock, None, gateway)

    def send(self, request_id: str = "r-1", to: str = "+447700900123") -> SendTemplateMessage:
        return SendTemplateMessage(self.principal, KEY, to, VALUES, request_id=request_id)

    async def records(self) -> list[OutboundMessage]:
        async with self.factory(read_only=True) as uow:
            return list(await uow.messages.list(MessageQuery(self.principal.org_id)))


@pytest.fixture
async def world() -> World:
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    bus = build_bus(factory, clock, None, FakeMessageGateway())
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA, phone_number_ids=(PHONE,)))
    principal = Principal(org.org_id, Role.OPERATOR, "k")
    definition = TemplateDefinition(
        "order_ready",
        "en_US",
        TemplateCategory.UTILITY,
        Components(body="Hi {{first_name}}, your order can be collected today."),
        (ParameterSpec("first_name", "Dana"),),
    )
    await bus.handle(CreateTemplate(principal, WABA, definition))
    async with factory() as uow:
        template = await uow.templates.get_by_key(org.org_id, WABA, "order_ready", "en_US")
        assert template is not None
        template.observe(
            Observation(Aspect.STATUS, "APPROVED", ChangeSource.WEBHOOK, clock.now()), received_at=clock.now()
        )
        await uow.templates.update(template)
        await uow.commit()
    return World(factory, clock, principal)


async def test_a_send_is_recorded_with_what_was_asked_and_what_meta_answered(world: World) -> None:
    gateway = FakeMessageGateway()
    sent: SentMessage = await world.bus(gateway).handle(world.send())
    [record] = await world.records()
    assert record == sent.record
    assert (record.outcome, record.wamid, record.to, record.template_name, record.values) == (
        SendOutcome.ACCEPTED,
        "wamid.fake1",
        "447700900123",
        "order_ready",
        VALUES,
    )
    assert (record.category, record.request_id, record.phone_number_id) == ("UTILITY", "r-1", PHONE)


async def test_a_repeat_answers_with_the_first_send_and_a_changed_request_is_refused(world: World) -> None:
    gateway = FakeMessageGateway()
    first = await world.bus(gateway).handle(world.send())
    again = await world.bus(gateway).handle(world.send())
    assert again.record == first.record
    assert len(gateway.sent) == 1
    with pytest.raises(RequestIdReused):
        await world.bus(gateway).handle(world.send(to="+15550001111"))
    assert len(gateway.sent) == 1


async def test_meta_s_refusal_is_recorded_and_the_request_id_is_not_sent_again(world: World) -> None:
    gateway = FakeMessageGateway(errors=[MetaWindowClosed("(#131047) Re-engagement message", code=131047)])
    with pytest.raises(MetaWindowClosed):
        await world.bus(gateway).handle(world.send())
    [record] = await world.records()
    assert (record.outcome, record.error_code) == (SendOutcome.REJECTED, 131047)
    with pytest.raises(SendAlreadyAttempted) as repeat:
        await world.bus(gateway).handle(world.send())
    assert repeat.value.reason == "SEND_REJECTED"
    assert gateway.sent == []


async def test_a_lost_answer_is_recorded_as_unknown_and_never_retried(world: World) -> None:
    lost = MetaUnavailable("Meta did not answer in time")
    lost.outcome_unknown = True
    gateway = FakeMessageGateway(errors=[lost])
    with pytest.raises(MetaUnavailable):
        await world.bus(gateway).handle(world.send())
    [record] = await world.records()
    assert record.outcome is SendOutcome.UNKNOWN
    with pytest.raises(SendAlreadyAttempted) as repeat:
        await world.bus(gateway).handle(world.send())
    assert repeat.value.reason == "SEND_OUTCOME_UNKNOWN"
    assert gateway.sent == []


async def test_a_send_cancelled_while_meta_is_called_is_unknown(world: World) -> None:
    gateway = HangingGateway()
    task = asyncio.create_task(world.bus(gateway).handle(world.send()))
    await gateway.called.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [record] = await world.records()
    assert record.outcome is SendOutcome.UNKNOWN
    with pytest.raises(SendAlreadyAttempted):
        await world.bus(FakeMessageGateway()).handle(world.send())


async def test_a_crash_between_the_record_and_meta_s_answer_never_sends_twice(world: World) -> None:
    gateway = HangingGateway()
    task = asyncio.create_task(world.bus(gateway).handle(world.send()))
    await gateway.called.wait()
    # The process dies here: what it committed is all that is left (SENDING).
    survivor = FakeUnitOfWorkFactory(world.factory.store)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    restarted = World(survivor, world.clock, world.principal)
    [record] = await restarted.records()
    assert record.outcome is SendOutcome.SENDING
    retry_gateway = FakeMessageGateway()
    with pytest.raises(SendAlreadyAttempted) as in_flight:
        await restarted.bus(retry_gateway).handle(restarted.send())
    assert in_flight.value.reason == "SEND_IN_PROGRESS"
    world.clock.advance(minutes=6)
    with pytest.raises(SendAlreadyAttempted) as lost:
        await restarted.bus(retry_gateway).handle(restarted.send())
    assert lost.value.reason == "SEND_OUTCOME_UNKNOWN"
    assert retry_gateway.sent == []
    [record] = await restarted.records()
    assert record.outcome is SendOutcome.UNKNOWN


async def test_stale_sends_are_swept_to_unknown_and_answered_sends_are_left_alone(world: World) -> None:
    hanging = HangingGateway()
    task = asyncio.create_task(world.bus(hanging).handle(world.send("r-stale")))
    await hanging.called.wait()
    survivor = FakeUnitOfWorkFactory(world.factory.store)  # the process dies here
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    restarted = World(survivor, world.clock, world.principal)
    await restarted.bus(FakeMessageGateway()).handle(
        SendTemplateMessage(world.principal, KEY, "+15550001111", VALUES)
    )
    bus = restarted.bus(FakeMessageGateway())
    assert await bus.handle(ExpireStaleSends()) == 0  # not yet: Meta may still be answering
    world.clock.advance(minutes=6)
    assert await bus.handle(ExpireStaleSends()) == 1
    outcomes = sorted(r.outcome for r in await restarted.records())
    assert outcomes == [SendOutcome.ACCEPTED, SendOutcome.UNKNOWN]


async def test_statuses_that_arrive_before_meta_s_answer_is_recorded_end_up_on_the_send(world: World) -> None:
    bus = build_bus(world.factory, world.clock, None, FakeMessageGateway())
    worker = InboxWorker(world.factory, world.clock, bus, MetaWebhookTranslator())

    async def status_webhook() -> None:
        delivered = {
            "id": "wamid.early",
            "status": "delivered",
            "timestamp": str(int(world.clock.now().timestamp())),
        }
        async with world.factory() as uow:
            body = messages_delivery({"statuses": [delivered]}, WABA, PHONE)
            await uow.inbox.add_delivery(Delivery("00000000000000000001-x", body, world.clock.now()))
            await uow.commit()
        while await worker.run_once():
            pass

    # Meta's status webhook for the send is applied before Meta's answer to the send is recorded.
    sent = await world.bus(InterceptingGateway(status_webhook)).handle(world.send())
    [record] = await world.records()
    assert record.id == sent.record.id
    assert (record.outcome, record.wamid, record.status) == (
        SendOutcome.ACCEPTED,
        "wamid.early",
        DeliveryStatus.DELIVERED,
    )
