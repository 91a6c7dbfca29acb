"""The schema, as SQLAlchemy Core tables: one definition for SQLite and PostgreSQL.

Domain classes are never mapped onto these tables; repositories translate rows explicitly, so the
domain stays free of persistence concerns. Alembic (migrations/) owns how the schema evolves; a
test checks that the migrated schema equals this metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime on the way in and on the way out.

    SQLite has no time zone type: it stores the wall clock and hands back a naive value, so an
    aware non-UTC value would silently shift. Normalising to UTC on write and re-attaching UTC on
    read makes both dialects return the same aware value.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def ordered_text() -> sa.types.TypeEngine[str]:
    """Text compared by code point on both dialects.

    Keyset paging and prefix filters compare these columns; SQLite compares bytes (BINARY), while
    PostgreSQL would use the database's linguistic collation (en_US ignores punctuation, sorts
    case-insensitively first). The "C" collation makes PostgreSQL agree with SQLite, so a page
    boundary means the same thing everywhere.
    """
    return sa.String().with_variant(postgresql.VARCHAR(collation="C"), "postgresql")


def json_document() -> sa.types.TypeEngine[Any]:
    # Postgres JSONB would reorder keys and costs a parse on insert; the adapter never queries
    # inside these documents, so the portable JSON type is enough.
    return sa.JSON(none_as_null=True)


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("slug", sa.String(), nullable=False, unique=True),
    sa.Column("display_name", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
    # Role name ("viewer", "operator", "admin"), not the IntEnum's number: readable in SQL and
    # independent of the ordering the domain gives the roles.
    sa.Column("role", sa.String(), nullable=False),
    sa.Column("key_hash", sa.String(), nullable=False, unique=True),
    sa.Column("prefix", sa.String(), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
)

wabas = sa.Table(
    "wabas",
    metadata,
    # Meta's WhatsApp Business Account id: a WABA belongs to exactly one organization.
    sa.Column("waba_id", sa.String(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
    sa.Column("display_name", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

waba_phone_numbers = sa.Table(
    "waba_phone_numbers",
    metadata,
    # The primary key makes a phone number belong to one WABA globally, so a webhook for a phone
    # number resolves to exactly one organization.
    sa.Column("phone_number_id", sa.String(), primary_key=True),
    sa.Column("waba_id", sa.String(), sa.ForeignKey("wabas.waba_id"), nullable=False, index=True),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", ordered_text(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("waba_id", sa.String(), sa.ForeignKey("wabas.waba_id"), nullable=False),
    sa.Column("display_name", ordered_text(), nullable=False),
    sa.Column("language_code", ordered_text(), nullable=False),
    # Enums are stored as their string values in plain text columns: Meta adds statuses and
    # categories over time and a database enum would need a migration for each.
    sa.Column("category", sa.String(), nullable=True),
    sa.Column("parameter_format", sa.String(), nullable=False),
    sa.Column("components", json_document(), nullable=False),
    sa.Column("parameters", json_document(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("raw_status", sa.String(), nullable=False),
    sa.Column("quality", sa.String(), nullable=False),
    sa.Column("rejection_reason", sa.Text(), nullable=False),
    sa.Column("meta_template_id", sa.String(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # {aspect: ISO time of the last applied observation}; guards against out-of-order webhooks.
    sa.Column("observed_at", json_document(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("meta_edit_times", json_document(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("needs_sync", sa.Boolean(), nullable=False, server_default=sa.false()),
    # When a change was sent to Meta whose answer is not recorded yet (see Template.needs_sync).
    sa.Column("meta_call_started_at", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("org_id", "waba_id", "display_name", "language_code"),
    # Webhooks and send errors name templates by Meta's id within a WABA.
    sa.Index("ix_templates_waba_id_meta_template_id", "waba_id", "meta_template_id"),
    # Keyset listing orders by (display_name, language_code, id); these let both the per-WABA and
    # the whole-organization listing walk an index instead of sorting. id breaks ties between WABAs.
    sa.Index("ix_templates_org_listing", "org_id", "display_name", "language_code", "id"),
    sa.Index("ix_templates_waba_listing", "org_id", "waba_id", "display_name", "language_code", "id"),
    # The listing filtered by a status ("what is paused?") walks the matching rows only, in page
    # order, however rare the status is among the organization's templates.
    sa.Index("ix_templates_status_listing", "org_id", "status", "display_name", "language_code", "id"),
)

template_events = sa.Table(
    "template_events",
    metadata,
    # A global, increasing sequence: the order of history and the cursor of live event streams.
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("id", sa.String(), nullable=False, unique=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    # No foreign key to templates: history outlives a deleted template.
    sa.Column("template_id", sa.String(), nullable=False),
    sa.Column("waba_id", sa.String(), nullable=False),
    sa.Column("template_name", sa.String(), nullable=False),
    sa.Column("aspect", sa.String(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("from_value", sa.Text(), nullable=False),
    sa.Column("to_value", sa.Text(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("details", json_document(), nullable=False),
    sa.Index("ix_template_events_org_id_template_id_seq", "org_id", "template_id", "seq"),
    sa.Index("ix_template_events_org_id_seq", "org_id", "seq"),
    # The dashboard's quality trends: an organization's changes of one aspect since a time.
    sa.Index("ix_template_events_org_id_aspect_occurred_at", "org_id", "aspect", "occurred_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("operation", sa.String(), primary_key=True),
    sa.Column("request_id", sa.String(), primary_key=True),
    sa.Column("request_fingerprint", sa.String(), nullable=False),
    sa.Column("resource_id", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

service_secrets = sa.Table(
    "service_secrets",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("value", sa.LargeBinary(), nullable=False),
)

# What the hot reads' in-process caches check (app.template_cache): one row per kind of cached data,
# its value bumped in every transaction that changes such data, so any process learns of a change
# with a one-row read.
store_generations = sa.Table(
    "store_generations",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

# ---- webhook inbox ------------------------------------------------------------------------------
# Meta's webhooks are stored verbatim before they are answered, then split and applied by workers.
# Workers claim rows by leasing them (lease_until): a worker that dies leaves its rows claimable again
# once the lease passes, and nothing ever waits on a crashed process.

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    # Time-ordered ids: claiming in id order processes deliveries in the order they arrived.
    sa.Column("id", ordered_text(), primary_key=True),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    # A delivery that failed to split waits until next_attempt_at; the others flow past it.
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    # Claims take PENDING rows in id order: walking (state, id) reads the head of the queue and
    # sorts nothing, however long the backlog and however many settled rows the table keeps.
    sa.Index("ix_webhook_deliveries_state_id", "state", "id"),
)

webhook_changes = sa.Table(
    "webhook_changes",
    metadata,
    # "{delivery_id}-{index:04d}": ordered like the deliveries, then by position in the delivery.
    sa.Column("id", ordered_text(), primary_key=True),
    # No foreign key: a change is the unit of work and of replay, and must not pin its delivery.
    sa.Column("delivery_id", sa.String(), nullable=False),
    # The idempotency key: the same change delivered twice (Meta retries) is stored once.
    sa.Column("key", sa.String(), nullable=False, unique=True),
    sa.Column("waba_id", sa.String(), nullable=False),
    sa.Column("field", sa.String(), nullable=False),
    sa.Column("entry_time", UtcDateTime(), nullable=True),
    sa.Column("value", json_document(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("processed_at", UtcDateTime(), nullable=True),
    # Claims take due PENDING changes in id order (and the inbox lists by state in id order): walking
    # (state, id) reads the head of the queue and sorts nothing, however long the backlog.
    # Registering a WABA releases its PARKED changes.
    sa.Index("ix_webhook_changes_state_id", "state", "id"),
    sa.Index("ix_webhook_changes_waba_id_state", "waba_id", "state"),
)

# ---- alerts -------------------------------------------------------------------------------------

alerts = sa.Table(
    "alerts",
    metadata,
    # ordered_text: (opened_at, id) is the keyset of the newest-first listing.
    sa.Column("id", ordered_text(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    # No foreign key to templates: like history, an alert outlives a deleted template.
    sa.Column("template_id", sa.String(), nullable=False),
    sa.Column("waba_id", sa.String(), nullable=False),
    sa.Column("template_name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    # The Severity number, so "at least HIGH" and "most urgent first" are plain comparisons.
    sa.Column("severity", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
    sa.Column("acknowledged_by", sa.String(), nullable=False),
    sa.Column("resolved_at", UtcDateTime(), nullable=True),
    # 1 while the alert is active (OPEN or ACKNOWLEDGED), NULL once RESOLVED. With the unique index
    # below it allows one active alert per (template, kind) and any number of resolved ones, because
    # NULLs never collide in a unique index on either dialect: a portable partial unique index
    # (SQLite and PostgreSQL both have WHERE-indexes, but Alembic compares and reflects those poorly).
    sa.Column("active_marker", sa.Integer(), nullable=True),
    sa.CheckConstraint(
        "(state = 'RESOLVED' AND active_marker IS NULL) OR (state <> 'RESOLVED' AND active_marker = 1)",
        name="active_marker",
    ),
    sa.Index("uq_alerts_template_id_kind_active_marker", "template_id", "kind", "active_marker", unique=True),
    sa.Index("ix_alerts_org_id_state_severity", "org_id", "state", "severity"),
    sa.Index("ix_alerts_template_id_state", "template_id", "state"),
    # The newest-first listing walks this index backwards.
    sa.Index("ix_alerts_org_id_opened_at_id", "org_id", "opened_at", "id"),
)

# ---- conversations and messages -----------------------------------------------------------------

conversation_windows = sa.Table(
    "conversation_windows",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("phone_number_id", sa.String(), nullable=False),
    # The contact's ids: NULL when unknown, so the unique indexes below allow any number of
    # windows known by the other id only (NULLs never collide in a unique index).
    sa.Column("wa_id", sa.String(), nullable=True),
    sa.Column("user_id", sa.String(), nullable=True),
    sa.Column("last_inbound_at", UtcDateTime(), nullable=True),
    sa.Column("last_inbound_message_id", sa.String(), nullable=False),
    sa.Column("closed_by_meta_at", UtcDateTime(), nullable=True),
    sa.Column("referral_at", UtcDateTime(), nullable=True),
    sa.Column("referral_source_id", sa.String(), nullable=False),
    sa.Column("free_entry_opened_at", UtcDateTime(), nullable=True),
    sa.Column("last_system_at", UtcDateTime(), nullable=True),
    sa.Column("last_system_type", sa.String(), nullable=False),
    sa.Column("last_system_body", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("uq_conversation_windows_wa_id", "org_id", "phone_number_id", "wa_id", unique=True),
    sa.Index("uq_conversation_windows_user_id", "org_id", "phone_number_id", "user_id", unique=True),
)

messages = sa.Table(
    "messages",
    metadata,
    # Time-ordered ids; (created_at, id) is the keyset of the newest-first listing.
    sa.Column("id", ordered_text(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("waba_id", sa.String(), nullable=False),
    sa.Column("phone_number_id", sa.String(), nullable=False),
    # The recipient: digits of the number sent to, or Meta's recipient id.
    sa.Column("contact", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    # No foreign key to templates: a record outlives a deleted template.
    sa.Column("template_id", sa.String(), nullable=False),
    sa.Column("template_name", sa.String(), nullable=False),
    sa.Column("language_code", sa.String(), nullable=False),
    sa.Column("category", sa.String(), nullable=False),
    sa.Column("parameter_values", json_document(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    # NULL without one; unique per organization: the same request_id never sends twice.
    sa.Column("request_id", sa.String(), nullable=True),
    sa.Column("request_fingerprint", sa.String(), nullable=False),
    sa.Column("callback_data", sa.Text(), nullable=False),
    # Meta's message id; NULL until Meta gives one.
    sa.Column("wamid", sa.String(), nullable=True),
    sa.Column("wa_id", sa.String(), nullable=False),
    sa.Column("meta_message_status", sa.String(), nullable=False),
    sa.Column("error_code", sa.Integer(), nullable=True),
    sa.Column("error_title", sa.Text(), nullable=False),
    sa.Column("status", sa.String(), nullable=True),
    sa.Column("status_at", UtcDateTime(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("delivered_at", UtcDateTime(), nullable=True),
    sa.Column("read_at", UtcDateTime(), nullable=True),
    sa.Column("failed_at", UtcDateTime(), nullable=True),
    sa.Column("pricing_billable", sa.Boolean(), nullable=True),
    sa.Column("pricing_model", sa.String(), nullable=False),
    sa.Column("pricing_type", sa.String(), nullable=False),
    sa.Column("pricing_category", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("uq_messages_org_id_request_id", "org_id", "request_id", unique=True),
    sa.Index("uq_messages_org_id_wamid", "org_id", "wamid", unique=True),
    # Newest first, whole organization or filtered: each walks its index backwards.
    sa.Index("ix_messages_org_id_created_at_id", "org_id", "created_at", "id"),
    sa.Index("ix_messages_contact_listing", "org_id", "contact", "created_at", "id"),
    sa.Index("ix_messages_template_listing", "org_id", "template_id", "created_at", "id"),
    sa.Index("ix_messages_status_listing", "org_id", "status", "created_at", "id"),
    sa.Index("ix_messages_outcome_listing", "org_id", "outcome", "created_at", "id"),
    # The sweep of sends whose process died before Meta answered (outcome SENDING, oldest first).
    sa.Index("ix_messages_outcome_created_at", "outcome", "created_at"),
)


# The campaign, notification and audit tables live in outbound_tables; importing it here registers
# them on `metadata`, so whoever reads the schema from this module (Alembic, the schema test) has it
# all. At the end: that module builds on the names above.
from adapters.sql import outbound_tables  # noqa: E402, F401
