"""Statement shapes both dialects need but spell differently."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.engine import SqlConnection


def insert_or_skip(connection: SqlConnection, table: sa.Table) -> Any:
    """INSERT that can say ON CONFLICT DO NOTHING on either dialect.

    Skipping the conflicting row, rather than catching IntegrityError, keeps the transaction
    usable: on PostgreSQL a failed statement aborts the whole transaction.
    """
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def for_update(connection: SqlConnection, statement: sa.Select[Any], *, skip_locked: bool = False) -> Any:
    """SELECT ... FOR UPDATE [SKIP LOCKED] on PostgreSQL; the plain SELECT on SQLite, where the unit
    of work's BEGIN IMMEDIATE already makes every read-write transaction the only writer."""
    if connection.dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=skip_locked)
    return statement
