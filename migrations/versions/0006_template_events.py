"""The history table is `template_events`: one word for a history entry across domain, API and
database. The rows are copied with their sequence numbers (live streams resume by them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "seq, id, org_id, template_id, waba_id, template_name, aspect, source, outcome, from_value, "
    "to_value, reason, occurred_at, received_at, details"
)


def _create(name: str) -> None:
    op.create_table(
        name,
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
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=f"fk_{name}_org_id_organizations"),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint("id", name=f"uq_{name}_id"),
    )
    op.create_index(f"ix_{name}_org_id_template_id_seq", name, ["org_id", "template_id", "seq"])
    op.create_index(f"ix_{name}_org_id_seq", name, ["org_id", "seq"])


def _move(source: str, target: str) -> None:
    _create(target)
    op.execute(f"INSERT INTO {target} ({_COLUMNS}) SELECT {_COLUMNS} FROM {source}")  # noqa: S608 - fixed names
    if op.get_bind().dialect.name == "postgresql":
        # The copied sequence numbers were given explicitly: the new sequence continues after them.
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{target}', 'seq'), "  # noqa: S608 - fixed names
            f"COALESCE((SELECT max(seq) FROM {target}), 0) + 1, false)"
        )
    op.drop_index(f"ix_{source}_org_id_seq", table_name=source)
    op.drop_index(f"ix_{source}_org_id_template_id_seq", table_name=source)
    op.drop_table(source)


def upgrade() -> None:
    _move("template_history", "template_events")


def downgrade() -> None:
    _move("template_events", "template_history")
