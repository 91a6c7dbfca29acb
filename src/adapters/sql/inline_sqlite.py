"""SQLite through SQLAlchemy's synchronous engine, behind the async API the adapter uses.

Embedded SQLite answers a statement in microseconds; an async driver (aiosqlite) hands every
statement to a thread and back, which costs several times the statement itself (measured: 14 us a
primary-key SELECT inline, 98 us through aiosqlite). Worse, each hand-off lets the event loop run
other work in the middle of a transaction, so a transaction holding SQLite's one write lock
stretches over many loop turns while webhook acknowledgements wait for that lock. Here statements
run on the caller's thread, start to finish: a transaction holds the write lock only as long as its
own work takes.

The one wait that can be long, another process holding the write lock, is not spent blocking the
loop: the connection's busy timeout is zero, and a statement SQLite answers "database is locked"
is retried after an asyncio.sleep, with backoff, for up to the usual busy timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from typing import Any, Self, TypeVar, TypeVarTuple, overload

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, CursorResult, Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.selectable import TypedReturnsRows

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
TupleAny = tuple[Any, ...]
_FIRST_RETRY_SECONDS = 0.001
_MAX_RETRY_SECONDS = 0.05


def is_locked(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig).lower()


class InlineSqliteEngine:
    """The subset of AsyncEngine the adapter and its tests use, over a synchronous Engine."""

    def __init__(self, sync_engine: Engine, *, busy_timeout_seconds: float) -> None:
        self.sync_engine = sync_engine
        self.busy_timeout_seconds = busy_timeout_seconds

    @property
    def dialect(self) -> Dialect:
        return self.sync_engine.dialect

    @property
    def url(self) -> URL:
        return self.sync_engine.url

    def connect(self) -> _Connecting:
        return _Connecting(self)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[InlineConnection]:
        async with self.connect() as connection, connection.begin():
            yield connection

    async def dispose(self) -> None:
        self.sync_engine.dispose()

    async def retrying(self, operation: Callable[[], T]) -> T:
        """Runs `operation`; while SQLite says another connection holds the lock, waits without
        blocking the loop and tries again, up to the busy timeout."""

        async def now() -> T:
            return operation()

        return await self.retrying_async(now)

    async def retrying_in_thread(self, operation: Callable[[], T]) -> T:
        """retrying(), with `operation` run in a worker thread."""
        return await self.retrying_async(lambda: asyncio.to_thread(operation))

    async def retrying_async(self, operation: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.busy_timeout_seconds
        delay = _FIRST_RETRY_SECONDS
        while True:
            try:
                return await operation()
            except OperationalError as exc:
                if not is_locked(exc) or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_RETRY_SECONDS)


class _Connecting:
    """What connect() returns: awaited, a connection; used with `async with`, one closed after."""

    def __init__(self, engine: InlineSqliteEngine) -> None:
        self._engine = engine
        self._connection: InlineConnection | None = None

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._open().__await__()

    async def _open(self) -> InlineConnection:
        sync = await self._engine.retrying(self._engine.sync_engine.connect)
        return InlineConnection(self._engine, sync)

    async def __aenter__(self) -> InlineConnection:
        self._connection = await self._open()
        return self._connection

    async def __aexit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            await self._connection.close()


class InlineConnection:
    """The subset of AsyncConnection the adapter and its tests use, over a synchronous Connection."""

    def __init__(self, engine: InlineSqliteEngine, sync_connection: Connection) -> None:
        self._engine = engine
        self.sync_connection = sync_connection

    @property
    def dialect(self) -> Dialect:
        return self.sync_connection.dialect

    @overload
    async def execute(
        self,
        statement: TypedReturnsRows[*Ts],
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> CursorResult[*Ts]: ...

    @overload
    async def execute(
        self, statement: sa.Executable, parameters: Any = None, *, execution_options: Any = None
    ) -> CursorResult[*TupleAny]: ...

    async def execute(
        self, statement: sa.Executable, parameters: Any = None, *, execution_options: Any = None
    ) -> CursorResult[*TupleAny]:
        return await self._engine.retrying(
            lambda: self.sync_connection.execute(statement, parameters, execution_options=execution_options)
        )

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> CursorResult[*TupleAny]:
        return await self._engine.retrying(
            lambda: self.sync_connection.exec_driver_sql(statement, parameters)
        )

    async def execution_options(self, **options: Any) -> Self:
        self.sync_connection.execution_options(**options)
        return self

    def get_execution_options(self) -> Any:
        return self.sync_connection.get_execution_options()

    def begin(self) -> _Transaction:
        return _Transaction(self, nested=False)

    def begin_nested(self) -> _Transaction:
        return _Transaction(self, nested=True)

    def in_transaction(self) -> bool:
        return self.sync_connection.in_transaction()

    async def commit(self) -> None:
        # The one slow step (an fsync of the WAL): in a thread, which SQLite runs without the GIL,
        # so the loop answers other requests meanwhile. Nothing else uses this connection while
        # its unit of work waits here.
        await self._engine.retrying_in_thread(self.sync_connection.commit)

    async def rollback(self) -> None:
        self.sync_connection.rollback()

    async def close(self) -> None:
        self.sync_connection.close()

    async def run_sync(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return function(self.sync_connection, *args, **kwargs)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class _Transaction:
    """connection.begin() / begin_nested(): awaited, starts it; `async with`, commits or rolls back."""

    def __init__(self, connection: InlineConnection, *, nested: bool) -> None:
        self._connection = connection
        self._nested = nested
        self._sync: sa.engine.Transaction | None = None

    def __await__(self) -> Generator[Any, None, Self]:
        return self._start().__await__()

    async def _start(self) -> Self:
        sync = self._connection.sync_connection
        # BEGIN IMMEDIATE (see engine.py) is where another process's write lock is met.
        self._sync = await self._connection._engine.retrying(
            sync.begin_nested if self._nested else sync.begin
        )
        return self

    async def __aenter__(self) -> Self:
        return await self._start()

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        assert self._sync is not None
        if not self._sync.is_active:
            return
        if exc_type is None:
            await self._connection._engine.retrying(self._sync.commit)
        else:
            self._sync.rollback()
