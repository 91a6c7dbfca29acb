"""Template events (each template's history): immutable, in one global sequence, the cursor of
live streams."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection
from app.ports import StoredTemplateEvent
from domain.events import TemplateEvent, template_event
from domain.observations import Aspect, ChangeSource, Outcome

# An arbitrary application-wide key for pg_advisory_xact_lock ("watemplates history", as digits).
HISTORY_WRITE_LOCK = 7_761_290_441


class SqlTemplateEventRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, events: Sequence[TemplateEvent]) -> None:
        if not events:
            return
        await self.reserve()
        await self._connection.execute(
            sa.insert(tables.template_events),
            [
                {
                    "id": event.id,
                    "org_id": event.org_id,
                    "template_id": event.template_id,
                    "waba_id": event.waba_id,
                    "template_name": event.template_name,
                    "aspect": event.aspect.value,
                    "source": event.source.value,
                    "outcome": event.outcome.value,
                    "from_value": event.from_value,
                    "to_value": event.to_value,
                    "reason": event.reason,
                    "occurred_at": event.occurred_at,
                    "received_at": event.received_at,
                    "details": dict(event.details),
                }
                for event in events
            ],
        )

    async def list_for_template(
        self, org_id: str, template_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        e = tables.template_events
        return await self._select(
            e.c.org_id == org_id, e.c.template_id == template_id, e.c.seq > after_seq, limit=limit
        )

    async def list_for_org(
        self, org_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        e = tables.template_events
        return await self._select(e.c.org_id == org_id, e.c.seq > after_seq, limit=limit)

    async def reserve(self) -> None:
        if self._connection.dialect.name == "postgresql":
            # Sequence values are taken at insert but become visible at commit, so two concurrent
            # writers could commit out of seq order and a live stream reading "seq > cursor" would
            # skip the slower one's events. Serializing event writers until commit makes the
            # visible order the seq order (SQLite already serializes every writer). The lock is
            # held to the end of the transaction; taking it again in the same one is a no-op.
            await self._connection.execute(sa.select(sa.func.pg_advisory_xact_lock(HISTORY_WRITE_LOCK)))

    async def last_seq(self, org_id: str) -> int:
        e = tables.template_events
        found = (
            await self._connection.execute(sa.select(sa.func.max(e.c.seq)).where(e.c.org_id == org_id))
        ).scalar()
        return int(found or 0)

    async def applied_since(
        self, org_id: str, aspect: Aspect, since: datetime, *, limit: int
    ) -> Sequence[StoredTemplateEvent]:
        e = tables.template_events
        return await self._select(
            e.c.org_id == org_id,
            e.c.aspect == aspect.value,
            e.c.outcome == Outcome.APPLIED.value,
            e.c.occurred_at >= since,
            limit=limit,
            order=(e.c.occurred_at, e.c.seq),
        )

    async def _select(
        self,
        *conditions: sa.ColumnElement[bool],
        limit: int,
        order: tuple[sa.ColumnElement[Any], ...] = (),
    ) -> list[StoredTemplateEvent]:
        e = tables.template_events
        rows = await self._connection.execute(
            sa.select(e).where(*conditions).order_by(*(order or (e.c.seq,))).limit(limit)
        )
        return [
            StoredTemplateEvent(
                seq=row.seq,
                event=template_event(
                    Aspect(row.aspect),
                    id=row.id,
                    template_id=row.template_id,
                    org_id=row.org_id,
                    waba_id=row.waba_id,
                    template_name=row.template_name,
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
