"""Signed webhook deliveries mutated from the sample payloads, posted over HTTP to the real endpoint
and drained by the real worker, on SQLite and PostgreSQL.

Every case: no answer but 200 (stored), 400 (refused with a reason) or 415; after the worker drains,
no delivery or change is left PENDING (each is DONE, SKIPPED, PARKED or DEAD); and a valid delivery
posted after the mutated ones is still applied.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from adapters.grpc.mapping import template_to_proto
from adapters.grpc.template_health_mapping import event_to_proto, inbox_change_to_proto
from adapters.http.app import create_app
from adapters.http.webhook.endpoint import PATH, WebhookConfig
from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.sql.engine import SqlHealthProbe, create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateOrganization
from app.inbox import ChangeState, DeliveryBacklog
from app.inbox_worker import InboxSettings, InboxWorker
from app.ports import TemplateQuery
from domain.status import TemplateStatus
from fakes import FrozenClock
from fuzz.fuzzing import fuzz_settings

SECRET = "fuzz-app-secret"
WABA = "301122334455667"  # the samples' WABA: registered, so valid changes reach templates
SAMPLES = [
    json.loads(path.read_bytes())
    for path in sorted((Path(__file__).parents[1] / "fixtures" / "samples").glob("*.json"))
]
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a default gRPC client's limit

# ---- mutations ----------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "\ud800", "a\x00b", "\udfff\ud800", "", " ", "APPROVED", "PAUSED", "RED"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"d": value}
    return value


@st.composite
def mutated_delivery(draw: st.DrawFn) -> bytes:
    document = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 4))):
        containers = list(_containers(document))
        parent, key = draw(st.sampled_from(containers))
        action = draw(st.sampled_from(["replace", "drop", "add", "deep", "huge", "text"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "drop":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
        elif action == "deep":
            parent[key] = nested(draw(st.integers(1, 120)))
        elif action == "huge":
            parent[key] = draw(st.sampled_from([10**400, -(10**30), 2**63, 1e308, 1.5e-320, float("inf")]))
        elif action == "text":
            parent[key] = draw(st.sampled_from(["\x00", "\ud800", "x" * 5000, "ü" * 300, "\u202e", "{{1}}"]))
    body = json.dumps(document, allow_nan=True).encode()
    if draw(st.booleans()):
        body = _duplicate_a_key(body, draw(st.integers(0, 50)))
    return body


def _containers(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of the document: the places a mutation can hit."""
    found: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            found.append((node, key))
            stack.append(child)
    return found or [({"x": 1}, "x")]


def _duplicate_a_key(body: bytes, which: int) -> bytes:
    """Repeats one `"key":value` pair inside its object (JSON allows it; the last one wins)."""
    pairs = list(re.finditer(rb'"[a-z_]+":("[^"\\]*"|-?[0-9]+)', body))
    if not pairs:
        return body
    pair = pairs[which % len(pairs)]
    return body[: pair.end()] + b"," + pair.group(0) + body[pair.end() :]


# ---- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    client: TestClient[Any, Any]
    factory: SqlUnitOfWorkFactory
    clock: FrozenClock
    worker: InboxWorker
    org_id: str
    canary_time: int = 1_800_000_000
    last_change_id: str = ""
    last_seq: int = 0

    async def post(self, body: bytes) -> int:
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        async with self.client.post(PATH, data=body, headers={"X-Hub-Signature-256": signature}) as response:
            await response.read()
            return response.status

    async def drain(self) -> None:
        for _ in range(200):
            if not await self.worker.run_once():
                self.clock.advance(hours=2)  # due retries come round
                if not await self.worker.run_once():
                    return
        raise AssertionError("the worker did not settle")

    async def unsettled(self) -> tuple[DeliveryBacklog, list[str]]:
        async with self.factory(read_only=True) as uow:
            backlog = await uow.inbox.delivery_backlog()
            pending = await uow.inbox.list_changes(states=frozenset({ChangeState.PENDING}), limit=10)
        return backlog, [f"{c.id}: {c.last_error}" for c in pending]

    async def read_back(self) -> None:
        """Everything the deliveries left behind reads back through the API's messages: templates,
        new history events and new inbox changes each serialize, within a default client's limit."""
        async with self.factory(read_only=True) as uow:
            templates = await uow.templates.list(TemplateQuery(org_id=self.org_id, limit=10_000))
            events = await uow.template_events.list_for_org(
                self.org_id, after_seq=self.last_seq, limit=10_000
            )
            changes = await uow.inbox.list_changes(after_id=self.last_change_id, limit=10_000)
        messages = [
            *(template_to_proto(t) for t in templates),
            *(event_to_proto(e) for e in events),
            *(inbox_change_to_proto(c) for c in changes),
        ]
        for message in messages:
            assert len(message.SerializeToString()) < MAX_MESSAGE_BYTES
        self.last_seq = events[-1].seq if events else self.last_seq
        self.last_change_id = changes[-1].id if changes else self.last_change_id

    async def canary(self) -> tuple[str, TemplateStatus | None]:
        """Posts a valid status update for a template of its own; returns the event and the status."""
        self.canary_time += 60
        event = "PAUSED" if self.canary_time % 120 else "APPROVED"
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": WABA,
                        "time": self.canary_time,
                        "changes": [
                            {
                                "field": "message_template_status_update",
                                "value": {
                                    "event": event,
                                    "message_template_id": 4242424242,
                                    "message_template_name": "fuzz_canary",
                                    "message_template_language": "en_US",
                                    "reason": None,
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        assert await self.post(body) == 200
        await self.drain()
        async with self.factory(read_only=True) as uow:
            template = await uow.templates.get_by_key(self.org_id, WABA, "fuzz_canary", "en_US")
        return event, None if template is None else template.status


@pytest.fixture
def world(loop: asyncio.Runner, database_url: str) -> Iterator[World]:
    engine = create_engine(database_url)
    factory, clock = SqlUnitOfWorkFactory(engine), FrozenClock()

    async def start() -> World:
        bus = build_bus(factory, clock)
        org = await bus.handle(CreateOrganization("fuzz"))
        await bus.handle(AddWaba("fuzz", WABA))
        worker = InboxWorker(
            factory,
            clock,
            bus,
            MetaWebhookTranslator(),
            InboxSettings(max_attempts=2, backoff_initial=timedelta(seconds=1)),
        )
        config = WebhookConfig(uow_factory=factory, clock=clock, app_secret=SECRET, verify_token=None)
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(SqlHealthProbe(engine), webhook=config), host="127.0.0.1")
        )
        await client.start_server()
        return World(client, factory, clock, worker, org.org_id)

    world = loop.run(start())
    yield world
    loop.run(world.client.close())
    loop.run(engine.dispose())


@fuzz_settings(default_examples=60)
@given(deliveries=st.lists(mutated_delivery(), min_size=1, max_size=4))
def test_mutated_deliveries_never_stop_the_inbox(
    loop: asyncio.Runner, world: World, deliveries: list[bytes]
) -> None:
    async def case() -> None:
        for body in deliveries:
            status = await world.post(body)
            assert status in (200, 400, 415), (status, body[:300])
        await world.drain()
        backlog, pending = await world.unsettled()
        assert backlog == DeliveryBacklog(0, 0), backlog
        assert pending == []
        await world.read_back()
        event, canary_status = await world.canary()
        assert canary_status is TemplateStatus(event)

    loop.run(case())
