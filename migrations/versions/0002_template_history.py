"""Template history and observation state: out-of-order protection, Meta edit limits, sync flag.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("observed_at", sa.JSON(none_as_null=True), nullable=False, server_default=sa.text("'{}'")))
        batch.add_column(
            sa.Column("meta_edit_times", sa.JSON(none_as_null=True), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("needs_sync", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_templates_waba_id_meta_template_id", ["waba_id", "meta_template_id"])
    op.create_table(
        "template_history",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("aspect", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=False),
        sa.Column("to_value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name="fk_template_history_org_id_organizations"),
        sa.PrimaryKeyConstraint("seq", name="pk_template_history"),
        sa.UniqueConstraint("id", name="uq_template_history_id"),
    )
    op.create_index("ix_template_history_org_id_template_id_seq", "template_history", ["org_id", "template_id", "seq"])
    op.create_index("ix_template_history_org_id_seq", "template_history", ["org_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_template_history_org_id_seq", table_name="template_history")
    op.drop_index("ix_template_history_org_id_template_id_seq", table_name="template_history")
    op.drop_table("template_history")
    with op.batch_alter_table("templates") as batch:
        batch.drop_index("ix_templates_waba_id_meta_template_id")
        batch.drop_column("needs_sync")
        batch.drop_column("meta_edit_times")
        batch.drop_column("observed_at")
