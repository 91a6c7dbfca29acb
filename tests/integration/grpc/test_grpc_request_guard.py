"""Every request is read and checked before any servicer code runs (adapters/grpc/requests.py):
undecodable bytes, NUL characters, over-long strings, too many entries and unknown enum numbers are
INVALID_ARGUMENT naming the field, the same for every method and either database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc_health.v1 import health_pb2

from integration.grpc.grpc_cases import fails, named_template
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import template_health_pb2 as hp
from watemplates.v1 import template_health_pb2_grpc
from watemplates.v1 import templates_pb2 as api

if TYPE_CHECKING:
    # Fixture types only: pytest loads conftest modules itself; importing one again would run it twice.
    from integration.grpc.conftest import GrpcWorld

GET = "/watemplates.v1.TemplateService/GetTemplate"
UNDECODABLE = {
    "bad-utf8-in-a-string": b"\x0a\x02\xff\xfe",
    "truncated-wire-format": b"\x0a\x20abc",
    "corrupt-tag": b"\xff\xff\xff",
    "deeply-nested-groups": b"\x0b" * 100_000,
}


async def raw_call(
    world: GrpcWorld, method: str, payload: bytes, *, authorized: bool
) -> grpc.aio.AioRpcError:
    call = world.channel.unary_unary(method)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(payload, metadata=world.a.auth("viewer") if authorized else ())
    return caught.value


@pytest.mark.parametrize("payload", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_an_undecodable_request_is_invalid_argument_logged_once_without_a_traceback(
    grpc_world: GrpcWorld, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    error = await raw_call(grpc_world, GET, payload, authorized=True)

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "the request is not a valid watemplates.v1.GetTemplateRequest" in (error.details() or "")
    refusals = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in refusals] == [(logging.INFO, None)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_undecodable_request_without_a_key_is_unauthenticated_first(grpc_world: GrpcWorld) -> None:
    error = await raw_call(grpc_world, GET, UNDECODABLE["bad-utf8-in-a-string"], authorized=False)

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_rich_status_names_the_reason(grpc_world: GrpcWorld) -> None:
    status = await fails(
        grpc_world.channel.unary_unary(GET)(UNDECODABLE["corrupt-tag"], metadata=grpc_world.a.auth("viewer"))
    )
    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UNREADABLE_REQUEST")
    assert status.metadata["message"] == "watemplates.v1.GetTemplateRequest"


async def test_public_services_are_guarded_too(grpc_world: GrpcWorld) -> None:
    error = await raw_call(grpc_world, "/grpc.health.v1.Health/Check", b"\x0a\x02\xff\xfe", authorized=False)

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    health = await grpc_world.channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )(health_pb2.HealthCheckRequest())
    assert health.status in (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )


NUL = "\x00"


def nul_cases(world: GrpcWorld) -> list[tuple[str, object, str]]:
    """(method, request, the field the violation must name): every kind of text that used to reach
    the database (PostgreSQL refused it with INTERNAL, SQLite answered NOT_FOUND or OK)."""
    name = f"wabas/{world.a.waba_id}/templates/order_ready.en_US"
    return [
        (
            "CreateTemplate",
            api.CreateTemplateRequest(
                parent=world.a.parent, template=named_template(), request_id=f"r{NUL}1"
            ),
            "request_id",
        ),
        ("GetTemplate", api.GetTemplateRequest(name=f"wabas/{world.a.waba_id}/templates/a{NUL}.en"), "name"),
        (
            "ListTemplates",
            api.ListTemplatesRequest(parent=world.a.parent, display_name_prefix=f"ord{NUL}"),
            "display_name_prefix",
        ),
        (
            "ListTemplates",
            api.ListTemplatesRequest(parent=world.a.parent, language_codes=["en", f"en{NUL}US"]),
            "language_codes[1]",
        ),
        (
            "RenderTemplate",
            api.RenderTemplateRequest(name=name, values={f"first{NUL}": "Dana"}),
            f"values[{'first' + NUL!r}]",
        ),
        ("DeleteTemplate", api.DeleteTemplateRequest(name=name, etag=f'"{NUL}"'), "etag"),
    ]


async def test_nul_characters_are_invalid_argument_naming_the_field(grpc_world: GrpcWorld) -> None:
    for method, request, field in nul_cases(grpc_world):
        status = await fails(getattr(grpc_world.stub, method)(request, metadata=grpc_world.a.auth("admin")))

        assert status.code == grpc.StatusCode.INVALID_ARGUMENT, method
        assert status.violations == [(field, "INVALID_TEXT")], method
        assert "NUL character" in status.descriptions[0]


async def test_nul_in_health_and_inbox_names(grpc_world: GrpcWorld) -> None:
    health = template_health_pb2_grpc.TemplateHealthServiceStub(grpc_world.channel)
    inbox = template_health_pb2_grpc.InboxServiceStub(grpc_world.channel)
    admin = grpc_world.a.auth("admin")
    calls = [
        (health.AcknowledgeAlert(hp.AcknowledgeAlertRequest(name=f"alerts/a{NUL}"), metadata=admin), "name"),
        (
            health.ListAlerts(hp.ListAlertsRequest(template=f"wabas/1/templates/a{NUL}.en"), metadata=admin),
            "template",
        ),
        (
            inbox.ReplayInboxChange(hp.ReplayInboxChangeRequest(name=f"inboxChanges/{NUL}"), metadata=admin),
            "name",
        ),
    ]
    for call, field in calls:
        status = await fails(call)
        assert (status.code, status.violations) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            [(field, "INVALID_TEXT")],
        )


async def test_strings_and_lists_over_their_limits(grpc_world: GrpcWorld) -> None:
    template = named_template()
    template.parameters[0].example = "x" * 4_097
    cases = [
        (
            api.CreateTemplateRequest(
                parent=grpc_world.a.parent, template=named_template(), request_id="r" * 129
            ),
            ("request_id", "FIELD_TOO_LONG"),
            "is 129 characters; at most 128",
        ),
        (
            api.CreateTemplateRequest(parent=grpc_world.a.parent, template=template),
            ("template.parameters[0].example", "FIELD_TOO_LONG"),
            "is 4097 characters; at most 4096",
        ),
        (
            api.ListTemplatesRequest(parent=grpc_world.a.parent, language_codes=["en"] * 201),
            ("language_codes", "TOO_MANY_ITEMS"),
            "has 201 entries; at most 200",
        ),
    ]
    for request, violation, description in cases:
        method = type(request).__name__.removesuffix("Request")
        status = await fails(getattr(grpc_world.stub, method)(request, metadata=grpc_world.a.auth("admin")))
        assert status.violations == [violation]
        assert status.descriptions == [description]


async def test_an_enum_number_the_enum_does_not_define_is_refused(grpc_world: GrpcWorld) -> None:
    template = named_template()
    template.parameters[0].locations.append(pb.ParameterLocation.ValueType(9))
    template.category = pb.TemplateCategory.ValueType(42)

    status = await fails(
        grpc_world.stub.CreateTemplate(
            api.CreateTemplateRequest(parent=grpc_world.a.parent, template=template),
            metadata=grpc_world.a.auth("admin"),
        )
    )

    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(status.violations) == [
        ("template.category", "INVALID_ENUM_VALUE"),
        ("template.parameters[0].locations[0]", "INVALID_ENUM_VALUE"),
    ]
    assert "9 is not a ParameterLocation value" in status.descriptions


async def test_requests_within_the_limits_pass(grpc_world: GrpcWorld) -> None:
    created = await grpc_world.stub.CreateTemplate(
        api.CreateTemplateRequest(
            parent=grpc_world.a.parent, template=named_template(), request_id="r" * 128
        ),
        metadata=grpc_world.a.auth("admin"),
    )
    assert created.template.status == pb.TEMPLATE_STATUS_DRAFT


# ---- responses stay under a default client's 4 MiB limit ------------------------------------------


def bulky_template(index: int) -> pb.Template:
    """About 80 KB: 40 parameters, each with a 1,000-character example and default value."""
    keys = [f"p{n:02d}" for n in range(40)]
    return pb.Template(
        display_name=f"bulky_{index:03d}",
        language_code="en_US",
        category=pb.TEMPLATE_CATEGORY_UTILITY,
        components=pb.TemplateComponents(
            body="Hello " + " and ".join(f"{{{{{k}}}}}" for k in keys) + " today."
        ),
        parameters=[
            pb.TemplateParameter(key=k, example="x" * 1_000, optional=True, default_value="y" * 1_000)
            for k in keys
        ],
    )


async def test_a_page_of_large_templates_is_cut_to_fit_and_paging_finds_them_all(
    grpc_world: GrpcWorld,
) -> None:
    auth = grpc_world.a.auth("admin")
    for index in range(60):
        await grpc_world.stub.CreateTemplate(
            api.CreateTemplateRequest(parent=grpc_world.a.parent, template=bulky_template(index)),
            metadata=auth,
        )

    seen: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        page = await grpc_world.stub.ListTemplates(
            api.ListTemplatesRequest(parent=grpc_world.a.parent, page_size=500, page_token=token),
            metadata=auth,
        )
        sizes.append(page.ByteSize())
        seen += [t.display_name for t in page.templates]
        token = page.next_page_token
        if not token:
            break

    assert seen == [f"bulky_{index:03d}" for index in range(60)]
    assert len(sizes) == 2
    assert max(sizes) <= 3 * 1024 * 1024


async def test_a_refusal_logs_a_short_printable_line_whatever_the_request_holds(
    grpc_world: GrpcWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    name = f"wabas/{grpc_world.a.waba_id}/templates/order_ready.en_US"
    huge_key = "k\n" * 100_000

    status = await fails(
        grpc_world.stub.RenderTemplate(
            api.RenderTemplateRequest(name=name, values={huge_key: "x" * 5_000}),
            metadata=grpc_world.a.auth("viewer"),
        )
    )

    assert status.violations == [(f"values[{huge_key[:64]!r}…]", "FIELD_TOO_LONG")] * 2
    [record] = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(record.getMessage()) < 700
    assert "\n" not in record.getMessage()
