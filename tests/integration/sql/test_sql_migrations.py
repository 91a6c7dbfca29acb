"""The one migration history, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from adapters.sql.engine import create_engine
from adapters.sql.migrate import alembic_config, downgrade, upgrade
from adapters.sql.tables import metadata

WATEMPLATES = str(Path(sys.executable).with_name("watemplates"))

# Every table the application defines; the migrated schema must have exactly these.
APPLICATION_TABLES = set(metadata.tables)
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
REVISIONS = [
    r.revision
    for r in reversed(list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))
]


def _inspect(url: str) -> tuple[set[str], str | None]:
    """(table names, current revision) of the database at `url`."""

    def read(connection: Connection) -> tuple[set[str], str | None]:
        revision = MigrationContext.configure(connection).get_current_revision()
        return set(sa.inspect(connection).get_table_names()), revision

    async def run() -> tuple[set[str], str | None]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    tables, revision = _inspect(empty_database_url)
    assert tables == APPLICATION_TABLES | {"alembic_version"}
    assert revision == HEAD

    downgrade(empty_database_url, "base")
    tables, revision = _inspect(empty_database_url)
    assert tables <= {"alembic_version"}
    assert revision is None

    upgrade(empty_database_url)
    tables, revision = _inspect(empty_database_url)
    assert tables == APPLICATION_TABLES | {"alembic_version"}
    assert revision == HEAD


def test_upgrade_is_idempotent_at_head(database_url: str) -> None:
    upgrade(database_url)
    assert _inspect(database_url)[1] == HEAD


async def test_async_callers_migrate_in_a_thread(empty_database_url: str) -> None:
    # migrate runs its own event loop, so a coroutine hands it to a worker thread.
    await asyncio.to_thread(upgrade, empty_database_url)
    tables, _revision = await asyncio.to_thread(_inspect, empty_database_url)
    assert tables >= APPLICATION_TABLES


async def test_migrated_schema_matches_the_metadata(database_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_migrated_collations_match_the_metadata(database_url: str) -> None:
    # Alembic's comparison ignores collations, and listing order depends on them.
    def mismatches(connection: Connection) -> list[str]:
        inspector = sa.inspect(connection)
        found = []
        for table in metadata.sorted_tables:
            reflected = {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                wanted = getattr(column.type.dialect_impl(connection.dialect), "collation", None)
                actual = getattr(reflected[column.name], "collation", None)
                if wanted != actual:
                    found.append(f"{table.name}.{column.name}: {actual!r}, metadata says {wanted!r}")
        return found

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(mismatches) == []
    finally:
        await engine.dispose()


def test_stairway_each_revision_goes_down_and_up_again(empty_database_url: str) -> None:
    """Every migration's downgrade undoes its upgrade, one step at a time (catches a broken
    downgrade that a full base<->head round trip can hide)."""
    previous = "base"
    for revision in REVISIONS:
        upgrade(empty_database_url, revision)
        downgrade(empty_database_url, previous)
        upgrade(empty_database_url, revision)
        assert _inspect(empty_database_url)[1] == revision
        previous = revision


def test_two_processes_migrating_at_once_take_turns(empty_database_url: str) -> None:
    # Two `serve` started together on one new database both migrate: neither may fail on the lock.
    # (Processes, as in production: Alembic's context is one per process.)
    env = {**os.environ, "WATEMPLATES_DATABASE_URL": empty_database_url}
    migrating = [
        subprocess.Popen([WATEMPLATES, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outcomes = [
        (process.wait(120), process.stderr.read().decode() if process.stderr else "") for process in migrating
    ]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    assert _inspect(empty_database_url)[1] == head


def _run(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


STORED_AT = datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_upgrading_to_the_send_guard_replays_the_skipped_messages_changes(empty_database_url: str) -> None:
    """Versions before 0008 stored `messages` webhooks as SKIPPED; 0008 makes them PENDING so the
    worker applies them (windows and statuses), and leaves every other change alone."""
    upgrade(empty_database_url, "0007")
    rows = [
        ("c1", "messages", "SKIPPED"),
        ("c2", "account_update", "SKIPPED"),
        ("c3", "messages", "DEAD"),
        ("c4", "message_template_status_update", "DONE"),
    ]

    def insert(connection: Connection) -> None:
        for change_id, field, state in rows:
            connection.execute(
                sa.text(
                    "INSERT INTO webhook_changes (id, delivery_id, key, waba_id, field, value, received_at, "
                    "state, attempts, last_error, processed_at) VALUES (:id, 'd', :id, '1', :field, '{}', "
                    ":at, :state, 2, 'not handled', :at)"
                ),
                {
                    "id": change_id,
                    "field": field,
                    "state": state,
                    "at": datetime(2026, 11, 30, 10, tzinfo=UTC),
                },
            )

    _run(empty_database_url, insert)
    upgrade(empty_database_url)

    def states(connection: Connection) -> list[tuple[str, str, int, str]]:
        result = connection.execute(
            sa.text("SELECT id, state, attempts, last_error FROM webhook_changes ORDER BY id")
        )
        return [(r[0], r[1], r[2], r[3]) for r in result]

    assert _run(empty_database_url, states) == [
        ("c1", "PENDING", 0, ""),
        ("c2", "SKIPPED", 2, "not handled"),
        ("c3", "DEAD", 2, "not handled"),
        ("c4", "DONE", 2, "not handled"),
    ]
