"""Engine setup, the health probe and concurrent units of work on both dialects."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import tables
from adapters.sql.engine import SqlHealthProbe, create_engine
from adapters.sql.unit_of_work import DatabaseBusy, SqlUnitOfWorkFactory, is_transient_error
from app.errors import StoreUnavailable


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
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1}


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine("mysql+aiomysql://localhost/watemplates")


async def test_health_probe_pings(sql_engine: AsyncEngine) -> None:
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
        # aiosqlite (0.22) stops the worker thread of a connection that failed to open without
        # waiting for it; its answer must land while this test's event loop is still open.
        await asyncio.to_thread(_join_aiosqlite_workers)


def _join_aiosqlite_workers() -> None:
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            thread.join(timeout=5)


async def test_naive_datetimes_are_refused(sql_engine: AsyncEngine) -> None:
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


async def test_foreign_keys_are_enforced(sql_engine: AsyncEngine) -> None:
    async with sql_engine.connect() as connection:
        with pytest.raises(sa.exc.IntegrityError):
            await connection.execute(
                sa.insert(tables.waba_phone_numbers).values(phone_number_id="1", waba_id="x")
            )


async def test_concurrent_get_or_create_agree_on_one_secret(sql_engine: AsyncEngine) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)

    async def get_or_create(candidate: bytes) -> bytes:
        async with factory() as uow:
            value = await uow.secrets.get_or_create("signing-key", candidate)
            await uow.commit()
            return value

    values = await asyncio.gather(*(get_or_create(f"candidate-{i}".encode()) for i in range(8)))
    assert len(set(values)) == 1


async def test_concurrent_read_then_write_units_of_work_all_commit(sql_engine: AsyncEngine) -> None:
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
