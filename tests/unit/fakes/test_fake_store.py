"""What the in-memory store does beyond the repository contract (tests/contract): it refuses what a
test should not get away with. A read-only unit of work cannot write, and a unit that wrote cannot
commit over another unit's commit, since the fake does not isolate concurrent transactions."""

from __future__ import annotations

import pytest

from fakes import FakeUnitOfWorkFactory
from support.store_samples import LEASE, NOW, ORG_A, change, new_template

READ_ONLY = "read_only"
NO_ISOLATION = "does not isolate concurrent transactions"


@pytest.fixture
async def factory() -> FakeUnitOfWorkFactory:
    factory = FakeUnitOfWorkFactory()
    async with factory() as uow:
        await uow.inbox.add_changes([change(1)])
        await uow.commit()
    return factory


async def test_a_read_only_unit_reads_but_cannot_claim_lock_or_write(factory: FakeUnitOfWorkFactory) -> None:
    async with factory(read_only=True) as uow:
        with pytest.raises(RuntimeError, match=READ_ONLY):
            await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)
        with pytest.raises(RuntimeError, match=READ_ONLY):
            await uow.inbox.lock_change("d0001-0000")
        with pytest.raises(RuntimeError, match=READ_ONLY):
            await uow.templates.add(new_template("tpl-1"))
        assert [c.id for c in await uow.inbox.list_changes()] == ["d0001-0000"]
        await uow.commit()

    # None of it reached the store: the change is unleased, the template absent.
    async with factory() as uow:
        claimed = await uow.inbox.claim_changes(now=NOW, lease_until=NOW + LEASE, limit=5)
        assert [c.id for c in claimed] == ["d0001-0000"]
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_a_unit_that_wrote_cannot_commit_over_another_units_commit(
    factory: FakeUnitOfWorkFactory,
) -> None:
    async with factory() as slow:
        await slow.templates.add(new_template("tpl-1"))
        async with factory() as fast:
            await fast.templates.add(new_template("tpl-2", language_code="es"))
            await fast.commit()
        with pytest.raises(RuntimeError, match=NO_ISOLATION):
            await slow.commit()

    async with factory(read_only=True) as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None
        assert await uow.templates.get(ORG_A, "tpl-2") is not None


async def test_units_that_only_read_commit_beside_others(factory: FakeUnitOfWorkFactory) -> None:
    async with factory() as reader:
        assert await reader.templates.get(ORG_A, "tpl-1") is None
        async with factory() as writer:
            await writer.templates.add(new_template("tpl-1"))
            await writer.commit()
        # Nothing to write: the commit leaves the other unit's work alone.
        await reader.commit()
        # And the next transaction starts from what is committed now.
        assert await reader.templates.get(ORG_A, "tpl-1") is not None
