"""Group commit: writes arriving together share one transaction (the webhook's deliveries, the
records of sends).

Meta's traffic is many small POSTs at once, and a commit (an fsync on either database) costs far
more than the insert of one row. So each POST queues its delivery and waits; one writer drains the
queue, inserts everything queued in one statement and commits once, then answers every waiter.
While a group commits the next one gathers, so under load groups grow by themselves and when idle
a delivery is written at once (no timer, no added latency).

A waiter's `store()` returns only once its own row is committed, so a 200 still means durable; if
the commit fails, every delivery of that group gets the same exception (the webhook answers each
with 503 and Meta retries) and nothing of the group is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from app.inbox import Delivery
from app.ports import UnitOfWorkFactory

# Rows per group: one multi-row INSERT. Bounds the transaction (SQLite's write lock is held while
# it runs) and the work lost to one failing commit.
MAX_GROUP = 256

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Items submitted together are written together by `write`, which gets a group and returns
    one result per item, in order (an exception as an item's result fails that item alone); each
    submitter gets its own result once the group is written (or the exception that writing the
    group raised)."""

    def __init__(
        self,
        write: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_group: int = MAX_GROUP,
    ) -> None:
        self._write = write
        self._max_group = max(max_group, 1)
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Returns once `item` is written with its group; raises what writing the group raised."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        # Shielded: a caller that gives up (its client went away) must not cancel the writer's
        # bookkeeping; its item is still written with the group.
        return await asyncio.shield(done)

    async def close(self) -> None:
        """Waits until everything queued so far is written (or failed)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer

    async def _drain(self) -> None:
        while self._queue:
            group = self._queue[: self._max_group]
            del self._queue[: self._max_group]
            try:
                results = await self._write([item for item, _ in group])
            except Exception as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            except BaseException:  # cancelled (the loop is stopping): nobody is told "written"
                for _, done in group + self._queue:
                    if not done.done():
                        done.cancel()
                self._queue.clear()
                raise
            else:
                for (_, done), result in zip(group, results, strict=True):
                    if done.done():
                        continue
                    if isinstance(result, Exception):  # this item alone failed
                        done.set_exception(result)
                    else:
                        done.set_result(result)


async def together_else_alone(
    items: Sequence[T], write: Callable[[Sequence[T]], Awaitable[None]]
) -> Sequence[Exception | None]:
    """Writes `items` in one go; if that fails, each on its own, so one bad item costs only itself
    (a GroupCommit writer that returns this fails just that item's submitter)."""
    try:
        await write(items)
    except Exception:
        if len(items) == 1:
            raise
        results: list[Exception | None] = []
        for item in items:
            try:
                await write([item])
            except Exception as exc:
                results.append(exc)
            else:
                results.append(None)
        return results
    return [None] * len(items)


class DeliveryGroupCommit:
    """The webhook's deliveries, committed in groups."""

    def __init__(self, uow_factory: UnitOfWorkFactory, *, max_group: int = MAX_GROUP) -> None:
        self._uow_factory = uow_factory
        self._group = GroupCommit(self._write, max_group=max_group)

    async def store(self, delivery: Delivery) -> None:
        """Returns once `delivery` is committed; raises what the commit of its group raised."""
        await self._group.submit(delivery)

    async def close(self) -> None:
        await self._group.close()

    async def _write(self, deliveries: Sequence[Delivery]) -> Sequence[None]:
        async with self._uow_factory() as uow:
            await uow.inbox.add_deliveries(deliveries)
            await uow.commit()
        return [None] * len(deliveries)
