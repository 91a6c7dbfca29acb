"""Organizations, their API keys and their WABAs (with the phone numbers that route webhooks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from app.errors import AlreadyExists
from domain.tenancy import ApiKey, Organization, Waba
from fakes.repositories.tables import Tables, clone, clone_optional


class FakeOrganizationRepository:
    """The id and the slug are unique; a clash on either is AlreadyExists, named by the slug."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, organization: Organization) -> None:
        rows = self._tables.write().organizations
        if organization.id in rows or any(org.slug == organization.slug for org in rows.values()):
            raise AlreadyExists("organization", organization.slug)
        rows[organization.id] = clone(organization)

    async def get(self, org_id: str) -> Organization | None:
        return clone_optional(self._tables.read.organizations.get(org_id))

    async def get_by_slug(self, slug: str) -> Organization | None:
        found = (org for org in self._tables.read.organizations.values() if org.slug == slug)
        return clone_optional(next(found, None))

    async def list(self) -> Sequence[Organization]:
        return [clone(org) for org in sorted(self._tables.read.organizations.values(), key=lambda o: o.slug)]


class FakeApiKeyRepository:
    """The id, the hash and the prefix are unique; a clash on any is AlreadyExists, named by the prefix."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, key: ApiKey) -> None:
        rows = self._tables.write().api_keys
        if key.id in rows or any(
            other.key_hash == key.key_hash or other.prefix == key.prefix for other in rows.values()
        ):
            raise AlreadyExists("api_key", key.prefix)
        rows[key.id] = clone(key)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        found = (key for key in self._tables.read.api_keys.values() if key.key_hash == key_hash)
        return clone_optional(next(found, None))

    async def get_by_prefix(self, prefix: str) -> ApiKey | None:
        found = (key for key in self._tables.read.api_keys.values() if key.prefix == prefix)
        return clone_optional(next(found, None))

    async def save(self, key: ApiKey) -> None:
        """Stores the role and the revocation, within the key's own organization."""
        rows = self._tables.write().api_keys
        stored = rows.get(key.id)
        if stored is not None and stored.org_id == key.org_id:
            rows[key.id] = replace(stored, role=key.role, revoked_at=key.revoked_at)

    async def list_for_org(self, org_id: str) -> Sequence[ApiKey]:
        keys = [key for key in self._tables.read.api_keys.values() if key.org_id == org_id]
        return [clone(key) for key in sorted(keys, key=lambda k: (k.created_at, k.id))]


class FakeWabaRepository:
    """A phone number belongs to one WABA. Phone numbers come back sorted and without duplicates: the
    set matters, not the order they were registered in."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, waba: Waba) -> None:
        rows = self._tables.write().wabas
        if waba.waba_id in rows:
            raise AlreadyExists("waba", waba.waba_id)
        _require_free_phone_numbers(rows.values(), waba)
        rows[waba.waba_id] = replace(waba, phone_number_ids=_phone_number_set(waba))
        self._tables.bump_templates_generation()  # the send path caches a WABA's phone numbers

    async def get(self, waba_id: str) -> Waba | None:
        return clone_optional(self._tables.read.wabas.get(waba_id))

    async def list_for_org(self, org_id: str) -> Sequence[Waba]:
        wabas = [waba for waba in self._tables.read.wabas.values() if waba.org_id == org_id]
        return [clone(waba) for waba in sorted(wabas, key=lambda w: w.waba_id)]

    async def save(self, waba: Waba) -> None:
        """Stores the display name and the set of phone numbers, within the WABA's own organization."""
        rows = self._tables.write().wabas
        stored = rows.get(waba.waba_id)
        if stored is None or stored.org_id != waba.org_id:
            return
        _require_free_phone_numbers(rows.values(), waba)
        rows[waba.waba_id] = replace(
            stored, display_name=waba.display_name, phone_number_ids=_phone_number_set(waba)
        )
        self._tables.bump_templates_generation()


def _phone_number_set(waba: Waba) -> tuple[str, ...]:
    return tuple(sorted(set(waba.phone_number_ids)))


def _require_free_phone_numbers(wabas: Iterable[Waba], waba: Waba) -> None:
    """Raises AlreadyExists naming the phone numbers of `waba` that another WABA holds."""
    held_elsewhere = {
        phone for other in wabas if other.waba_id != waba.waba_id for phone in other.phone_number_ids
    }
    if taken := sorted(held_elsewhere.intersection(waba.phone_number_ids)):
        raise AlreadyExists("phone_number", ", ".join(taken))
