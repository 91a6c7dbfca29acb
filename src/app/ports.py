"""Ports: what the use cases need from the outside world, as Protocols.

Adapters implement them (adapters/sql); tests implement them in memory (tests/fakes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from app.audit_ports import AuditRepository
from app.campaign_ports import CampaignRepository, CampaignSettingsRepository
from app.dashboard_ports import SessionRepository
from app.inbox import (
    ChangeState,
    Delivery,
    DeliveryBacklog,
    InboxChange,
)
from app.message_ports import MessageRepository, WindowRepository
from app.notification_ports import ChannelRepository, NotificationRepository
from app.observability import InboxGauges
from domain.alerts import Alert, AlertState
from domain.alerts import Severity as AlertSeverity
from domain.components import ParameterFormat
from domain.events import TemplateEvent
from domain.observations import Aspect
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template
from domain.tenancy import ApiKey, Organization, Waba


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


@dataclass(frozen=True, slots=True)
class TemplateCursor:
    """Keyset position: templates are listed ordered by (display_name, language_code, id)."""

    display_name: str
    language_code: str
    template_id: str


@dataclass(frozen=True, slots=True)
class TemplateQuery:
    org_id: str
    # None: every WABA of the organization.
    waba_id: str | None = None
    statuses: frozenset[TemplateStatus] = frozenset()
    categories: frozenset[TemplateCategory] = frozenset()
    language_codes: frozenset[str] = frozenset()
    qualities: frozenset[TemplateQuality] = frozenset()
    display_name_prefix: str = ""
    parameter_formats: frozenset[ParameterFormat] = frozenset()
    after: TemplateCursor | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """AIP-155: the outcome of the first request with this (org, operation, request_id)."""

    org_id: str
    operation: str
    request_id: str
    request_fingerprint: str
    resource_id: str
    created_at: datetime


class OrganizationRepository(Protocol):
    async def add(self, organization: Organization) -> None: ...
    async def get(self, org_id: str) -> Organization | None: ...
    async def get_by_slug(self, slug: str) -> Organization | None: ...
    async def list(self) -> Sequence[Organization]: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> None: ...
    async def get_by_hash(self, key_hash: str) -> ApiKey | None: ...
    async def get_by_prefix(self, prefix: str) -> ApiKey | None: ...
    async def save(self, key: ApiKey) -> None: ...
    async def list_for_org(self, org_id: str) -> Sequence[ApiKey]: ...


class WabaRepository(Protocol):
    async def add(self, waba: Waba) -> None: ...
    async def get(self, waba_id: str) -> Waba | None:
        """Any organization's WABA (a WABA belongs to exactly one)."""
        ...

    async def list_for_org(self, org_id: str) -> Sequence[Waba]: ...
    async def save(self, waba: Waba) -> None: ...


class TemplateRepository(Protocol):
    async def add(self, template: Template) -> None:
        """Raises app.errors.AlreadyExists on a duplicate (org, waba, display_name, language)."""
        ...

    async def get(self, org_id: str, template_id: str) -> Template | None: ...

    async def get_by_key(
        self, org_id: str, waba_id: str, display_name: str, language_code: str
    ) -> Template | None: ...

    async def update(self, template: Template) -> None:
        """Stores the aggregate if its stored version is still `template.version`, then bumps the
        version on the aggregate; raises app.errors.ConcurrentModification otherwise."""
        ...

    async def update_many(self, templates: Sequence[Template]) -> None:
        """update() for several templates at once (one statement for the inbox's batches)."""
        ...

    async def save_meta_call(self, template: Template) -> None:
        """Stores needs_sync and meta_call_started_at alone, leaving the version as it is."""
        ...

    async def delete(self, template: Template) -> None:
        """Deletes if the stored version is still `template.version`; else ConcurrentModification."""
        ...

    async def list(self, query: TemplateQuery) -> Sequence[Template]: ...

    async def get_by_meta_id(self, waba_id: str, meta_template_id: str) -> Template | None:
        """The template Meta knows by this id in this WABA (any organization: the WABA's owner)."""
        ...

    async def generation(self) -> int:
        """A number that changes whenever any template or WABA is written, by any process: what a
        cache of templates checks to stay current (one cheap read)."""
        ...

    async def lock_by_meta_ids(self, waba_id: str, meta_template_ids: Sequence[str]) -> Sequence[Template]:
        """The templates Meta knows by these ids in this WABA, in one read, locked until the
        transaction ends (the inbox applies a batch of changes to them)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredTemplateEvent:
    """A template event as stored: with its position in the global sequence (the stream cursor)."""

    seq: int
    event: TemplateEvent


class TemplateEventRepository(Protocol):
    """Each template's history: its events, in one global sequence."""

    async def add(self, events: Sequence[TemplateEvent]) -> None: ...

    async def reserve(self) -> None:
        """Takes the event append turn now, before the transaction locks any other row. A
        transaction that will add events for several templates calls it first, so that concurrent
        writers queue for the turn instead of deadlocking over each other's rows."""
        ...

    async def list_for_template(
        self, org_id: str, template_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        """Oldest first, strictly after `after_seq`."""
        ...

    async def list_for_org(
        self, org_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]: ...

    async def last_seq(self, org_id: str) -> int:
        """The newest entry's seq for the organization, 0 when there is none."""
        ...

    async def applied_since(
        self, org_id: str, aspect: Aspect, since: datetime, *, limit: int
    ) -> Sequence[StoredTemplateEvent]:
        """The organization's APPLIED changes of `aspect` that happened (Meta's time) at or after
        `since`, oldest first: how its templates stood before them (the dashboard's trends)."""
        ...


class InboxRepository(Protocol):
    """The durable webhook inbox: raw deliveries, then their changes, each processed once."""

    async def add_delivery(self, delivery: Delivery) -> None: ...

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Several at once (the webhook's group commit): one statement, not one per delivery."""
        ...

    async def claim_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[Delivery]:
        """PENDING deliveries due (next_attempt_at <= now) and not leased by another worker; leases
        them until `lease_until` (PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never wait on
        each other)."""
        ...

    async def lock_due_deliveries(self, *, now: datetime, limit: int) -> Sequence[Delivery]:
        """The deliveries claim_deliveries would claim, locked to the end of this transaction instead
        of leased (PostgreSQL: FOR UPDATE SKIP LOCKED), for a worker that finishes them in it."""
        ...

    async def save_delivery(self, delivery: Delivery) -> None:
        """Stores state, error, attempts and next_attempt_at; releases the lease."""
        ...

    async def save_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """save_delivery for several at once."""
        ...

    async def requeue_delivery(self, delivery_id: str) -> bool:
        """Back to PENDING with no attempts, to be split again; False if there is no such delivery."""
        ...

    async def delivery_backlog(self) -> DeliveryBacklog: ...

    async def gauges(self) -> InboxGauges:
        """Changes per state that still matter (not DONE), deliveries not split, the oldest change
        waiting to be applied: what /metrics shows."""
        ...

    async def add_changes(self, changes: Sequence[InboxChange]) -> int:
        """Inserts the changes whose key is new (a duplicate delivery adds nothing); returns how many."""
        ...

    async def claim_changes(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[InboxChange]:
        """PENDING changes due (next_attempt_at <= now) and not leased; leases them."""
        ...

    async def lock_due_changes(self, *, now: datetime, limit: int) -> Sequence[InboxChange]:
        """The changes claim_changes would claim, locked to the end of this transaction instead of
        leased, for a worker that applies them in it."""
        ...

    async def lock_change(self, change_id: str) -> InboxChange | None:
        """Re-reads a change for update inside the transaction that applies it (exactly-once)."""
        ...

    async def lock_changes(self, change_ids: Sequence[str]) -> Sequence[InboxChange]:
        """lock_change for several at once, in id order (the ones that exist)."""
        ...

    async def save_change(self, change: InboxChange) -> None: ...

    async def save_changes(self, changes: Sequence[InboxChange]) -> None: ...

    async def delete_change(self, change_id: str) -> None: ...

    async def release_parked(self, waba_id: str) -> int:
        """PARKED changes of this WABA back to PENDING; returns how many."""
        ...

    async def list_changes(
        self,
        *,
        states: frozenset[ChangeState] = frozenset(),
        waba_id: str | None = None,
        after_id: str = "",
        limit: int = 100,
    ) -> Sequence[InboxChange]:
        """Ordered by id (ids increase with time)."""
        ...

    async def count_changes(self) -> Mapping[ChangeState, int]: ...


@dataclass(frozen=True, slots=True)
class AlertQuery:
    org_id: str
    states: frozenset[AlertState] = frozenset()
    severities: frozenset[AlertSeverity] = frozenset()
    template_id: str | None = None
    # Keyset: alerts are listed newest first by (opened_at, id).
    before: tuple[datetime, str] | None = None
    limit: int = 50


class AlertRepository(Protocol):
    async def add(self, alert: Alert) -> None: ...
    async def save(self, alert: Alert) -> None: ...
    async def add_many(self, alerts: Sequence[Alert]) -> None:
        """add() for several at once; AlreadyExists when one would be a second active alert."""
        ...

    async def save_many(self, alerts: Sequence[Alert]) -> None: ...

    async def get(self, org_id: str, alert_id: str) -> Alert | None: ...

    async def active_for_template(self, template_id: str) -> Sequence[Alert]:
        """OPEN and ACKNOWLEDGED alerts of the template."""
        ...

    async def active_for_templates(self, template_ids: Sequence[str]) -> Sequence[Alert]:
        """active_for_template for several templates in one read, oldest first."""
        ...

    async def active_for_org(self, org_id: str) -> Sequence[Alert]: ...
    async def list(self, query: AlertQuery) -> Sequence[Alert]: ...


class IdempotencyRepository(Protocol):
    async def get(self, org_id: str, operation: str, request_id: str) -> IdempotencyRecord | None: ...
    async def add(self, record: IdempotencyRecord) -> None: ...


class SecretRepository(Protocol):
    async def get_or_create(self, name: str, new_value: bytes) -> bytes:
        """Returns the stored secret, storing `new_value` first if none exists yet."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without commit() rolls back."""

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

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. read_only=True promises no writes, which lets the store run it
        concurrently with other units (SQLite serializes writers)."""
        ...


class HealthProbe(Protocol):
    async def ping(self) -> None:
        """Raises if the database cannot be reached."""
        ...
