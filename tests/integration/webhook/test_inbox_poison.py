"""No delivery can stop the inbox: on SQLite and PostgreSQL, a delivery that cannot be split or
stored is retried a bounded number of times, then parked as DEAD (visible, replayable), while every
other delivery flows past it. Poison bodies are stored directly, as if accepted before the webhook
refused them at the door (the regression: the worker retried the same batch forever)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory, is_transient_error
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateOrganization, ReplayInboxChange
from app.inbox import (
    ChangeState,
    Delivery,
    DeliveryBacklog,
    IgnoredChange,
    MessagesChange,
    RawChange,
    TemplateChange,
)
from app.inbox_worker import LARGE_BODY_BYTES, InboxSettings, InboxWorker
from domain.status import TemplateStatus
from fakes import FrozenClock

WABA = "301122334455667"
MAX_ATTEMPTS = 3


def approved(name: str, template_id: int) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA,
                    "time": 1764153000,
                    "changes": [
                        {
                            "field": "message_template_status_update",
                            "value": {
                                "event": "APPROVED",
                                "message_template_id": template_id,
                                "message_template_name": name,
                                "message_template_language": "en_US",
                                "reason": "NONE",
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


DEEP = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":' + b"[" * 980 + b"]" * 980 + b"}]}"
)
NOT_A_NUMBER = approved("nan_template", 7)[:-3] + b',"x":NaN}]}'
POISON_MARKER = b"poison_template"


class FlakyTranslator:
    """The real translator, except that splitting a body with the marker fails while `failing`:
    a delivery the database cannot take (or, with `error`, a database that is down)."""

    def __init__(self) -> None:
        self.real = MetaWebhookTranslator()
        self.failing = True
        self.error: Exception = RuntimeError("invalid byte sequence for encoding UTF8: 0x00")

    def split(self, body: bytes) -> Sequence[RawChange]:
        if self.failing and POISON_MARKER in body:
            raise self.error
        return self.real.split(body)

    def translate(
        self, change: RawChange, received_at: datetime
    ) -> TemplateChange | MessagesChange | IgnoredChange:
        return self.real.translate(change, received_at)


@dataclass
class World:
    factory: SqlUnitOfWorkFactory
    clock: FrozenClock
    worker: InboxWorker
    translator: FlakyTranslator
    bus: object
    org_id: str
    posted: int = 0

    async def store(self, body: bytes) -> None:
        self.posted += 1
        async with self.factory() as uow:
            await uow.inbox.add_delivery(
                Delivery(id=f"{self.posted:020d}-poison", body=body, received_at=self.clock.now())
            )
            await uow.commit()

    async def drain(self) -> None:
        for _ in range(1_000):
            if not await self.worker.run_once():
                return
        raise AssertionError("the worker did not settle")

    async def status(self, name: str) -> TemplateStatus | None:
        async with self.factory(read_only=True) as uow:
            template = await uow.templates.get_by_key(self.org_id, WABA, name, "en_US")
        return None if template is None else template.status

    async def dead(self) -> list[tuple[str, str]]:
        async with self.factory(read_only=True) as uow:
            changes = await uow.inbox.list_changes(states=frozenset({ChangeState.DEAD}))
        return [(change.id, change.last_error) for change in changes]

    async def backlog(self) -> DeliveryBacklog:
        async with self.factory(read_only=True) as uow:
            return await uow.inbox.delivery_backlog()


@pytest.fixture
async def world(sql_engine: SqlEngine) -> World:
    factory, clock = SqlUnitOfWorkFactory(sql_engine), FrozenClock()
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA))
    translator = FlakyTranslator()
    worker = InboxWorker(
        factory,
        clock,
        bus,
        translator,
        InboxSettings(max_attempts=MAX_ATTEMPTS, backoff_initial=timedelta(seconds=1), batch=10),
        transient=is_transient_error,
    )
    return World(factory, clock, worker, translator, bus, org.org_id)


async def test_deliveries_stored_before_the_door_refused_them_end_dead_and_the_rest_flow(
    world: World,
) -> None:
    await world.store(approved("first", 1))
    await world.store(DEEP)
    await world.store(NOT_A_NUMBER)
    await world.store(approved("last", 2))

    await world.drain()

    assert await world.status("first") == await world.status("last") == TemplateStatus.APPROVED
    dead = dict(await world.dead())
    assert "nested deeper than 64 levels" in dead["00000000000000000002-poison-0000"]
    assert "NaN" in dead["00000000000000000003-poison-0000"]
    assert await world.backlog() == DeliveryBacklog(pending=0, failing=0)


async def test_a_delivery_that_cannot_be_stored_is_retried_then_dead_and_replayable(world: World) -> None:
    await world.store(approved("before", 1))
    await world.store(approved("poison_template", 3))
    await world.store(approved("after", 2))

    await world.worker.run_once()

    # Everything but the poison flowed on the first round; the poison waits for its retry.
    assert await world.status("before") == await world.status("after") == TemplateStatus.APPROVED
    assert await world.status("poison_template") is None
    assert await world.backlog() == DeliveryBacklog(pending=1, failing=1)
    for _ in range(MAX_ATTEMPTS):
        world.clock.advance(hours=1)
        await world.drain()
    [(change_id, error)] = await world.dead()
    assert f"could not be split and stored ({MAX_ATTEMPTS} attempts)" in error
    assert "RuntimeError: invalid byte sequence" in error
    assert await world.backlog() == DeliveryBacklog(pending=0, failing=0)

    # Once the cause is fixed, replaying the DEAD change splits the delivery again.
    world.translator.failing = False
    await world.bus.handle(ReplayInboxChange(None, change_id))  # type: ignore[attr-defined]
    await world.drain()

    assert await world.status("poison_template") == TemplateStatus.APPROVED
    assert await world.dead() == []


async def test_column_texts_no_database_can_store_are_dead_at_once_and_stored(world: World) -> None:
    await world.store(approved("nul_waba", 5).replace(WABA.encode(), b"30112233\\u0000"))
    await world.store(approved("nul_name\x00", 6))
    await world.store(approved("fine", 4))

    await world.drain()

    assert await world.status("fine") == TemplateStatus.APPROVED
    errors = [error for _, error in await world.dead()]
    assert len(errors) == 2
    assert any("entry[0].id contains a NUL character" in error for error in errors)
    assert any("message_template_name contains a NUL character" in error for error in errors)


async def test_a_store_that_fails_for_a_while_never_makes_a_delivery_dead(world: World) -> None:
    world.translator.error = OperationalError("INSERT ...", {}, Exception("database is locked"))
    await world.store(approved("poison_template", 3))

    for _ in range(MAX_ATTEMPTS * 3):
        world.clock.advance(hours=1)
        await world.drain()

    assert await world.dead() == []
    assert await world.backlog() == DeliveryBacklog(pending=1, failing=0)
    world.translator.failing = False
    world.clock.advance(hours=1)
    await world.drain()
    assert await world.status("poison_template") == TemplateStatus.APPROVED


async def test_a_large_delivery_is_split_off_the_event_loop_and_stored_whole(world: World) -> None:
    changes = [{"field": "account_update", "value": {"i": n, "pad": "x" * 100}} for n in range(1_000)]
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": changes}]}
    ).encode()
    assert len(body) > LARGE_BODY_BYTES
    await world.store(body)

    await world.drain()

    async with world.factory(read_only=True) as uow:
        counts = await uow.inbox.count_changes()
    assert counts[ChangeState.SKIPPED] == 1_000
    assert await world.backlog() == DeliveryBacklog(pending=0, failing=0)
