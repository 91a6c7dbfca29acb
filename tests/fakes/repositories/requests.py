"""What requests leave behind: AIP-155 idempotency records and the service's own secrets."""

from __future__ import annotations

from app.errors import AlreadyExists
from app.ports import IdempotencyRecord
from fakes.repositories.tables import Tables


class FakeIdempotencyRepository:
    """Records are immutable (frozen), so they are stored and handed out without copies."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, org_id: str, operation: str, request_id: str) -> IdempotencyRecord | None:
        return self._tables.read.idempotency.get((org_id, operation, request_id))

    async def add(self, record: IdempotencyRecord) -> None:
        rows = self._tables.write().idempotency
        key = (record.org_id, record.operation, record.request_id)
        if key in rows:
            raise AlreadyExists("request", record.request_id)
        rows[key] = record


class FakeSecretRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get_or_create(self, name: str, new_value: bytes) -> bytes:
        if name not in self._tables.read.secrets:
            self._tables.write().secrets[name] = new_value
        return self._tables.read.secrets[name]
