"""The webhook's group commit, over the in-memory fakes: deliveries arriving together share one
transaction; each waiter returns only once its row is committed; a failed commit fails its whole
group and stores none of it; later groups are unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from app.group_commit import DeliveryGroupCommit, GroupCommit, together_else_alone
from app.inbox import Delivery
from fakes import FakeUnitOfWorkFactory

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def delivery(number: int) -> Delivery:
    return Delivery(id=f"{number:020d}-00", body=b'{"n": %d}' % number, received_at=WHEN)


def commits_held_until_released(factory: FakeUnitOfWorkFactory) -> asyncio.Event:
    release = asyncio.Event()

    async def slow_commit() -> None:
        await release.wait()

    factory.before_commit = slow_commit
    return release


async def test_concurrent_deliveries_share_commits_and_are_all_stored() -> None:
    factory = FakeUnitOfWorkFactory()
    group_commit = DeliveryGroupCommit(factory)

    await asyncio.gather(*(group_commit.store(delivery(n)) for n in range(100)))

    assert sorted(factory.store.deliveries) == sorted(delivery(n).id for n in range(100))
    # All 100 queued before the writer first ran: one transaction, one commit.
    assert factory.commits == 1


async def test_groups_are_bounded() -> None:
    factory = FakeUnitOfWorkFactory()
    group_commit = DeliveryGroupCommit(factory, max_group=10)

    await asyncio.gather(*(group_commit.store(delivery(n)) for n in range(45)))

    assert len(factory.store.deliveries) == 45
    assert factory.commits == 5  # 10 + 10 + 10 + 10 + 5


async def test_a_store_returns_only_after_its_commit() -> None:
    factory = FakeUnitOfWorkFactory()
    group_commit = DeliveryGroupCommit(factory)
    release = commits_held_until_released(factory)
    storing = asyncio.create_task(group_commit.store(delivery(1)))
    await asyncio.sleep(0.01)
    assert not storing.done()
    assert factory.store.deliveries == {}

    release.set()
    await storing
    assert list(factory.store.deliveries) == [delivery(1).id]


async def test_a_failed_commit_fails_its_whole_group_and_stores_none_of_it() -> None:
    factory = FakeUnitOfWorkFactory()
    group_commit = DeliveryGroupCommit(factory)
    release = asyncio.Event()
    commits = 0

    async def first_waits_second_fails() -> None:
        nonlocal commits
        commits += 1
        if commits == 1:
            await release.wait()
        elif commits == 2:
            raise ConnectionError("the database went away")

    factory.before_commit = first_waits_second_fails
    first = asyncio.create_task(group_commit.store(delivery(0)))
    await asyncio.sleep(0.01)  # the first group is committing; the next four gather behind it
    rest = [asyncio.create_task(group_commit.store(delivery(n))) for n in range(1, 5)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)

    assert results[0] is None
    assert all(isinstance(result, ConnectionError) for result in results[1:])
    assert list(factory.store.deliveries) == [delivery(0).id]

    # The next group is written as usual.
    await group_commit.store(delivery(9))
    assert sorted(factory.store.deliveries) == [delivery(0).id, delivery(9).id]


async def test_a_caller_that_gives_up_does_not_stop_its_group() -> None:
    factory = FakeUnitOfWorkFactory()
    group_commit = DeliveryGroupCommit(factory)
    release = commits_held_until_released(factory)
    impatient = asyncio.create_task(group_commit.store(delivery(1)))
    patient = asyncio.create_task(group_commit.store(delivery(2)))
    await asyncio.sleep(0.01)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient

    release.set()
    await patient
    await group_commit.close()
    assert sorted(factory.store.deliveries) == [delivery(1).id, delivery(2).id]


async def test_together_else_alone_fails_only_the_bad_item() -> None:
    written: list[list[int]] = []

    async def write(items: Sequence[int]) -> None:
        if 3 in items:
            raise ValueError("3 cannot be written")
        written.append(list(items))

    results = await together_else_alone([1, 2, 3, 4], write)
    assert [type(r).__name__ if r else None for r in results] == [None, None, "ValueError", None]
    assert written == [[1], [2], [4]]
    group: GroupCommit[int, None] = GroupCommit(lambda items: together_else_alone(items, write))
    outcomes = await asyncio.gather(*(group.submit(n) for n in (5, 3, 6)), return_exceptions=True)
    assert [type(o).__name__ if o else None for o in outcomes] == [None, "ValueError", None]
