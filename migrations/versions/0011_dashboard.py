"""The dashboard: its sign-in sessions, and an index for its quality trends.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id_hash", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])
    # The quality trends read an organization's quality changes of the last 30 days.
    op.create_index(
        "ix_template_events_org_id_aspect_occurred_at", "template_events", ["org_id", "aspect", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_template_events_org_id_aspect_occurred_at", table_name="template_events")
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
