"""Repositories over one AsyncConnection (the unit of work's transaction), with explicit mapping
between rows and domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import tables
from adapters.sql.serialization import (
    components_from_json,
    components_to_json,
    parameters_from_json,
    parameters_to_json,
)
from app.errors import AlreadyExists, ConcurrentModification
from app.ports import AlertQuery, HistoryRecord, IdempotencyRecord, TemplateQuery
from app.webhooks import ChangeState, Delivery, DeliveryBacklog, DeliveryState, InboxChange
from domain.alerts import Alert, AlertKind, AlertState, Severity
from domain.components import ParameterFormat
from domain.history import Aspect, ChangeSource, HistoryEntry, Outcome
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template
from domain.tenancy import ApiKey, Organization, Role, Waba


def _insert(connection: AsyncConnection, table: sa.Table) -> Any:
    """INSERT that can say ON CONFLICT DO NOTHING on either dialect.

    Skipping the conflicting row, rather than catching IntegrityError, keeps the transaction
    usable: on PostgreSQL a failed statement aborts the whole transaction.
    """
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class SqlOrganizationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, organization: Organization) -> None:
        t = tables.organizations
        statement = (
            _insert(self._connection, t)
            .values(
                id=organization.id,
                slug=organization.slug,
                display_name=organization.display_name,
                created_at=organization.created_at,
            )
            .on_conflict_do_nothing()
        )
        result = await self._connection.execute(statement)
        if result.rowcount == 0:
            raise AlreadyExists("organization", organization.slug)

    async def get(self, org_id: str) -> Organization | None:
        t = tables.organizations
        row = (await self._connection.execute(sa.select(t).where(t.c.id == org_id))).one_or_none()
        return None if row is None else _organization(row)

    async def get_by_slug(self, slug: str) -> Organization | None:
        t = tables.organizations
        row = (await self._connection.execute(sa.select(t).where(t.c.slug == slug))).one_or_none()
        return None if row is None else _organization(row)

    async def list(self) -> Sequence[Organization]:
        t = tables.organizations
        rows = await self._connection.execute(sa.select(t).order_by(t.c.slug))
        return [_organization(row) for row in rows]


def _organization(row: sa.Row[Any]) -> Organization:
    return Organization(id=row.id, slug=row.slug, display_name=row.display_name, created_at=row.created_at)


class SqlApiKeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, key: ApiKey) -> None:
        t = tables.api_keys
        statement = (
            _insert(self._connection, t)
            .values(
                id=key.id,
                org_id=key.org_id,
                role=key.role.name.lower(),
                key_hash=key.key_hash,
                prefix=key.prefix,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
            )
            .on_conflict_do_nothing()
        )
        result = await self._connection.execute(statement)
        if result.rowcount == 0:
            raise AlreadyExists("api_key", key.prefix)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        t = tables.api_keys
        row = (await self._connection.execute(sa.select(t).where(t.c.key_hash == key_hash))).one_or_none()
        return None if row is None else _api_key(row)

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        t = tables.api_keys
        row = (await self._connection.execute(sa.select(t).where(t.c.prefix == prefix))).one_or_none()
        return None if row is None else _api_key(row)

    async def save(self, key: ApiKey) -> None:
        """Stores the mutable state (role, revocation); the id, hash and prefix never change."""
        t = tables.api_keys
        await self._connection.execute(
            sa.update(t)
            .where(t.c.id == key.id, t.c.org_id == key.org_id)
            .values(role=key.role.name.lower(), revoked_at=key.revoked_at)
        )

    async def list_for_org(self, org_id: str) -> Sequence[ApiKey]:
        t = tables.api_keys
        rows = await self._connection.execute(
            sa.select(t).where(t.c.org_id == org_id).order_by(t.c.created_at, t.c.id)
        )
        return [_api_key(row) for row in rows]


def _api_key(row: sa.Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        org_id=row.org_id,
        role=Role.parse(row.role),
        key_hash=row.key_hash,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlWabaRepository:
    """Phone numbers come back sorted: the set matters, not the order they were registered in."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, waba: Waba) -> None:
        t = tables.wabas
        # A savepoint, so a phone number taken by another WABA leaves no WABA row behind.
        async with self._connection.begin_nested():
            result = await self._connection.execute(
                _insert(self._connection, t)
                .values(
                    waba_id=waba.waba_id,
                    org_id=waba.org_id,
                    display_name=waba.display_name,
                    created_at=waba.created_at,
                )
                .on_conflict_do_nothing()
            )
            if result.rowcount == 0:
                raise AlreadyExists("waba", waba.waba_id)
            await self._add_phone_numbers(waba.waba_id, set(waba.phone_number_ids))

    async def get(self, waba_id: str) -> Waba | None:
        t = tables.wabas
        row = (await self._connection.execute(sa.select(t).where(t.c.waba_id == waba_id))).one_or_none()
        if row is None:
            return None
        phones = await self._phone_numbers([waba_id])
        return _waba(row, phones.get(waba_id, ()))

    async def list_for_org(self, org_id: str) -> Sequence[Waba]:
        t = tables.wabas
        rows = (
            await self._connection.execute(sa.select(t).where(t.c.org_id == org_id).order_by(t.c.waba_id))
        ).all()
        phones = await self._phone_numbers([row.waba_id for row in rows])
        return [_waba(row, phones.get(row.waba_id, ())) for row in rows]

    async def save(self, waba: Waba) -> None:
        """Stores the display name and replaces the set of phone numbers."""
        t = tables.wabas
        p = tables.waba_phone_numbers
        async with self._connection.begin_nested():
            await self._connection.execute(
                sa.update(t)
                .where(t.c.waba_id == waba.waba_id, t.c.org_id == waba.org_id)
                .values(display_name=waba.display_name)
            )
            current = set((await self._phone_numbers([waba.waba_id])).get(waba.waba_id, ()))
            wanted = set(waba.phone_number_ids)
            if removed := current - wanted:
                await self._connection.execute(
                    sa.delete(p).where(p.c.waba_id == waba.waba_id, p.c.phone_number_id.in_(removed))
                )
            await self._add_phone_numbers(waba.waba_id, wanted - current)

    async def _add_phone_numbers(self, waba_id: str, phone_number_ids: set[str]) -> None:
        if not phone_number_ids:
            return
        p = tables.waba_phone_numbers
        result = await self._connection.execute(
            _insert(self._connection, p)
            .values([{"phone_number_id": phone, "waba_id": waba_id} for phone in sorted(phone_number_ids)])
            .on_conflict_do_nothing()
        )
        if result.rowcount != len(phone_number_ids):
            taken = await self._connection.execute(
                sa.select(p.c.phone_number_id)
                .where(p.c.phone_number_id.in_(phone_number_ids), p.c.waba_id != waba_id)
                .order_by(p.c.phone_number_id)
            )
            raise AlreadyExists("phone_number", ", ".join(taken.scalars()))

    async def _phone_numbers(self, waba_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        if not waba_ids:
            return {}
        p = tables.waba_phone_numbers
        rows = await self._connection.execute(
            sa.select(p.c.waba_id, p.c.phone_number_id)
            .where(p.c.waba_id.in_(waba_ids))
            .order_by(p.c.waba_id, p.c.phone_number_id)
        )
        grouped: dict[str, list[str]] = {}
        for waba_id, phone in rows:
            grouped.setdefault(waba_id, []).append(phone)
        return {waba_id: tuple(phones) for waba_id, phones in grouped.items()}


def _waba(row: sa.Row[Any], phone_number_ids: tuple[str, ...]) -> Waba:
    return Waba(
        waba_id=row.waba_id,
        org_id=row.org_id,
        display_name=row.display_name,
        created_at=row.created_at,
        phone_number_ids=phone_number_ids,
    )


class SqlTemplateRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, template: Template) -> None:
        t = tables.templates
        # The conflict target is the natural key only: a clash on the generated id is a bug and
        # should surface as an IntegrityError, not as "already exists".
        statement = (
            _insert(self._connection, t)
            .values(
                id=template.id,
                org_id=template.org_id,
                waba_id=template.waba_id,
                display_name=template.display_name,
                language_code=template.language_code,
                created_at=template.created_at,
                version=template.version,
                **_template_state(template),
            )
            .on_conflict_do_nothing(index_elements=["org_id", "waba_id", "display_name", "language_code"])
        )
        result = await self._connection.execute(statement)
        if result.rowcount == 0:
            raise AlreadyExists("template", f"{template.display_name}.{template.language_code}")

    async def get(self, org_id: str, template_id: str) -> Template | None:
        t = tables.templates
        row = (
            await self._connection.execute(sa.select(t).where(t.c.org_id == org_id, t.c.id == template_id))
        ).one_or_none()
        return None if row is None else _template(row)

    async def get_by_key(
        self, org_id: str, waba_id: str, display_name: str, language_code: str
    ) -> Template | None:
        t = tables.templates
        row = (
            await self._connection.execute(
                sa.select(t).where(
                    t.c.org_id == org_id,
                    t.c.waba_id == waba_id,
                    t.c.display_name == display_name,
                    t.c.language_code == language_code,
                )
            )
        ).one_or_none()
        return None if row is None else _template(row)

    async def update(self, template: Template) -> None:
        """Writes everything but the identity (id, org, WABA, name, language, created_at), which the
        domain never changes once a template exists."""
        t = tables.templates
        result = await self._connection.execute(
            sa.update(t)
            .where(t.c.id == template.id, t.c.org_id == template.org_id, t.c.version == template.version)
            .values(version=t.c.version + 1, **_template_state(template))
        )
        if result.rowcount == 0:
            raise ConcurrentModification(_template_name(template))
        template.version += 1

    async def save_meta_call(self, template: Template) -> None:
        """Stores only whether a Meta call is awaiting its answer: not an edit of the template, so
        the version (and the etag a caller holds) stays."""
        t = tables.templates
        await self._connection.execute(
            sa.update(t)
            .where(t.c.id == template.id, t.c.org_id == template.org_id)
            .values(needs_sync=template.needs_sync, meta_call_started_at=template.meta_call_started_at)
        )

    async def delete(self, template: Template) -> None:
        t = tables.templates
        result = await self._connection.execute(
            sa.delete(t).where(
                t.c.id == template.id, t.c.org_id == template.org_id, t.c.version == template.version
            )
        )
        if result.rowcount == 0:
            raise ConcurrentModification(_template_name(template))

    async def get_by_meta_id(self, waba_id: str, meta_template_id: str) -> Template | None:
        t = tables.templates
        row = (
            await self._connection.execute(
                sa.select(t).where(t.c.waba_id == waba_id, t.c.meta_template_id == meta_template_id).limit(1)
            )
        ).one_or_none()
        return None if row is None else _template(row)

    async def list(self, query: TemplateQuery) -> Sequence[Template]:
        t = tables.templates
        conditions: list[sa.ColumnElement[bool]] = [t.c.org_id == query.org_id]
        if query.waba_id is not None:
            conditions.append(t.c.waba_id == query.waba_id)
        if query.statuses:
            conditions.append(t.c.status.in_(sorted(s.value for s in query.statuses)))
        if query.categories:
            conditions.append(t.c.category.in_(sorted(c.value for c in query.categories)))
        if query.language_codes:
            conditions.append(t.c.language_code.in_(sorted(query.language_codes)))
        if query.qualities:
            conditions.append(t.c.quality.in_(sorted(q.value for q in query.qualities)))
        if query.parameter_formats:
            conditions.append(t.c.parameter_format.in_(sorted(f.value for f in query.parameter_formats)))
        if query.display_name_prefix:
            prefix = query.display_name_prefix
            # LIKE is case-insensitive on SQLite and needs escaping; an exact code-point prefix
            # test behaves the same on both dialects, and the lower bound keeps it on the index.
            conditions.append(t.c.display_name >= prefix)
            conditions.append(sa.func.substr(t.c.display_name, 1, len(prefix)) == prefix)
        if query.after is not None:
            cursor = query.after
            conditions.append(
                sa.tuple_(t.c.display_name, t.c.language_code, t.c.id)
                > sa.tuple_(
                    sa.literal(cursor.display_name, t.c.display_name.type),
                    sa.literal(cursor.language_code, t.c.language_code.type),
                    sa.literal(cursor.template_id, t.c.id.type),
                )
            )
        statement = (
            sa.select(t)
            .where(*conditions)
            .order_by(t.c.display_name, t.c.language_code, t.c.id)
            .limit(query.limit)
        )
        rows = await self._connection.execute(statement)
        return [_template(row) for row in rows]


# An arbitrary application-wide key for pg_advisory_xact_lock ("watemplates history", as digits).
HISTORY_WRITE_LOCK = 7_761_290_441


class SqlHistoryRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, template: Template, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        await self.reserve()
        await self._connection.execute(
            sa.insert(tables.template_history),
            [
                {
                    "id": entry.id,
                    "org_id": entry.org_id,
                    "template_id": entry.template_id,
                    "waba_id": template.waba_id,
                    "template_name": _template_name(template),
                    "aspect": entry.aspect.value,
                    "source": entry.source.value,
                    "outcome": entry.outcome.value,
                    "from_value": entry.from_value,
                    "to_value": entry.to_value,
                    "reason": entry.reason,
                    "occurred_at": entry.occurred_at,
                    "received_at": entry.received_at,
                    "details": dict(entry.details),
                }
                for entry in entries
            ],
        )

    async def list_for_template(
        self, org_id: str, template_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[HistoryRecord]:
        h = tables.template_history
        return await self._select(
            h.c.org_id == org_id, h.c.template_id == template_id, h.c.seq > after_seq, limit=limit
        )

    async def list_for_org(
        self, org_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[HistoryRecord]:
        h = tables.template_history
        return await self._select(h.c.org_id == org_id, h.c.seq > after_seq, limit=limit)

    async def reserve(self) -> None:
        if self._connection.dialect.name == "postgresql":
            # Sequence values are taken at insert but become visible at commit, so two concurrent
            # writers could commit out of seq order and a live stream reading "seq > cursor" would
            # skip the slower one's entries. Serializing history writers until commit makes the
            # visible order the seq order (SQLite already serializes every writer). The lock is
            # held to the end of the transaction; taking it again in the same one is a no-op.
            await self._connection.execute(sa.select(sa.func.pg_advisory_xact_lock(HISTORY_WRITE_LOCK)))

    async def last_seq(self, org_id: str) -> int:
        h = tables.template_history
        found = (
            await self._connection.execute(sa.select(sa.func.max(h.c.seq)).where(h.c.org_id == org_id))
        ).scalar()
        return int(found or 0)

    async def _select(self, *conditions: sa.ColumnElement[bool], limit: int) -> list[HistoryRecord]:
        h = tables.template_history
        rows = await self._connection.execute(sa.select(h).where(*conditions).order_by(h.c.seq).limit(limit))
        return [
            HistoryRecord(
                seq=row.seq,
                waba_id=row.waba_id,
                template_name=row.template_name,
                entry=HistoryEntry(
                    id=row.id,
                    template_id=row.template_id,
                    org_id=row.org_id,
                    aspect=Aspect(row.aspect),
                    source=ChangeSource(row.source),
                    outcome=Outcome(row.outcome),
                    from_value=row.from_value,
                    to_value=row.to_value,
                    reason=row.reason,
                    occurred_at=row.occurred_at,
                    received_at=row.received_at,
                    details=row.details or {},
                ),
            )
            for row in rows
        ]


def _template_name(template: Template) -> str:
    return f"{template.display_name}.{template.language_code}"


def _template_state(template: Template) -> dict[str, Any]:
    """The columns an update may change."""
    return {
        "category": None if template.category is None else template.category.value,
        "parameter_format": template.parameter_format.value,
        "components": components_to_json(template.components),
        "parameters": parameters_to_json(template.parameters),
        "status": template.status.value,
        "raw_status": template.raw_status,
        "quality": template.quality.value,
        "rejection_reason": template.rejection_reason,
        "meta_template_id": template.meta_template_id,
        "updated_at": template.updated_at,
        "observed_at": {
            aspect.value: moment.astimezone(UTC).isoformat()
            for aspect, moment in template.observed_at.items()
        },
        "meta_edit_times": [moment.astimezone(UTC).isoformat() for moment in template.meta_edit_times],
        "needs_sync": template.needs_sync,
        "meta_call_started_at": template.meta_call_started_at,
    }


def _template(row: sa.Row[Any]) -> Template:
    return Template(
        id=row.id,
        org_id=row.org_id,
        waba_id=row.waba_id,
        display_name=row.display_name,
        language_code=row.language_code,
        category=None if row.category is None else TemplateCategory(row.category),
        parameter_format=ParameterFormat(row.parameter_format),
        components=components_from_json(row.components),
        parameters=parameters_from_json(row.parameters),
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=TemplateStatus(row.status),
        raw_status=row.raw_status,
        quality=TemplateQuality(row.quality),
        rejection_reason=row.rejection_reason,
        meta_template_id=row.meta_template_id,
        observed_at={
            Aspect(aspect): datetime.fromisoformat(moment)
            for aspect, moment in (row.observed_at or {}).items()
        },
        meta_edit_times=tuple(datetime.fromisoformat(moment) for moment in (row.meta_edit_times or [])),
        needs_sync=bool(row.needs_sync),
        meta_call_started_at=row.meta_call_started_at,
        version=row.version,
    )


class SqlIdempotencyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, org_id: str, operation: str, request_id: str) -> IdempotencyRecord | None:
        t = tables.idempotency_keys
        row = (
            await self._connection.execute(
                sa.select(t).where(
                    t.c.org_id == org_id, t.c.operation == operation, t.c.request_id == request_id
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return IdempotencyRecord(
            org_id=row.org_id,
            operation=row.operation,
            request_id=row.request_id,
            request_fingerprint=row.request_fingerprint,
            resource_id=row.resource_id,
            created_at=row.created_at,
        )

    async def add(self, record: IdempotencyRecord) -> None:
        t = tables.idempotency_keys
        result = await self._connection.execute(
            _insert(self._connection, t)
            .values(
                org_id=record.org_id,
                operation=record.operation,
                request_id=record.request_id,
                request_fingerprint=record.request_fingerprint,
                resource_id=record.resource_id,
                created_at=record.created_at,
            )
            .on_conflict_do_nothing()
        )
        if result.rowcount == 0:
            raise AlreadyExists("request", record.request_id)


class SqlSecretRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get_or_create(self, name: str, new_value: bytes) -> bytes:
        t = tables.service_secrets
        # Two replicas starting together both insert; the loser's row is skipped and both then
        # read the winner's value, so every replica ends up with the same secret.
        await self._connection.execute(
            _insert(self._connection, t).values(name=name, value=new_value).on_conflict_do_nothing()
        )
        value = (await self._connection.execute(sa.select(t.c.value).where(t.c.name == name))).scalar_one()
        return bytes(value)


def _for_update(connection: AsyncConnection, statement: sa.Select[Any], *, skip_locked: bool = False) -> Any:
    """SELECT ... FOR UPDATE [SKIP LOCKED] on PostgreSQL; the plain SELECT on SQLite, where the unit
    of work's BEGIN IMMEDIATE already makes every read-write transaction the only writer."""
    if connection.dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=skip_locked)
    return statement


# Rows per multi-row INSERT: 15 columns each stays far below SQLite's 32,766 bound parameters.
_ROWS_PER_INSERT = 500


class SqlInboxRepository:
    """The webhook inbox. Claims lease rows (lease_until) rather than holding locks across
    transactions: the claiming transaction commits at once, and a crashed worker's rows become
    claimable again when the lease passes. Saving a delivery or change ends the attempt and so
    releases its lease; a change to retry is held back by next_attempt_at instead."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_delivery(self, delivery: Delivery) -> None:
        # Ids are generated: a clash is a bug and surfaces as an IntegrityError.
        await self._connection.execute(
            sa.insert(tables.webhook_deliveries).values(
                id=delivery.id,
                body=delivery.body,
                received_at=delivery.received_at,
                lease_until=None,
                **_delivery_state(delivery),
            )
        )

    async def claim_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[Delivery]:
        d = tables.webhook_deliveries
        rows = await self._claim(
            d,
            [d.c.state == DeliveryState.PENDING.value, _lease_free(d, now), _due(d, now)],
            lease_until=lease_until,
            limit=limit,
        )
        return [_delivery(row) for row in rows]

    async def save_delivery(self, delivery: Delivery) -> None:
        d = tables.webhook_deliveries
        await self._connection.execute(
            sa.update(d).where(d.c.id == delivery.id).values(lease_until=None, **_delivery_state(delivery))
        )

    async def requeue_delivery(self, delivery_id: str) -> bool:
        d = tables.webhook_deliveries
        result = await self._connection.execute(
            sa.update(d)
            .where(d.c.id == delivery_id)
            .values(state=DeliveryState.PENDING.value, error="", attempts=0, next_attempt_at=None)
            .values(lease_until=None)
        )
        return bool(result.rowcount)

    async def delivery_backlog(self) -> DeliveryBacklog:
        d = tables.webhook_deliveries
        row = (
            await self._connection.execute(
                sa.select(
                    sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((d.c.attempts > 0, 1), else_=0)), 0)
                ).where(d.c.state == DeliveryState.PENDING.value)
            )
        ).one()
        return DeliveryBacklog(pending=int(row[0]), failing=int(row[1]))

    async def add_changes(self, changes: Sequence[InboxChange]) -> int:
        c = tables.webhook_changes
        added = 0
        # Batched INSERTs (SQLAlchemy's "insertmanyvalues"): a delivery may hold thousands of changes,
        # and on SQLite the write lock, which webhook POSTs wait for, is held while they go in.
        # RETURNING counts what was inserted (rowcount of a batch is not reliable across drivers).
        # The conflict target is the key alone, so a clash on the generated id still fails loudly.
        for start in range(0, len(changes), _ROWS_PER_INSERT):
            rows = [
                {
                    "id": change.id,
                    "delivery_id": change.delivery_id,
                    "key": change.key,
                    "waba_id": change.waba_id,
                    "field": change.field,
                    "entry_time": change.entry_time,
                    "value": dict(change.value),
                    "received_at": change.received_at,
                    "lease_until": None,
                    **_change_state(change),
                }
                for change in changes[start : start + _ROWS_PER_INSERT]
            ]
            result = await self._connection.execute(
                _insert(self._connection, c).on_conflict_do_nothing(index_elements=["key"]).returning(c.c.id),
                rows,
            )
            added += len(result.all())
        return added

    async def claim_changes(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[InboxChange]:
        c = tables.webhook_changes
        rows = await self._claim(
            c,
            [
                c.c.state == ChangeState.PENDING.value,
                _lease_free(c, now),
                _due(c, now),
            ],
            lease_until=lease_until,
            limit=limit,
        )
        return [_change(row) for row in rows]

    async def lock_change(self, change_id: str) -> InboxChange | None:
        c = tables.webhook_changes
        # Waits for a transaction applying the same change, then reads what it committed: the
        # caller sees DONE and does not apply it a second time.
        statement = _for_update(self._connection, sa.select(c).where(c.c.id == change_id))
        row = (await self._connection.execute(statement)).one_or_none()
        return None if row is None else _change(row)

    async def save_change(self, change: InboxChange) -> None:
        c = tables.webhook_changes
        await self._connection.execute(
            sa.update(c).where(c.c.id == change.id).values(lease_until=None, **_change_state(change))
        )

    async def delete_change(self, change_id: str) -> None:
        c = tables.webhook_changes
        await self._connection.execute(sa.delete(c).where(c.c.id == change_id))

    async def release_parked(self, waba_id: str) -> int:
        c = tables.webhook_changes
        result = await self._connection.execute(
            sa.update(c)
            .where(c.c.waba_id == waba_id, c.c.state == ChangeState.PARKED.value)
            .values(state=ChangeState.PENDING.value, attempts=0, next_attempt_at=None, lease_until=None)
        )
        return result.rowcount

    async def list_changes(
        self,
        *,
        states: frozenset[ChangeState] = frozenset(),
        waba_id: str | None = None,
        after_id: str = "",
        limit: int = 100,
    ) -> Sequence[InboxChange]:
        c = tables.webhook_changes
        conditions: list[sa.ColumnElement[bool]] = []
        if states:
            conditions.append(c.c.state.in_(sorted(s.value for s in states)))
        if waba_id is not None:
            conditions.append(c.c.waba_id == waba_id)
        if after_id:
            conditions.append(c.c.id > after_id)
        rows = await self._connection.execute(sa.select(c).where(*conditions).order_by(c.c.id).limit(limit))
        return [_change(row) for row in rows]

    async def count_changes(self) -> Mapping[ChangeState, int]:
        """Every state, zero included, so a gauge drops to 0 instead of keeping its last value."""
        c = tables.webhook_changes
        rows = await self._connection.execute(
            sa.select(c.c.state, sa.func.count()).select_from(c).group_by(c.c.state)
        )
        counts = dict.fromkeys(ChangeState, 0)
        for state, count in rows:
            counts[ChangeState(state)] = count
        return counts

    async def _claim(
        self,
        table: sa.Table,
        conditions: Sequence[sa.ColumnElement[bool]],
        *,
        lease_until: datetime,
        limit: int,
    ) -> list[sa.Row[Any]]:
        # SKIP LOCKED: rows another worker is claiming right now are passed over, not waited for,
        # so concurrent workers take disjoint batches.
        statement = _for_update(
            self._connection,
            sa.select(table).where(*conditions).order_by(table.c.id).limit(limit),
            skip_locked=True,
        )
        rows = list((await self._connection.execute(statement)).all())
        if rows:
            await self._connection.execute(
                sa.update(table)
                .where(table.c.id.in_([row.id for row in rows]))
                .values(lease_until=lease_until)
            )
        return rows


def _lease_free(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def _due(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now)


def _delivery_state(delivery: Delivery) -> dict[str, Any]:
    """The columns processing may change."""
    return {
        "state": delivery.state.value,
        "error": delivery.error,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
    }


def _change_state(change: InboxChange) -> dict[str, Any]:
    """The columns processing may change."""
    return {
        "state": change.state.value,
        "attempts": change.attempts,
        "next_attempt_at": change.next_attempt_at,
        "last_error": change.last_error,
        "processed_at": change.processed_at,
    }


def _delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        body=bytes(row.body),
        received_at=row.received_at,
        state=DeliveryState(row.state),
        error=row.error,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
    )


def _change(row: sa.Row[Any]) -> InboxChange:
    return InboxChange(
        id=row.id,
        delivery_id=row.delivery_id,
        key=row.key,
        waba_id=row.waba_id,
        field=row.field,
        entry_time=row.entry_time,
        value=row.value if row.value is not None else {},
        received_at=row.received_at,
        state=ChangeState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        processed_at=row.processed_at,
    )


_ACTIVE_ALERT_STATES = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)


class SqlAlertRepository:
    """One active alert per (template, kind) is a unique index (tables.alerts.active_marker): add()
    reports a second one as AlreadyExists and leaves the transaction usable."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, alert: Alert) -> None:
        a = tables.alerts
        # The conflict target is the one-active rule only: a clash on the generated id is a bug
        # and surfaces as an IntegrityError.
        result = await self._connection.execute(
            _insert(self._connection, a)
            .values(
                id=alert.id,
                org_id=alert.org_id,
                template_id=alert.template_id,
                waba_id=alert.waba_id,
                kind=alert.kind.value,
                opened_at=alert.opened_at,
                **_alert_state(alert),
            )
            .on_conflict_do_nothing(index_elements=["template_id", "kind", "active_marker"])
        )
        if result.rowcount == 0:
            raise AlreadyExists("alert", _alert_name(alert))

    async def save(self, alert: Alert) -> None:
        """Stores everything but the identity (id, org, template, WABA, kind, opened_at). Making an
        alert active again beside another active one of its kind breaks the unique index
        (IntegrityError): the domain never reopens a resolved alert."""
        a = tables.alerts
        await self._connection.execute(
            sa.update(a).where(a.c.id == alert.id, a.c.org_id == alert.org_id).values(**_alert_state(alert))
        )

    async def get(self, org_id: str, alert_id: str) -> Alert | None:
        a = tables.alerts
        row = (
            await self._connection.execute(sa.select(a).where(a.c.org_id == org_id, a.c.id == alert_id))
        ).one_or_none()
        return None if row is None else _alert(row)

    async def active_for_template(self, template_id: str) -> Sequence[Alert]:
        """Oldest first."""
        a = tables.alerts
        rows = await self._connection.execute(
            sa.select(a)
            .where(a.c.template_id == template_id, a.c.state.in_(_ACTIVE_ALERT_STATES))
            .order_by(a.c.opened_at, a.c.id)
        )
        return [_alert(row) for row in rows]

    async def active_for_org(self, org_id: str) -> Sequence[Alert]:
        """Most urgent first, then newest first."""
        a = tables.alerts
        rows = await self._connection.execute(
            sa.select(a)
            .where(a.c.org_id == org_id, a.c.state.in_(_ACTIVE_ALERT_STATES))
            .order_by(a.c.severity.desc(), a.c.opened_at.desc(), a.c.id.desc())
        )
        return [_alert(row) for row in rows]

    async def list(self, query: AlertQuery) -> Sequence[Alert]:
        a = tables.alerts
        conditions: list[sa.ColumnElement[bool]] = [a.c.org_id == query.org_id]
        if query.states:
            conditions.append(a.c.state.in_(sorted(s.value for s in query.states)))
        if query.severities:
            conditions.append(a.c.severity.in_(sorted(int(s) for s in query.severities)))
        if query.template_id is not None:
            conditions.append(a.c.template_id == query.template_id)
        if query.before is not None:
            opened_at, alert_id = query.before
            conditions.append(
                sa.tuple_(a.c.opened_at, a.c.id)
                < sa.tuple_(sa.literal(opened_at, a.c.opened_at.type), sa.literal(alert_id, a.c.id.type))
            )
        rows = await self._connection.execute(
            sa.select(a).where(*conditions).order_by(a.c.opened_at.desc(), a.c.id.desc()).limit(query.limit)
        )
        return [_alert(row) for row in rows]


def _alert_name(alert: Alert) -> str:
    return f"{alert.template_id}/{alert.kind.value}"


def _alert_state(alert: Alert) -> dict[str, Any]:
    """The columns save() may change."""
    return {
        "template_name": alert.template_name,
        "severity": int(alert.severity),
        "state": alert.state.value,
        "reason": alert.reason,
        "last_seen_at": alert.last_seen_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": alert.resolved_at,
        "active_marker": 1 if alert.active else None,
    }


def _alert(row: sa.Row[Any]) -> Alert:
    return Alert(
        id=row.id,
        org_id=row.org_id,
        template_id=row.template_id,
        waba_id=row.waba_id,
        template_name=row.template_name,
        kind=AlertKind(row.kind),
        severity=Severity(row.severity),
        state=AlertState(row.state),
        reason=row.reason,
        opened_at=row.opened_at,
        last_seen_at=row.last_seen_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
    )
