"""One log line and one count per RPC, with a request id the caller gets back (its own, or one
made for the call), the organization, the method, the status code and the duration."""

from __future__ import annotations

import logging
import re

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.grpc.auth import request_id
from integration.grpc.conftest import GrpcWorld
from watemplates.v1 import template_health_pb2 as hp
from watemplates.v1 import template_health_pb2_grpc
from watemplates.v1 import templates_pb2 as api

LIST = "/watemplates.v1.TemplateService/ListTemplates"
GET = "/watemplates.v1.TemplateService/GetTemplate"


def samples(world: GrpcWorld, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    body, _ = world.metrics.exposition()
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "watemplates.access"]


async def test_a_call_is_logged_once_with_the_callers_request_id_and_returns_it(
    grpc_world: GrpcWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watemplates.access")
    call = grpc_world.stub.ListTemplates(
        api.ListTemplatesRequest(parent=grpc_world.a.parent),
        metadata=(*grpc_world.a.auth("viewer"), ("x-request-id", "req-7f3a")),
    )
    await call

    assert ("x-request-id", "req-7f3a") in tuple(await call.trailing_metadata())
    [line] = access_lines(caplog)
    assert (line.requestId, line.org, line.method, line.code) == (  # type: ignore[attr-defined]
        "req-7f3a",
        grpc_world.a.org_id,
        LIST,
        "OK",
    )
    assert line.durationMs >= 0  # type: ignore[attr-defined]
    assert samples(grpc_world, "watemplates_rpc_calls_total")[(("code", "OK"), ("method", LIST))] == 1


async def test_a_failed_call_is_logged_with_its_code_and_a_request_id_made_for_it(
    grpc_world: GrpcWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watemplates.access")
    call = grpc_world.stub.GetTemplate(
        api.GetTemplateRequest(name=f"{grpc_world.a.parent}/templates/nothing.en"),
        metadata=grpc_world.a.auth(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    returned = dict(caught.value.trailing_metadata() or ())["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)
    # The error's own details still travel in the trailers next to it.
    assert "grpc-status-details-bin" in dict(caught.value.trailing_metadata() or ())
    [line] = access_lines(caplog)
    assert (line.requestId, line.code, line.method) == (returned, "NOT_FOUND", GET)  # type: ignore[attr-defined]
    assert samples(grpc_world, "watemplates_rpc_calls_total")[(("code", "NOT_FOUND"), ("method", GET))] == 1


async def test_a_call_refused_before_authentication_is_logged_without_an_organization(
    grpc_world: GrpcWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watemplates.access")
    with pytest.raises(grpc.aio.AioRpcError):
        await grpc_world.stub.ListTemplates(api.ListTemplatesRequest(parent=grpc_world.a.parent))

    [line] = access_lines(caplog)
    assert (line.org, line.code) == ("", "UNAUTHENTICATED")  # type: ignore[attr-defined]
    histogram = samples(grpc_world, "watemplates_rpc_duration_seconds_count")
    assert histogram[(("method", LIST),)] == 1


async def test_an_unusable_request_id_is_replaced(grpc_world: GrpcWorld) -> None:
    call = grpc_world.stub.ListTemplates(
        api.ListTemplatesRequest(parent=grpc_world.a.parent),
        metadata=(*grpc_world.a.auth(), ("x-request-id", "x" * 200)),
    )
    await call

    returned = dict(tuple(await call.trailing_metadata()))["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)


async def test_a_stream_refused_before_it_starts_is_logged_with_its_code(
    grpc_world: GrpcWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watemplates.access")
    watch = template_health_pb2_grpc.TemplateHealthServiceStub(grpc_world.channel).WatchTemplateEvents(
        hp.WatchTemplateEventsRequest(cursor="")
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in watch:
            pass

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    [line] = access_lines(caplog)
    assert (line.method, line.code) == (  # type: ignore[attr-defined]
        "/watemplates.v1.TemplateHealthService/WatchTemplateEvents",
        "UNAUTHENTICATED",
    )


@pytest.mark.parametrize("given", ["café", "x" * 129, "tab\there", ""])
def test_a_request_id_that_cannot_go_back_in_the_trailers_is_not_taken(given: str) -> None:
    # Trailers take printable ASCII: a non-ASCII id returned there would fail the call after it ran.
    assert request_id([("x-request-id", given)]) == ""


def test_a_usable_request_id_is_taken() -> None:
    assert request_id([("x-request-id", " req-42 ")]) == "req-42"
