"""The fake store's data, one dict per table, and a unit of work's own copy of it.

A unit of work copies every dict when it begins; its repositories read and write that copy, and a
commit makes the copy the committed data. Stored objects are never changed in place (a write stores
a new object), so copying the dicts is enough to keep units apart, and every object crosses the
repository boundary as a deep copy: mutating a returned aggregate changes nothing until it is saved,
exactly as with rows in a database.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TypeVar

from app.audit_ports import AuditEvent
from app.campaign_ports import StoredTransition as StoredCampaignTransition
from app.dashboard_ports import DashboardSession
from app.inbox import Delivery, InboxChange
from app.ports import IdempotencyRecord, StoredTemplateEvent
from domain.alerts import Alert
from domain.campaigns import Campaign, CampaignPolicy
from domain.conversations import ConversationWindow
from domain.messages import OutboundMessage
from domain.notifications import Channel, Notification
from domain.templates import Template
from domain.tenancy import ApiKey, Organization, Waba

T = TypeVar("T")

# (org_id, operation, request_id): the primary key of an idempotency record.
IdempotencyKey = tuple[str, str, str]


@dataclass
class MemoryStore:
    """Every table, keyed by primary key."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    # By key id.
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    wabas: dict[str, Waba] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    # By seq, the position in the global history.
    template_events: dict[int, StoredTemplateEvent] = field(default_factory=dict)
    idempotency: dict[IdempotencyKey, IdempotencyRecord] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)
    # The webhook inbox, by id. A claim's lease lives beside its row (the SQL adapter's lease_until
    # column), because the app's Delivery and InboxChange carry none.
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    delivery_leases: dict[str, datetime] = field(default_factory=dict)
    changes: dict[str, InboxChange] = field(default_factory=dict)
    change_leases: dict[str, datetime] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    windows: dict[str, ConversationWindow] = field(default_factory=dict)
    messages: dict[str, OutboundMessage] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    # By seq: every campaign's history in one sequence.
    campaign_transitions: dict[int, StoredCampaignTransition] = field(default_factory=dict)
    # (campaign id, contact)
    campaign_audience: dict[tuple[str, str], None] = field(default_factory=dict)
    campaign_settings: dict[str, CampaignPolicy] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)
    audit: dict[str, AuditEvent] = field(default_factory=dict)
    # By the session id's hash.
    sessions: dict[str, DashboardSession] = field(default_factory=dict)
    # A claimed notification's lease (the SQL adapter's lease_until column).
    notification_leases: dict[str, datetime] = field(default_factory=dict)
    # store_generations: bumped by every template and WABA write.
    generations: dict[str, int] = field(default_factory=lambda: {"templates": 0})

    def copy(self) -> MemoryStore:
        """New dicts holding the same (never mutated) objects."""
        return replace(self, **{table.name: dict(getattr(self, table.name)) for table in fields(self)})


class IntegrityViolation(Exception):
    """A write the SQL schema refuses with an IntegrityError rather than a port's AlreadyExists: a
    clash of generated ids, or a second active alert made by saving. Use cases never cause one."""


class Tables:
    """What a unit of work's repositories see: its own copy of the store while it is open."""

    def __init__(self, *, read_only: bool) -> None:
        self.read_only = read_only
        # Whether anything was written since the copy was taken (a commit without writes is a no-op).
        self.written = False
        self._copy: MemoryStore | None = None

    def begin(self, committed: MemoryStore) -> None:
        self._copy = committed.copy()
        self.written = False

    def end(self) -> None:
        self._copy = None

    def require_open(self) -> MemoryStore:
        if self._copy is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._copy

    @property
    def read(self) -> MemoryStore:
        return self.require_open()

    def bump_templates_generation(self) -> None:
        store = self.write()
        store.generations["templates"] = store.generations["templates"] + 1

    def write(self) -> MemoryStore:
        """The copy, to write to. A read-only unit refuses, so a use case that promises the store no
        writes and then writes fails loudly in tests."""
        if self.read_only:
            raise RuntimeError("this unit of work was opened with read_only=True and cannot write")
        store = self.require_open()
        self.written = True
        return store


def clone(value: T) -> T:
    # Deep: aggregates hold mutable containers (a template's observed_at, a change's value).
    return copy.deepcopy(value)


def clone_optional(value: T | None) -> T | None:
    return None if value is None else copy.deepcopy(value)


def require_new_id(rows: dict[str, T], row_id: str, table: str) -> None:
    """Ids are generated; the SQL schema answers a clash with an IntegrityError, i.e. a bug."""
    if row_id in rows:
        raise IntegrityViolation(f"{table} {row_id!r} exists already")
