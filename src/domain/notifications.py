"""Telling people: an organization's channels (email recipients, a Slack incoming webhook, a signed
webhook to an internal service) and the notifications the service owes them.

A notification is written to an outbox in the transaction of what it tells (an alert opening or
resolving, a campaign the service paused or resumed), one per channel that wants it, under a stable
key: the same event never makes a second notification, and a dispatcher delivers each with retries
until it is SENT, or FAILED after its budget (then replayable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.alerts import AlertKind, Severity


class ChannelKind(StrEnum):
    EMAIL = "EMAIL"
    SLACK = "SLACK"
    WEBHOOK = "WEBHOOK"


class NotificationKind(StrEnum):
    ALERT_OPENED = "ALERT_OPENED"
    ALERT_RESOLVED = "ALERT_RESOLVED"
    CAMPAIGN_PAUSED = "CAMPAIGN_PAUSED"
    CAMPAIGN_RESUMED = "CAMPAIGN_RESUMED"


class NotificationState(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    # Out of retries; kept with the last error, replayable.
    FAILED = "FAILED"


@dataclass(slots=True)
class Channel:
    id: str
    org_id: str
    kind: ChannelKind
    display_name: str
    # EMAIL: the recipients' addresses; SLACK and WEBHOOK: the one URL (a secret: never shown back).
    targets: tuple[str, ...]
    created_at: datetime
    # Only what is at least this urgent.
    min_severity: Severity = Severity.WARNING
    # Alert kinds this channel does not want to hear about.
    muted: frozenset[AlertKind] = frozenset()
    # WEBHOOK: the signing secret (Standard Webhooks, "whsec_..."); never shown back.
    signing_secret: str = ""

    def wants(self, severity: Severity, alert_kind: AlertKind | None) -> bool:
        return severity >= self.min_severity and (alert_kind is None or alert_kind not in self.muted)


@dataclass(frozen=True, slots=True)
class NotificationContent:
    """What happened, as every channel tells it."""

    kind: NotificationKind
    severity: Severity
    # "{name}.{language}" and the WABA it belongs to.
    template: str
    waba_id: str
    # The event in words (e.g. "PAUSED: FIRST_PAUSE ...") and what to do about it.
    summary: str
    reason: str = ""
    alert_kind: AlertKind | None = None
    campaign_id: str = ""
    campaign_name: str = ""
    occurred_at: datetime | None = None

    @property
    def subject(self) -> str:
        what = {
            NotificationKind.ALERT_OPENED: "alert",
            NotificationKind.ALERT_RESOLVED: "resolved",
            NotificationKind.CAMPAIGN_PAUSED: "campaign paused",
            NotificationKind.CAMPAIGN_RESUMED: "campaign resumed",
        }[self.kind]
        return f"[{self.severity.name}] {what}: {self.template} ({self.summary})"

    @property
    def advice(self) -> str:
        match self.kind:
            case NotificationKind.ALERT_OPENED:
                return (
                    "Stop campaigns that use it (the service pauses the ones it manages) and check the "
                    "template in WhatsApp Manager; edit and resubmit it if Meta rejected or disabled it."
                )
            case NotificationKind.ALERT_RESOLVED:
                return "Nothing to do: the template recovered."
            case NotificationKind.CAMPAIGN_PAUSED:
                return (
                    "Do not send this campaign's messages; the service resumes it when the template is "
                    "sendable again (unless a person paused it), or resume it yourself."
                )
            case NotificationKind.CAMPAIGN_RESUMED:
                return "The campaign may send again."


@dataclass(slots=True)
class Notification:
    id: str
    org_id: str
    channel_id: str
    # Stable for (the event, the channel): writing it twice is a no-op.
    key: str
    content: NotificationContent
    created_at: datetime
    state: NotificationState = NotificationState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    sent_at: datetime | None = None
    # Set when a dispatcher claims it: its report counts only while the claim is still its own.
    claimed_until: datetime | None = None

    def sent(self, now: datetime) -> None:
        self.state, self.sent_at, self.last_error = NotificationState.SENT, now, ""
        self.attempts += 1

    def failed(
        self, error: str, now: datetime, *, budget: int, backoff: timedelta, retry_after: float | None
    ) -> None:
        """One failed attempt: retried with exponential backoff (or when the channel asked), then
        FAILED once the budget is spent."""
        self.attempts += 1
        self.last_error = error[:2000]
        if self.attempts >= budget:
            self.state, self.next_attempt_at = NotificationState.FAILED, None
            return
        wait = backoff * (2 ** (self.attempts - 1))
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        self.next_attempt_at = now + min(wait, timedelta(hours=1))

    def replay(self, now: datetime) -> None:
        self.state, self.attempts, self.next_attempt_at = NotificationState.PENDING, 0, now
