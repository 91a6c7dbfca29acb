"""AIP-155 request ids: the outcome of the first request with an id, replayed for its repeats."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import insert_or_skip
from app.errors import AlreadyExists
from app.ports import IdempotencyRecord


class SqlIdempotencyRepository:
    def __init__(self, connection: SqlConnection) -> None:
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
            insert_or_skip(self._connection, t)
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
