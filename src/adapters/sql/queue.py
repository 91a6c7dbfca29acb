"""Claiming work from a queue table (webhook deliveries and changes; the notification outbox next).

Claims lease rows (lease_until) rather than holding locks across transactions: the claiming
transaction commits at once, and a crashed worker's rows become claimable again when the lease
passes. On PostgreSQL the claim skips rows another worker is claiming right now (FOR UPDATE SKIP
LOCKED), so concurrent workers take disjoint batches; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.engine import SqlConnection
from adapters.sql.statements import for_update


async def claim(
    connection: SqlConnection,
    table: sa.Table,
    conditions: Sequence[sa.ColumnElement[bool]],
    *,
    lease_until: datetime,
    limit: int,
) -> list[sa.Row[Any]]:
    """Up to `limit` rows meeting `conditions`, oldest id first, leased until `lease_until`."""
    rows = await lock_due(connection, table, conditions, limit=limit)
    if rows:
        await connection.execute(
            sa.update(table).where(table.c.id.in_([row.id for row in rows])).values(lease_until=lease_until)
        )
    return rows


async def lock_due(
    connection: SqlConnection, table: sa.Table, conditions: Sequence[sa.ColumnElement[bool]], *, limit: int
) -> list[sa.Row[Any]]:
    """Up to `limit` rows meeting `conditions`, oldest id first, locked until the transaction ends
    (rows another worker holds are skipped): for work done in the same transaction, which needs no
    lease, since a crash rolls it back and frees the rows at once."""
    statement = for_update(
        connection, sa.select(table).where(*conditions).order_by(table.c.id).limit(limit), skip_locked=True
    )
    return list((await connection.execute(statement)).all())


def lease_free(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def due(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now)
