"""The fake store's unit of work and factory: app.ports.UnitOfWork over plain dicts.

A unit of work copies the committed data when it begins; its repositories read and write the copy,
commit() makes the copy the committed data, and leaving without commit() drops it (a rollback).
After commit() the unit stays usable on a fresh copy, like the SQL adapter's autobegin.

There is no isolation between units open at the same time. A unit that wrote something and commits
after another unit committed would silently undo the other's work, so it raises instead: a test that
needs concurrent transactions, row locks or another worker's leases runs on the SQL adapter (a temp
SQLite file, or PostgreSQL for truly concurrent writers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from app.audit_ports import AuditRepository
from app.campaign_ports import CampaignRepository, CampaignSettingsRepository
from app.dashboard_ports import SessionRepository
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
from fakes.repositories.alerts import FakeAlertRepository
from fakes.repositories.audit import FakeAuditRepository
from fakes.repositories.campaigns import FakeCampaignRepository, FakeCampaignSettingsRepository
from fakes.repositories.inbox import FakeInboxRepository
from fakes.repositories.messages import FakeMessageRepository, FakeWindowRepository
from fakes.repositories.notifications import FakeChannelRepository, FakeNotificationRepository
from fakes.repositories.requests import FakeIdempotencyRepository, FakeSecretRepository
from fakes.repositories.sessions import FakeSessionRepository
from fakes.repositories.tables import MemoryStore, Tables
from fakes.repositories.templates import FakeTemplateEventRepository, FakeTemplateRepository
from fakes.repositories.tenancy import FakeApiKeyRepository, FakeOrganizationRepository, FakeWabaRepository

if TYPE_CHECKING:
    from app.ports import UnitOfWork, UnitOfWorkFactory


class FakeUnitOfWork:
    # Typed as the ports, as in the SQL adapter: the protocol's attributes are mutable, so only
    # exactly these types make the class a UnitOfWork.
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

    def __init__(self, factory: FakeUnitOfWorkFactory, *, read_only: bool = False) -> None:
        self._factory = factory
        self._tables = Tables(read_only=read_only)
        self._entered = False
        # The committed data the copy was taken from.
        self._base = factory.store
        self.organizations = FakeOrganizationRepository(self._tables)
        self.api_keys = FakeApiKeyRepository(self._tables)
        self.wabas = FakeWabaRepository(self._tables)
        self.templates = FakeTemplateRepository(self._tables)
        self.template_events = FakeTemplateEventRepository(self._tables)
        self.alerts = FakeAlertRepository(self._tables)
        self.inbox = FakeInboxRepository(self._tables)
        self.idempotency = FakeIdempotencyRepository(self._tables)
        self.secrets = FakeSecretRepository(self._tables)
        self.windows = FakeWindowRepository(self._tables)
        self.messages = FakeMessageRepository(self._tables)
        self.campaigns = FakeCampaignRepository(self._tables)
        self.campaign_settings = FakeCampaignSettingsRepository(self._tables)
        self.channels = FakeChannelRepository(self._tables)
        self.notifications = FakeNotificationRepository(self._tables)
        self.audit = FakeAuditRepository(self._tables)
        self.sessions = FakeSessionRepository(self._tables)

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a FakeUnitOfWork cannot be entered twice; ask the factory for a new one")
        self._entered = True
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tables.end()

    async def commit(self) -> None:
        working_copy = self._tables.require_open()
        if self._factory.before_commit is not None:
            await self._factory.before_commit()
        if self._tables.written:
            if self._factory.store is not self._base:
                raise RuntimeError(
                    "another unit of work committed while this one was open; the in-memory fake "
                    "does not isolate concurrent transactions: run this test on the SQL adapter"
                )
            self._factory.store = working_copy
        self._factory.commits += 1
        self._begin()

    async def rollback(self) -> None:
        self._tables.require_open()
        self._begin()

    def _begin(self) -> None:
        self._base = self._factory.store
        self._tables.begin(self._base)


class FakeUnitOfWorkFactory:
    """app.ports.UnitOfWorkFactory: every unit of work starts from `store`, the committed data."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()
        self.commits = 0
        # Awaited at the start of every commit(): lets a test fail a commit (the database went away).
        self.before_commit: Callable[[], Awaitable[None]] | None = None

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, read_only=read_only)


if TYPE_CHECKING:
    # Never executed: lets a type checker prove that the fakes satisfy the ports.
    _factory: UnitOfWorkFactory = FakeUnitOfWorkFactory()
    _uow: UnitOfWork = FakeUnitOfWork(FakeUnitOfWorkFactory())


class CountingUnitOfWorkFactory:
    """A factory's units of work, counted (each is a transaction): what a cache test measures."""

    def __init__(self, store: FakeUnitOfWorkFactory) -> None:
        self.store = store
        self.opened = 0

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        self.opened += 1
        return self.store(read_only=read_only)
