"""Notification channels, the notification outbox, and the audit log.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ordered_text() -> sa.types.TypeEngine[str]:
    # Code-point ordering on PostgreSQL too, as in adapters.sql.tables.ordered_text (a migration
    # keeps its own copy: it must not change when the application's code does).
    return sa.String().with_variant(postgresql.VARCHAR(collation="C"), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("targets", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("min_severity", sa.Integer(), nullable=False),
        sa.Column("muted", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("signing_secret", sa.String(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_notification_channels_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    op.create_index("ix_notification_channels_org_id", "notification_channels", ["org_id"])
    op.create_table(
        "notifications",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("content", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=True),
        sa.Column("lease_until", _timestamp(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("sent_at", _timestamp(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_notifications_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    op.create_index("ix_notifications_state_next_attempt_at", "notifications", ["state", "next_attempt_at"])
    op.create_index("ix_notifications_org_id_created_at_id", "notifications", ["org_id", "created_at", "id"])
    op.create_index("ix_notifications_state_listing", "notifications", ["org_id", "state", "created_at", "id"])


    op.create_table(
        "audit_events",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_org_id_at_id", "audit_events", ["org_id", "at", "id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("notifications")
    op.drop_table("notification_channels")
