"""Alembic environment: one migration history for SQLite and PostgreSQL, run over the async engine.

The URL comes from config.attributes (set by adapters.sql.migrate) or, for the alembic command
line, from the `sqlalchemy.url` option.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from adapters.sql.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine
from adapters.sql.migrate import URL_ATTRIBUTE
from adapters.sql.tables import metadata

config = context.config


def _database_url() -> str:
    url = config.attributes.get(URL_ATTRIBUTE) or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass one to adapters.sql.migrate or set sqlalchemy.url")
    return str(url)


def _configure(**options: Any) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **options)


def run_migrations_offline() -> None:
    url = _database_url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


# An application-wide key for pg_advisory_xact_lock ("watemplates migrate", as digits).
MIGRATION_LOCK = 7_761_290_442


def _run_migrations(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        # A batch migration rebuilds a table (create copy, drop original, rename); with foreign
        # keys enforced, dropping a referenced table fails or cascades. The pragma is a no-op
        # inside a transaction, so it goes to the raw connection before anything begins, and the
        # foreign_key_check below keeps the result honest.
        # Migrations run in a thread of their own, so SQLite may wait for the write lock here (the
        # service's engine waits without blocking instead): two processes starting at once on one
        # file take turns instead of one failing with "database is locked".
        cursor = connection.connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()
    # The engine makes SQLite DDL transactional (it emits BEGIN itself), so a failed migration
    # leaves the schema untouched on both dialects.
    _configure(connection=connection, render_as_batch=is_sqlite, transactional_ddl=True)
    with context.begin_transaction():
        if not is_sqlite:
            # Two processes migrating one new database at once (two `serve` started together)
            # would both create alembic_version; the second waits here for the first to commit,
            # then finds the schema at head. (SQLite's BEGIN IMMEDIATE already serializes them.)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()
        if is_sqlite:
            violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if violations:
                raise RuntimeError(f"migration left rows violating foreign keys: {violations}")


async def run_migrations_online() -> None:
    # A dedicated engine: the foreign_keys pragma above must not leak into a pool the service uses.
    engine = create_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
