"""The schema of what the service does on a template's behalf: campaigns (and their history and
audience), the organization's campaign policy, notification channels and the notification outbox,
and the audit log. One `metadata` with adapters.sql.tables (which imports this module)."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql.tables import UtcDateTime, json_document, metadata, ordered_text

# ---- campaigns ----------------------------------------------------------------------------------

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", ordered_text(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("waba_id", sa.String(), nullable=False),
    sa.Column("phone_number_id", sa.String(), nullable=False),
    # No foreign key: a campaign outlives its template (its history says what happened).
    sa.Column("template_id", sa.String(), nullable=False),
    sa.Column("template_name", sa.String(), nullable=False),
    sa.Column("language_code", sa.String(), nullable=False),
    sa.Column("display_name", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("pause_reason", sa.String(), nullable=True),
    sa.Column("scheduled_at", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("created_by", sa.String(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("request_id", sa.String(), nullable=True),
    sa.Column("request_fingerprint", sa.String(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Index("uq_campaigns_org_id_request_id", "org_id", "request_id", unique=True),
    sa.Index("ix_campaigns_org_id_created_at_id", "org_id", "created_at", "id"),
    sa.Index("ix_campaigns_state_listing", "org_id", "state", "created_at", "id"),
    sa.Index("ix_campaigns_template_listing", "org_id", "template_id", "created_at", "id"),
    # The policy's read: a template's running and paused campaigns.
    sa.Index("ix_campaigns_template_id_state", "template_id", "state"),
)

campaign_transitions = sa.Table(
    "campaign_transitions",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("campaign_id", sa.String(), nullable=False),
    sa.Column("org_id", sa.String(), nullable=False),
    sa.Column("from_state", sa.String(), nullable=True),
    sa.Column("to_state", sa.String(), nullable=False),
    sa.Column("reason", sa.String(), nullable=True),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Index("ix_campaign_transitions_campaign_id_seq", "campaign_id", "seq"),
)

campaign_audience = sa.Table(
    "campaign_audience",
    metadata,
    sa.Column("campaign_id", sa.String(), primary_key=True),
    # As windows know contacts: a phone number's digits, or a user id.
    sa.Column("contact", sa.String(), primary_key=True),
)

organization_settings = sa.Table(
    "organization_settings",
    metadata,
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("pause_on_quality_red", sa.Boolean(), nullable=False),
    sa.Column("pause_on_marketing_category", sa.Boolean(), nullable=False),
    sa.Column("auto_resume", sa.Boolean(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# ---- notifications ------------------------------------------------------------------------------

notification_channels = sa.Table(
    "notification_channels",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("display_name", sa.String(), nullable=False),
    # Recipients or the URL; secrets are never returned by the API.
    sa.Column("targets", json_document(), nullable=False),
    sa.Column("min_severity", sa.Integer(), nullable=False),
    sa.Column("muted", json_document(), nullable=False),
    sa.Column("signing_secret", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", ordered_text(), primary_key=True),
    sa.Column("org_id", sa.String(), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("channel_id", sa.String(), nullable=False),
    # (event, channel): the same event never makes a second notification for a channel.
    sa.Column("key", sa.String(), nullable=False, unique=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("content", json_document(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    # The dispatcher's claim: due PENDING ones, oldest first.
    sa.Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
    sa.Index("ix_notifications_org_id_created_at_id", "org_id", "created_at", "id"),
    sa.Index("ix_notifications_state_listing", "org_id", "state", "created_at", "id"),
)

# ---- the audit log (append-only) ------------------------------------------------------------------

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", ordered_text(), primary_key=True),
    # No foreign key: the log outlives what it tells about.
    sa.Column("org_id", sa.String(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("resource", sa.String(), nullable=False),
    sa.Column("request_id", sa.String(), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    # Newest first, filtered by actor, action or resource within the organization's page.
    sa.Index("ix_audit_events_org_id_at_id", "org_id", "at", "id"),
)

# ---- the dashboard's sign-in sessions -------------------------------------------------------------

dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    # The session id's hash (the id itself is only in the browser's cookie).
    sa.Column("id_hash", sa.String(), primary_key=True),
    # The API key's hash, as api_keys stores it: revoking the key ends the session.
    sa.Column("key_hash", sa.String(), nullable=False),
    sa.Column("csrf_token", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index("ix_dashboard_sessions_expires_at", "expires_at"),
)
