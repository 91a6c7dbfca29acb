"""The send guard: conversation windows (from inbound `messages` webhooks) and outbound message
records (written before Meta is called, moved along by `statuses` webhooks).

The `messages` changes earlier versions stored as SKIPPED are made PENDING again, so the inbox worker
applies them: windows and statuses come out as if this version had been running all along (Meta's
timestamps drive both, so the late replay orders them correctly).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _ordered_text() -> sa.types.TypeEngine[str]:
    # Code-point ordering on PostgreSQL too, as in adapters.sql.tables.ordered_text (a migration
    # keeps its own copy: it must not change when the application's code does).
    return sa.String().with_variant(postgresql.VARCHAR(collation="C"), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


SKIPPED_BEFORE = "field 'messages' is not handled by this version"


def upgrade() -> None:
    op.create_table(
        "conversation_windows",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("phone_number_id", sa.String(), nullable=False),
        sa.Column("wa_id", sa.String(), nullable=True),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("last_inbound_at", _timestamp(), nullable=True),
        sa.Column("last_inbound_message_id", sa.String(), nullable=False),
        sa.Column("closed_by_meta_at", _timestamp(), nullable=True),
        sa.Column("referral_at", _timestamp(), nullable=True),
        sa.Column("referral_source_id", sa.String(), nullable=False),
        sa.Column("free_entry_opened_at", _timestamp(), nullable=True),
        sa.Column("last_system_at", _timestamp(), nullable=True),
        sa.Column("last_system_type", sa.String(), nullable=False),
        sa.Column("last_system_body", sa.Text(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_conversation_windows_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_windows")),
    )
    op.create_index(
        "uq_conversation_windows_wa_id", "conversation_windows", ["org_id", "phone_number_id", "wa_id"], unique=True
    )
    op.create_index(
        "uq_conversation_windows_user_id",
        "conversation_windows",
        ["org_id", "phone_number_id", "user_id"],
        unique=True,
    )
    op.create_table(
        "messages",
        sa.Column("id", _ordered_text(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("waba_id", sa.String(), nullable=False),
        sa.Column("phone_number_id", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("language_code", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("parameter_values", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("request_fingerprint", sa.String(), nullable=False),
        sa.Column("callback_data", sa.Text(), nullable=False),
        sa.Column("wamid", sa.String(), nullable=True),
        sa.Column("wa_id", sa.String(), nullable=False),
        sa.Column("meta_message_status", sa.String(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("status_at", _timestamp(), nullable=True),
        sa.Column("sent_at", _timestamp(), nullable=True),
        sa.Column("delivered_at", _timestamp(), nullable=True),
        sa.Column("read_at", _timestamp(), nullable=True),
        sa.Column("failed_at", _timestamp(), nullable=True),
        sa.Column("pricing_billable", sa.Boolean(), nullable=True),
        sa.Column("pricing_model", sa.String(), nullable=False),
        sa.Column("pricing_type", sa.String(), nullable=False),
        sa.Column("pricing_category", sa.String(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_messages_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index("uq_messages_org_id_request_id", "messages", ["org_id", "request_id"], unique=True)
    op.create_index("uq_messages_org_id_wamid", "messages", ["org_id", "wamid"], unique=True)
    op.create_index("ix_messages_org_id_created_at_id", "messages", ["org_id", "created_at", "id"])
    op.create_index("ix_messages_contact_listing", "messages", ["org_id", "contact", "created_at", "id"])
    op.create_index("ix_messages_template_listing", "messages", ["org_id", "template_id", "created_at", "id"])
    op.create_index("ix_messages_status_listing", "messages", ["org_id", "status", "created_at", "id"])
    op.create_index("ix_messages_outcome_listing", "messages", ["org_id", "outcome", "created_at", "id"])
    op.create_index("ix_messages_outcome_created_at", "messages", ["outcome", "created_at"])
    # Moved when Meta closes a window early (131047): the window caches of every process check it.
    op.execute(sa.text("INSERT INTO store_generations (name, value) VALUES ('windows', 0)"))
    # What earlier versions skipped is applied now (see the module's docstring).
    op.execute(
        sa.text(
            "UPDATE webhook_changes SET state = 'PENDING', attempts = 0, next_attempt_at = NULL, "
            "lease_until = NULL, last_error = '', processed_at = NULL "
            "WHERE field = 'messages' AND state = 'SKIPPED'"
        )
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE webhook_changes SET state = 'SKIPPED', last_error = :reason "
            "WHERE field = 'messages' AND state IN ('PENDING', 'DONE')"
        ).bindparams(reason=SKIPPED_BEFORE)
    )
    op.execute(sa.text("DELETE FROM store_generations WHERE name = 'windows'"))
    op.drop_table("messages")
    op.drop_table("conversation_windows")
