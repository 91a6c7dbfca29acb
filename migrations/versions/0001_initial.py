"""Initial schema: organizations, API keys, WABAs and phone numbers, templates, idempotency keys,
service secrets.

Revision ID: 0001
Revises:
Create Date: 2025-11-26 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
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
        "organizations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("revoked_at", _timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_api_keys_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_org_id"), "api_keys", ["org_id"])
    op.create_table(
        "wabas",
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_wabas_org_id_organizations")),
        sa.PrimaryKeyConstraint("waba_id", name=op.f("pk_wabas")),
    )
    op.create_index(op.f("ix_wabas_org_id"), "wabas", ["org_id"])
    op.create_table(
        "waba_phone_numbers",
        sa.Column("phone_number_id", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["waba_id"], ["wabas.waba_id"], name=op.f("fk_waba_phone_numbers_waba_id_wabas")
        ),
        sa.PrimaryKeyConstraint("phone_number_id", name=op.f("pk_waba_phone_numbers")),
    )
    op.create_index(op.f("ix_waba_phone_numbers_waba_id"), "waba_phone_numbers", ["waba_id"])
    op.create_table(
        "templates",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("display_name", _ordered_text(), nullable=False),
        sa.Column("language_code", _ordered_text(), nullable=False),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("parameter_format", sa.String(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("raw_status", sa.String(), nullable=False),
        sa.Column("quality", sa.String(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("meta_template_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_templates_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(["waba_id"], ["wabas.waba_id"], name=op.f("fk_templates_waba_id_wabas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint(
            "org_id",
            "waba_id",
            "display_name",
            "language_code",
            name=op.f("uq_templates_org_id_waba_id_display_name_language_code"),
        ),
    )
    op.create_index(
        "ix_templates_org_listing", "templates", ["org_id", "display_name", "language_code", "id"]
    )
    op.create_index(
        "ix_templates_waba_listing",
        "templates",
        ["org_id", "waba_id", "display_name", "language_code", "id"],
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("request_fingerprint", sa.String(), nullable=False),
        sa.Column("resource_id", sa.String(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_idempotency_keys_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", "operation", "request_id", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_secrets")),
    )


def downgrade() -> None:
    op.drop_table("service_secrets")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_templates_waba_listing", table_name="templates")
    op.drop_index("ix_templates_org_listing", table_name="templates")
    op.drop_table("templates")
    op.drop_index(op.f("ix_waba_phone_numbers_waba_id"), table_name="waba_phone_numbers")
    op.drop_table("waba_phone_numbers")
    op.drop_index(op.f("ix_wabas_org_id"), table_name="wabas")
    op.drop_table("wabas")
    op.drop_index(op.f("ix_api_keys_org_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("organizations")
