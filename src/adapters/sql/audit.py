"""The audit log: appended, listed, never changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql import outbound_tables
from adapters.sql.engine import SqlConnection
from app.audit_ports import AuditEvent, AuditQuery

_A = outbound_tables.audit_events


class SqlAuditRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add_many(self, events: Sequence[AuditEvent]) -> None:
        if events:
            await self._connection.execute(
                sa.insert(_A),
                [
                    {
                        "id": e.id,
                        "org_id": e.org_id,
                        "actor": e.actor,
                        "action": e.action,
                        "resource": e.resource,
                        "request_id": e.request_id,
                        "outcome": e.outcome,
                        "at": e.at,
                    }
                    for e in events
                ],
            )

    async def list(self, query: AuditQuery) -> Sequence[AuditEvent]:
        conditions: list[sa.ColumnElement[bool]] = [_A.c.org_id == query.org_id]
        for column, value in (
            (_A.c.actor, query.actor),
            (_A.c.action, query.action),
            (_A.c.resource, query.resource),
        ):
            if value:
                conditions.append(column == value)
        if query.since is not None:
            conditions.append(_A.c.at >= query.since)
        if query.until is not None:
            conditions.append(_A.c.at < query.until)
        if query.after is not None:
            conditions.append(sa.tuple_(_A.c.at, _A.c.id) < sa.tuple_(*query.after))
        rows = await self._connection.execute(
            sa.select(_A).where(*conditions).order_by(_A.c.at.desc(), _A.c.id.desc()).limit(query.limit)
        )
        return [_event(row) for row in rows]


def _event(row: sa.Row[Any]) -> AuditEvent:
    return AuditEvent(
        row.id, row.org_id, row.actor, row.action, row.resource, row.request_id, row.outcome, row.at
    )
