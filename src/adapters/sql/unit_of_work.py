"""app.ports.UnitOfWork over one database connection and transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import READ_ONLY_OPTION
from adapters.sql.repositories import (
    SqlAlertRepository,
    SqlApiKeyRepository,
    SqlHistoryRepository,
    SqlIdempotencyRepository,
    SqlInboxRepository,
    SqlOrganizationRepository,
    SqlSecretRepository,
    SqlTemplateRepository,
    SqlWabaRepository,
)
from app.ports import (
    AlertRepository,
    ApiKeyRepository,
    HistoryRepository,
    IdempotencyRepository,
    InboxRepository,
    OrganizationRepository,
    SecretRepository,
    TemplateRepository,
    WabaRepository,
)


class SqlUnitOfWork:
    """One transaction; the repositories are available inside `async with`.

    Leaving the block without commit() rolls back, as does an exception. After commit() the
    repositories stay usable: the next statement starts a new transaction (SQLAlchemy's autobegin),
    which is again rolled back unless committed.
    """

    # Typed as the ports, not the concrete classes: the protocol's attributes are mutable, so a
    # type checker only accepts this class as a UnitOfWork if the declared types match exactly.
    organizations: OrganizationRepository
    api_keys: ApiKeyRepository
    wabas: WabaRepository
    templates: TemplateRepository
    history: HistoryRepository
    alerts: AlertRepository
    inbox: InboxRepository
    idempotency: IdempotencyRepository
    secrets: SecretRepository

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a SqlUnitOfWork cannot be entered twice; ask the factory for a new one")
        connection = await self._engine.connect()
        try:
            if self._read_only:
                await connection.execution_options(**{READ_ONLY_OPTION: True})
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self.organizations = SqlOrganizationRepository(connection)
        self.api_keys = SqlApiKeyRepository(connection)
        self.wabas = SqlWabaRepository(connection)
        self.templates = SqlTemplateRepository(connection)
        self.history = SqlHistoryRepository(connection)
        self.alerts = SqlAlertRepository(connection)
        self.inbox = SqlInboxRepository(connection)
        self.idempotency = SqlIdempotencyRepository(connection)
        self.secrets = SqlSecretRepository(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self._require_connection()
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

    async def commit(self) -> None:
        await self._require_connection().commit()

    async def rollback(self) -> None:
        await self._require_connection().rollback()

    def _require_connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._connection


class SqlUnitOfWorkFactory:
    """app.ports.UnitOfWorkFactory: a fresh SqlUnitOfWork per call, all sharing one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, read_only=read_only)
