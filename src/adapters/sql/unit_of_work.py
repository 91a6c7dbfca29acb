"""app.ports.UnitOfWork over one database connection and transaction."""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from adapters.sql.alerts import SqlAlertRepository
from adapters.sql.audit import SqlAuditRepository
from adapters.sql.campaigns import SqlCampaignRepository, SqlCampaignSettingsRepository
from adapters.sql.conversations import SqlWindowRepository
from adapters.sql.engine import READ_ONLY_OPTION, SqlConnection, SqlEngine
from adapters.sql.idempotency import SqlIdempotencyRepository
from adapters.sql.inbox import SqlInboxRepository
from adapters.sql.messages import SqlMessageRepository
from adapters.sql.notifications_outbox import SqlChannelRepository, SqlNotificationRepository
from adapters.sql.service_secrets import SqlSecretRepository
from adapters.sql.sessions import SqlSessionRepository
from adapters.sql.template_events import SqlTemplateEventRepository
from adapters.sql.templates import SqlTemplateRepository
from adapters.sql.tenancy import SqlApiKeyRepository, SqlOrganizationRepository, SqlWabaRepository
from app.audit_ports import AuditRepository
from app.campaign_ports import CampaignRepository, CampaignSettingsRepository
from app.dashboard_ports import SessionRepository
from app.errors import StoreUnavailable, TransactionConflict
from app.message_ports import MessageRepository, WindowRepository
from app.notification_ports import ChannelRepository, NotificationRepository
from app.ports import (
    AlertRepository,
    ApiKeyRepository,
    IdempotencyRepository,
    InboxRepository,
    OrganizationRepository,
    SecretRepository,
    TemplateEventRepository,
    TemplateRepository,
    WabaRepository,
)

# SQLite has one writer at a time, and its own wait for the write lock is a retry loop that lets
# newcomers overtake: under load a waiting webhook POST could lose for the whole busy timeout. Queuing
# this process's write units first-come-first-served in front of SQLite keeps waits short and fair.
SQLITE_WRITER_WAIT_SECONDS = 5.0
_sqlite_writer_locks: weakref.WeakKeyDictionary[SqlEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


class DatabaseBusy(StoreUnavailable):
    """Other writers held SQLite's write lock for too long; the caller may retry."""

    def __init__(self) -> None:
        super().__init__(
            f"the database stayed busy with other writers for {SQLITE_WRITER_WAIT_SECONDS:g} s; retry later"
        )


# What the database says when it is away or busy, as opposed to refusing what was written: SQLite's
# lock and file errors, and PostgreSQL's start-up, shut-down and connection-limit answers.
_UNAVAILABLE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "unable to open database",
    "disk i/o error",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "terminating connection",
    "too many connections",
    "remaining connection slots are reserved",
    "connection is closed",
    "connection was closed",
    "cannot connect now",
)


def is_transient_error(error: BaseException) -> bool:
    """A failure of the database itself, not of what was being written: the connection was refused
    or lost, the server is starting or stopping, the pool ran dry, or SQLite's write lock stayed
    taken. Retrying later can succeed; blaming the data (and parking it as DEAD) would be wrong. A
    statement the database refuses (bad data, a constraint, a syntax error) is not transient, even
    where the driver files it under OperationalError."""
    if isinstance(
        error, StoreUnavailable | ConnectionError | TimeoutError | PoolTimeout | DisconnectionError
    ):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error.orig, ConnectionError | TimeoutError):
            return True
        text = str(error.orig).lower()
        return any(message in text for message in _UNAVAILABLE_MESSAGES)
    return False


# PostgreSQL's answers when it cancels one of two conflicting transactions to let the other through.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def is_conflict(error: BaseException) -> bool:
    """The database cancelled this transaction to resolve a conflict with another: nothing is wrong
    with what was written, and the same work retried succeeds."""
    if not isinstance(error, DBAPIError):
        return False
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return state in _CONFLICT_SQLSTATES or "deadlock detected" in str(error.orig).lower()


def _sqlite_writer_lock(engine: SqlEngine) -> asyncio.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    lock = _sqlite_writer_locks.get(engine)
    if lock is None:
        lock = _sqlite_writer_locks[engine] = asyncio.Lock()
    return lock


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
    template_events: TemplateEventRepository
    alerts: AlertRepository
    inbox: InboxRepository
    idempotency: IdempotencyRepository
    secrets: SecretRepository
    windows: WindowRepository
    messages: MessageRepository
    campaigns: CampaignRepository
    campaign_settings: CampaignSettingsRepository
    channels: ChannelRepository
    notifications: NotificationRepository
    audit: AuditRepository
    sessions: SessionRepository

    def __init__(self, engine: SqlEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: SqlConnection | None = None
        self._writer_lock: asyncio.Lock | None = None

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("a SqlUnitOfWork cannot be entered twice; ask the factory for a new one")
        self._writer_lock = _sqlite_writer_lock(self._engine) if not self._read_only else None
        if self._writer_lock is not None:
            try:
                await asyncio.wait_for(self._writer_lock.acquire(), SQLITE_WRITER_WAIT_SECONDS)
            except TimeoutError:
                self._writer_lock = None
                raise DatabaseBusy() from None
        try:
            connection = await self._engine.connect()
        except BaseException as exc:
            self._release_writer()
            if isinstance(exc, Exception) and is_transient_error(exc):
                raise StoreUnavailable() from exc
            raise
        try:
            if self._read_only:
                await connection.execution_options(**{READ_ONLY_OPTION: True})
            # On SQLite, BEGIN IMMEDIATE is where another process's write lock is met.
            await connection.begin()
        except BaseException as exc:
            await connection.close()
            self._release_writer()
            if isinstance(exc, Exception) and is_transient_error(exc):
                raise StoreUnavailable() from exc
            raise
        self._connection = connection
        self.organizations = SqlOrganizationRepository(connection)
        self.api_keys = SqlApiKeyRepository(connection)
        self.wabas = SqlWabaRepository(connection)
        self.templates = SqlTemplateRepository(connection)
        self.template_events = SqlTemplateEventRepository(connection)
        self.alerts = SqlAlertRepository(connection)
        self.inbox = SqlInboxRepository(connection)
        self.idempotency = SqlIdempotencyRepository(connection)
        self.secrets = SqlSecretRepository(connection)
        self.windows = SqlWindowRepository(connection)
        self.messages = SqlMessageRepository(connection)
        self.campaigns = SqlCampaignRepository(connection)
        self.campaign_settings = SqlCampaignSettingsRepository(connection)
        self.channels = SqlChannelRepository(connection)
        self.notifications = SqlNotificationRepository(connection)
        self.audit = SqlAuditRepository(connection)
        self.sessions = SqlSessionRepository(connection)
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
        except Exception as cleanup_error:
            if exc is None:
                # Ending a transaction that raised nothing failed: the connection went away.
                exc = cleanup_error
                if not is_transient_error(exc):
                    raise
            # Otherwise the connection is broken too; the error that got us here says more.
        finally:
            try:
                await connection.close()
            except Exception as close_error:
                if exc is None and not is_transient_error(close_error):
                    raise
                exc = exc or close_error
            finally:
                self._release_writer()
        if isinstance(exc, Exception) and is_conflict(exc):
            raise TransactionConflict() from exc
        if isinstance(exc, Exception) and not isinstance(exc, StoreUnavailable) and is_transient_error(exc):
            # Callers (the API, the inbox) tell "the database is down" from "this input is bad"
            # without knowing the driver's exceptions.
            raise StoreUnavailable() from exc

    def _release_writer(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    async def commit(self) -> None:
        await self._require_connection().commit()

    async def rollback(self) -> None:
        await self._require_connection().rollback()

    def _require_connection(self) -> SqlConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._connection


class SqlUnitOfWorkFactory:
    """app.ports.UnitOfWorkFactory: a fresh SqlUnitOfWork per call, all sharing one engine."""

    def __init__(self, engine: SqlEngine) -> None:
        self._engine = engine

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, read_only=read_only)
