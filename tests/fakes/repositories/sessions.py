"""The dashboard's sessions, in memory."""

from __future__ import annotations

from datetime import datetime

from app.dashboard_ports import DashboardSession
from fakes.repositories.tables import Tables, require_new_id


class FakeSessionRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, session: DashboardSession) -> None:
        rows = self._tables.write().sessions
        require_new_id(rows, session.id_hash, "dashboard session")
        rows[session.id_hash] = session  # frozen: stored as is

    async def get(self, id_hash: str) -> DashboardSession | None:
        return self._tables.read.sessions.get(id_hash)

    async def delete(self, id_hash: str) -> None:
        self._tables.write().sessions.pop(id_hash, None)

    async def delete_expired(self, now: datetime) -> int:
        rows = self._tables.write().sessions
        expired = [key for key, session in rows.items() if session.expires_at <= now]
        for key in expired:
            del rows[key]
        return len(expired)
