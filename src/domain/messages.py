"""Outbound message records: what the service sent (or tried to), and what Meta later said about it.

A record is written before Meta is called, so a crash between the two leaves a trace (SENDING, then
UNKNOWN) instead of a silent gap, and a caller's `request_id` can never send twice. Meta's status
webhooks then move it along sent -> delivered -> read (or failed). They arrive in any order and
repeat: each status keeps its own time, and the record shows the furthest one reached, so a late
`sent` never undoes a `read`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class MessageKind(StrEnum):
    TEMPLATE = "TEMPLATE"
    TEXT = "TEXT"
    # Known only from status webhooks: sent by another tool.
    OTHER = "OTHER"


class SendOutcome(StrEnum):
    # Recorded; Meta is being called.
    SENDING = "SENDING"
    # Meta took it and gave it an id (wamid).
    ACCEPTED = "ACCEPTED"
    # Meta refused it (error code and title kept), or we did before calling Meta.
    REJECTED = "REJECTED"
    # Meta may or may not have it (timeout, crash, an answer without an id): never retried by us.
    UNKNOWN = "UNKNOWN"
    # Known only from Meta's status webhooks (sent by another tool, or our answer is still on its way).
    OBSERVED = "OBSERVED"


class DeliveryStatus(StrEnum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    # Voice messages: listened to.
    PLAYED = "PLAYED"
    FAILED = "FAILED"


# How far along a message is: a status never replaces a further one. FAILED ends a message (a
# message can fail after being sent); READ implies delivered (Meta may skip `delivered`).
_RANK = {
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.PLAYED: 4,
    DeliveryStatus.FAILED: 5,
}

# Meta's codes the service acts on.
TEMPLATE_PAUSED_CODE = 132015
TEMPLATE_DISABLED_CODE = 132016
WINDOW_CLOSED_CODE = 131047


def delivery_status(raw: str) -> DeliveryStatus | None:
    try:
        return DeliveryStatus(raw.strip().upper())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Pricing:
    """Meta's pricing block on a status, verbatim (read `type` and `category`, not `billable`)."""

    billable: bool | None = None
    model: str = ""
    type: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One entry of a `statuses` webhook."""

    wamid: str
    phone_number_id: str
    status: DeliveryStatus
    raw_status: str
    at: datetime
    recipient_id: str = ""
    recipient_user_id: str = ""
    error_code: int | None = None
    error_title: str = ""
    pricing: Pricing | None = None
    callback_data: str = ""


@dataclass(slots=True)
class OutboundMessage:
    id: str
    org_id: str
    waba_id: str
    phone_number_id: str
    # The recipient as the caller named it (phone number) or as Meta reported it.
    to: str
    kind: MessageKind
    created_at: datetime
    outcome: SendOutcome = SendOutcome.SENDING
    template_id: str = ""
    template_name: str = ""
    language_code: str = ""
    category: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    request_id: str = ""
    request_fingerprint: str = ""
    callback_data: str = ""
    # Meta's answer to the send.
    wamid: str = ""
    wa_id: str = ""
    meta_message_status: str = ""
    error_code: int | None = None
    error_title: str = ""
    # What the status webhooks said.
    status: DeliveryStatus | None = None
    status_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    pricing: Pricing | None = None
    # When the record last changed; its creation time until then.
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at

    def accepted(self, wamid: str, wa_id: str, meta_message_status: str, at: datetime) -> None:
        self.outcome, self.wamid, self.wa_id = SendOutcome.ACCEPTED, wamid, wa_id
        self.meta_message_status, self.updated_at = meta_message_status, at

    def rejected(self, code: int | None, title: str, at: datetime) -> None:
        self.outcome, self.error_code, self.error_title, self.updated_at = (
            SendOutcome.REJECTED,
            code,
            title,
            at,
        )

    def unknown(self, title: str, at: datetime) -> None:
        self.outcome, self.error_title, self.updated_at = SendOutcome.UNKNOWN, title, at

    def apply_status(self, update: StatusUpdate, now: datetime) -> bool:
        """Records one status; returns whether anything changed (False for a repeat)."""
        attribute = f"{update.status.value.lower()}_at"
        changed = False
        if update.status is not DeliveryStatus.PLAYED:
            current: datetime | None = getattr(self, attribute)
            if current is None or update.at < current:
                setattr(self, attribute, update.at)
                changed = True
        if self.status is None or _RANK[update.status] > _RANK[self.status]:
            self.status, self.status_at, changed = update.status, update.at, True
        elif update.status is self.status and self.status_at is not None and update.at < self.status_at:
            self.status_at, changed = update.at, True
        if (
            update.status is DeliveryStatus.FAILED
            and update.error_code is not None
            and self.error_code is None
        ):
            self.error_code, self.error_title, changed = update.error_code, update.error_title, True
        if update.pricing is not None and update.pricing != self.pricing:
            self.pricing, changed = update.pricing, True
        if update.callback_data and not self.callback_data:
            self.callback_data, changed = update.callback_data, True
        if not self.wa_id and update.recipient_id:
            self.wa_id, changed = update.recipient_id, True
        if changed:
            self.updated_at = now
        return changed

    def absorb(self, observed: OutboundMessage, now: datetime) -> None:
        """Takes in the statuses a record made from webhooks alone holds (they came before our answer)."""
        for status, at in (
            (DeliveryStatus.SENT, observed.sent_at),
            (DeliveryStatus.DELIVERED, observed.delivered_at),
            (DeliveryStatus.READ, observed.read_at),
            (DeliveryStatus.FAILED, observed.failed_at),
        ):
            if at is not None:
                self.apply_status(
                    StatusUpdate(
                        self.wamid,
                        self.phone_number_id,
                        status,
                        status.value.lower(),
                        at,
                        error_code=observed.error_code if status is DeliveryStatus.FAILED else None,
                        error_title=observed.error_title if status is DeliveryStatus.FAILED else "",
                        pricing=observed.pricing,
                    ),
                    now,
                )
        if observed.status is DeliveryStatus.PLAYED and observed.status_at is not None:
            self.apply_status(
                StatusUpdate(
                    self.wamid, self.phone_number_id, DeliveryStatus.PLAYED, "played", observed.status_at
                ),
                now,
            )


def observed_message(
    update: StatusUpdate, id: str, org_id: str, waba_id: str, now: datetime
) -> OutboundMessage:
    """A record for a status about a message the service has no record of."""
    message = OutboundMessage(
        id=id,
        org_id=org_id,
        waba_id=waba_id,
        phone_number_id=update.phone_number_id,
        to=update.recipient_id or update.recipient_user_id,
        kind=MessageKind.OTHER,
        created_at=update.at,
        outcome=SendOutcome.OBSERVED,
        wamid=update.wamid,
    )
    message.apply_status(update, now)
    return message
