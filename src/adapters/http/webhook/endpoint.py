"""Meta's webhook endpoint: verify, store the raw delivery durably, answer 200; nothing else.

Meta wants a median answer under 250 ms and retries anything but a 200 for days, so the POST does
only what must happen before acknowledging: size, signature, envelope, and storing the delivery,
committed together with the others arriving at the same time (app.group_commit). The inbox worker
splits and applies deliveries later (`on_delivery` wakes it). A 200 is only ever sent after the
commit, so nothing acknowledged is lost; any storage failure answers 503 so Meta retries.

Without an app secret no POST can be authenticated. The endpoint then answers 401 rather than 503:
either way Meta keeps retrying, but 401 names the cause (the deployment, not the database) and a
503 would make the service look unhealthy for a configuration problem. Every refused POST is
logged as an error, so the misconfiguration is loud, and unsigned data is never accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from adapters.http.access import InstrumentedRoutes
from adapters.http.webhook.envelope import parse_envelope
from app.errors import StoreUnavailable
from app.group_commit import DeliveryGroupCommit
from app.inbox import Delivery, MalformedDelivery
from app.ports import Clock, UnitOfWorkFactory

PATH = "/webhooks/meta"
# Meta: "Payloads can be up to 3 MB"; read as MiB, the more generous reading.
MAX_BODY_BYTES = 3 * 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
_READ_CHUNK_BYTES = 64 * 1024
LARGE_BODY_BYTES = 64 * 1024
BODY_READ_TIMEOUT_SECONDS = 30.0
# Bytes of bodies being read at once, across requests: room for about 20 deliveries of Meta's
# largest size, far more than its traffic needs at once.
MAX_BODIES_IN_FLIGHT = 64 * 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """What the webhook endpoint needs. Empty secrets count as not configured."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    app_secret: str | None
    verify_token: str | None
    # Called after each stored delivery to wake the inbox worker; must be cheap.
    on_delivery: Callable[[], None] | None = None


def add_webhook_routes(
    app: web.Application,
    routes: InstrumentedRoutes,
    *,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    app_secret: str | None,
    verify_token: str | None,
    on_delivery: Callable[[], None] | None,
) -> None:
    """Registers GET and POST /webhooks/meta on `app`."""
    endpoint = MetaWebhookEndpoint(WebhookConfig(uow_factory, clock, app_secret, verify_token, on_delivery))
    routes.add_get(PATH, endpoint.verify)
    routes.add_post(PATH, endpoint.receive)

    async def finish_writing(_app: web.Application) -> None:
        await endpoint.close()

    app.on_cleanup.append(finish_writing)


class MetaWebhookEndpoint:
    def __init__(self, config: WebhookConfig) -> None:
        self._config = config
        self._in_flight = 0
        self._secret = config.app_secret.encode() if config.app_secret else None
        self._verify_token = config.verify_token.encode() if config.verify_token else None
        self._deliveries = DeliveryGroupCommit(config.uow_factory)
        if self._secret is None:
            log.error(
                "no Meta app secret configured (WATEMPLATES_META_APP_SECRET): "
                "every webhook POST will be refused with 401"
            )

    async def close(self) -> None:
        """Waits for deliveries still being written (the server is stopping)."""
        await self._deliveries.close()

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        if self._verify_token is None:
            log.warning("webhook verification refused: no verify token configured")
            return _text(403, "webhook verification is not configured (no verify token)")
        query = request.query
        if query.get("hub.mode") != "subscribe":
            return _text(403, "hub.mode must be 'subscribe'")
        token = query.get("hub.verify_token", "").encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(token, self._verify_token):
            log.warning("webhook verification refused: wrong verify token")
            return _text(403, "hub.verify_token does not match")
        challenge = query.get("hub.challenge")
        if challenge is None:
            return _text(400, "hub.challenge is missing")
        return _text(200, challenge)

    async def receive(self, request: web.Request) -> web.Response:
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
        if encoding not in ("", "identity"):
            # Meta never compresses, and the signature covers the bytes as sent: decompressing
            # first would check it over other bytes (and a broken stream would end as a 500).
            log.warning("webhook POST refused: Content-Encoding %r", encoding[:40])
            return _text(415, "Content-Encoding must be identity: Meta sends webhooks uncompressed")
        try:
            async with asyncio.timeout(BODY_READ_TIMEOUT_SECONDS):
                body = await self._read(request)
        except BodiesInFlightFull:
            # Bodies are held whole until the signature can be checked; many large ones at once
            # (signed or not) must not exhaust memory. Meta retries a 503.
            log.warning("webhook POST refused: %d bytes of bodies already in flight", MAX_BODIES_IN_FLIGHT)
            return _text(503, "too many deliveries arriving at once; retry later")
        except TimeoutError:
            # A body trickling in holds a connection; Meta sends 3 MB well within this.
            log.warning("webhook POST refused: the body took over %g s to arrive", BODY_READ_TIMEOUT_SECONDS)
            return _text(408, f"the body did not arrive within {BODY_READ_TIMEOUT_SECONDS:g} s")
        except (ConnectionError, RequestPayloadError, HttpProcessingError) as exc:
            # The peer went away or broke the framing mid-body: nothing to store, nobody to answer.
            log.warning("webhook POST abandoned while reading the body: %s", type(exc).__name__)
            return _text(400, "the body could not be read")
        if body is None:
            return _text(413, f"payload larger than {MAX_BODY_BYTES} bytes")
        if self._secret is None:
            log.error(
                "webhook POST refused: no Meta app secret configured, so its signature cannot be "
                "checked (set WATEMPLATES_META_APP_SECRET); Meta will retry it"
            )
            return _text(401, "no app secret configured: cannot verify X-Hub-Signature-256")
        problem = _signature_problem(self._secret, body, request.headers.get(SIGNATURE_HEADER))
        if problem:
            log.warning("webhook POST refused: %s", problem)
            return _text(401, problem)
        try:
            # Parsed only to check the envelope: the inbox keeps the raw bytes, the worker splits them.
            # A large body takes a while to check: off the event loop, so other requests go on.
            if len(body) > LARGE_BODY_BYTES:
                await asyncio.to_thread(parse_envelope, body)
            else:
                parse_envelope(body)
        except MalformedDelivery as exc:
            log.warning("webhook POST refused: %s", exc)
            return _text(400, str(exc))
        received_at = self._config.clock.now()
        delivery = Delivery(id=_delivery_id(received_at), body=body, received_at=received_at)
        try:
            await self._deliveries.store(delivery)
        except Exception as exc:  # any storage failure: not stored, so never 200; Meta retries a 503
            if isinstance(exc, StoreUnavailable):
                # One line: during an outage every delivery fails the same way.
                cause = str(exc.__cause__ or exc).split("\n", 1)[0][:300]
                log.warning("webhook delivery not stored, answered 503 (Meta retries): %s", cause)
            else:
                log.exception("webhook delivery could not be stored; answered 503 so Meta retries")
            return _text(503, "delivery could not be stored; retry later")
        self._wake_worker()
        return _text(200, "OK")

    async def _read(self, request: web.Request) -> bytes | None:
        """The raw body, or None once it exceeds MAX_BODY_BYTES (the declared length is checked
        first, so an honest oversized request is refused without reading it). What is read counts
        against MAX_BODIES_IN_FLIGHT until this returns; BodiesInFlightFull when it cannot take more."""
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return None
        claimed = 0
        try:
            body = bytearray()
            async for chunk in request.content.iter_chunked(_READ_CHUNK_BYTES):
                if self._in_flight + len(chunk) > MAX_BODIES_IN_FLIGHT:
                    raise BodiesInFlightFull
                self._in_flight += len(chunk)
                claimed += len(chunk)
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    return None
            return bytes(body)
        finally:
            self._in_flight -= claimed

    def _wake_worker(self) -> None:
        if self._config.on_delivery is None:
            return
        try:
            self._config.on_delivery()
        except Exception:  # the delivery is stored; the worker's own polling will find it
            log.exception("waking the inbox worker failed")


class BodiesInFlightFull(Exception):
    """The bodies being read at once would exceed MAX_BODIES_IN_FLIGHT."""


def _signature_problem(secret: bytes, body: bytes, header: str | None) -> str:
    """'' when `header` is Meta's HMAC-SHA256 of the raw body, else why not."""
    if not header:
        return f"missing {SIGNATURE_HEADER}"
    if not header.startswith(SIGNATURE_PREFIX):
        return f"{SIGNATURE_HEADER} must start with {SIGNATURE_PREFIX!r}"
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode("ascii")
    # Bytes: compare_digest refuses non-ASCII str, and the header is attacker-controlled
    # (surrogatepass keeps every string distinct, so nothing can collapse onto the secret).
    given = header[len(SIGNATURE_PREFIX) :].strip().lower().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(given, expected):
        return f"{SIGNATURE_HEADER} does not match the body"
    return ""


def _delivery_id(received_at: datetime) -> str:
    """Time-ordered (zero-padded nanoseconds since the epoch), unique by its suffix: this process's
    random prefix (other processes and replicas have theirs) and a counter (cheaper than fresh
    randomness for every delivery)."""
    nanoseconds = (received_at - _EPOCH) // timedelta(microseconds=1) * 1000
    return f"{nanoseconds:020d}-{_PROCESS_TAG}{next(_SEQUENCE):08x}"


_PROCESS_TAG = secrets.token_hex(4)
_SEQUENCE = itertools.count()


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")
