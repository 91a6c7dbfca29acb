"""Shared fixtures.

Databases: `database_url` is a freshly migrated database, parametrized over SQLite and PostgreSQL
so the same test body runs on both (the PostgreSQL case carries the `postgres` marker; deselect it
with `-m "not postgres"`). `empty_database_url` is the same without migrations. `sql_engine` is an
SqlEngine on `database_url`. The PostgreSQL server is started at most once per session, and only
when a test needs it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from support.databases import migrated, new_database_url
from support.postgres import PostgresServer, start_server

if TYPE_CHECKING:
    from adapters.sql.engine import SqlEngine


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_server()
    if server is None:
        reason = "no initdb/pg_ctl found (apt-get install postgresql)"
        # CI installs PostgreSQL and sets this, so a broken install fails loudly instead of skipping.
        if os.environ.get("WATEMPLATES_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def empty_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new, empty database per test (no tables), as a SQLAlchemy URL."""
    return new_database_url(request.param, request, tmp_path_factory)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A new database migrated to the latest revision."""
    return migrated(empty_database_url)


@pytest.fixture
async def sql_engine(database_url: str) -> AsyncIterator[SqlEngine]:
    from adapters.sql.engine import create_engine

    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
