"""The world of the template health tests: an in-process gRPC server (TemplateHealthService and
InboxService) over the in-memory fakes, two organizations, and Meta's webhook JSON stored as inbox
deliveries, then applied by the real InboxWorker and MetaWebhookTranslator, the way production does.
Every stream read has a timeout, so a broken WatchTemplateEvents fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from adapters.http.webhook.translators import MetaWebhookTranslator
from app.bootstrap import Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization
from app.inbox import Delivery
from app.inbox_worker import InboxSettings, InboxWorker
from app.messagebus import MessageBus
from app.settings import Settings
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from watemplates.v1 import template_health_pb2 as hp
from watemplates.v1 import template_health_pb2_grpc

ACME_WABA = "100200300"
ACME_WABA_2 = "100200301"
ACME_EMPTY_WABA = "100200399"
GLOBEX_WABA = "900800700"
UNREGISTERED_WABA = "555000111"
TIMEOUT = 5.0
SETTINGS = Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0)

Metadata = tuple[tuple[str, str], ...]
Change = tuple[str, dict[str, Any]]


# ---- Meta webhook JSON --------------------------------------------------------------------------


def meta_id(name: str) -> int:
    return 10**14 + zlib.crc32(name.encode())


def status(name: str, event: str, *, category: str = "MARKETING", reason: str = "NONE") -> Change:
    return (
        "message_template_status_update",
        {
            "event": event,
            "message_template_id": meta_id(name),
            "message_template_name": name,
            "message_template_language": "en_US",
            "reason": reason,
            "message_template_category": category,
        },
    )


def quality(name: str, score: str, previous: str = "GREEN") -> Change:
    return (
        "message_template_quality_update",
        {
            "previous_quality_score": previous,
            "new_quality_score": score,
            "message_template_id": meta_id(name),
            "message_template_name": name,
            "message_template_language": "en_US",
        },
    )


def category(name: str, new: str, previous: str) -> Change:
    return (
        "template_category_update",
        {
            "message_template_id": meta_id(name),
            "message_template_name": name,
            "message_template_language": "en_US",
            "previous_category": previous,
            "new_category": new,
        },
    )


def unhandled(marker: str) -> Change:
    """A change of a field this version does not act on: kept as SKIPPED."""
    return ("account_update", {"phone_number": "15550001111", "event": "VERIFIED_ACCOUNT", "marker": marker})


UNTRANSLATABLE: Change = (
    "message_template_status_update",
    {"event": "APPROVED", "message_template_id": True},
)


def resource(name: str, waba: str = ACME_WABA) -> str:
    return f"wabas/{waba}/templates/{name}.en_US"


# ---- the world ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    slug: str
    org_id: str
    waba_id: str
    # Role name -> API key secret, and -> (key id, key prefix).
    keys: dict[str, str]
    key_ids: dict[str, tuple[str, str]]

    def auth(self, role: str = "operator") -> Metadata:
        return (("authorization", f"Bearer {self.keys[role]}"),)


async def create_tenant(bus: MessageBus, slug: str, *waba_ids: str) -> Tenant:
    created = await bus.handle(CreateOrganization(slug))
    keys, key_ids = {}, {}
    for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
        issued = await bus.handle(CreateApiKey(slug, role))
        keys[role.name.lower()] = issued.secret
        key_ids[role.name.lower()] = (issued.key_id, issued.prefix)
    for waba_id in waba_ids:
        await bus.handle(AddWaba(slug, waba_id, f"{slug} {waba_id}"))
    return Tenant(slug, created.org_id, waba_ids[0], keys, key_ids)


class LatestSeqSpy:
    """Wraps TemplateHealthQueries.latest_seq to tell when a `cursor=""` stream has fixed its "now"."""

    def __init__(self, services: Services) -> None:
        self.done = 0
        self._changed = asyncio.Condition()
        self._inner = services.health_queries.latest_seq
        services.health_queries.latest_seq = self  # type: ignore[method-assign]

    async def __call__(self, principal: Any) -> int:
        result = await self._inner(principal)
        async with self._changed:
            self.done += 1
            self._changed.notify_all()
        return result

    async def wait_beyond(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.done > count)


class Watch:
    """A WatchTemplateEvents call pumped into a queue, so waiting with a timeout never cancels it."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.queue: asyncio.Queue[hp.TemplateEvent | BaseException | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            async for response in self.call:
                self.queue.put_nowait(response.event)
        except grpc.aio.AioRpcError as exc:
            self.queue.put_nowait(exc)
        except asyncio.CancelledError:
            pass
        self.queue.put_nowait(None)

    async def take(self, count: int) -> list[hp.TemplateEvent]:
        events: list[hp.TemplateEvent] = []
        for _ in range(count):
            item = await asyncio.wait_for(self.queue.get(), TIMEOUT)
            if item is None:
                raise AssertionError(f"the stream ended after {len(events)} of {count} events")
            if isinstance(item, BaseException):
                raise item
            events.append(item)
        return events

    async def close(self) -> None:
        self.call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, TIMEOUT)


@dataclass
class HealthWorld:
    services: Services
    server: GrpcServer
    channel: grpc.aio.Channel
    health: template_health_pb2_grpc.TemplateHealthServiceStub
    inbox: template_health_pb2_grpc.InboxServiceStub
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    worker: InboxWorker
    spy: LatestSeqSpy
    a: Tenant
    b: Tenant
    meta_times: itertools.count[int] = field(default_factory=lambda: itertools.count(1_764_000_000, 60))
    deliveries: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    watches: list[Watch] = field(default_factory=list)

    async def post(self, waba: str, *changes: Change, time: int | None = None) -> str:
        """Stores one delivery (one entry with these changes); returns its first change's id."""
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": waba,
                        "time": time if time is not None else next(self.meta_times),
                        "changes": [{"field": f, "value": v} for f, v in changes],
                    }
                ],
            }
        ).encode()
        return await self.post_body(body)

    async def post_body(self, body: bytes) -> str:
        """Stores a delivery as the webhook endpoint does; returns its first change's id."""
        delivery_id = f"{next(self.deliveries):020d}-grpc-health"
        async with self.factory() as uow:
            await uow.inbox.add_delivery(Delivery(id=delivery_id, body=body, received_at=self.clock.now()))
            await uow.commit()
        return f"{delivery_id}-0000"

    async def drain(self, worker: InboxWorker | None = None) -> None:
        for _ in range(100):
            if not await (worker or self.worker).run_once():
                return
        raise AssertionError("the inbox worker did not settle")

    async def apply(self, waba: str, *changes: Change, time: int | None = None) -> str:
        """Posts, drains, then moves the clock on, so every application has its own `now`."""
        change_id = await self.post(waba, *changes, time=time)
        await self.drain()
        self.clock.advance(minutes=1)
        return change_id

    async def watch(self, cursor: str, tenant: Tenant | None = None, role: str = "viewer") -> Watch:
        before = self.spy.done
        call = self.health.WatchTemplateEvents(
            hp.WatchTemplateEventsRequest(cursor=cursor), metadata=(tenant or self.a).auth(role)
        )
        watch = Watch(call)
        self.watches.append(watch)
        if cursor == "":
            # "From now on": wait until the server fixed "now", else a change applied next may be past.
            await asyncio.wait_for(self.spy.wait_beyond(before), TIMEOUT)
        return watch


@contextlib.asynccontextmanager
async def health_world() -> AsyncIterator[HealthWorld]:
    """Two organizations (acme with three WABAs, globex with one) over the in-memory fakes, a gRPC
    server on a free port, and the inbox worker that applies what `post` stores."""
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    services = await build_services(SETTINGS, uow_factory=factory, probe=FakeHealthProbe(), clock=clock)
    a = await create_tenant(services.bus, "acme", ACME_WABA, ACME_WABA_2, ACME_EMPTY_WABA)
    b = await create_tenant(services.bus, "globex", GLOBEX_WABA)
    spy = LatestSeqSpy(services)
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
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    worker = InboxWorker(factory, clock, services.bus, MetaWebhookTranslator(), InboxSettings(max_attempts=1))
    world = HealthWorld(
        services=services,
        server=server,
        channel=channel,
        health=template_health_pb2_grpc.TemplateHealthServiceStub(channel),
        inbox=template_health_pb2_grpc.InboxServiceStub(channel),
        factory=factory,
        clock=clock,
        worker=worker,
        spy=spy,
        a=a,
        b=b,
    )
    try:
        yield world
    finally:
        for watch in world.watches:
            await watch.close()
        await channel.close()
        await server.stop(0)
        await services.close()
