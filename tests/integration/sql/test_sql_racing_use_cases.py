"""Use cases racing each other over real transactions, on SQLite and PostgreSQL (the in-memory fake
has no isolation between units of work).

To make both requests pass their checks before either writes, a third transaction holds what they
will write: on PostgreSQL a row (or a unique key) they then wait for, on SQLite the single write lock,
which makes them run one after the other instead. Either way exactly one request wins.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateOrganization, CreateTemplate, TemplateWritten, UpdateTemplate
from app.errors import ConcurrentModification, EtagMismatch
from app.handlers.templates import CREATE_TEMPLATE
from app.messagebus import MessageBus
from app.resource_names import TemplateKey
from domain.status import TemplateCategory
from domain.templates import TemplateRevision
from domain.tenancy import Role
from fakes import FrozenClock
from support.store_samples import WABA_A1, new_template, order_ready_definition

KEY = TemplateKey(WABA_A1, "order_ready", "en_US")
# Long enough for both requests to reach what the holder holds; far below SQLite's 5 s wait.
HOLD_SECONDS = 0.3


@dataclass
class World:
    factory: SqlUnitOfWorkFactory
    bus: MessageBus
    operator: Principal
    postgres: bool

    async def create(self, request_id: str = "") -> TemplateWritten:
        return await self.bus.handle(
            CreateTemplate(self.operator, WABA_A1, order_ready_definition(), request_id)
        )

    async def update(self, category: TemplateCategory, etag: str) -> TemplateWritten:
        return await self.bus.handle(
            UpdateTemplate(self.operator, KEY, TemplateRevision(category=category), etag)
        )

    @contextlib.asynccontextmanager
    async def holding(self, template_id: str = "") -> AsyncIterator[None]:
        """A transaction that writes the template (`template_id`, else a rival with its key) and then
        rolls back on leaving, letting the waiting requests go."""
        async with self.factory() as holder:
            if template_id:
                stored = await holder.templates.get(self.operator.org_id, template_id)
                assert stored is not None
                # Writes without moving the version: the racers' version checks still pass.
                await holder.templates.save_meta_call(stored)
            else:
                await holder.templates.add(new_template("rival", org_id=self.operator.org_id))
            yield


@pytest.fixture
async def world(sql_engine: SqlEngine) -> World:
    factory = SqlUnitOfWorkFactory(sql_engine)
    bus = build_bus(factory, FrozenClock())
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA_A1))
    operator = Principal(org.org_id, Role.OPERATOR, "key-op")
    return World(factory, bus, operator, postgres=sql_engine.dialect.name == "postgresql")


async def test_concurrent_twins_with_one_request_id_create_one_template(world: World) -> None:
    # On PostgreSQL both twins find no record yet and then wait on the held key; the loser must
    # answer with the winner's template instead of failing with AlreadyExists.
    async with world.holding():
        twins = asyncio.gather(world.create("twin"), world.create("twin"))
        await asyncio.sleep(HOLD_SECONDS)
        assert not twins.done()
    one, two = await asyncio.wait_for(twins, timeout=10)

    assert one.template.id == two.template.id
    async with world.factory(read_only=True) as uow:
        stored = await uow.templates.get_by_key(world.operator.org_id, WABA_A1, "order_ready", "en_US")
        record = await uow.idempotency.get(world.operator.org_id, CREATE_TEMPLATE, "twin")
    assert stored == one.template
    assert record is not None
    assert record.resource_id == one.template.id


async def test_concurrent_updates_with_one_etag_let_exactly_one_win(world: World) -> None:
    template = (await world.create()).template
    async with world.holding(template.id):
        racing = asyncio.gather(
            world.update(TemplateCategory.MARKETING, template.etag),
            world.update(TemplateCategory.UTILITY, template.etag),
            return_exceptions=True,
        )
        await asyncio.sleep(HOLD_SECONDS)
        assert not racing.done()
    results = await asyncio.wait_for(racing, timeout=10)

    # On PostgreSQL both passed the etag check and the loser's version check fails; on SQLite the
    # loser ran second and its etag is stale.
    lost = ConcurrentModification if world.postgres else EtagMismatch
    winners = [r for r in results if isinstance(r, TemplateWritten)]
    losers = [r for r in results if isinstance(r, lost)]
    assert (len(winners), len(losers)) == (1, 1)
    async with world.factory(read_only=True) as uow:
        stored = await uow.templates.get(world.operator.org_id, template.id)
    assert stored is not None
    assert (stored.version, stored.category) == (2, winners[0].template.category)
