"""The send guard through the real gRPC server: windows from real-shaped webhooks (applied by the
inbox worker), ValidateMessage's reasons with Meta's codes, sends that are recorded before Meta is
called and never repeated for one request_id, and the records read back (the Graph API is the fake
one on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.messages import GraphMessageGateway
from adapters.meta_graph.templates import GraphTemplateGateway
from app.bootstrap import MetaGateways, Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization
from app.inbox import Delivery
from app.inbox_worker import InboxSettings, InboxWorker
from app.settings import Settings
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from fakes.graph_server import FakeGraph, running_fake_graph
from integration.grpc.grpc_cases import NAMED_VALUES, fails, named_template
from support.webhooks import messages_delivery
from watemplates.v1 import conversations_pb2 as cv
from watemplates.v1 import conversations_pb2_grpc, templates_pb2_grpc
from watemplates.v1 import templates_pb2 as api

TOKEN = "EAAG-grpc-conversations-token"
WABA = "301122334455667"
OTHER_WABA = "301122334455999"
PHONE = "109876543210987"
OTHER_PHONE = "109876543210999"
CONTACT = "447700900123"
TEMPLATE = f"wabas/{WABA}/templates/order_ready.en_US"


@dataclass
class World:
    graph: FakeGraph
    services: Services
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    worker: InboxWorker
    conversations: conversations_pb2_grpc.ConversationServiceStub
    messages: conversations_pb2_grpc.MessageServiceStub
    templates: templates_pb2_grpc.TemplateServiceStub
    keys: dict[str, tuple[tuple[str, str], ...]]
    deliveries: int = 0

    def auth(self, who: str = "operator") -> tuple[tuple[str, str], ...]:
        return self.keys[who]

    async def webhook(self, value: Mapping[str, Any], waba: str = WABA) -> None:
        body = messages_delivery(value, waba, PHONE)
        self.deliveries += 1
        async with self.factory() as uow:
            await uow.inbox.add_delivery(Delivery(f"{self.deliveries:020d}-x", body, self.clock.now()))
            await uow.commit()
        while await self.worker.run_once():
            pass

    async def inbound(self, ago: timedelta, contact: str = CONTACT, **extra: Any) -> None:
        sent = int((self.clock.now() - ago).timestamp())
        message = {"from": contact, "id": f"wamid.in{sent}", "timestamp": str(sent), "type": "text", **extra}
        await self.webhook({"contacts": [{"wa_id": contact}], "messages": [message]})

    async def status(self, wamid: str, status: str, **extra: Any) -> None:
        entry = {"id": wamid, "status": status, "timestamp": str(int(self.clock.now().timestamp())), **extra}
        await self.webhook({"statuses": [{"recipient_id": CONTACT, **entry}]})

    async def approved_template(self) -> None:
        await self.templates.CreateTemplate(
            api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()),
            metadata=self.auth("admin"),
        )
        await self.templates.SubmitTemplate(
            api.SubmitTemplateRequest(name=TEMPLATE), metadata=self.auth("admin")
        )
        for record in self.graph.state.templates_of(WABA):
            record["status"] = "APPROVED"
        await self.templates.SyncTemplates(
            api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=self.auth("admin")
        )

    def meta_sends(self) -> list[dict[str, Any]]:
        return list(self.graph.state.sent_messages)

    async def check(self, contact: str = CONTACT, at: Timestamp | None = None) -> cv.ConversationWindow:
        request = cv.CheckWindowRequest(phone_number_id=PHONE, contact=contact)
        if at is not None:
            request.at.CopyFrom(at)
        response: cv.CheckWindowResponse = await self.conversations.CheckWindow(
            request, metadata=self.auth("viewer")
        )
        return response.window

    async def validate(self, message: cv.MessageDraft, contact: str = CONTACT) -> cv.ValidateMessageResponse:
        request = cv.ValidateMessageRequest(phone_number_id=PHONE, contact=contact, message=message)
        response: cv.ValidateMessageResponse = await self.conversations.ValidateMessage(
            request, metadata=self.auth("viewer")
        )
        return response


def text(body: str = "Your order is ready") -> cv.MessageDraft:
    return cv.MessageDraft(free_form=cv.FreeFormMessage(type=cv.FREE_FORM_TYPE_TEXT, text=body))


def template(values: Mapping[str, str] = NAMED_VALUES, name: str = TEMPLATE) -> cv.MessageDraft:
    return cv.MessageDraft(template=cv.TemplateMessage(template=name, values=dict(values)))


def reasons(response: cv.ValidateMessageResponse) -> list[tuple[str, int]]:
    return [(d.reason, d.meta_error_code) for d in response.denials]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with running_fake_graph(token=TOKEN) as graph:
        client = GraphClient(graph.base_url, graph.version, TOKEN, timeout=2.0, retry_budget_seconds=2.0)
        factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
        services = await build_services(
            Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0),
            uow_factory=factory,
            probe=FakeHealthProbe(),
            clock=clock,
            meta=MetaGateways(GraphTemplateGateway(client), GraphMessageGateway(client)),
        )
        keys: dict[str, tuple[tuple[str, str], ...]] = {}
        for slug, waba, phone in (("acme", WABA, PHONE), ("globex", OTHER_WABA, OTHER_PHONE)):
            await services.bus.handle(CreateOrganization(slug))
            await services.bus.handle(AddWaba(slug, waba, phone_number_ids=(phone,)))
            for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
                secret = (await services.bus.handle(CreateApiKey(slug, role))).secret
                name = role.name.lower() if slug == "acme" else f"other-{role.name.lower()}"
                keys[name] = (("authorization", f"Bearer {secret}"),)
        worker = InboxWorker(
            factory, clock, services.bus, MetaWebhookTranslator(), InboxSettings(max_attempts=1)
        )
        server = GrpcServer(
            services.bus,
            services.queries,
            services.authenticator,
            "127.0.0.1:0",
            send_guard=services.send_guard,
            message_queries=services.message_queries,
        )
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                yield World(
                    graph,
                    services,
                    factory,
                    clock,
                    worker,
                    conversations_pb2_grpc.ConversationServiceStub(channel),
                    conversations_pb2_grpc.MessageServiceStub(channel),
                    templates_pb2_grpc.TemplateServiceStub(channel),
                    keys,
                )
        finally:
            await server.stop(0)
            await client.close()
            await services.close()


def stamp(world: World, delta: timedelta) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(world.clock.now() + delta)
    return value


# ---- CheckWindow ------------------------------------------------------------------------------


async def test_a_contact_who_never_wrote_has_a_closed_window(world: World) -> None:
    window = await world.check()
    assert window.state == cv.WINDOW_STATE_CLOSED
    assert not window.HasField("last_inbound_time")


async def test_an_inbound_message_opens_the_window_for_24_hours_by_meta_s_time(world: World) -> None:
    await world.inbound(timedelta(hours=1))
    window = await world.check("+44 7700 900123")
    assert (window.state, window.wa_id, window.contact) == (cv.WINDOW_STATE_OPEN, CONTACT, CONTACT)
    last = world.clock.now() - timedelta(hours=1)
    assert window.last_inbound_time.ToDatetime().timestamp() == pytest.approx(int(last.timestamp()))
    assert window.close_time.seconds == window.last_inbound_time.seconds + 24 * 3600
    # Planning ahead: still open in 22 h 59 min, closed at 23 h.
    assert (await world.check(at=stamp(world, timedelta(hours=22, minutes=59)))).state == cv.WINDOW_STATE_OPEN
    assert (await world.check(at=stamp(world, timedelta(hours=23)))).state == cv.WINDOW_STATE_CLOSED


async def test_a_131047_failure_closes_the_window_until_the_contact_writes_again(world: World) -> None:
    await world.inbound(timedelta(hours=2))
    await world.status("wamid.out1", "failed", errors=[{"code": 131047, "title": "Re-engagement message"}])
    closed = await world.check()
    assert closed.state == cv.WINDOW_STATE_CLOSED
    assert closed.HasField("closed_by_meta_time")
    world.clock.advance(minutes=1)
    await world.inbound(timedelta(0))
    assert (await world.check()).state == cv.WINDOW_STATE_OPEN


async def test_a_click_to_whatsapp_ad_offers_a_free_entry_point(world: World) -> None:
    await world.inbound(
        timedelta(minutes=5), referral={"source_id": "120200000000000001", "source_type": "ad"}
    )
    window = await world.check()
    assert window.free_entry_point == cv.FREE_ENTRY_POINT_STATE_AVAILABLE


async def test_windows_are_scoped_to_the_caller_s_organization_and_numbers(world: World) -> None:
    await world.inbound(timedelta(hours=1))
    for phone, who in ((PHONE, "other-viewer"), ("555", "viewer"), (OTHER_PHONE, "viewer")):
        status = await fails(
            world.conversations.CheckWindow(
                cv.CheckWindowRequest(phone_number_id=phone, contact=CONTACT), metadata=world.auth(who)
            )
        )
        assert (status.code, status.reason) == (grpc.StatusCode.NOT_FOUND, "PHONE_NUMBER_NOT_FOUND")
    missing = await fails(
        world.conversations.CheckWindow(
            cv.CheckWindowRequest(phone_number_id=PHONE), metadata=world.auth("viewer")
        )
    )
    assert (missing.code, missing.violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [("contact", "INVALID_ARGUMENT")],
    )


# ---- ValidateMessage --------------------------------------------------------------------------


async def test_free_form_is_allowed_only_inside_the_window(world: World) -> None:
    closed = await world.validate(text())
    assert closed.verdict == cv.VERDICT_DENIED
    assert reasons(closed) == [("CUSTOMER_SERVICE_WINDOW_CLOSED", 131047)]
    await world.inbound(timedelta(hours=3))
    allowed = await world.validate(text())
    assert (allowed.verdict, list(allowed.denials), allowed.inside_service_window) == (
        cv.VERDICT_ALLOWED,
        [],
        True,
    )
    too_long = await world.validate(text("x" * 4097))
    assert reasons(too_long) == [("TEXT_TOO_LONG", 100)]


async def test_template_reasons_carry_meta_s_codes(world: World) -> None:
    missing = await world.validate(template())
    assert reasons(missing) == [("TEMPLATE_NOT_FOUND", 132001)]
    await world.templates.CreateTemplate(
        api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()),
        metadata=world.auth("admin"),
    )
    assert reasons(await world.validate(template())) == [("TEMPLATE_NOT_APPROVED", 132001)]


async def test_an_approved_template_with_good_values_is_allowed_outside_the_window(world: World) -> None:
    await world.approved_template()
    allowed = await world.validate(template())
    assert (allowed.verdict, allowed.inside_service_window) == (cv.VERDICT_ALLOWED, False)
    values = {**NAMED_VALUES, "store": "Main\tSt"}
    del values["first_name"]
    denied = await world.validate(template(values))
    assert sorted(reasons(denied)) == [("PARAMETERS_MISMATCH", 132000), ("VALUE_FORMAT", 132018)]
    assert {d.field for d in denied.denials} == {"first_name", "store"}


async def test_a_template_paused_by_a_message_status_is_denied_everywhere(world: World) -> None:
    await world.approved_template()
    sent: api.SendTemplateMessageResponse = await world.templates.SendTemplateMessage(
        api.SendTemplateMessageRequest(name=TEMPLATE, to=f"+{CONTACT}", values=NAMED_VALUES),
        metadata=world.auth(),
    )
    await world.status(sent.message_id, "failed", errors=[{"code": 132015, "title": "Template paused"}])
    assert reasons(await world.validate(template())) == [("TEMPLATE_PAUSED", 132015)]
    refused = await fails(
        world.templates.SendTemplateMessage(
            api.SendTemplateMessageRequest(name=TEMPLATE, to=f"+{CONTACT}", values=NAMED_VALUES),
            metadata=world.auth(),
        )
    )
    assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_PAUSED")
    assert len(world.meta_sends()) == 1


async def test_validate_messages_answers_each_in_order(world: World) -> None:
    await world.inbound(timedelta(hours=1))
    requests = [
        cv.ValidateMessageRequest(phone_number_id=PHONE, contact=CONTACT, message=text()),
        cv.ValidateMessageRequest(phone_number_id=PHONE, contact="15550009999", message=text()),
        cv.ValidateMessageRequest(phone_number_id=PHONE, contact=CONTACT, message=template()),
    ]
    response: cv.ValidateMessagesResponse = await world.conversations.ValidateMessages(
        cv.ValidateMessagesRequest(requests=requests), metadata=world.auth("viewer")
    )
    assert [r.verdict for r in response.results] == [cv.VERDICT_ALLOWED, cv.VERDICT_DENIED, cv.VERDICT_DENIED]
    assert reasons(response.results[1]) == [("CUSTOMER_SERVICE_WINDOW_CLOSED", 131047)]
    bad = await fails(
        world.conversations.ValidateMessages(
            cv.ValidateMessagesRequest(
                requests=[cv.ValidateMessageRequest(phone_number_id=PHONE, contact=CONTACT)]
            ),
            metadata=world.auth("viewer"),
        )
    )
    assert (bad.code, bad.violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [("requests[0].message", "MESSAGE_REQUIRED")],
    )


# ---- SendMessage and records ------------------------------------------------------------------


async def test_a_text_outside_the_window_is_refused_before_meta(world: World) -> None:
    refused = await fails(
        world.conversations.SendMessage(
            cv.SendMessageRequest(phone_number_id=PHONE, to=f"+{CONTACT}", text="hello"),
            metadata=world.auth(),
        )
    )
    assert (refused.code, refused.reason, refused.metadata["metaErrorCode"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CUSTOMER_SERVICE_WINDOW_CLOSED",
        "131047",
    )
    assert world.meta_sends() == []
    viewer = await fails(
        world.conversations.SendMessage(
            cv.SendMessageRequest(phone_number_id=PHONE, to=f"+{CONTACT}", text="hello"),
            metadata=world.auth("viewer"),
        )
    )
    assert viewer.code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_text_inside_the_window_is_sent_once_per_request_id_and_recorded(world: World) -> None:
    await world.inbound(timedelta(minutes=10))
    request = cv.SendMessageRequest(
        phone_number_id=PHONE, to=f"+{CONTACT}", text="On its way", request_id="r-1"
    )
    first: cv.SendMessageResponse = await world.conversations.SendMessage(request, metadata=world.auth())
    again: cv.SendMessageResponse = await world.conversations.SendMessage(request, metadata=world.auth())
    assert first.message == again.message
    assert (first.message.outcome, first.message.kind, first.message.text) == (
        cv.SEND_OUTCOME_ACCEPTED,
        cv.MESSAGE_KIND_TEXT,
        "On its way",
    )
    assert [m["text"]["body"] for m in world.meta_sends()] == ["On its way"]
    changed = await fails(
        world.conversations.SendMessage(
            cv.SendMessageRequest(
                phone_number_id=PHONE, to=f"+{CONTACT}", text="Different", request_id="r-1"
            ),
            metadata=world.auth(),
        )
    )
    assert (changed.code, changed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED")


async def test_a_template_send_is_recorded_and_its_statuses_read_back(world: World) -> None:
    await world.approved_template()
    request = api.SendTemplateMessageRequest(
        name=TEMPLATE, to=f"+{CONTACT}", values=NAMED_VALUES, request_id="t-1", callback_data="row=1"
    )
    sent: api.SendTemplateMessageResponse = await world.templates.SendTemplateMessage(
        request, metadata=world.auth()
    )
    repeat: api.SendTemplateMessageResponse = await world.templates.SendTemplateMessage(
        request, metadata=world.auth()
    )
    assert repeat.message_id == sent.message_id
    assert len(world.meta_sends()) == 1
    record = sent.message
    assert (record.template, record.values["first_name"], record.request_id, record.message_id) == (
        TEMPLATE,
        "Dana",
        "t-1",
        sent.message_id,
    )

    world.clock.advance(seconds=5)
    pricing = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    await world.status(sent.message_id, "sent", pricing=pricing)
    await world.status(sent.message_id, "read", pricing=pricing)
    await world.status(sent.message_id, "delivered", pricing=pricing)  # late: changes nothing shown
    got: cv.GetMessageResponse = await world.messages.GetMessage(
        cv.GetMessageRequest(name=record.name), metadata=world.auth("viewer")
    )
    assert (got.message.status, got.message.pricing.category, got.message.pricing.billable) == (
        cv.DELIVERY_STATUS_READ,
        "utility",
        True,
    )
    assert got.message.HasField("delivered_time")

    listed: cv.ListMessagesResponse = await world.messages.ListMessages(
        cv.ListMessagesRequest(contact=f"+{CONTACT}", template=TEMPLATE, statuses=[cv.DELIVERY_STATUS_READ]),
        metadata=world.auth("viewer"),
    )
    assert [m.name for m in listed.messages] == [record.name]
    counts: cv.GetDeliveryCountsResponse = await world.messages.GetDeliveryCounts(
        cv.GetDeliveryCountsRequest(template=TEMPLATE), metadata=world.auth("viewer")
    )
    assert (counts.total, counts.sent, counts.delivered, counts.read, counts.failed) == (1, 1, 1, 1, 0)
    hidden = await fails(
        world.messages.GetMessage(cv.GetMessageRequest(name=record.name), metadata=world.auth("other-viewer"))
    )
    assert hidden.code == grpc.StatusCode.NOT_FOUND
