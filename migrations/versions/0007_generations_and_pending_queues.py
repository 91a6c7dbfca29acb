"""The hot reads' caches check a one-row generation (store_generations); the inbox's claims walk
(state, id) indexes, so they read the head of the queue and sort nothing however long the backlog
(the old (state, received_at) and (state, next_attempt_at) indexes made them sort every PENDING
row); the template listing filtered by status has an index in its page order.

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

def upgrade() -> None:
    generations = op.create_table(
        "store_generations",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_generations")),
    )
    op.bulk_insert(generations, [{"name": "templates", "value": 0}])
    op.drop_index("ix_webhook_deliveries_state_received_at", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_changes_state_next_attempt_at", table_name="webhook_changes")
    for table in ("webhook_deliveries", "webhook_changes"):
        op.create_index(f"ix_{table}_state_id", table, ["state", "id"])
    op.create_index(
        "ix_templates_status_listing", "templates", ["org_id", "status", "display_name", "language_code", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_templates_status_listing", table_name="templates")
    for table in ("webhook_changes", "webhook_deliveries"):
        op.drop_index(f"ix_{table}_state_id", table_name=table)
    op.create_index("ix_webhook_changes_state_next_attempt_at", "webhook_changes", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_state_received_at", "webhook_deliveries", ["state", "received_at"])
    op.drop_table("store_generations")
