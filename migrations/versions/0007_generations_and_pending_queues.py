"""The hot reads' caches check a one-row generation (store_generations); the inbox claims read
partial indexes of PENDING rows, so they stay flat however many settled rows the tables keep; the
template listing filtered by status has an index in its page order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("state = 'PENDING'")


def upgrade() -> None:
    generations = op.create_table(
        "store_generations",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_generations")),
    )
    op.bulk_insert(generations, [{"name": "templates", "value": 0}])
    for table in ("webhook_deliveries", "webhook_changes"):
        op.create_index(
            f"ix_{table}_pending_id", table, ["id"], sqlite_where=_PENDING, postgresql_where=_PENDING
        )
    op.create_index(
        "ix_templates_status_listing", "templates", ["org_id", "status", "display_name", "language_code", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_templates_status_listing", table_name="templates")
    for table in ("webhook_changes", "webhook_deliveries"):
        op.drop_index(f"ix_{table}_pending_id", table_name=table)
    op.drop_table("store_generations")
