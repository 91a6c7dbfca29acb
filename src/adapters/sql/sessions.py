"""The dashboard's sign-in sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from adapters.sql import outbound_tables
from adapters.sql.engine import SqlConnection
from app.dashboard_ports import DashboardSession

_S = outbound_tables.dashboard_sessions


class SqlSessionRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, session: DashboardSession) -> None:
        await self._connection.execute(
            sa.insert(_S).values(
                id_hash=session.id_hash,
                key_hash=session.key_hash,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                expires_at=session.expires_at,
            )
        )

    async def get(self, id_hash: str) -> DashboardSession | None:
        row = (await self._connection.execute(sa.select(_S).where(_S.c.id_hash == id_hash))).first()
        if row is None:
            return None
        return DashboardSession(
            id_hash=row.id_hash,
            key_hash=row.key_hash,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def delete(self, id_hash: str) -> None:
        await self._connection.execute(sa.delete(_S).where(_S.c.id_hash == id_hash))

    async def delete_expired(self, now: datetime) -> int:
        result = await self._connection.execute(sa.delete(_S).where(_S.c.expires_at <= now))
        return int(result.rowcount or 0)
