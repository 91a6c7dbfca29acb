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

`FakeUnitOfWorkFactory.before_commit` is an optional async hook awaited at the start of every
commit(); tests use it to hold several units of work open at once and provoke write conflicts.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from app.errors import AlreadyExists, ConcurrentModification
from app.ports import (
    ApiKeyRepository,
    HistoryRecord,
    HistoryRepository,
    IdempotencyRecord,
    IdempotencyRepository,
    OrganizationRepository,
    SecretRepository,
    TemplateQuery,
    TemplateRepository,
    WabaRepository,
)
from domain.history import HistoryEntry
from domain.templates import Template
from domain.tenancy import ApiKey, Organization, Waba

if TYPE_CHECKING:
    from app.ports import Clock, HealthProbe, UnitOfWork, UnitOfWorkFactory

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

IdempotencyKey = tuple[str, str, str]


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
    history: dict[int, HistoryRecord] = field(default_factory=dict)

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
HISTORY: _Table[int, HistoryRecord] = _Table(
    "history",
    lambda store: store.history,
    lambda key, _record: str(key),
)
TABLES: tuple[_Table[Any, Any], ...] = (
    ORGANIZATIONS,
    API_KEYS,
    WABAS,
    TEMPLATES,
    IDEMPOTENCY,
    SECRETS,
    HISTORY,
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
        self._factory = None
        self._base = self._work = MemoryStore()
        self._writes = {}

    def rollback(self) -> None:
        self.require_active()
        self._restart()

    def _restart(self) -> None:
        assert self._factory is not None
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
        self._require_writable()
        table.rows(self.work).pop(key, None)
        self._writes.setdefault(table.resource_type, set()).add(key)

    def _write(self, table: _Table[K, V], key: K, value: V) -> None:
        self._require_writable()
        table.rows(self.work)[key] = value
        self._writes.setdefault(table.resource_type, set()).add(key)

    def _require_writable(self) -> None:
        if self.read_only:
            raise RuntimeError("this unit of work was opened with read_only=True and cannot write")

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
        self._session.insert(TEMPLATES, template.id, _clone(template))

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
            version=stored.version + 1,
        )
        self._session.put(TEMPLATES, template.id, updated)
        template.version += 1

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


class FakeHistoryRepository:
    def __init__(self, session: _Session) -> None:
        self._session = session

    async def add(self, template: Template, entries: Sequence[HistoryEntry]) -> None:
        for entry in entries:
            seq = next(_history_seq)
            record = HistoryRecord(seq, template.waba_id, _template_name(template), entry)
            self._session.insert(HISTORY, seq, record)

    async def list_for_template(
        self, org_id: str, template_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[HistoryRecord]:
        return self._select(
            lambda r: r.entry.org_id == org_id and r.entry.template_id == template_id, after_seq, limit
        )

    async def list_for_org(
        self, org_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[HistoryRecord]:
        return self._select(lambda r: r.entry.org_id == org_id, after_seq, limit)

    def _select(
        self, keep: Callable[[HistoryRecord], bool], after_seq: int, limit: int
    ) -> list[HistoryRecord]:
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


# ---- unit of work -----------------------------------------------------------------------------


class FakeUnitOfWork:
    """app.ports.UnitOfWork over a FakeUnitOfWorkFactory's MemoryStore (see the module docstring)."""

    organizations: OrganizationRepository
    api_keys: ApiKeyRepository
    wabas: WabaRepository
    templates: TemplateRepository
    history: HistoryRepository
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
        self.history = FakeHistoryRepository(self._session)
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
