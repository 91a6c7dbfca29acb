"""Every RPC, with requests generated from its message descriptor (valid-looking names mixed with
NUL, over-long text, unknown enum numbers, odd numbers) and with raw bytes, against the real gRPC
server over the real SQL adapter on SQLite and PostgreSQL: never UNKNOWN or INTERNAL, and the server
keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.messages import GraphMessageGateway
from adapters.meta_graph.templates import GraphTemplateGateway
from app.bootstrap import MetaGateways, Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization, CreateTemplate
from app.settings import Settings
from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.status import TemplateCategory
from domain.tenancy import Role
from fakes.graph_server import running_fake_graph
from fuzz.fuzzing import fuzz_settings
from watemplates.v1 import (
    audit_pb2,
    campaigns_pb2,
    conversations_pb2,
    notifications_pb2,
    template_health_pb2,
    templates_pb2,
)

WABA = "301122334455667"
GRAPH_TOKEN = "EAAG-fuzz-token"
TEMPLATE = f"wabas/{WABA}/templates/order_ready.en_US"
# A call the server never answers is as bad as a crash.
FORBIDDEN = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DEADLINE_EXCEEDED)
CALL_DEADLINE = 60.0
METHODS: list[MethodDescriptor] = [
    method
    for file, service in (
        (templates_pb2, "TemplateService"),
        (template_health_pb2, "TemplateHealthService"),
        (template_health_pb2, "InboxService"),
        (conversations_pb2, "ConversationService"),
        (conversations_pb2, "MessageService"),
        (campaigns_pb2, "CampaignService"),
        (campaigns_pb2, "OrganizationService"),
        (notifications_pb2, "NotificationService"),
        (audit_pb2, "AuditService"),
    )
    for method in file.DESCRIPTOR.services_by_name[service].methods
]
STREAMING = {"WatchTemplateEvents"}
# Values a caller plausibly sends, next to hostile ones: names that resolve, that almost resolve,
# and that cannot be stored.
STRINGS = [
    "",
    "0",
    "-1",
    "9" * 25,
    f"wabas/{WABA}",
    "wabas/-",
    "wabas/999",
    TEMPLATE,
    f"wabas/{WABA}/templates/order_ready.xx",
    "wabas/1/templates/a.b.c",
    "alerts/abc",
    "alerts/",
    "inboxChanges/00000000000000000001-x-0000",
    "en_US",
    "{{1}}",
    "{{first_name}}",
    "Hi {{first_name}}, your order is ready.",
    "\x00",
    "a\x00b",
    "é" * 70,
    "x" * 5000,
    "*",
    "+15551230000",
    "template.components",
    "109876543210987",
    "447700900123",
    "US.1234567890",
    "messages/abc",
    "campaigns/abc",
    "channels/abc",
    "notifications/abc",
    "https://hooks.slack.com/services/T/B/X",
    "ops@example.com",
]


def _spoiled(plausible: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A plausible value, or one with a hostile character in it (often at the end, where a name's
    last part still parses): it passes the cheap checks and used to reach the database."""
    hostile = st.tuples(plausible, st.sampled_from(["\x00", "\x00", "\ufffe", "%"]), st.integers(0, 80)).map(
        lambda spoil: (
            spoil[0][: spoil[2]] + spoil[1] + spoil[0][spoil[2] :]
            if spoil[2] < len(spoil[0])
            else spoil[0] + spoil[1]
        )
    )
    return plausible | hostile | st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


text = _spoiled(st.sampled_from(STRINGS))
# Fields named like resources get resource-like values, so most requests get past the name's shape.
TEXT_BY_FIELD = {
    "name": _spoiled(st.sampled_from([TEMPLATE, "alerts/abc", "inboxChanges/00000000000000000001-x-0000"])),
    "template": _spoiled(st.just(TEMPLATE)),
    "parent": _spoiled(st.sampled_from([f"wabas/{WABA}", "wabas/-"])),
}
INTEGERS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _single(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return TEXT_BY_FIELD.get(field.name, text)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=30)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return st.integers(-3, 20) | st.sampled_from(list(field.enum_type.values_by_number))
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if field.type == FieldDescriptor.TYPE_FLOAT else 64)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        return messages(field.message_type, depth + 1)
    low, high = INTEGERS[field.type]
    return st.integers(-3, 600).filter(lambda n: low <= n <= high) | st.integers(low, high)


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    message_class = message_factory.GetMessageClass(descriptor)
    if depth > 3:
        return st.just(message_class())
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            optional[field.name] = st.dictionaries(_single(key, depth), _single(value, depth), max_size=3)
        elif field.is_repeated:
            optional[field.name] = st.lists(_single(field, depth), max_size=3)
        else:
            optional[field.name] = _single(field, depth)

    def build(values: dict[str, Any]) -> Message:
        message = message_class()
        for name, value in values.items():
            target = getattr(message, name)  # every field of the descriptor is an attribute
            field = descriptor.fields_by_name[name]
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    if field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                        target[key].CopyFrom(item)
                    else:
                        target[key] = item
            elif field.is_repeated:
                target.extend(value)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=optional).map(build)


# ---- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    services: Services
    server: GrpcServer
    channel: grpc.aio.Channel
    keys: dict[str, str]
    resources: contextlib.AsyncExitStack

    def auth(self, role: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.keys[role]}"),) if role in self.keys else ()

    async def call(self, method: MethodDescriptor, payload: bytes, role: str) -> grpc.StatusCode:
        path = f"/{method.containing_service.full_name}/{method.name}"
        try:
            if method.name in STREAMING:
                stream = self.channel.unary_stream(path)(payload, metadata=self.auth(role))
                try:
                    first = await asyncio.wait_for(stream.read(), 0.3)
                except TimeoutError:
                    first = None  # a live stream with nothing to say yet
                if first is grpc.aio.EOF:
                    return await stream.code()  # ended by the server: how?
                # Live (it delivered, or waits for more): it never ends by itself.
                stream.cancel()
                return grpc.StatusCode.OK
            # A deadline, so that a call the server never answers fails the test instead of hanging it.
            await self.channel.unary_unary(path)(payload, metadata=self.auth(role), timeout=CALL_DEADLINE)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    async def serving(self) -> bool:
        answer = await health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest())
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)  # grpc_health is untyped


@pytest.fixture
def world(loop: asyncio.Runner, database_url: str) -> Iterator[World]:
    async def start() -> World:
        resources = contextlib.AsyncExitStack()
        # Meta is the fake Graph API on loopback, so submit, sync, edit, delete and send run too.
        graph = await resources.enter_async_context(running_fake_graph(token=GRAPH_TOKEN))
        client = GraphClient(
            graph.base_url, graph.version, GRAPH_TOKEN, timeout=2.0, retry_budget_seconds=1.0, max_attempts=1
        )
        resources.push_async_callback(client.close)
        settings = Settings(
            database_url=database_url, page_token_secret=SecretStr("f" * 32), auth_cache_seconds=60
        )
        services = await build_services(
            settings, meta=MetaGateways(GraphTemplateGateway(client), GraphMessageGateway(client))
        )
        await services.bus.handle(CreateOrganization("fuzz"))
        keys = {
            role.name.lower(): (await services.bus.handle(CreateApiKey("fuzz", role))).secret
            for role in (Role.ADMIN, Role.VIEWER)
        }
        await services.bus.handle(AddWaba("fuzz", WABA, phone_number_ids=("109876543210987",)))
        async with services.uow_factory(read_only=True) as uow:
            org = await uow.organizations.get_by_slug("fuzz")
        assert org is not None
        from app.auth import Principal

        await services.bus.handle(
            CreateTemplate(
                Principal(org.id, Role.ADMIN, "fuzz"),
                WABA,
                TemplateDefinition(
                    "order_ready",
                    "en_US",
                    TemplateCategory.UTILITY,
                    Components(body="Hi {{first_name}}, your order is ready for pickup today."),
                    (ParameterSpec("first_name", "Dana"),),
                ),
            )
        )
        server = GrpcServer(
            services.bus,
            services.queries,
            services.authenticator,
            "127.0.0.1:0",
            health_queries=services.health_queries,
            inbox_queries=services.inbox_queries,
            send_guard=services.send_guard,
            message_queries=services.message_queries,
            campaign_queries=services.campaign_queries,
            notification_queries=services.notification_queries,
            audit_queries=services.audit_queries,
            watch_poll_seconds=0.05,
        )
        await server.start()
        await server.set_serving(True)
        return World(services, server, grpc.aio.insecure_channel(f"127.0.0.1:{server.port}"), keys, resources)

    world = loop.run(start())
    yield world

    async def stop() -> None:
        assert await world.serving()
        await world.channel.close()
        await world.server.stop(0)
        await world.services.close()
        await world.resources.aclose()

    loop.run(stop())


@st.composite
def generated_call(draw: st.DrawFn) -> tuple[MethodDescriptor, bytes, str]:
    method = draw(st.sampled_from(METHODS))
    request = draw(messages(method.input_type))
    return method, request.SerializeToString(), draw(st.sampled_from(["admin", "admin", "viewer", "none"]))


@fuzz_settings(default_examples=500)
@given(call=generated_call())
def test_generated_requests_are_never_unknown_or_internal(
    loop: asyncio.Runner, world: World, call: tuple[MethodDescriptor, bytes, str]
) -> None:
    method, payload, role = call
    assert loop.run(world.call(method, payload, role)) not in FORBIDDEN


@fuzz_settings(default_examples=60)
@given(method=st.sampled_from(METHODS), payload=st.binary(max_size=120))
def test_raw_bytes_are_never_unknown_or_internal(
    loop: asyncio.Runner, world: World, method: MethodDescriptor, payload: bytes
) -> None:
    assert loop.run(world.call(method, payload, "admin")) not in FORBIDDEN
