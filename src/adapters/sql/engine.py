"""Engine construction for the two supported databases, and the database health probe."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from adapters.sql.inline_sqlite import InlineConnection, InlineSqliteEngine

SQLITE_BUSY_TIMEOUT_MS = 5000
# PostgreSQL through asyncpg; SQLite inline (see inline_sqlite.py). Both offer the same async API.
SqlEngine = AsyncEngine | InlineSqliteEngine
SqlConnection = AsyncConnection | InlineConnection
# Execution option set on the connections of read-only units of work.
READ_ONLY_OPTION = "watemplates_read_only"


def create_engine(url: str) -> SqlEngine:
    """An engine for `sqlite+aiosqlite://...` (or `sqlite://...`) or `postgresql+asyncpg://...`."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _create_sqlite_engine(parsed)
    if backend == "postgresql":
        return create_async_engine(
            parsed,
            pool_size=10,
            max_overflow=10,
            # Connections die silently behind load balancers and on failovers; a cheap ping on
            # checkout turns that into a reconnect instead of a failed request.
            pool_pre_ping=True,
            pool_recycle=1800,
            # A failed statement's error never carries its values (channel URLs, signing secrets).
            hide_parameters=True,
        )
    raise ValueError(
        f"unsupported database {parsed.drivername!r}; use sqlite+aiosqlite or postgresql+asyncpg"
    )


# The webhook inbox inserts changes with RETURNING, which SQLite has since 3.35 (2021).
MIN_SQLITE_VERSION = (3, 35)


def _create_sqlite_engine(url: URL) -> InlineSqliteEngine:
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: this service needs "
            f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or newer (or use PostgreSQL)"
        )
    if _is_file_database(url):
        Path(url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    # The synchronous driver, run inline; "database is locked" is answered at once (busy timeout
    # 0) and waited for with asyncio.sleep instead, so a wait never blocks the event loop.
    sync_engine = sa.create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": 0, "check_same_thread": False},
        hide_parameters=True,
    )
    engine = InlineSqliteEngine(sync_engine, busy_timeout_seconds=SQLITE_BUSY_TIMEOUT_MS / 1000)

    @sa.event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: in its legacy mode it emits no
        # BEGIN before SELECT, DDL or SAVEPOINT, which breaks savepoints, transactional migrations
        # and repeatable reads. The "begin" listener below emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets readers proceed while one writer commits; SQLite enforces foreign keys
            # only when asked, per connection. No busy timeout: InlineSqliteEngine waits.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @sa.event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, where busy_timeout applies. A deferred
        # transaction that reads and then writes fails at once with "database is locked" when
        # another connection committed in between, and a unit of work always reads before it writes.
        # Read-only units never write, so they take a plain (deferred) BEGIN and, with WAL, run
        # concurrently with each other and with the one writer.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _is_file_database(url: URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith("file:")


class SqlHealthProbe:
    """app.ports.HealthProbe: the database answers a trivial query."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            # Read-only: on SQLite a plain BEGIN, so a busy writer does not make the service look down.
            await connection.execution_options(**{READ_ONLY_OPTION: True})
            await connection.execute(sa.text("SELECT 1"))
