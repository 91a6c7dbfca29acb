"""Campaigns (state, history, audience) and each organization's campaign policy.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
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
        "campaigns",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("phone_number_id", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("language_code", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("pause_reason", sa.String(), nullable=True),
        sa.Column("scheduled_at", _timestamp(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("request_fingerprint", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_campaigns_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("uq_campaigns_org_id_request_id", "campaigns", ["org_id", "request_id"], unique=True)
    op.create_index("ix_campaigns_org_id_created_at_id", "campaigns", ["org_id", "created_at", "id"])
    op.create_index("ix_campaigns_state_listing", "campaigns", ["org_id", "state", "created_at", "id"])
    op.create_index("ix_campaigns_template_listing", "campaigns", ["org_id", "template_id", "created_at", "id"])
    op.create_index("ix_campaigns_template_id_state", "campaigns", ["template_id", "state"])
    op.create_table(
        "campaign_transitions",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_campaign_transitions")),
    )
    op.create_index("ix_campaign_transitions_campaign_id_seq", "campaign_transitions", ["campaign_id", "seq"])
    op.create_table(
        "campaign_audience",
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "contact", name=op.f("pk_campaign_audience")),
    )
    op.create_table(
        "organization_settings",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("pause_on_quality_red", sa.Boolean(), nullable=False),
        sa.Column("pause_on_marketing_category", sa.Boolean(), nullable=False),
        sa.Column("auto_resume", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_organization_settings_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_organization_settings")),
    )


def downgrade() -> None:
    op.drop_table("organization_settings")
    op.drop_table("campaign_audience")
    op.drop_table("campaign_transitions")
    op.drop_table("campaigns")
