"""The repository contract: each scenario in tests/contract is written once and runs against every
store behind app.ports.UnitOfWorkFactory: the in-memory fake of the unit tests (tests/fakes), and the
SQL adapter on a temp SQLite file and on PostgreSQL (`postgres` marker), both migrated with the
project's Alembic migrations. What only a real database can show (concurrent writers, row locks,
what the columns hold) is tested in tests/integration/sql.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from app.ports import UnitOfWorkFactory
from fakes import FakeUnitOfWorkFactory, IntegrityViolation
from support.databases import migrated, new_database_url, sql_unit_of_work_factory
from support.store_samples import add_organizations_and_wabas


@pytest.fixture(
    params=[
        pytest.param("fake", id="fake"),
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sql_database_url(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str | None:
    """A new migrated database for the SQL stores, None for the fake. A plain fixture, because the
    migrations run their own event loop."""
    if store_kind == "fake":
        return None
    return migrated(new_database_url(store_kind, request, tmp_path_factory))


@pytest.fixture
async def uow_factory(sql_database_url: str | None) -> AsyncIterator[UnitOfWorkFactory]:
    """The store, holding two organizations: A with WABAs A1 and A2, B with WABA B."""
    if sql_database_url is None:
        fake = FakeUnitOfWorkFactory()
        await add_organizations_and_wabas(fake)
        yield fake
        return
    async with sql_unit_of_work_factory(sql_database_url) as factory:
        await add_organizations_and_wabas(factory)
        yield factory


@pytest.fixture
def integrity_error(store_kind: str) -> type[Exception]:
    """What the store raises for a write its schema refuses outright (a bug in the caller)."""
    return IntegrityViolation if store_kind == "fake" else sa.exc.IntegrityError
