"""GraphClient over loopback HTTP: error mapping, retries and their bounds, timeouts, token hygiene."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from typing import Any

import aiohttp
import pytest

from adapters.meta_graph.client import GraphClient
from app.errors import (
    MetaCredentialsExpired,
    MetaError,
    MetaParameterMismatch,
    MetaPermissionDenied,
    MetaRateLimited,
    MetaRequestRejected,
    MetaTemplateDisabled,
    MetaTemplateNotFound,
    MetaTemplatePaused,
    MetaUnavailable,
    MetaWindowClosed,
)
from fakes.graph_server import FakeGraph, meta_error_body
from integration.meta_graph.graph_cases import TOKEN, WABA_ID, ClientFactory

TEMPLATES = f"{WABA_ID}/message_templates"

MAPPED: list[tuple[int, int, type[MetaError], bool]] = [
    # (Meta code, HTTP status, class, retried)
    (132015, 400, MetaTemplatePaused, False),
    (132016, 400, MetaTemplateDisabled, False),
    (132001, 404, MetaTemplateNotFound, False),
    (132000, 400, MetaParameterMismatch, False),
    (132012, 400, MetaParameterMismatch, False),
    (131047, 400, MetaWindowClosed, False),
    (190, 401, MetaCredentialsExpired, False),
    (0, 400, MetaPermissionDenied, False),
    (3, 400, MetaPermissionDenied, False),
    (10, 403, MetaPermissionDenied, False),
    (200, 403, MetaPermissionDenied, False),
    (299, 403, MetaPermissionDenied, False),
    (130429, 429, MetaRateLimited, True),
    (80007, 400, MetaRateLimited, True),
    (4, 400, MetaRateLimited, True),
    (613, 400, MetaRateLimited, True),
    (17, 400, MetaRateLimited, True),
    (32, 400, MetaRateLimited, True),
    (131056, 400, MetaRateLimited, False),
    (131000, 500, MetaUnavailable, True),
    (131016, 503, MetaUnavailable, True),
    (131057, 400, MetaUnavailable, True),
    (1, 500, MetaUnavailable, True),
    (2, 503, MetaUnavailable, True),
    (100, 400, MetaRequestRejected, False),
    (131026, 400, MetaRequestRejected, False),
    (368, 400, MetaRequestRejected, False),
    # Mapped by code, not by HTTP status: an unknown code on a 5xx is still Meta being unwell.
    (99999, 502, MetaUnavailable, True),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize(("code", "http_status", "error_class", "retried"), MAPPED)
async def test_every_mapped_code_raises_its_class_with_code_and_fbtrace_id(
    graph: FakeGraph,
    make_client: ClientFactory,
    code: int,
    http_status: int,
    error_class: type[MetaError],
    retried: bool,
) -> None:
    client = make_client(max_attempts=3)
    bodies = [meta_error_body(code) for _ in range(3)]
    for body in bodies:
        # Retry-After 0 keeps the rate-limit cases fast (their defaults are seconds to minutes).
        graph.state.fail_next(1, status=http_status, body=body, headers={"Retry-After": "0"})

    with pytest.raises(error_class) as caught:
        await client.get(TEMPLATES)

    error = caught.value
    assert type(error) is error_class
    assert error.code == code
    assert error.http_status == http_status
    assert error.retryable is retried
    # The error that surfaces is the last attempt's.
    attempts = 3 if retried else 1
    assert error.fbtrace_id == bodies[attempts - 1]["error"]["fbtrace_id"]
    assert error.fbtrace_id in str(error)
    assert f"code {code}" in str(error)
    assert len(graph.state.requests) == attempts


async def test_a_wrong_token_is_credentials_expired_and_not_retried(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    client = make_client(access_token="EAAG-some-old-token")

    with pytest.raises(MetaCredentialsExpired, match="Invalid OAuth access token") as caught:
        await client.get(TEMPLATES)

    assert (caught.value.code, caught.value.http_status) == (190, 401)
    assert "EAAG-some-old-token" not in str(caught.value)
    assert len(graph.state.requests) == 1


async def test_two_server_errors_then_success(graph: FakeGraph, client: GraphClient) -> None:
    graph.state.seed_template(WABA_ID, "hello")
    graph.state.fail_next(2, status=500)

    page = await client.get(TEMPLATES, {"limit": 10})

    assert [t["name"] for t in page["data"]] == ["hello"]
    assert len(graph.state.requests) == 3
    assert all(r.query == {"limit": "10"} for r in graph.state.requests)


async def test_a_throughput_limit_with_retry_after_zero_is_retried_at_once(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    # Backoff this large would show up in the elapsed time; Retry-After: 0 replaces it.
    client = make_client(backoff_initial=2.0, backoff_max=2.0)
    graph.state.fail_next_with_code(130429, http_status=429, retry_after=0)

    started = time.monotonic()
    await client.get(TEMPLATES)

    assert time.monotonic() - started < 1.5
    assert len(graph.state.requests) == 2


async def test_a_retry_after_beyond_the_budget_gives_up_at_once(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    client = make_client(retry_budget_seconds=2.0, max_attempts=5)
    graph.state.fail_next_with_code(80007, retry_after=30)

    started = time.monotonic()
    with pytest.raises(MetaRateLimited) as caught:
        await client.get(TEMPLATES)

    assert time.monotonic() - started < 1.0
    assert caught.value.retry_after_seconds == 30.0
    assert caught.value.retryable is True
    assert len(graph.state.requests) == 1


async def test_a_rate_limit_without_retry_after_uses_the_business_use_case_estimate(
    graph: FakeGraph, client: GraphClient
) -> None:
    usage = (
        '{"' + WABA_ID + '": [{"type": "whatsapp", "call_count": 100, "estimated_time_to_regain_access": 7}]}'
    )
    graph.state.fail_next(
        1, status=400, body=meta_error_body(80007), headers={"X-Business-Use-Case-Usage": usage}
    )

    with pytest.raises(MetaRateLimited) as caught:
        await client.get(TEMPLATES)

    assert caught.value.retry_after_seconds == 7 * 60.0


async def test_always_failing_stops_after_max_attempts(graph: FakeGraph, make_client: ClientFactory) -> None:
    client = make_client(max_attempts=4)
    graph.state.fail_next(10, status=500)

    with pytest.raises(MetaUnavailable) as caught:
        await client.get(TEMPLATES)

    assert caught.value.http_status == 500
    assert caught.value.code == 1
    assert len(graph.state.requests) == 4


async def test_the_time_budget_bounds_retries_before_max_attempts(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    client = make_client(max_attempts=100, retry_budget_seconds=0.4, backoff_initial=0.15, backoff_max=0.15)
    graph.state.fail_next(100, status=503)

    started = time.monotonic()
    with pytest.raises(MetaUnavailable):
        await client.get(TEMPLATES)

    # Waits of 0.075..0.15 s: a handful of attempts fit in 0.4 s, and no attempt starts after it.
    assert 2 <= len(graph.state.requests) <= 6
    assert time.monotonic() - started < 1.0


async def test_a_business_error_is_sent_exactly_once(graph: FakeGraph, make_client: ClientFactory) -> None:
    client = make_client(max_attempts=5)
    graph.state.fail_next_with_code(100, subcode=2388040, n=5)

    with pytest.raises(MetaRequestRejected) as caught:
        await client.post(TEMPLATES, {"name": "x"})

    assert caught.value.subcode == 2388040
    assert len(graph.state.requests) == 1


async def test_a_timeout_is_unavailable_and_retried(graph: FakeGraph, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.2)
    graph.state.seed_template(WABA_ID, "hello")
    graph.state.delay_next(1.0)

    page = await client.get(TEMPLATES)

    assert len(page["data"]) == 1
    assert len(graph.state.requests) == 2


async def test_a_timeout_on_every_attempt_is_unavailable(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    client = make_client(timeout=0.15, max_attempts=2)
    graph.state.delay_next(1.0, n=2)

    with pytest.raises(MetaUnavailable, match=r"did not answer within 0\.15 s \(GET /v24\.0/") as caught:
        await client.get(TEMPLATES)

    assert caught.value.retryable is True
    assert len(graph.state.requests) == 2


@pytest.mark.parametrize("status", [200, 502])
async def test_a_body_that_is_not_json_is_unavailable_with_a_clear_message(
    graph: FakeGraph, make_client: ClientFactory, status: int
) -> None:
    client = make_client(max_attempts=1)
    graph.state.malformed_next(status=status)

    with pytest.raises(MetaUnavailable, match=f"Meta answered HTTP {status} with a body that is not JSON"):
        await client.get(TEMPLATES)


async def test_a_malformed_answer_is_retried(graph: FakeGraph, client: GraphClient) -> None:
    graph.state.malformed_next(status=502)
    await client.get(TEMPLATES)
    assert len(graph.state.requests) == 2


async def test_an_error_answer_without_an_error_object_is_unavailable(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    client = make_client(max_attempts=1)
    graph.state.fail_next(1, status=400, body={"oops": True})

    with pytest.raises(MetaUnavailable, match="HTTP 400 without an error object"):
        await client.get(TEMPLATES)


async def test_a_refused_connection_is_unavailable_after_the_attempts(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_attempts=2)

    with pytest.raises(MetaUnavailable, match="Meta's API could not be reached") as caught:
        await client.get(TEMPLATES)

    assert caught.value.retryable is True
    # The caller is not told the internal Graph address; the operator's log has it.
    assert str(port) not in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)
    assert any(str(port) in record.getMessage() for record in caplog.records)


async def test_a_redirect_is_not_followed(graph: FakeGraph, client: GraphClient) -> None:
    graph.state.fail_next(1, status=302, body=b"", headers={"Location": "https://elsewhere.example/steal"})

    with pytest.raises(MetaUnavailable, match="redirects are not followed") as caught:
        await client.get(TEMPLATES)

    assert caught.value.retryable is False
    assert len(graph.state.requests) == 1


async def test_post_delete_and_get_url_speak_json(graph: FakeGraph, client: GraphClient) -> None:
    created = await client.post(
        TEMPLATES,
        {
            "name": "hello",
            "language": "en_US",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi there, welcome."}],
        },
    )
    fetched = await client.get_url(f"{graph.base_url}/{graph.version}/{created['id']}?fields=name,status")
    deleted = await client.delete(TEMPLATES, {"name": "hello"})

    assert fetched == {"id": created["id"], "name": "hello", "status": "PENDING"}
    assert deleted == {"success": True}
    assert graph.state.requests[1].query == {"fields": "name,status"}


async def test_a_borrowed_session_is_left_open(graph: FakeGraph) -> None:
    async with aiohttp.ClientSession() as session:
        client = GraphClient(graph.base_url, graph.version, TOKEN, session=session)
        await client.get(TEMPLATES)
        await client.close()
        assert not session.closed


async def test_the_client_is_an_async_context_manager(graph: FakeGraph) -> None:
    async with GraphClient(graph.base_url, graph.version, TOKEN) as client:
        assert (await client.get(TEMPLATES)) == {"data": []}


@pytest.mark.parametrize(
    ("base_url", "version", "token", "message"),
    [
        ("graph.facebook.com", "v24.0", "t", "absolute http"),
        ("https://graph.facebook.com?access_token=x", "v24.0", "t", "must not carry"),
        ("https://graph.facebook.com", "v24.0/x", "t", "one path segment"),
        ("https://graph.facebook.com", "v24.0", "", "token is required"),
    ],
)
def test_bad_configuration_is_refused(base_url: str, version: str, token: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GraphClient(base_url, version, token)


def test_the_repr_has_no_token() -> None:
    client = GraphClient("https://graph.facebook.com", "v24.0", TOKEN)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert "graph.facebook.com" in repr(client)


def _error_texts(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error), repr(vars(error))])


async def test_the_token_never_reaches_logs_or_errors(
    graph: FakeGraph, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("aiohttp", "aiohttp.client", "aiohttp.access", "aiohttp.server", "aiohttp.web", "tenacity"):
        caplog.set_level(logging.DEBUG, logger=name)
    client = make_client(timeout=0.2, max_attempts=2)
    errors: list[BaseException] = []

    async def expect_failure(call: Any) -> None:
        try:
            await call
        except MetaError as error:
            errors.append(error)
        else:
            pytest.fail("expected a MetaError")

    # Success paths.
    graph.state.seed_template(WABA_ID, "hello")
    await client.get(TEMPLATES, {"limit": 1})
    await client.post(
        TEMPLATES,
        {
            "name": "bye",
            "language": "en_US",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "x"}],
        },
    )
    graph.state.fail_next(1, status=500)
    await client.get(TEMPLATES)  # retried, logged as a warning
    # Failure paths: business error, exhausted retries, timeout, not JSON, a body echoing the token,
    # a wrong token, a refused connection, a foreign paging link.
    graph.state.fail_next_with_code(131047)
    await expect_failure(client.get(TEMPLATES))
    graph.state.fail_next(2, status=503)
    await expect_failure(client.get(TEMPLATES))
    graph.state.delay_next(1.0, n=2)
    await expect_failure(client.get(TEMPLATES))
    graph.state.malformed_next(2, status=502, body=f"<html>bad gateway for Bearer {TOKEN}</html>".encode())
    await expect_failure(client.get(TEMPLATES))
    graph.state.fail_next(1, status=400, body=meta_error_body(100, f"(#100) token {TOKEN} is malformed"))
    await expect_failure(client.get(TEMPLATES))
    await expect_failure(make_client(access_token=TOKEN + "-revoked").get(TEMPLATES))
    await expect_failure(make_client(base_url=f"http://127.0.0.1:{free_port()}").get(TEMPLATES))
    await expect_failure(client.get_url(f"https://evil.example/v24.0/{TEMPLATES}?after=x"))

    assert len(errors) == 8
    assert "[redacted]" in str(errors[4])
    for error in errors:
        assert TOKEN not in _error_texts(error), error
    assert caplog.records, "nothing was logged, so the check below proves nothing"
    assert "retrying" in caplog.text
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)


async def test_a_change_whose_first_attempt_timed_out_stays_of_unknown_outcome(
    graph: FakeGraph, make_client: ClientFactory
) -> None:
    # The first attempt may have reached Meta: a refusal of the retry may only mean it went through.
    client = make_client(timeout=0.15, max_attempts=2)
    graph.state.delay_next(1.0, n=1)
    graph.state.fail_next_with_code(100)

    with pytest.raises(MetaError) as caught:
        await client.post("918273645500100", {"components": []})

    assert caught.value.outcome_unknown is True


@pytest.mark.parametrize(("method", "unknown"), [("GET", False), ("POST", True)])
async def test_a_server_error_leaves_a_change_of_unknown_outcome(
    graph: FakeGraph, make_client: ClientFactory, method: str, unknown: bool
) -> None:
    client = make_client(max_attempts=1)
    graph.state.fail_next(1, status=500)

    with pytest.raises(MetaUnavailable) as caught:
        await (
            client.get(TEMPLATES) if method == "GET" else client.post("918273645500100", {"components": []})
        )

    assert caught.value.outcome_unknown is unknown


async def test_a_refused_change_is_of_known_outcome(graph: FakeGraph, make_client: ClientFactory) -> None:
    client = make_client(max_attempts=1)
    graph.state.fail_next_with_code(100)

    with pytest.raises(MetaError) as caught:
        await client.post("918273645500100", {"components": []})

    assert caught.value.outcome_unknown is False
