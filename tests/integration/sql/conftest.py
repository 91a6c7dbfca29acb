"""PostgreSQL-only fixtures for the tests of what only a real server shows (row locks, SKIP LOCKED,
advisory locks, LISTEN/NOTIFY)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from support.databases import migrated, new_database_url, sql_unit_of_work_factory
from support.store_samples import add_organizations_and_wabas


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new database of its own on the session's PostgreSQL server, migrated."""
    return migrated(new_database_url("postgres", request, tmp_path_factory))


@pytest.fixture
async def postgres_uow_factory(postgres_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """The SQL adapter on `postgres_url`, holding organizations A and B with their WABAs."""
    async with sql_unit_of_work_factory(postgres_url) as factory:
        await add_organizations_and_wabas(factory)
        yield factory
