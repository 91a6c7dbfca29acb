"""Submit, sync, send and edit/delete at Meta through the real gRPC server, the real Graph adapter
and the fake Graph API on loopback (only the peer is ours)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.messages import GraphMessageGateway
from adapters.meta_graph.templates import GraphTemplateGateway
from app.bootstrap import MetaGateways, Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization
from app.settings import Settings
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from fakes.graph_server import FakeGraph, running_fake_graph
from integration.grpc.grpc_cases import NAMED_VALUES, RichStatus, fails, named_template
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

TOKEN = "EAAG-grpc-meta-token-5b1d"
WABA = "301122334455667"
PHONE = "109876543210987"
NAME = f"wabas/{WABA}/templates/order_ready.en_US"


@dataclass
class MetaWorld:
    graph: FakeGraph
    services: Services
    stub: templates_pb2_grpc.TemplateServiceStub
    auth: tuple[tuple[str, str], ...]

    async def create_and_submit(self) -> pb.Template:
        await self.stub.CreateTemplate(
            api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()), metadata=self.auth
        )
        submitted: api.SubmitTemplateResponse = await self.stub.SubmitTemplate(
            api.SubmitTemplateRequest(name=NAME), metadata=self.auth
        )
        return submitted.template

    async def approve_at_meta_and_sync(self) -> None:
        for record in self.graph.state.templates_of(WABA):
            record["status"] = "APPROVED"
        await self.stub.SyncTemplates(api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=self.auth)


async def start(configured: bool) -> AsyncIterator[MetaWorld]:
    async with running_fake_graph(token=TOKEN) as graph:
        client = GraphClient(
            graph.base_url,
            graph.version,
            TOKEN,
            timeout=2.0,
            retry_budget_seconds=2.0,
            max_attempts=3,
            backoff_initial=0.001,
            backoff_max=0.005,
        )
        gateways = (
            MetaGateways(GraphTemplateGateway(client), GraphMessageGateway(client))
            if configured
            else MetaGateways(None, None)
        )
        services = await build_services(
            Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0),
            uow_factory=FakeUnitOfWorkFactory(),
            probe=FakeHealthProbe(),
            clock=FrozenClock(),
            meta=gateways,
        )
        await services.bus.handle(CreateOrganization("acme"))
        key = (await services.bus.handle(CreateApiKey("acme", Role.OPERATOR))).secret
        await services.bus.handle(AddWaba("acme", WABA, phone_number_ids=(PHONE,)))
        server = GrpcServer(services.bus, services.queries, services.authenticator, "127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                yield MetaWorld(
                    graph,
                    services,
                    templates_pb2_grpc.TemplateServiceStub(channel),
                    (("authorization", f"Bearer {key}"),),
                )
        finally:
            await server.stop(0)
            await client.close()
            await services.close()


@pytest.fixture
async def world() -> AsyncIterator[MetaWorld]:
    async for w in start(configured=True):
        yield w


@pytest.fixture
async def unconfigured() -> AsyncIterator[MetaWorld]:
    async for w in start(configured=False):
        yield w


async def test_submit_sends_the_template_to_meta_and_stores_its_id(world: MetaWorld) -> None:
    submitted = await world.create_and_submit()
    assert submitted.meta_template_id
    assert submitted.status == pb.TEMPLATE_STATUS_PENDING
    [create] = [
        r for r in world.graph.state.requests if r.method == "POST" and r.path.endswith("/message_templates")
    ]
    assert create.json["parameter_format"] == "NAMED"
    assert create.json["name"] == "order_ready"
    body = next(c for c in create.json["components"] if c["type"] == "BODY")
    assert {p["param_name"] for p in body["example"]["body_text_named_params"]} == {
        "first_name",
        "order_id",
        "store",
    }


async def test_meta_rpcs_without_access_token_are_failed_precondition_and_local_rpcs_work(
    unconfigured: MetaWorld,
) -> None:
    world = unconfigured
    await world.stub.CreateTemplate(
        api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()), metadata=world.auth
    )
    for call in (
        world.stub.SubmitTemplate(api.SubmitTemplateRequest(name=NAME), metadata=world.auth),
        world.stub.SyncTemplates(api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=world.auth),
        world.stub.SendTemplateMessage(
            api.SendTemplateMessageRequest(name=NAME, to="+15551230000", values=NAMED_VALUES),
            metadata=world.auth,
        ),
    ):
        status = await fails(call)
        assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "META_NOT_CONFIGURED")
    rendered = await world.stub.RenderTemplate(
        api.RenderTemplateRequest(name=NAME, values=NAMED_VALUES), metadata=world.auth
    )
    assert rendered.body_text.startswith("Hi Dana")


async def test_sync_brings_in_templates_made_in_whatsapp_manager(world: MetaWorld) -> None:
    world.graph.state.seed_template(
        WABA,
        "welcome_back",
        components=[
            {
                "type": "BODY",
                "text": "Welcome back {{1}}! Your loyalty points are waiting for you.",
                "example": {"body_text": [["Ana"]]},
            }
        ],
        quality="YELLOW",
    )
    report = await world.stub.SyncTemplates(
        api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=world.auth
    )
    assert list(report.created) == [f"wabas/{WABA}/templates/welcome_back.en_US"]
    got = (
        await world.stub.GetTemplate(api.GetTemplateRequest(name=report.created[0]), metadata=world.auth)
    ).template
    assert (got.status, got.quality, got.parameter_format) == (
        pb.TEMPLATE_STATUS_APPROVED,
        pb.TEMPLATE_QUALITY_YELLOW,
        pb.PARAMETER_FORMAT_POSITIONAL,
    )
    assert [(p.key, p.example) for p in got.parameters] == [("1", "Ana")]


async def test_send_goes_through_meta_with_parameter_names(world: MetaWorld) -> None:
    await world.create_and_submit()
    await world.approve_at_meta_and_sync()
    sent = await world.stub.SendTemplateMessage(
        api.SendTemplateMessageRequest(
            name=NAME, to="+15551230000", values=NAMED_VALUES, callback_data="c=1"
        ),
        metadata=world.auth,
    )
    assert sent.message_id.startswith("wamid.")
    assert sent.message_status == api.MESSAGE_STATUS_ACCEPTED
    assert sent.phone_number_id == PHONE
    [request] = [r for r in world.graph.state.requests if r.path.endswith(f"/{PHONE}/messages")]
    assert request.json["to"] == "+15551230000"
    assert request.json["biz_opaque_callback_data"] == "c=1"
    body = next(c for c in request.json["template"]["components"] if c["type"] == "body")
    assert [p["parameter_name"] for p in body["parameters"]] == ["first_name", "order_id", "store"]


async def test_send_of_a_draft_is_refused_before_meta(world: MetaWorld) -> None:
    await world.stub.CreateTemplate(
        api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()), metadata=world.auth
    )
    status = await fails(
        world.stub.SendTemplateMessage(
            api.SendTemplateMessageRequest(name=NAME, to="+15551230000", values=NAMED_VALUES),
            metadata=world.auth,
        )
    )
    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_NOT_APPROVED")
    assert not [r for r in world.graph.state.requests if r.path.endswith("/messages")]


async def test_paused_answer_maps_with_meta_code_and_trace_and_marks_the_template(world: MetaWorld) -> None:
    await world.create_and_submit()
    await world.approve_at_meta_and_sync()
    world.graph.state.fail_next_with_code(132015, path_contains="/messages")
    status = await fails(
        world.stub.SendTemplateMessage(
            api.SendTemplateMessageRequest(name=NAME, to="+15551230000", values=NAMED_VALUES),
            metadata=world.auth,
        )
    )
    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_PAUSED")
    assert status.metadata["metaCode"] == "132015"
    assert status.metadata["fbtraceId"]
    got = (await world.stub.GetTemplate(api.GetTemplateRequest(name=NAME), metadata=world.auth)).template
    assert got.status == pb.TEMPLATE_STATUS_PAUSED


@pytest.mark.parametrize(
    ("code", "grpc_code", "reason"),
    [
        (132016, grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_DISABLED"),
        (132001, grpc.StatusCode.NOT_FOUND, "META_TEMPLATE_NOT_FOUND"),
        (132000, grpc.StatusCode.INVALID_ARGUMENT, "META_PARAMETER_MISMATCH"),
        (132012, grpc.StatusCode.INVALID_ARGUMENT, "META_PARAMETER_MISMATCH"),
        (131047, grpc.StatusCode.FAILED_PRECONDITION, "CUSTOMER_SERVICE_WINDOW_CLOSED"),
        (190, grpc.StatusCode.FAILED_PRECONDITION, "META_CREDENTIALS_EXPIRED"),
        (131026, grpc.StatusCode.FAILED_PRECONDITION, "META_REJECTED"),
    ],
)
async def test_meta_send_errors_map_to_statuses(
    world: MetaWorld, code: int, grpc_code: grpc.StatusCode, reason: str
) -> None:
    await world.create_and_submit()
    await world.approve_at_meta_and_sync()
    world.graph.state.fail_next_with_code(code, path_contains="/messages")
    status = await fails(
        world.stub.SendTemplateMessage(
            api.SendTemplateMessageRequest(name=NAME, to="+15551230000", values=NAMED_VALUES),
            metadata=world.auth,
        )
    )
    assert (status.code, status.reason, status.metadata["metaCode"]) == (grpc_code, reason, str(code))
    assert TOKEN not in status.message


async def test_rate_limit_is_resource_exhausted_with_retry_info(world: MetaWorld) -> None:
    await world.create_and_submit()
    await world.approve_at_meta_and_sync()
    world.graph.state.fail_next_with_code(80007, n=5, retry_after=120, path_contains="/messages")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await world.stub.SendTemplateMessage(
            api.SendTemplateMessageRequest(name=NAME, to="+15551230000", values=NAMED_VALUES),
            metadata=world.auth,
        )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    raw = dict(caught.value.trailing_metadata() or ())["grpc-status-details-bin"]
    details = status_pb2.Status.FromString(raw).details
    retry = [d for d in details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(retry) == 1
    info = error_details_pb2.RetryInfo()
    retry[0].Unpack(info)
    assert info.retry_delay.seconds == 120


async def test_meta_unreachable_is_unavailable(world: MetaWorld) -> None:
    await world.create_and_submit()
    world.graph.state.fail_next(10, status=503)
    status: RichStatus = await fails(
        world.stub.SyncTemplates(api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=world.auth)
    )
    assert (status.code, status.reason) == (grpc.StatusCode.UNAVAILABLE, "META_UNAVAILABLE")


async def test_edit_of_approved_template_goes_to_meta_and_a_second_edit_is_refused_with_when(
    world: MetaWorld,
) -> None:
    await world.create_and_submit()
    await world.approve_at_meta_and_sync()
    revised = named_template()
    revised.name = NAME
    revised.components.footer = "Reply HELP for help"
    updated = await world.stub.UpdateTemplate(
        api.UpdateTemplateRequest(template=revised), metadata=world.auth
    )
    assert updated.template.status == pb.TEMPLATE_STATUS_PENDING
    edits = [
        r
        for r in world.graph.state.requests
        if r.method == "POST" and r.path.endswith(f"/{updated.template.meta_template_id}")
    ]
    assert len(edits) == 1
    assert "category" not in edits[0].json
    await world.approve_at_meta_and_sync()
    revised.components.footer = "Reply STOP to stop"
    status = await fails(
        world.stub.UpdateTemplate(api.UpdateTemplateRequest(template=revised), metadata=world.auth)
    )
    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EDIT_LIMIT_DAILY")
    assert "availableAt" in status.metadata


async def test_delete_of_disabled_template_is_refused_before_meta(world: MetaWorld) -> None:
    await world.create_and_submit()
    for record in world.graph.state.templates_of(WABA):
        record["status"] = "DISABLED"
    await world.stub.SyncTemplates(api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=world.auth)
    status = await fails(world.stub.DeleteTemplate(api.DeleteTemplateRequest(name=NAME), metadata=world.auth))
    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_DISABLED")
    assert not [r for r in world.graph.state.requests if r.method == "DELETE"]


async def test_delete_of_submitted_template_deletes_that_language_at_meta(world: MetaWorld) -> None:
    submitted = await world.create_and_submit()
    await world.stub.DeleteTemplate(api.DeleteTemplateRequest(name=NAME), metadata=world.auth)
    [delete] = [r for r in world.graph.state.requests if r.method == "DELETE"]
    assert delete.query == {"hsm_id": submitted.meta_template_id, "name": "order_ready"}
    assert json.dumps(world.graph.state.templates_of(WABA)) == "[]"
