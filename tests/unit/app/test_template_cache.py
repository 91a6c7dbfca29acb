"""The hot reads' template cache, over the in-memory store: served from memory while the store's
generation stands still, current again within recheck_seconds of any write by anyone, at once after
this process's own writes, and never across organizations."""

from __future__ import annotations

import pytest

from app.auth import Principal
from app.bootstrap import cache_of, publishing
from app.errors import NotFound
from app.ports import UnitOfWorkFactory
from app.resource_names import TemplateKey
from app.template_cache import TemplateCache
from domain.status import TemplateStatus
from domain.tenancy import Role
from fakes import CountingUnitOfWorkFactory, FakeUnitOfWorkFactory, ManualMonotonic
from support.store_samples import (
    ORG_A,
    ORG_B,
    WABA_A1,
    add_organizations_and_wabas,
    add_templates,
    new_template,
)

KEY = TemplateKey(WABA_A1, "order_ready", "en_US")
ALICE = Principal(ORG_A, Role.OPERATOR, "key-a")
BOB = Principal(ORG_B, Role.OPERATOR, "key-b")


async def set_status(factory: UnitOfWorkFactory, status: TemplateStatus) -> None:
    async with factory() as uow:
        template = await uow.templates.get_by_key(ORG_A, WABA_A1, "order_ready", "en_US")
        assert template is not None
        template.status = status
        await uow.templates.update(template)
        await uow.commit()


@pytest.fixture
async def store() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    await add_organizations_and_wabas(factory)
    approved = new_template("tpl-1")
    approved.status = TemplateStatus.APPROVED
    await add_templates(factory, approved)
    return factory


async def test_reads_come_from_memory_until_anyone_writes_then_within_the_recheck_time(
    store: FakeUnitOfWorkFactory,
) -> None:
    counting, clock = CountingUnitOfWorkFactory(store), ManualMonotonic()
    cache = TemplateCache(counting, recheck_seconds=0.25, monotonic=clock)

    first = await cache.get(ALICE, KEY)
    opened = counting.opened
    for _ in range(100):
        assert await cache.get(ALICE, KEY) is first
    assert counting.opened == opened  # no transaction for a hit

    await set_status(store, TemplateStatus.PAUSED)  # another process: this cache is not told
    clock.now += 0.1
    assert (await cache.get(ALICE, KEY)).template.status is TemplateStatus.APPROVED  # within the bound
    clock.now += 0.2
    assert (await cache.get(ALICE, KEY)).template.status is TemplateStatus.PAUSED


async def test_this_processs_own_writes_are_read_back_at_once(store: FakeUnitOfWorkFactory) -> None:
    factory = publishing(store)
    # As the service wires it (after every template write this process commits, the cache forgets).
    cache = cache_of(factory, recheck_seconds=3600)  # so only the forgetting can show the write
    assert (await cache.get(ALICE, KEY)).template.status is TemplateStatus.APPROVED

    await set_status(factory, TemplateStatus.DISABLED)

    assert (await cache.get(ALICE, KEY)).template.status is TemplateStatus.DISABLED


async def test_a_cached_template_is_never_another_organizations(store: FakeUnitOfWorkFactory) -> None:
    cache = TemplateCache(store)
    await cache.get(ALICE, KEY)
    with pytest.raises(NotFound):
        await cache.get(BOB, KEY)


async def test_it_holds_the_wabas_phone_numbers_to_send_from(store: FakeUnitOfWorkFactory) -> None:
    async with store() as uow:
        waba = await uow.wabas.get(WABA_A1)
        assert waba is not None
        waba.phone_number_ids = ("15550001111",)
        await uow.wabas.save(waba)
        await uow.commit()
    assert (await TemplateCache(store).get(ALICE, KEY)).phone_number_ids == ("15550001111",)
