"""POST/GET /webhooks/meta over real HTTP on loopback (aiohttp test server), storing into the fakes.

The inbox is app.ports.InboxRepository from tests/fakes when the fakes have it; otherwise a small
stand-in below with the same two things these tests touch (`store.deliveries` and the
`before_commit` hook that simulates a database failure).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, cast

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.http.app import create_app
from adapters.http.webhook import endpoint as webhook_module
from adapters.http.webhook.endpoint import MAX_BODY_BYTES, PATH, WebhookConfig
from app.inbox import Delivery
from app.ports import UnitOfWorkFactory
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock

SECRET = "meta-app-secret"
VERIFY_TOKEN = "verify-me-please"
# As Meta sends it: non-ASCII escaped with lowercase \u escapes, compact separators.
BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"301122334455667","time":1764153000,'
    b'"changes":[{"field":"message_template_status_update","value":{"event":"APPROVED",'
    b'"message_template_id":918273645500112,"message_template_name":"k\\u00e4se_ready",'
    b'"message_template_language":"de_DE","reason":"NONE","message_template_category":"UTILITY"}}]}]}'
)
SAMPLE = Path(__file__).parents[2] / "fixtures" / "samples" / "10_batched_category_and_components.json"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}


# ---- the store: the real fake inbox when present, else a stand-in --------------------------------


class Store(Protocol):
    @property
    def deliveries(self) -> dict[str, Delivery]: ...


class StoreFactory(Protocol):
    """What these tests need from a unit-of-work factory besides app.ports.UnitOfWorkFactory."""

    @property
    def store(self) -> Store: ...

    before_commit: Callable[[], Awaitable[None]] | None


@dataclass
class _StandInStore:
    deliveries: dict[str, Delivery] = field(default_factory=dict)


class _StandInInbox:
    def __init__(self, pending: list[Delivery]) -> None:
        self._pending = pending

    async def add_delivery(self, delivery: Delivery) -> None:
        self._pending.append(delivery)


class _StandInUnitOfWork:
    def __init__(self, factory: _StandInFactory) -> None:
        self._factory = factory
        self._pending: list[Delivery] = []
        self.inbox = _StandInInbox(self._pending)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pending.clear()  # uncommitted writes are rolled back

    async def commit(self) -> None:
        if self._factory.before_commit is not None:
            await self._factory.before_commit()
        self._factory.store.deliveries.update((d.id, d) for d in self._pending)
        self._pending.clear()


class _StandInFactory:
    def __init__(self) -> None:
        self.store = _StandInStore()
        self.before_commit: Callable[[], Awaitable[None]] | None = None

    def __call__(self, *, read_only: bool = False) -> _StandInUnitOfWork:
        return _StandInUnitOfWork(self)


def fakes_have_an_inbox() -> bool:
    return hasattr(FakeUnitOfWorkFactory()(), "inbox")


def new_store_factory() -> StoreFactory:
    if fakes_have_an_inbox():
        return cast(StoreFactory, FakeUnitOfWorkFactory())
    return _StandInFactory()


def stored(factory: StoreFactory) -> list[Delivery]:
    return sorted(factory.store.deliveries.values(), key=lambda d: d.id)


# ---- servers ------------------------------------------------------------------------------------


@dataclass
class Webhook:
    client: TestClient[Any, Any]
    factory: StoreFactory
    clock: FrozenClock
    wakeups: list[int]

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
        async with self.client.post(
            PATH, data=body, headers=signed(body) if headers is None else headers
        ) as r:
            return r.status, await r.text()


MakeWebhook = Callable[..., Awaitable[Webhook]]


@pytest.fixture
async def make_webhook() -> AsyncIterator[MakeWebhook]:
    clients: list[TestClient[Any, Any]] = []

    async def make(
        *,
        app_secret: str | None = SECRET,
        verify_token: str | None = VERIFY_TOKEN,
        on_delivery: Callable[[], None] | None = None,
        wake: bool = True,
    ) -> Webhook:
        factory = new_store_factory()
        clock = FrozenClock()
        wakeups: list[int] = []
        if on_delivery is None and wake:

            def on_delivery() -> None:
                wakeups.append(1)

        config = WebhookConfig(
            uow_factory=cast(UnitOfWorkFactory, factory),
            clock=clock,
            app_secret=app_secret,
            verify_token=verify_token,
            on_delivery=on_delivery,
        )
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(FakeHealthProbe(), webhook=config), host="127.0.0.1")
        )
        await client.start_server()
        clients.append(client)
        return Webhook(client, factory, clock, wakeups)

    yield make
    for client in clients:
        await client.close()


def test_which_inbox_these_tests_use() -> None:
    # Not an assertion about the product: a record, in the test report, of which store ran.
    print("inbox used:", "tests/fakes FakeUnitOfWorkFactory" if fakes_have_an_inbox() else "local stand-in")  # noqa: T201


# ---- verification handshake -------------------------------------------------------------------


def hub(
    mode: str = "subscribe", token: str = VERIFY_TOKEN, challenge: str | None = "1158201444"
) -> dict[str, str]:
    query = {"hub.mode": mode, "hub.verify_token": token}
    if challenge is not None:
        query["hub.challenge"] = challenge
    return query


async def get(webhook: Webhook, params: dict[str, str]) -> tuple[int, str, str]:
    async with webhook.client.get(PATH, params=params) as response:
        return response.status, await response.text(), response.content_type


async def test_verification_echoes_the_challenge(make_webhook: MakeWebhook) -> None:
    assert await get(await make_webhook(), hub()) == (200, "1158201444", "text/plain")


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        (hub(token="wrong"), 403, "hub.verify_token does not match"),
        (hub(token=""), 403, "hub.verify_token does not match"),
        (hub(token=VERIFY_TOKEN + "x"), 403, "hub.verify_token does not match"),
        (hub(token="vérify-me-pleasé"), 403, "hub.verify_token does not match"),
        (hub(mode="unsubscribe"), 403, "hub.mode must be 'subscribe'"),
        ({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, 403, "hub.mode must be 'subscribe'"),
        (hub(challenge=None), 400, "hub.challenge is missing"),
    ],
)
async def test_verification_refused(
    make_webhook: MakeWebhook, params: dict[str, str], status: int, reason: str
) -> None:
    got_status, text, _ = await get(await make_webhook(), params)
    assert (got_status, text) == (status, reason)


@pytest.mark.parametrize("token", [None, ""])
async def test_verification_without_a_configured_token_is_refused(
    make_webhook: MakeWebhook, token: str | None
) -> None:
    status, text, _ = await get(await make_webhook(verify_token=token), hub(token=""))
    assert status == 403
    assert "no verify token" in text


# ---- deliveries -------------------------------------------------------------------------------


async def test_signed_delivery_is_stored_byte_for_byte(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    assert await webhook.post(BODY) == (200, "OK")
    [delivery] = stored(webhook.factory)
    assert delivery.body == BODY
    assert b"k\\u00e4se" in delivery.body
    assert delivery.received_at == webhook.clock.now()
    assert re.fullmatch(r"\d{20}-[0-9a-f]{16}", delivery.id)
    assert webhook.wakeups == [1]


async def test_sample_file_is_stored_with_its_whitespace(make_webhook: MakeWebhook) -> None:
    body = SAMPLE.read_bytes()
    webhook = await make_webhook()
    assert await webhook.post(body) == (200, "OK")
    assert [d.body for d in stored(webhook.factory)] == [body]


async def test_delivery_ids_follow_arrival_time(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    received = []
    for _ in range(3):
        assert (await webhook.post(BODY))[0] == 200
        received.append(webhook.clock.now())
        webhook.clock.advance(timedelta(microseconds=1))
    # Duplicates are stored as separate deliveries; their changes are deduplicated downstream.
    assert [d.received_at for d in stored(webhook.factory)] == received


async def test_uppercase_hex_signature_is_accepted(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    signature = "sha256=" + sign(BODY).removeprefix("sha256=").upper()
    assert await webhook.post(BODY, {"X-Hub-Signature-256": signature}) == (200, "OK")


async def test_a_signed_body_may_exactly_fill_the_limit(make_webhook: MakeWebhook) -> None:
    head, tail = BODY[:-1] + b',"padding":"', b'"}'
    body = head + b"p" * (MAX_BODY_BYTES - len(head) - len(tail)) + tail
    assert len(body) == MAX_BODY_BYTES
    webhook = await make_webhook()
    assert await webhook.post(body) == (200, "OK")
    assert len(stored(webhook.factory)) == 1


def reserialized(body: bytes) -> bytes:
    return json.dumps(json.loads(body), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Hub-Signature-256"),
        ({"X-Hub-Signature-256": ""}, "missing X-Hub-Signature-256"),
        (
            {"X-Hub-Signature-256": sign(BODY, "another-secret")},
            "X-Hub-Signature-256 does not match the body",
        ),
        ({"X-Hub-Signature-256": sign(reserialized(BODY))}, "X-Hub-Signature-256 does not match the body"),
        ({"X-Hub-Signature-256": sign(BODY + b" ")}, "X-Hub-Signature-256 does not match the body"),
        ({"X-Hub-Signature-256": sign(BODY).removeprefix("sha256=")}, "must start with 'sha256='"),
        ({"X-Hub-Signature-256": "sha1=" + "0" * 40}, "must start with 'sha256='"),
        ({"X-Hub-Signature-256": "sha256=not-hex-at-all"}, "does not match the body"),
        ({"X-Hub-Signature-256": "sha256=" + "ä" * 64}, "does not match the body"),
    ],
)
async def test_unsigned_or_badly_signed_delivery_is_refused_and_not_stored(
    make_webhook: MakeWebhook, headers: dict[str, str], reason: str
) -> None:
    assert reserialized(BODY) != BODY
    webhook = await make_webhook()
    status, text = await webhook.post(BODY, headers)
    assert status == 401
    assert reason in text
    assert stored(webhook.factory) == []
    assert webhook.wakeups == []


@pytest.mark.parametrize("secret", [None, ""])
async def test_without_an_app_secret_every_post_is_refused_loudly(
    make_webhook: MakeWebhook, caplog: pytest.LogCaptureFixture, secret: str | None
) -> None:
    webhook = await make_webhook(app_secret=secret)
    caplog.clear()
    status, text = await webhook.post(BODY)
    assert status == 401
    assert "no app secret configured" in text
    assert stored(webhook.factory) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert "no Meta app secret configured" in errors[0].getMessage()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"this is not json", "body is not JSON"),
        (b"", "body is not JSON"),
        (b"\xff\xfe\xfd", "body is not JSON"),
        (b'[{"object":"whatsapp_business_account"}]', "body must be a JSON object"),
        (b'{"object":"page","entry":[]}', "'object' must be 'whatsapp_business_account'"),
        (b'{"entry":[]}', "'object' must be 'whatsapp_business_account'"),
    ],
)
async def test_signed_but_not_a_whatsapp_envelope_is_a_bad_request(
    make_webhook: MakeWebhook, body: bytes, reason: str
) -> None:
    webhook = await make_webhook()
    status, text = await webhook.post(body)
    assert status == 400
    assert reason in text
    assert stored(webhook.factory) == []


async def test_over_three_megabytes_is_refused_before_anything_else(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    body = b"x" * (MAX_BODY_BYTES + 1)
    # Even correctly signed: the size is checked first.
    status, text = await webhook.post(body)
    assert status == 413
    assert str(MAX_BODY_BYTES) in text
    assert stored(webhook.factory) == []


async def test_oversized_chunked_body_without_a_length_is_refused(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * (1024 * 1024)

    async with webhook.client.post(
        PATH, data=chunks(), headers={"X-Hub-Signature-256": "sha256=0"}
    ) as response:
        assert response.status == 413
    assert stored(webhook.factory) == []


async def test_database_failure_answers_503_so_meta_retries(
    make_webhook: MakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    webhook = await make_webhook()

    async def database_down() -> None:
        raise ConnectionError("the database went away")

    webhook.factory.before_commit = database_down
    status, text = await webhook.post(BODY)
    assert status == 503
    assert "could not be stored" in text
    assert stored(webhook.factory) == []
    assert webhook.wakeups == []
    assert any("could not be stored" in r.getMessage() and r.exc_info for r in caplog.records)

    webhook.factory.before_commit = None
    assert await webhook.post(BODY) == (200, "OK")
    assert len(stored(webhook.factory)) == 1


async def test_concurrent_posts_share_commits_and_a_failed_one_answers_its_whole_group_503(
    make_webhook: MakeWebhook,
) -> None:
    webhook = await make_webhook()
    bodies = [BODY.replace(b"1764153000", str(1764153000 + n).encode()) for n in range(40)]
    results = await asyncio.gather(*(webhook.post(body) for body in bodies))
    assert results == [(200, "OK")] * 40
    assert len(stored(webhook.factory)) == 40
    assert cast(FakeUnitOfWorkFactory, webhook.factory).commits < 40  # grouped

    async def database_down() -> None:
        raise ConnectionError("the database went away")

    webhook.factory.before_commit = database_down
    others = [BODY.replace(b"1764153000", str(1764154000 + n).encode()) for n in range(20)]
    results = await asyncio.gather(*(webhook.post(body) for body in others))
    assert [status for status, _ in results] == [503] * 20
    assert len(stored(webhook.factory)) == 40


async def test_on_delivery_is_called_once_per_stored_delivery(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    for _ in range(3):
        assert (await webhook.post(BODY))[0] == 200
    assert (await webhook.post(BODY, {}))[0] == 401
    assert (await webhook.post(b"nope"))[0] == 400
    assert webhook.wakeups == [1, 1, 1]
    assert len(stored(webhook.factory)) == 3


async def test_a_failing_on_delivery_does_not_fail_the_delivery(
    make_webhook: MakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("worker gone")

    webhook = await make_webhook(on_delivery=broken)
    assert await webhook.post(BODY) == (200, "OK")
    assert len(stored(webhook.factory)) == 1
    assert any("waking the inbox worker failed" in r.getMessage() for r in caplog.records)


async def test_without_on_delivery(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook(wake=False)
    assert await webhook.post(BODY) == (200, "OK")


# ---- the rest of the app ----------------------------------------------------------------------


async def test_probes_still_answer_with_the_webhook_mounted(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    for path, expected in (("/healthz", "ok"), ("/readyz", "ready")):
        async with webhook.client.get(path) as response:
            assert response.status == 200
            assert (await response.json())["status"] == expected


async def test_without_a_webhook_config_there_is_no_webhook_route() -> None:
    async with TestClient(TestServer(create_app(FakeHealthProbe()), host="127.0.0.1")) as client:
        async with client.post(PATH, data=BODY, headers=signed(BODY)) as response:
            assert response.status == 404
        async with client.get("/healthz") as response:
            assert response.status == 200


# ---- what can never be stored is refused at the door --------------------------------------------


def _nested(depth: int) -> bytes:
    """A valid envelope whose one change value nests `depth` lists deep (about 2 bytes a level)."""
    return (
        b'{"object":"whatsapp_business_account","entry":[{"id":"301122334455667","changes":'
        b'[{"field":"messages","value":{"x":' + b"[" * depth + b"]" * depth + b"}}]}]}"
    )


def _envelope_with(value_json: bytes) -> bytes:
    return (
        b'{"object":"whatsapp_business_account","entry":[{"id":"301122334455667","time":1764153000,'
        b'"changes":[{"field":"message_template_status_update","value":' + value_json + b"}]}]}"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(_nested(980), "nested deeper than 64 levels", id="980-levels"),
        pytest.param(_nested(70), "nested deeper than 64 levels", id="70-levels"),
        pytest.param(_envelope_with(b'{"event":"APPROVED","x":NaN}'), "NaN", id="nan"),
        pytest.param(_envelope_with(b'{"event":"APPROVED","x":-Infinity}'), "-Infinity", id="infinity"),
        pytest.param(_envelope_with(b'{"event":"APPROVED","x":1e999}'), "1e999", id="overflowing-float"),
        pytest.param(
            b'{"object":"whatsapp_business_account","entry":[]}', "'entry' is empty", id="no-entries"
        ),
        pytest.param(
            b'{"object":"whatsapp_business_account","entry":{}}', "must be a list", id="entry-object"
        ),
    ],
)
async def test_what_no_database_can_store_is_a_bad_request(
    make_webhook: MakeWebhook, body: bytes, reason: str
) -> None:
    webhook = await make_webhook()

    status, text = await webhook.post(body)

    assert status == 400
    assert reason in text
    assert stored(webhook.factory) == []


async def test_nesting_as_deep_as_the_limit_is_accepted(make_webhook: MakeWebhook) -> None:
    # object, entry list, entry, changes list, change, value, "x": 7 levels before the lists.
    webhook = await make_webhook()
    assert await webhook.post(_nested(64 - 7)) == (200, "OK")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP", "identity, gzip"])
async def test_a_compressed_body_is_refused_without_a_server_error(
    make_webhook: MakeWebhook, encoding: str
) -> None:
    webhook = await make_webhook()

    unsigned = await webhook.post(b"hello", {"Content-Encoding": encoding})
    really_compressed = gzip.compress(BODY)
    signed_over_the_wire_bytes = await webhook.post(
        really_compressed, {**signed(really_compressed), "Content-Encoding": encoding}
    )

    assert unsigned[0] == signed_over_the_wire_bytes[0] == 415
    assert "Content-Encoding must be identity" in unsigned[1]
    assert stored(webhook.factory) == []


async def test_identity_encoding_is_accepted(make_webhook: MakeWebhook) -> None:
    webhook = await make_webhook()
    assert await webhook.post(BODY, {**signed(BODY), "Content-Encoding": "identity"}) == (200, "OK")


# ---- peers that misbehave on the wire ---------------------------------------------------------------


async def _raw_exchange(webhook: Webhook, request: bytes, *, then_close: bool) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", webhook.client.server.port)
    writer.write(request)
    await writer.drain()
    if then_close:
        writer.close()
        await asyncio.sleep(0.2)  # let the server notice
        return b""
    answer = await asyncio.wait_for(reader.read(1000), 5)
    writer.close()
    return answer


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_peer_that_goes_away_mid_body_leaves_one_warning_and_no_traceback(
    make_webhook: MakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    webhook = await make_webhook()
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()

    await _raw_exchange(webhook, head + b"{}", then_close=True)

    assert _errors(caplog) == []
    assert stored(webhook.factory) == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\nContent-Length: 0\r\n\r\n",
        b"POST /webhooks/meta HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n",
        b"GARBAGE\x01\x02 / HTTP/1.1\r\n\r\n",
        b"POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
    ],
    ids=["nul-in-header", "folded-header", "bad-request-line", "bad-chunk-size"],
)
async def test_a_malformed_request_is_answered_400_without_a_traceback(
    make_webhook: MakeWebhook, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    webhook = await make_webhook()

    answer = await _raw_exchange(webhook, request_bytes, then_close=False)

    assert answer.split(b"\r\n")[0].split(b" ")[1] == b"400"
    assert _errors(caplog) == []


async def test_a_body_that_trickles_in_is_refused_408(
    make_webhook: MakeWebhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_module, "BODY_READ_TIMEOUT_SECONDS", 0.3)
    webhook = await make_webhook()
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()

    answer = await _raw_exchange(webhook, head + b"{", then_close=False)

    assert answer.split(b"\r\n")[0].split(b" ")[1] == b"408"
    assert stored(webhook.factory) == []


async def test_bodies_beyond_the_in_flight_budget_are_refused_503(
    make_webhook: MakeWebhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_module, "MAX_BODIES_IN_FLIGHT", 100)
    webhook = await make_webhook()

    assert (await webhook.post(BODY))[0] == 503
    monkeypatch.setattr(webhook_module, "MAX_BODIES_IN_FLIGHT", 10 * len(BODY))
    assert await webhook.post(BODY) == (200, "OK")


async def test_a_large_delivery_is_checked_off_the_event_loop_and_stored(make_webhook: MakeWebhook) -> None:
    changes = [{"field": "messages", "value": {"i": n, "pad": "x" * 40}} for n in range(2_000)]
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "301122334455667", "changes": changes}]}
    ).encode()
    assert len(body) > webhook_module.LARGE_BODY_BYTES
    webhook = await make_webhook()

    assert await webhook.post(body) == (200, "OK")
    assert [d.body for d in stored(webhook.factory)] == [body]
    bad = body.replace(b'"i": 0,', b'"i": NaN,')
    assert (await webhook.post(bad))[0] == 400
