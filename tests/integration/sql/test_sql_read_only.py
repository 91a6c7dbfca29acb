"""Read-only units of work read while a writer holds SQLite's write lock (and trivially on PostgreSQL).

On SQLite every writing unit of work starts with BEGIN IMMEDIATE, taking the database's single write
lock up front; a second BEGIN IMMEDIATE waits for it (busy_timeout, 5 s) and then fails with
"database is locked". Read-only units start a deferred BEGIN instead, which under WAL never waits
for the writer: reads (listing templates, rendering) keep flowing during a long write.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.tenancy import Organization

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _organization(slug: str) -> Organization:
    return Organization(id=f"org-{slug}", slug=slug, display_name=slug.title(), created_at=NOW)


def _write_lock_is_taken(database_url: str) -> bool:
    """Whether another connection holds SQLite's write lock: BEGIN IMMEDIATE without waiting fails."""
    probe = sqlite3.connect(make_url(database_url).database or "", timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return True
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


async def test_read_only_unit_reads_while_a_writer_holds_the_lock(
    sql_engine: SqlEngine, database_url: str
) -> None:
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    factory = SqlUnitOfWorkFactory(sql_engine)
    async with factory() as setup:
        await setup.organizations.add(_organization("acme"))
        await setup.commit()

    async with factory() as writer:
        await writer.organizations.add(_organization("globex"))  # written, not committed
        if sqlite:
            assert _write_lock_is_taken(database_url)

        # With BEGIN IMMEDIATE this would wait out the busy timeout and fail "database is locked".
        async with factory(read_only=True) as reader:
            committed = await reader.organizations.get_by_slug("acme")
            uncommitted = await reader.organizations.get_by_slug("globex")
            listed = [o.slug for o in await reader.organizations.list()]

        assert committed == _organization("acme")
        assert uncommitted is None
        assert listed == ["acme"]
        await writer.commit()

    if sqlite:
        assert not _write_lock_is_taken(database_url)
    async with factory(read_only=True) as reader:
        assert sorted(o.slug for o in await reader.organizations.list()) == ["acme", "globex"]


async def test_read_only_units_read_side_by_side_with_a_writer(sql_engine: SqlEngine) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)
    async with factory() as setup:
        await setup.organizations.add(_organization("acme"))
        await setup.commit()

    async with factory() as writer:
        await writer.organizations.add(_organization("globex"))
        async with factory(read_only=True) as first, factory(read_only=True) as second:
            assert await first.organizations.get_by_slug("acme") == _organization("acme")
            assert await second.organizations.get_by_slug("acme") == _organization("acme")
        await writer.rollback()

    async with factory(read_only=True) as reader:
        assert [o.slug for o in await reader.organizations.list()] == ["acme"]


@pytest.mark.parametrize("read_only", [False, True])
async def test_a_unit_left_without_commit_changes_nothing(sql_engine: SqlEngine, read_only: bool) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)

    async with factory(read_only=read_only) as uow:
        await uow.organizations.add(_organization("acme"))

    async with factory(read_only=True) as reader:
        assert await reader.organizations.list() == []
