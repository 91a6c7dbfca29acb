"""The send guard's window cache, over the in-memory store: an OPEN answer comes from memory until
the window's own closing time, a CLOSED one is always read again, a window Meta closed early (the
"windows" generation moved) is never answered OPEN from memory after the next recheck, and entries
age out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.window_cache import WindowCache
from domain.conversations import ConversationWindow, window_status
from fakes import CountingUnitOfWorkFactory, FakeUnitOfWorkFactory, ManualMonotonic

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEY = ("org-a", "phone", "447700900123")


async def store_window(store: FakeUnitOfWorkFactory, *, closed_early: datetime | None = None) -> None:
    async with store() as uow:
        found = await uow.windows.find(*KEY)
        window = found or ConversationWindow("w1", "org-a", "phone", wa_id=KEY[2], updated_at=T0)
        window.inbound("wamid.1", T0)
        if closed_early is not None:
            window.closed_by_meta(closed_early)
            await uow.windows.closed_early()
        if found is None:
            await uow.windows.add_many([window])
        else:
            await uow.windows.save_many([window])
        await uow.commit()


def cache(factory: CountingUnitOfWorkFactory, clock: ManualMonotonic) -> WindowCache:
    return WindowCache(factory, recheck_seconds=0.25, max_age_seconds=30, monotonic=clock)


async def test_an_open_window_is_answered_from_memory_until_its_closing_time() -> None:
    store, clock = FakeUnitOfWorkFactory(), ManualMonotonic()
    await store_window(store)
    factory = CountingUnitOfWorkFactory(store)
    windows = cache(factory, clock)
    assert await windows.find(KEY, T0 + timedelta(hours=1)) is not None
    opened = factory.opened
    for minutes in range(0, 60 * 23, 60):
        found = await windows.find(KEY, T0 + timedelta(minutes=minutes))
        assert found is not None
        assert window_status(found, T0 + timedelta(minutes=minutes)).open
    assert factory.opened == opened
    # At its closing time the answer would be CLOSED: the store is asked again.
    await windows.find(KEY, T0 + timedelta(hours=24))
    assert factory.opened == opened + 1


async def test_a_contact_without_a_window_is_always_read_again() -> None:
    factory, clock = CountingUnitOfWorkFactory(FakeUnitOfWorkFactory()), ManualMonotonic()
    windows = cache(factory, clock)
    assert await windows.find(KEY, T0) is None
    opened = factory.opened
    assert await windows.find(KEY, T0) is None
    assert factory.opened == opened + 1
    await store_window(factory.store)
    assert await windows.find(KEY, T0) is not None  # the contact wrote meanwhile


async def test_a_window_meta_closed_early_is_not_answered_open_after_the_recheck() -> None:
    store, clock = FakeUnitOfWorkFactory(), ManualMonotonic()
    await store_window(store)
    windows = cache(CountingUnitOfWorkFactory(store), clock)
    found = await windows.find(KEY, T0 + timedelta(hours=1))
    assert found is not None
    await store_window(store, closed_early=T0 + timedelta(hours=2))  # another process applied a 131047
    clock.now += 0.3
    found = await windows.find(KEY, T0 + timedelta(hours=3))
    assert found is not None
    assert not window_status(found, T0 + timedelta(hours=3)).open


async def test_entries_age_out_and_a_full_cache_starts_over() -> None:
    store, clock = FakeUnitOfWorkFactory(), ManualMonotonic()
    await store_window(store)
    factory = CountingUnitOfWorkFactory(store)
    windows = cache(factory, clock)
    await windows.find(KEY, T0)
    opened = factory.opened
    clock.now += 31
    await windows.find(KEY, T0)
    assert factory.opened == opened + 2  # the generation's recheck, then the window
    async with store() as uow:
        await uow.windows.add_many([ConversationWindow("w2", "org-a", "phone", wa_id="other", updated_at=T0)])
        await uow.commit()
    store_window_other = ("org-a", "phone", "other")
    async with store() as uow:
        other = await uow.windows.find(*store_window_other)
        assert other is not None
        other.inbound("wamid.2", T0)
        await uow.windows.save_many([other])
        await uow.commit()
    small = WindowCache(factory, max_entries=1, monotonic=clock)
    await small.find(KEY, T0)
    await small.find(store_window_other, T0)  # no room for two: the cache starts over
    opened = factory.opened
    await small.find(KEY, T0)
    assert factory.opened == opened + 1
