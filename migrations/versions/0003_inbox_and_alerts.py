"""Webhook inbox (deliveries and their changes) and template health alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ordered_text() -> sa.types.TypeEngine[str]:
    # Code-point ordering on PostgreSQL too, as in adapters.sql.tables.ordered_text (a migration
    # keeps its own copy: it must not change when the application's tables module does).
    return sa.String().with_variant(postgresql.VARCHAR(collation="C"), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", _timestamp(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("lease_until", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_state_received_at", "webhook_deliveries", ["state", "received_at"])
    op.create_table(
        "webhook_changes",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("entry_time", _timestamp(), nullable=True),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("received_at", _timestamp(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=True),
        sa.Column("lease_until", _timestamp(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("processed_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_changes")),
        sa.UniqueConstraint("key", name=op.f("uq_webhook_changes_key")),
    )
    op.create_index(
        "ix_webhook_changes_state_next_attempt_at", "webhook_changes", ["state", "next_attempt_at"]
    )
    op.create_index("ix_webhook_changes_waba_id_state", "webhook_changes", ["waba_id", "state"])
    op.create_table(
        "alerts",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", _timestamp(), nullable=False),
        sa.Column("last_seen_at", _timestamp(), nullable=False),
        sa.Column("acknowledged_at", _timestamp(), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=False),
        sa.Column("resolved_at", _timestamp(), nullable=True),
        # 1 while active, NULL once resolved: see adapters.sql.tables.alerts.
        sa.Column("active_marker", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(state = 'RESOLVED' AND active_marker IS NULL) OR (state <> 'RESOLVED' AND active_marker = 1)",
            name=op.f("ck_alerts_active_marker"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_alerts_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    # One active alert per (template, kind): NULL markers (resolved alerts) never collide.
    op.create_index(
        "uq_alerts_template_id_kind_active_marker",
        "alerts",
        ["template_id", "kind", "active_marker"],
        unique=True,
    )
    op.create_index("ix_alerts_org_id_state_severity", "alerts", ["org_id", "state", "severity"])
    op.create_index("ix_alerts_template_id_state", "alerts", ["template_id", "state"])
    op.create_index("ix_alerts_org_id_opened_at_id", "alerts", ["org_id", "opened_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_org_id_opened_at_id", table_name="alerts")
    op.drop_index("ix_alerts_template_id_state", table_name="alerts")
    op.drop_index("ix_alerts_org_id_state_severity", table_name="alerts")
    op.drop_index("uq_alerts_template_id_kind_active_marker", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_webhook_changes_waba_id_state", table_name="webhook_changes")
    op.drop_index("ix_webhook_changes_state_next_attempt_at", table_name="webhook_changes")
    op.drop_table("webhook_changes")
    op.drop_index("ix_webhook_deliveries_state_received_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
