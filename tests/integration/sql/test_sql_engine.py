"""Engine setup, the health probe and concurrent units of work on both dialects."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from adapters.sql import tables
from adapters.sql.engine import SqlEngine, SqlHealthProbe, create_engine
from adapters.sql.inline_sqlite import InlineSqliteEngine
from adapters.sql.unit_of_work import DatabaseBusy, SqlUnitOfWorkFactory, is_transient_error
from app.errors import StoreUnavailable
from domain.tenancy import Organization
from support.databases import migrated
from support.store_samples import NOW


async def test_sqlite_engine_creates_the_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "watemplates.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert path.parent.is_dir()
    # No busy timeout in SQLite itself: the engine waits for another writer without blocking the loop.
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 0, "foreign_keys": 1}


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A migrated SQLite database file (a plain fixture: the migrations run their own loop)."""
    migrated(f"sqlite+aiosqlite:///{tmp_path / 'watemplates.db'}")
    return tmp_path / "watemplates.db"


async def test_a_writer_in_another_process_is_waited_for_without_blocking_the_loop(sqlite_file: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{sqlite_file}")
    # Another process's connection (sqlite3 here) holds the write lock for 0.3 s.
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(tick())
    asyncio.get_running_loop().call_later(0.3, other.rollback)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await uow.organizations.add(
                Organization(id="org-1", slug="acme", display_name="Acme", created_at=NOW)
            )
            await uow.commit()
        async with SqlUnitOfWorkFactory(engine)(read_only=True) as uow:
            assert [org.slug for org in await uow.organizations.list()] == ["acme"]
    finally:
        ticking.cancel()
        other.close()
        await engine.dispose()
    assert ticks >= 10  # the loop ran other work while the unit of work waited for the lock


async def test_a_writer_that_never_lets_go_makes_the_store_unavailable(sqlite_file: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{sqlite_file}")
    assert isinstance(engine, InlineSqliteEngine)
    engine.busy_timeout_seconds = 0.2
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable):
            async with SqlUnitOfWorkFactory(engine)() as uow:
                await uow.commit()
    finally:
        other.close()
        await engine.dispose()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine("mysql+aiomysql://localhost/watemplates")


async def test_health_probe_pings(sql_engine: SqlEngine) -> None:
    await SqlHealthProbe(sql_engine).ping()


async def test_health_probe_raises_when_the_database_is_unreachable(tmp_path: Path) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "db").mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    try:
        with pytest.raises(sa.exc.OperationalError):
            await SqlHealthProbe(engine).ping()
    finally:
        await engine.dispose()


async def test_naive_datetimes_are_refused(sql_engine: SqlEngine) -> None:
    async with sql_engine.connect() as connection:
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            await connection.execute(
                sa.insert(tables.organizations).values(
                    id="o",
                    slug="o",
                    display_name="O",
                    created_at=datetime(2025, 1, 1),  # noqa: DTZ001
                )
            )


async def test_foreign_keys_are_enforced(sql_engine: SqlEngine) -> None:
    async with sql_engine.connect() as connection:
        with pytest.raises(sa.exc.IntegrityError):
            await connection.execute(
                sa.insert(tables.waba_phone_numbers).values(phone_number_id="1", waba_id="x")
            )


async def test_concurrent_get_or_create_agree_on_one_secret(sql_engine: SqlEngine) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)

    async def get_or_create(candidate: bytes) -> bytes:
        async with factory() as uow:
            value = await uow.secrets.get_or_create("signing-key", candidate)
            await uow.commit()
            return value

    values = await asyncio.gather(*(get_or_create(f"candidate-{i}".encode()) for i in range(8)))
    assert len(set(values)) == 1


async def test_concurrent_read_then_write_units_of_work_all_commit(sql_engine: SqlEngine) -> None:
    # The shape of every use case: read, then write. On SQLite a deferred transaction would fail
    # with "database is locked" when another one commits in between; none may fail here.
    factory = SqlUnitOfWorkFactory(sql_engine)

    async def read_then_write(i: int) -> None:
        async with factory() as uow:
            await uow.organizations.list()
            await asyncio.sleep(0.01)
            await uow.secrets.get_or_create(f"secret-{i}", b"x")
            await uow.commit()

    await asyncio.gather(*(read_then_write(i) for i in range(10)))
    async with sql_engine.connect() as connection:
        count = (
            await connection.execute(sa.select(sa.func.count()).select_from(tables.service_secrets))
        ).scalar_one()
    assert count == 10


async def test_an_unreachable_database_is_store_unavailable_not_a_driver_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/nothing")
    try:
        with pytest.raises(StoreUnavailable):
            async with SqlUnitOfWorkFactory(engine)(read_only=True):
                pass
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")), True),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("unable to open database file")), True),
        (OperationalError("SELEC", {}, sqlite3.OperationalError('near "SELEC": syntax error')), False),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: templates")), False),
        (DataError("INSERT", {}, Exception("invalid byte sequence for encoding UTF8: 0x00")), False),
        (IntegrityError("INSERT", {}, Exception("duplicate key value")), False),
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (PoolTimeout("QueuePool limit of size 10 overflow 10 reached"), True),
        (DatabaseBusy(), True),
        (RecursionError("maximum recursion depth exceeded"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_only_the_database_being_away_is_transient(error: Exception, transient: bool) -> None:
    assert is_transient_error(error) is transient
