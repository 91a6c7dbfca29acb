"""The audit log: appended, listed, never changed."""

from __future__ import annotations

from collections.abc import Sequence

from app.audit_ports import AuditEvent, AuditQuery
from fakes.repositories.tables import Tables, require_new_id


class FakeAuditRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add_many(self, events: Sequence[AuditEvent]) -> None:
        rows = self._tables.write().audit
        for event in events:
            require_new_id(rows, event.id, "audit event")
            rows[event.id] = event  # frozen: stored as is

    async def list(self, query: AuditQuery) -> Sequence[AuditEvent]:
        found = [
            e
            for e in self._tables.read.audit.values()
            if e.org_id == query.org_id
            and (not query.actor or e.actor == query.actor)
            and (not query.action or e.action == query.action)
            and (not query.resource or e.resource == query.resource)
            and (query.since is None or e.at >= query.since)
            and (query.until is None or e.at < query.until)
            and (query.after is None or (e.at, e.id) < query.after)
        ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return found[: query.limit]
