"""New, empty test databases as SQLAlchemy URLs: a temp SQLite file, or a database of its own on the
session's throwaway PostgreSQL server (the `postgres_server` fixture, started on first use)."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from support.postgres import PostgresServer

if TYPE_CHECKING:
    from adapters.sql.unit_of_work import SqlUnitOfWorkFactory

_database_numbers = itertools.count(1)


def new_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """`backend` is "sqlite" or "postgres"."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'watemplates.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    # One database per test keeps tests independent without dropping anything; the pid keeps
    # names unique if several pytest processes ever share a server.
    return server.create_database_sync(f"test_{os.getpid()}_{next(_database_numbers)}")


def migrated(url: str) -> str:
    """The database at `url`, upgraded to the latest revision with the project's migrations."""
    # Imported here so collecting tests that never touch SQL does not import the adapter.
    from adapters.sql.migrate import upgrade

    upgrade(url)
    return url


@contextlib.asynccontextmanager
async def sql_unit_of_work_factory(url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """The SQL adapter over a new engine on `url`, disposed of on leaving."""
    from adapters.sql.engine import create_engine
    from adapters.sql.unit_of_work import SqlUnitOfWorkFactory

    engine = create_engine(url)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()
