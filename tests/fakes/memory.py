"""In-memory fakes of every port in app.ports.

Transactions: a FakeUnitOfWork works on its own copy of the shared MemoryStore, taken when the
block is entered. Nothing it writes is visible to other units of work until commit(), which
re-checks every row it wrote against the shared store (first committer wins: a row changed or
deleted by someone else since our copy was taken raises ConcurrentModification, a row inserted by
someone else under the same key or unique key raises AlreadyExists) and then swaps in the merged
store. Leaving the block without commit() discards the copy, i.e. rolls back. After commit() the
unit of work stays usable and starts a fresh copy, like the SQL adapter's autobegin.

Objects are copied on the way in and out, so mutating a returned aggregate changes nothing until it
is saved, exactly as with rows in a database. Stored objects are never mutated in place, which is
what lets commit() compare rows by identity.

A unit of work opened with read_only=True refuses every write (RuntimeError), so a use case that
promises the store no writes and then writes fails loudly in tests.

The webhook inbox follows the SQL adapter on PostgreSQL (READ COMMITTED with row locks), because
concurrent workers are its whole point: claims, lock_change() and the inbox's updates read the
latest committed row rather than the copy, and lock it until the unit of work ends. A claim skips
rows another unit has locked (FOR UPDATE SKIP LOCKED), so two units never claim the same row;
lock_change() and the updates wait for the lock (up to LOCK_TIMEOUT_SECONDS, then RuntimeError:
in a single-task test that wait is a deadlock, as it would be on PostgreSQL).

`FakeUnitOfWorkFactory.before_commit` is an optional async hook awaited at the start of every
commit(); tests use it to hold several units of work open at once and provoke write conflicts.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from app.errors import AlreadyExists, ConcurrentModification
from app.inbox import ChangeState, Delivery, DeliveryBacklog, DeliveryState, InboxChange
from app.ports import (
    AlertQuery,
    AlertRepository,
    ApiKeyRepository,
    IdempotencyRecord,
    IdempotencyRepository,
    InboxRepository,
    OrganizationRepository,
    SecretRepository,
    StoredTemplateEvent,
    TemplateEventRepository,
    TemplateQuery,
    TemplateRepository,
    WabaRepository,
)
from domain.alerts import Alert, AlertState
from domain.events import TemplateEvent
from domain.templates import Template
from domain.tenancy import ApiKey, Organization, Waba

if TYPE_CHECKING:
    from app.ports import Clock, HealthProbe, UnitOfWork, UnitOfWorkFactory

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

IdempotencyKey = tuple[str, str, str]

# How long lock_change() and the inbox's updates wait for a row another unit of work has locked.
LOCK_TIMEOUT_SECONDS = 5.0


@dataclass
class MemoryStore:
    """The committed state: one dict per table, keyed by primary key."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    # By key id.
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    wabas: dict[str, Waba] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    # By (org_id, operation, request_id).
    idempotency: dict[IdempotencyKey, IdempotencyRecord] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)
    # By seq.
    history: dict[int, StoredTemplateEvent] = field(default_factory=dict)
    # The webhook inbox, by id. A claim's lease lives beside its row (the SQL adapter's lease_until
    # column), because the app's Delivery and InboxChange carry none.
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    delivery_leases: dict[str, datetime] = field(default_factory=dict)
    changes: dict[str, InboxChange] = field(default_factory=dict)
    change_leases: dict[str, datetime] = field(default_factory=dict)
    # By alert id.
    alerts: dict[str, Alert] = field(default_factory=dict)

    def copy(self) -> MemoryStore:
        """A copy of every table; the stored objects are shared (they are never mutated in place)."""
        return MemoryStore(
            organizations=dict(self.organizations),
            api_keys=dict(self.api_keys),
            wabas=dict(self.wabas),
            templates=dict(self.templates),
            idempotency=dict(self.idempotency),
            secrets=dict(self.secrets),
            history=dict(self.history),
            deliveries=dict(self.deliveries),
            delivery_leases=dict(self.delivery_leases),
            changes=dict(self.changes),
            change_leases=dict(self.change_leases),
            alerts=dict(self.alerts),
        )


@dataclass(frozen=True)
class _Unique(Generic[V]):
    """A unique constraint: `keys` yields (constraint key, name for the error) for one row."""

    resource_type: str
    keys: Callable[[V], Iterable[tuple[Hashable, str]]]


@dataclass(frozen=True)
class _Table(Generic[K, V]):
    resource_type: str
    rows: Callable[[MemoryStore], dict[K, V]]
    # How the error messages name a row (matches the SQL adapter's messages).
    describe: Callable[[K, V], str]
    unique: tuple[_Unique[V], ...] = ()
    # A clash on insert is not an error: the row already there wins (INSERT ... ON CONFLICT DO NOTHING).
    first_insert_wins: bool = False


def _template_name(template: Template) -> str:
    return f"{template.display_name}.{template.language_code}"


def _alert_name(alert: Alert) -> str:
    # As the SQL adapter names a clash of the one-active-alert rule.
    return f"{alert.template_id}/{alert.kind.value}"


ORGANIZATIONS: _Table[str, Organization] = _Table(
    "organization",
    lambda store: store.organizations,
    lambda _key, org: org.slug,
    unique=(_Unique("organization", lambda org: [(org.slug, org.slug)]),),
)
API_KEYS: _Table[str, ApiKey] = _Table(
    "api_key",
    lambda store: store.api_keys,
    lambda _key, key: key.prefix,
    unique=(
        _Unique("api_key", lambda key: [(("hash", key.key_hash), key.prefix)]),
        _Unique("api_key", lambda key: [(("prefix", key.prefix), key.prefix)]),
    ),
)
WABAS: _Table[str, Waba] = _Table(
    "waba",
    lambda store: store.wabas,
    lambda key, _waba: key,
    # A phone number belongs to one WABA.
    unique=(_Unique("phone_number", lambda waba: [(phone, phone) for phone in waba.phone_number_ids]),),
)
TEMPLATES: _Table[str, Template] = _Table(
    "template",
    lambda store: store.templates,
    lambda _key, template: _template_name(template),
    unique=(
        _Unique(
            "template",
            lambda t: [((t.org_id, t.waba_id, t.display_name, t.language_code), _template_name(t))],
        ),
    ),
)
IDEMPOTENCY: _Table[IdempotencyKey, IdempotencyRecord] = _Table(
    "request",
    lambda store: store.idempotency,
    lambda key, _record: key[2],
)
SECRETS: _Table[str, bytes] = _Table(
    "secret",
    lambda store: store.secrets,
    lambda key, _value: key,
    first_insert_wins=True,
)
HISTORY: _Table[int, StoredTemplateEvent] = _Table(
    "history",
    lambda store: store.history,
    lambda key, _record: str(key),
)
DELIVERIES: _Table[str, Delivery] = _Table("delivery", lambda store: store.deliveries, lambda key, _d: key)
DELIVERY_LEASES: _Table[str, datetime] = _Table(
    "delivery_lease", lambda store: store.delivery_leases, lambda key, _lease: key
)
CHANGES: _Table[str, InboxChange] = _Table(
    "change",
    lambda store: store.changes,
    lambda key, _change: key,
    # The idempotency key (SQL: a unique column). add_changes() skips a taken key; only two units
    # adding the same new key at once meet this at commit, where the second gets AlreadyExists.
    unique=(_Unique("change", lambda change: [(change.key, change.key)]),),
)
CHANGE_LEASES: _Table[str, datetime] = _Table(
    "change_lease", lambda store: store.change_leases, lambda key, _lease: key
)
ALERTS: _Table[str, Alert] = _Table(
    "alert",
    lambda store: store.alerts,
    lambda _key, alert: _alert_name(alert),
    # One active alert per (template, kind); resolved ones never clash (SQL: NULL active_marker).
    unique=(
        _Unique(
            "alert",
            lambda alert: [((alert.template_id, alert.kind), _alert_name(alert))] if alert.active else [],
        ),
    ),
)
TABLES: tuple[_Table[Any, Any], ...] = (
    ORGANIZATIONS,
    API_KEYS,
    WABAS,
    TEMPLATES,
    IDEMPOTENCY,
    SECRETS,
    HISTORY,
    DELIVERIES,
    DELIVERY_LEASES,
    CHANGES,
    CHANGE_LEASES,
    ALERTS,
)
# Like a database sequence: shared by every store, never reused, gaps where a unit rolled back.
_history_seq = itertools.count(1)


def _clone(value: T) -> T:
    # Deep: aggregates hold mutable containers (a template's observed_at), which must not be
    # shared between the committed store and a working copy.
    return copy.deepcopy(value)


def _clone_optional(value: T | None) -> T | None:
    return None if value is None else copy.deepcopy(value)


def _check_unique(table: _Table[K, V], rows: dict[K, V], key: K, value: V) -> None:
    """Raises AlreadyExists if another row of `rows` shares a unique key with (key, value)."""
    for constraint in table.unique:
        wanted = dict(constraint.keys(value))
        if not wanted:
            continue
        for other_key, other in rows.items():
            if other_key == key:
                continue
            for unique_key, _ in constraint.keys(other):
                if unique_key in wanted:
                    raise AlreadyExists(constraint.resource_type, wanted[unique_key])


class _Session:
    """The state of one FakeUnitOfWork: the store as it was when the transaction began (`base`),
    our working copy (`work`) and the primary keys we wrote, per table."""

    def __init__(self, *, read_only: bool) -> None:
        self.read_only = read_only
        self._factory: FakeUnitOfWorkFactory | None = None
        self._base = MemoryStore()
        self._work = MemoryStore()
        self._writes: dict[str, set[Any]] = {}
        # Row locks we hold in the factory's lock table, released when the transaction ends.
        self._locks: set[tuple[str, Hashable]] = set()

    @property
    def work(self) -> MemoryStore:
        self.require_active()
        return self._work

    def require_active(self) -> None:
        if self._factory is None:
            raise RuntimeError("use the unit of work inside `async with`")

    def begin(self, factory: FakeUnitOfWorkFactory) -> None:
        self._factory = factory
        self._restart()

    def end(self) -> None:
        self._release_locks()
        self._factory = None
        self._base = self._work = MemoryStore()
        self._writes = {}

    def rollback(self) -> None:
        self.require_active()
        self._restart()

    def _restart(self) -> None:
        assert self._factory is not None
        self._release_locks()
        self._base = self._factory.store.copy()
        self._work = self._factory.store.copy()
        self._writes = {}

    # ---- statements ---------------------------------------------------------------------------

    def insert(self, table: _Table[K, V], key: K, value: V) -> None:
        rows = table.rows(self.work)
        if key in rows:
            raise AlreadyExists(table.resource_type, table.describe(key, rows[key]))
        _check_unique(table, rows, key, value)
        self._write(table, key, value)

    def put(self, table: _Table[K, V], key: K, value: V) -> None:
        """Replaces an existing row (the caller checked it exists)."""
        _check_unique(table, table.rows(self.work), key, value)
        self._write(table, key, value)

    def delete(self, table: _Table[K, V], key: K) -> None:
        self.require_writable()
        table.rows(self.work).pop(key, None)
        self._writes.setdefault(table.resource_type, set()).add(key)

    def _write(self, table: _Table[K, V], key: K, value: V) -> None:
        self.require_writable()
        table.rows(self.work)[key] = value
        self._writes.setdefault(table.resource_type, set()).add(key)

    def require_writable(self) -> None:
        if self.read_only:
            raise RuntimeError("this unit of work was opened with read_only=True and cannot write")

    # ---- READ COMMITTED reads and row locks (the webhook inbox) -------------------------------

    def keys(self, table: _Table[str, V]) -> list[str]:
        """Every key a READ COMMITTED statement can see: ours and the latest committed, sorted."""
        return sorted(set(table.rows(self.work)) | set(table.rows(self._committed())))

    def peek(self, table: _Table[K, V], key: K) -> V | None:
        """The row as a READ COMMITTED statement sees it: our own write, else the latest committed."""
        if key in self._writes.get(table.resource_type, set()):
            return table.rows(self.work).get(key)
        return table.rows(self._committed()).get(key)

    def latest(self, table: _Table[K, V], key: K) -> V | None:
        """peek(), and make that version the one this transaction read and may overwrite, so a row
        changed and committed since our copy was taken is not a conflict at commit."""
        if key in self._writes.get(table.resource_type, set()):
            return table.rows(self.work).get(key)
        committed = table.rows(self._committed()).get(key)
        for rows in (table.rows(self._base), table.rows(self.work)):
            if committed is None:
                rows.pop(key, None)
            else:
                rows[key] = committed
        return committed

    def try_lock(self, table: _Table[K, V], key: K) -> bool:
        """Takes the row lock unless another unit of work holds it (SKIP LOCKED)."""
        assert self._factory is not None
        lock = (table.resource_type, key)
        owner = self._factory.row_locks.setdefault(lock, self)
        if owner is self:
            self._locks.add(lock)
        return owner is self

    async def lock(self, table: _Table[K, V], key: K) -> None:
        """Waits for the row lock, as FOR UPDATE and UPDATE do."""
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while not self.try_lock(table, key):
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"{table.resource_type} {key!r} stayed locked by another unit of work for "
                    f"{LOCK_TIMEOUT_SECONDS}s (two open units in one task wait on each other forever)"
                )
            await asyncio.sleep(0.001)

    def _committed(self) -> MemoryStore:
        self.require_active()
        assert self._factory is not None
        return self._factory.store

    def _release_locks(self) -> None:
        if self._factory is not None:
            for lock in self._locks:
                if self._factory.row_locks.get(lock) is self:
                    del self._factory.row_locks[lock]
        self._locks = set()

    # ---- commit -------------------------------------------------------------------------------

    def commit(self) -> None:
        factory = self._factory
        if factory is None:
            raise RuntimeError("use the unit of work inside `async with`")
        merged = factory.store.copy()
        for table in TABLES:
            self._merge(table, factory.store, merged)
        factory.store = merged
        self._restart()

    def _merge(self, table: _Table[K, V], shared: MemoryStore, merged: MemoryStore) -> None:
        written: set[K] = self._writes.get(table.resource_type, set())
        if not written:
            return
        shared_rows, base_rows = table.rows(shared), table.rows(self._base)
        work_rows, merged_rows = table.rows(self.work), table.rows(merged)
        for key in written:
            current, before = shared_rows.get(key), base_rows.get(key)
            if current is not before:
                if before is None and table.first_insert_wins:
                    continue
                if before is None:
                    row = work_rows.get(key, current)
                    assert row is not None
                    raise AlreadyExists(table.resource_type, table.describe(key, row))
                raise ConcurrentModification(table.describe(key, before))
            if key in work_rows:
                merged_rows[key] = work_rows[key]
            else:
                merged_rows.pop(key, None)
        # Unique keys another transaction took in the meantime.
        for constraint in table.unique:
            counts = Counter(
                unique_key for row in merged_rows.values() for unique_key, _ in constraint.keys(row)
            )
            for key in written:
                if key not in merged_rows:
                    continue
                for unique_key, name in constraint.keys(merged_rows[key]):
                    if counts[unique_key] > 1:
                        raise AlreadyExists(constraint.resource_type, name)


# ---- repositories -----------------------------------------------------------------------------


class FakeOrganizationRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, organization: Organization) -> None:
        self._session.insert(ORGANIZATIONS, organization.id, _clone(organization))

    async def get(self, org_id: str) -> Organization | None:
        return _clone_optional(self._session.work.organizations.get(org_id))

    async def get_by_slug(self, slug: str) -> Organization | None:
        found = (org for org in self._session.work.organizations.values() if org.slug == slug)
        return _clone_optional(next(found, None))

    async def list(self) -> Sequence[Organization]:
        orgs = sorted(self._session.work.organizations.values(), key=lambda org: org.slug)
        return [_clone(org) for org in orgs]


class FakeApiKeyRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, key: ApiKey) -> None:
        self._session.insert(API_KEYS, key.id, _clone(key))

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        found = (key for key in self._session.work.api_keys.values() if key.key_hash == key_hash)
        return _clone_optional(next(found, None))

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        found = (key for key in self._session.work.api_keys.values() if key.prefix == prefix)
        return _clone_optional(next(found, None))

    async def save(self, key: ApiKey) -> None:
        """Like the SQL adapter: only role and revocation change, and only within the key's org."""
        stored = self._session.work.api_keys.get(key.id)
        if stored is None or stored.org_id != key.org_id:
            return
        self._session.put(API_KEYS, key.id, replace(stored, role=key.role, revoked_at=key.revoked_at))

    async def list_for_org(self, org_id: str) -> Sequence[ApiKey]:
        keys = [key for key in self._session.work.api_keys.values() if key.org_id == org_id]
        keys.sort(key=lambda key: (key.created_at, key.id))
        return [_clone(key) for key in keys]


class FakeWabaRepository:
    """Like the SQL adapter, phone numbers come back sorted and without duplicates."""

    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, waba: Waba) -> None:
        stored = replace(waba, phone_number_ids=tuple(sorted(set(waba.phone_number_ids))))
        self._session.insert(WABAS, waba.waba_id, stored)

    async def get(self, waba_id: str) -> Waba | None:
        return _clone_optional(self._session.work.wabas.get(waba_id))

    async def list_for_org(self, org_id: str) -> Sequence[Waba]:
        wabas = [waba for waba in self._session.work.wabas.values() if waba.org_id == org_id]
        wabas.sort(key=lambda waba: waba.waba_id)
        return [_clone(waba) for waba in wabas]

    async def save(self, waba: Waba) -> None:
        """Stores the display name and the set of phone numbers (within the WABA's own org)."""
        stored = self._session.work.wabas.get(waba.waba_id)
        if stored is None or stored.org_id != waba.org_id:
            return
        updated = replace(
            stored,
            display_name=waba.display_name,
            phone_number_ids=tuple(sorted(set(waba.phone_number_ids))),
        )
        self._session.put(WABAS, waba.waba_id, updated)


class FakeTemplateRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, template: Template) -> None:
        stored = _clone(template)
        stored.events = []  # like a row: the events it recorded are the unit of work's, not stored
        self._session.insert(TEMPLATES, template.id, stored)

    async def get(self, org_id: str, template_id: str) -> Template | None:
        stored = self._session.work.templates.get(template_id)
        if stored is None or stored.org_id != org_id:
            return None
        return _clone(stored)

    async def get_by_key(
        self, org_id: str, waba_id: str, display_name: str, language_code: str
    ) -> Template | None:
        found = (
            t
            for t in self._session.work.templates.values()
            if (t.org_id, t.waba_id, t.display_name, t.language_code)
            == (org_id, waba_id, display_name, language_code)
        )
        return _clone_optional(next(found, None))

    async def update(self, template: Template) -> None:
        """Writes everything but the identity, if the stored version is still `template.version`."""
        stored = self._current(template)
        updated = replace(
            stored,
            category=template.category,
            parameter_format=template.parameter_format,
            components=template.components,
            parameters=template.parameters,
            status=template.status,
            raw_status=template.raw_status,
            quality=template.quality,
            rejection_reason=template.rejection_reason,
            meta_template_id=template.meta_template_id,
            updated_at=template.updated_at,
            observed_at=dict(template.observed_at),
            meta_edit_times=template.meta_edit_times,
            needs_sync=template.needs_sync,
            meta_call_started_at=template.meta_call_started_at,
            version=stored.version + 1,
        )
        self._session.put(TEMPLATES, template.id, updated)
        template.version += 1

    async def save_meta_call(self, template: Template) -> None:
        stored = self._session.work.templates.get(template.id)
        if stored is None or stored.org_id != template.org_id:
            return
        updated = replace(
            stored, needs_sync=template.needs_sync, meta_call_started_at=template.meta_call_started_at
        )
        self._session.put(TEMPLATES, template.id, updated)

    async def delete(self, template: Template) -> None:
        self._current(template)
        self._session.delete(TEMPLATES, template.id)

    async def get_by_meta_id(self, waba_id: str, meta_template_id: str) -> Template | None:
        for t in self._session.work.templates.values():
            if t.waba_id == waba_id and t.meta_template_id and t.meta_template_id == meta_template_id:
                return _clone(t)
        return None

    async def list(self, query: TemplateQuery) -> Sequence[Template]:
        def matches(t: Template) -> bool:
            return (
                t.org_id == query.org_id
                and (query.waba_id is None or t.waba_id == query.waba_id)
                and (not query.statuses or t.status in query.statuses)
                and (not query.categories or t.category in query.categories)
                and (not query.language_codes or t.language_code in query.language_codes)
                and (not query.qualities or t.quality in query.qualities)
                and (not query.parameter_formats or t.parameter_format in query.parameter_formats)
                and t.display_name.startswith(query.display_name_prefix)
                and (
                    query.after is None
                    or (t.display_name, t.language_code, t.id)
                    > (query.after.display_name, query.after.language_code, query.after.template_id)
                )
            )

        found = sorted(
            (t for t in self._session.work.templates.values() if matches(t)),
            key=lambda t: (t.display_name, t.language_code, t.id),
        )
        return [_clone(t) for t in found[: query.limit]]

    def _current(self, template: Template) -> Template:
        stored = self._session.work.templates.get(template.id)
        if stored is None or stored.org_id != template.org_id or stored.version != template.version:
            raise ConcurrentModification(_template_name(template))
        return stored


class FakeTemplateEventRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, events: Sequence[TemplateEvent]) -> None:
        for event in events:
            seq = next(_history_seq)
            self._session.insert(HISTORY, seq, StoredTemplateEvent(seq, event))

    async def list_for_template(
        self, org_id: str, template_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        return self._select(
            lambda r: r.event.org_id == org_id and r.event.template_id == template_id, after_seq, limit
        )

    async def list_for_org(
        self, org_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        return self._select(lambda r: r.event.org_id == org_id, after_seq, limit)

    async def reserve(self) -> None:
        """Nothing to do: the fake's commits are serialized already."""

    async def last_seq(self, org_id: str) -> int:
        return max(
            (seq for seq, r in self._session.work.history.items() if r.event.org_id == org_id), default=0
        )

    def _select(
        self, keep: Callable[[StoredTemplateEvent], bool], after_seq: int, limit: int
    ) -> list[StoredTemplateEvent]:
        rows = sorted(self._session.work.history.items())
        return [record for seq, record in rows if seq > after_seq and keep(record)][:limit]


class FakeIdempotencyRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def get(self, org_id: str, operation: str, request_id: str) -> IdempotencyRecord | None:
        return self._session.work.idempotency.get((org_id, operation, request_id))

    async def add(self, record: IdempotencyRecord) -> None:
        self._session.insert(IDEMPOTENCY, (record.org_id, record.operation, record.request_id), record)


class FakeSecretRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def get_or_create(self, name: str, new_value: bytes) -> bytes:
        secrets = self._session.work.secrets
        if name not in secrets:
            self._session.insert(SECRETS, name, new_value)
        return secrets[name]


class FakeInboxRepository:
    """Like SqlInboxRepository on PostgreSQL (see the module docstring): claims skip rows another
    unit has locked and lease the rest; saving a delivery or change releases its lease."""

    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add_delivery(self, delivery: Delivery) -> None:
        self._session.insert(DELIVERIES, delivery.id, _clone(delivery))

    async def claim_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[Delivery]:
        def due(delivery: Delivery) -> bool:
            return delivery.state is DeliveryState.PENDING and (
                delivery.next_attempt_at is None or delivery.next_attempt_at <= now
            )

        return self._claim(DELIVERIES, DELIVERY_LEASES, due, now=now, lease_until=lease_until, limit=limit)

    async def save_delivery(self, delivery: Delivery) -> None:
        stored = await self._lock_latest(DELIVERIES, DELIVERY_LEASES, delivery.id)
        if stored is None:
            return
        updated = replace(
            stored,
            state=delivery.state,
            error=delivery.error,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
        )
        self._session.put(DELIVERIES, delivery.id, updated)
        self._session.delete(DELIVERY_LEASES, delivery.id)

    async def requeue_delivery(self, delivery_id: str) -> bool:
        stored = await self._lock_latest(DELIVERIES, DELIVERY_LEASES, delivery_id)
        if stored is None:
            return False
        await self.save_delivery(
            replace(stored, state=DeliveryState.PENDING, error="", attempts=0, next_attempt_at=None)
        )
        return True

    async def delivery_backlog(self) -> DeliveryBacklog:
        pending = [d for d in self._session.work.deliveries.values() if d.state is DeliveryState.PENDING]
        return DeliveryBacklog(pending=len(pending), failing=sum(1 for d in pending if d.attempts))

    async def add_changes(self, changes: Sequence[InboxChange]) -> int:
        self._session.require_writable()
        added = 0
        for change in changes:
            # ON CONFLICT (key) DO NOTHING sees committed rows too, not only our copy.
            taken = any(
                (row := self._session.peek(CHANGES, key)) is not None and row.key == change.key
                for key in self._session.keys(CHANGES)
            )
            if taken:
                continue
            self._session.insert(CHANGES, change.id, _clone(change))
            added += 1
        return added

    async def claim_changes(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[InboxChange]:
        def due(change: InboxChange) -> bool:
            return change.state is ChangeState.PENDING and (
                change.next_attempt_at is None or change.next_attempt_at <= now
            )

        return self._claim(CHANGES, CHANGE_LEASES, due, now=now, lease_until=lease_until, limit=limit)

    async def lock_change(self, change_id: str) -> InboxChange | None:
        # FOR UPDATE is a write lock: a read-only unit must not take it.
        self._session.require_writable()
        change = await self._lock_latest(CHANGES, CHANGE_LEASES, change_id)
        return _clone_optional(change)

    async def save_change(self, change: InboxChange) -> None:
        stored = await self._lock_latest(CHANGES, CHANGE_LEASES, change.id)
        if stored is None:
            return
        updated = replace(
            stored,
            state=change.state,
            attempts=change.attempts,
            next_attempt_at=change.next_attempt_at,
            last_error=change.last_error,
            processed_at=change.processed_at,
        )
        self._session.put(CHANGES, change.id, updated)
        self._session.delete(CHANGE_LEASES, change.id)

    async def delete_change(self, change_id: str) -> None:
        if await self._lock_latest(CHANGES, CHANGE_LEASES, change_id) is not None:
            self._session.delete(CHANGES, change_id)
            self._session.delete(CHANGE_LEASES, change_id)

    async def release_parked(self, waba_id: str) -> int:
        self._session.require_writable()

        def parked(change: InboxChange | None) -> bool:
            return change is not None and change.waba_id == waba_id and change.state is ChangeState.PARKED

        released = 0
        for key in self._session.keys(CHANGES):
            if not parked(self._session.peek(CHANGES, key)):
                continue
            stored = await self._lock_latest(CHANGES, CHANGE_LEASES, key)
            if stored is None or not parked(stored):
                continue
            updated = replace(stored, state=ChangeState.PENDING, attempts=0, next_attempt_at=None)
            self._session.put(CHANGES, key, updated)
            self._session.delete(CHANGE_LEASES, key)
            released += 1
        return released

    async def list_changes(
        self,
        *,
        states: frozenset[ChangeState] = frozenset(),
        waba_id: str | None = None,
        after_id: str = "",
        limit: int = 100,
    ) -> Sequence[InboxChange]:
        found = sorted(
            (
                change
                for change in self._session.work.changes.values()
                if (not states or change.state in states)
                and (waba_id is None or change.waba_id == waba_id)
                and change.id > after_id
            ),
            key=lambda change: change.id,
        )
        return [_clone(change) for change in found[:limit]]

    async def count_changes(self) -> Mapping[ChangeState, int]:
        """Every state, zero included (as the SQL adapter)."""
        counts = dict.fromkeys(ChangeState, 0)
        for change in self._session.work.changes.values():
            counts[change.state] += 1
        return counts

    def _claim(
        self,
        table: _Table[str, V],
        leases: _Table[str, datetime],
        due: Callable[[V], bool],
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
    ) -> list[V]:
        self._session.require_writable()

        def claimable(row: V | None, lease: datetime | None) -> bool:
            return row is not None and due(row) and (lease is None or lease < now)

        claimed: list[V] = []
        for key in self._session.keys(table):
            if len(claimed) >= limit:
                break
            # Filter first, then lock: like PostgreSQL, a row that does not qualify is not locked.
            if not claimable(self._session.peek(table, key), self._session.peek(leases, key)):
                continue
            if not self._session.try_lock(table, key):
                continue  # SKIP LOCKED: another unit of work is claiming or applying it
            row, lease = self._session.latest(table, key), self._session.latest(leases, key)
            if row is None or not claimable(row, lease):
                continue
            self._session.put(leases, key, lease_until)
            claimed.append(_clone(row))
        return claimed

    async def _lock_latest(self, table: _Table[str, V], leases: _Table[str, datetime], key: str) -> V | None:
        """What an UPDATE or SELECT ... FOR UPDATE of one row does: wait for its lock, then read the
        latest committed version (a missing row locks nothing)."""
        if self._session.peek(table, key) is None:
            return None
        await self._session.lock(table, key)
        self._session.latest(leases, key)
        return self._session.latest(table, key)


_ACTIVE_ALERT_STATES = frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED})


class FakeAlertRepository:
    """One active alert per (template, kind): add() raises AlreadyExists, as the SQL adapter does. A
    save() that makes a second one active raises AlreadyExists here and IntegrityError in SQL (the
    domain never reopens a resolved alert)."""

    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, alert: Alert) -> None:
        if alert.active:
            # The unique index also sees alerts committed after our copy was taken.
            for key in self._session.keys(ALERTS):
                other = self._session.peek(ALERTS, key)
                if (
                    other is not None
                    and key != alert.id
                    and other.active
                    and (other.template_id, other.kind) == (alert.template_id, alert.kind)
                ):
                    raise AlreadyExists("alert", _alert_name(alert))
        self._session.insert(ALERTS, alert.id, _clone(alert))

    async def save(self, alert: Alert) -> None:
        """Stores everything but the identity (id, org, template, WABA, kind, opened_at)."""
        stored = self._session.work.alerts.get(alert.id)
        if stored is None or stored.org_id != alert.org_id:
            return
        updated = replace(
            stored,
            template_name=alert.template_name,
            severity=alert.severity,
            state=alert.state,
            reason=alert.reason,
            last_seen_at=alert.last_seen_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=alert.acknowledged_by,
            resolved_at=alert.resolved_at,
        )
        self._session.put(ALERTS, alert.id, updated)

    async def get(self, org_id: str, alert_id: str) -> Alert | None:
        stored = self._session.work.alerts.get(alert_id)
        if stored is None or stored.org_id != org_id:
            return None
        return _clone(stored)

    async def active_for_template(self, template_id: str) -> Sequence[Alert]:
        """Oldest first."""
        found = sorted(
            (
                a
                for a in self._session.work.alerts.values()
                if a.template_id == template_id and a.state in _ACTIVE_ALERT_STATES
            ),
            key=lambda a: (a.opened_at, a.id),
        )
        return [_clone(a) for a in found]

    async def active_for_org(self, org_id: str) -> Sequence[Alert]:
        """Most urgent first, then newest first."""
        found = sorted(
            (
                a
                for a in self._session.work.alerts.values()
                if a.org_id == org_id and a.state in _ACTIVE_ALERT_STATES
            ),
            key=lambda a: (a.severity, a.opened_at, a.id),
            reverse=True,
        )
        return [_clone(a) for a in found]

    async def list(self, query: AlertQuery) -> Sequence[Alert]:
        def matches(a: Alert) -> bool:
            return (
                a.org_id == query.org_id
                and (not query.states or a.state in query.states)
                and (not query.severities or a.severity in query.severities)
                and (query.template_id is None or a.template_id == query.template_id)
                and (query.before is None or (a.opened_at, a.id) < query.before)
            )

        found = sorted(
            (a for a in self._session.work.alerts.values() if matches(a)),
            key=lambda a: (a.opened_at, a.id),
            reverse=True,
        )
        return [_clone(a) for a in found[: query.limit]]


# ---- unit of work -----------------------------------------------------------------------------


class FakeUnitOfWork:
    """app.ports.UnitOfWork over a FakeUnitOfWorkFactory's MemoryStore (see the module docstring)."""

    organizations: OrganizationRepository
    api_keys: ApiKeyRepository
    wabas: WabaRepository
    templates: TemplateRepository
    template_events: TemplateEventRepository
    alerts: AlertRepository
    inbox: InboxRepository
    idempotency: IdempotencyRepository
    secrets: SecretRepository

    def __init__(self, factory: FakeUnitOfWorkFactory, *, read_only: bool = False) -> None:
        self._factory = factory
        self._session = _Session(read_only=read_only)
        self._entered = False
        self.read_only = read_only
        self.committed = False
        self.organizations = FakeOrganizationRepository(self._session)
        self.api_keys = FakeApiKeyRepository(self._session)
        self.wabas = FakeWabaRepository(self._session)
        self.templates = FakeTemplateRepository(self._session)
        self.template_events = FakeTemplateEventRepository(self._session)
        self.alerts = FakeAlertRepository(self._session)
        self.inbox = FakeInboxRepository(self._session)
        self.idempotency = FakeIdempotencyRepository(self._session)
        self.secrets = FakeSecretRepository(self._session)

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a FakeUnitOfWork cannot be entered twice; ask the factory for a new one")
        self._entered = True
        self._session.begin(self._factory)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever was not committed is dropped with the working copy.
        self._session.end()

    async def commit(self) -> None:
        self._session.require_active()
        if self._factory.before_commit is not None:
            await self._factory.before_commit()
        self._session.commit()
        self.committed = True
        self._factory.commits += 1

    async def rollback(self) -> None:
        self._session.rollback()


class FakeUnitOfWorkFactory:
    """app.ports.UnitOfWorkFactory: every unit of work shares `store`, the committed state."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()
        self.commits = 0
        # Units of work handed out, by mode.
        self.opened = {"read_write": 0, "read_only": 0}
        self.before_commit: Callable[[], Awaitable[None]] | None = None
        # Row locks (FOR UPDATE) of the open units of work: (table, key) -> the holder's session.
        self.row_locks: dict[tuple[str, Hashable], object] = {}

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        self.opened["read_only" if read_only else "read_write"] += 1
        return FakeUnitOfWork(self, read_only=read_only)


# ---- clock and health -------------------------------------------------------------------------


class FrozenClock:
    """app.ports.Clock that only moves when told to; always an aware UTC datetime."""

    DEFAULT = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)

    def __init__(self, now: datetime = DEFAULT) -> None:
        self._now = self._utc(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = self._utc(now)

    def advance(self, delta: timedelta = timedelta(0), /, **units: float) -> datetime:
        """Moves forward by `delta` plus timedelta(**units), e.g. advance(seconds=5); returns the new now."""
        self._now += delta + timedelta(**units)
        return self._now

    @staticmethod
    def _utc(value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"FrozenClock needs an aware datetime, got {value!r}")
        return value.astimezone(UTC)


class FakeHealthProbe:
    """app.ports.HealthProbe: healthy until fail() is called; counts pings."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.pings = 0

    @property
    def healthy(self) -> bool:
        return self.error is None

    def fail(self, error: Exception | None = None) -> None:
        self.error = error if error is not None else ConnectionError("the database cannot be reached")

    def recover(self) -> None:
        self.error = None

    async def ping(self) -> None:
        self.pings += 1
        if self.error is not None:
            raise self.error


if TYPE_CHECKING:
    # Never executed: lets a type checker prove that the fakes satisfy the ports.
    _factory: UnitOfWorkFactory = FakeUnitOfWorkFactory()
    _uow: UnitOfWork = FakeUnitOfWork(FakeUnitOfWorkFactory())
    _clock: Clock = FrozenClock()
    _probe: HealthProbe = FakeHealthProbe()
