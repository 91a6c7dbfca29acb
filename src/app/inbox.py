"""What the webhook inbox holds and what Meta's changes translate to (the translator is a port: the
JSON shapes belong to the webhook adapter)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.messages import StatusUpdate
from domain.observations import Observation
from domain.status import TemplateCategory


class ChangeState(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"
    # The WABA is not registered to any organization yet; released when it is.
    PARKED = "PARKED"
    # Failed for good (after retries, or untranslatable); kept with its error, replayable.
    DEAD = "DEAD"
    # A field this version does not act on (e.g. `messages`); kept, replayable once it does.
    SKIPPED = "SKIPPED"


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    # Split into its changes.
    SPLIT = "SPLIT"
    # Not a usable delivery at all (e.g. no entries); kept with its error.
    DEAD = "DEAD"


@dataclass(frozen=True, slots=True)
class RawChange:
    """One `entry[].changes[]` element with what identifies it. `key` is the idempotency key: the same
    change delivered twice (Meta retries, duplicates) has the same key."""

    key: str
    waba_id: str
    field: str
    entry_time: datetime | None
    value: Mapping[str, Any]


@dataclass(slots=True)
class Delivery:
    id: str
    body: bytes
    received_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    error: str = ""
    # Failed attempts to split and store it; a failing delivery waits until next_attempt_at, so
    # the deliveries behind it flow past, and is DEAD after the inbox's max_attempts.
    attempts: int = 0
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryBacklog:
    """Deliveries not split into changes yet; `failing` of them wait to retry after a failure."""

    pending: int
    failing: int


# The key of the DEAD change that stands for a whole delivery that could not be split (the
# operator's view of the inbox is its changes). Replaying that change splits the delivery again.
DELIVERY_KEY_PREFIX = "delivery:"


@dataclass(slots=True)
class InboxChange:
    id: str
    delivery_id: str
    key: str
    waba_id: str
    field: str
    entry_time: datetime | None
    value: Mapping[str, Any]
    received_at: datetime
    state: ChangeState = ChangeState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    processed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImpendingCategory:
    """Meta will move the template from `current` to `upcoming` at `effective_at` (about 24 h ahead)."""

    current: TemplateCategory | None
    upcoming: TemplateCategory | None
    raw_upcoming: str
    effective_at: datetime | None


@dataclass(frozen=True, slots=True)
class TemplateChange:
    """A Meta template event, translated: which template, and what was observed about it."""

    waba_id: str
    meta_template_id: str
    display_name: str
    language_code: str
    observations: tuple[Observation, ...] = ()
    # Known from the event even when no observation is about it (e.g. a status update's category).
    category: str = ""
    impending_category: ImpendingCategory | None = None


@dataclass(frozen=True, slots=True)
class IgnoredChange:
    reason: str


class UntranslatableChange(Exception):
    """The change cannot be understood; it is parked as DEAD with this reason. (A plain exception:
    a frozen dataclass one cannot take the traceback Python sets on it when re-raised.)"""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class MalformedDelivery(ValueError):
    """The delivery as a whole is not a Meta webhook envelope."""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A contact's message to a business phone number (`messages[]` of a `messages` change)."""

    message_id: str
    # Meta's time: the window counts from it.
    at: datetime
    # The contact: phone-based wa_id, business-scoped user id (usernames), or both.
    wa_id: str
    user_id: str
    type: str
    # The ad's source_id when the message came from a Click-to-WhatsApp ad ("" when the ad has
    # none); None when it did not come from an ad.
    referral_source_id: str | None = None
    # For `system` messages: what Meta says happened (e.g. user_changed_number, and in words).
    system_type: str = ""
    system_body: str = ""

    @property
    def is_system(self) -> bool:
        return self.type == "system"


@dataclass(frozen=True, slots=True)
class MessagesChange:
    """A `messages` change, translated: inbound messages and statuses of outbound ones."""

    waba_id: str
    phone_number_id: str
    inbound: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
