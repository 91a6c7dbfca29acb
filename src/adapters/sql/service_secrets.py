"""Secrets the service makes for itself once and every replica shares (e.g. the page-token key)."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import insert_or_skip


class SqlSecretRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def get_or_create(self, name: str, new_value: bytes) -> bytes:
        t = tables.service_secrets
        # Two replicas starting together both insert; the loser's row is skipped and both then
        # read the winner's value, so every replica ends up with the same secret.
        await self._connection.execute(
            insert_or_skip(self._connection, t).values(name=name, value=new_value).on_conflict_do_nothing()
        )
        value = (await self._connection.execute(sa.select(t.c.value).where(t.c.name == name))).scalar_one()
        return bytes(value)
