"""Organizations, their API keys and their WABAs (with the phone numbers that route webhooks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql import generations, tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import insert_or_skip
from app.errors import AlreadyExists
from domain.tenancy import ApiKey, Organization, Role, Waba


class SqlOrganizationRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, organization: Organization) -> None:
        t = tables.organizations
        statement = (
            insert_or_skip(self._connection, t)
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
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, key: ApiKey) -> None:
        t = tables.api_keys
        statement = (
            insert_or_skip(self._connection, t)
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

    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, waba: Waba) -> None:
        t = tables.wabas
        # A savepoint, so a phone number taken by another WABA leaves no WABA row behind.
        async with self._connection.begin_nested():
            result = await self._connection.execute(
                insert_or_skip(self._connection, t)
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
            # The send path caches a template with its WABA's phone numbers.
            await generations.bump(self._connection)

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
            await generations.bump(self._connection)

    async def _add_phone_numbers(self, waba_id: str, phone_number_ids: set[str]) -> None:
        if not phone_number_ids:
            return
        p = tables.waba_phone_numbers
        result = await self._connection.execute(
            insert_or_skip(self._connection, p)
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
