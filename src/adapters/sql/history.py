"""Template history: immutable entries in one global sequence (the cursor of live streams)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import tables
from app.ports import HistoryRecord
from domain.history import Aspect, ChangeSource, HistoryEntry, Outcome
from domain.templates import Template

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
                    "template_name": template.name,
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
