"""The 24-hour customer service window between a business phone number and one contact.

A contact's inbound message opens the window (or resets it to 24 hours); Meta's own timestamps
drive it, never our clock, so a late or repeated webhook changes nothing it should not: the window
keeps the latest inbound time it has seen. A free-form message may be sent while `at < last + 24h`.
A `failed` status with 131047 is Meta's word that the window is closed: it counts from that status
time until a newer inbound message.

A Click-to-WhatsApp ad (or a Page button) adds a free entry point: if the business replies within
24 hours, a 72-hour window opens in which every message is free. It is pricing only: it never
allows a free-form message by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SERVICE_WINDOW = timedelta(hours=24)
# How long after the ad's message a reply still opens a free entry point, and how long that lasts.
FREE_ENTRY_REPLY_WITHIN = timedelta(hours=24)
FREE_ENTRY_WINDOW = timedelta(hours=72)


class WindowState(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class FreeEntryState(StrEnum):
    NONE = "NONE"
    # The contact came from an ad: a reply sent before `until` opens a 72-hour free window.
    AVAILABLE = "AVAILABLE"
    # Meta priced a message as a free entry point: messages are free until `until`.
    ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True)
class WindowStatus:
    state: WindowState
    last_inbound_at: datetime | None
    # When the window closes (or closed); None when the contact never wrote.
    closes_at: datetime | None
    # Set when a 131047 failure after the last inbound message closed it early.
    closed_by_meta_at: datetime | None
    free_entry: FreeEntryState
    free_entry_until: datetime | None

    @property
    def open(self) -> bool:
        return self.state is WindowState.OPEN


@dataclass(slots=True)
class ConversationWindow:
    """One contact as seen by one business phone number of one organization. The contact is known
    by its phone-based `wa_id`, its business-scoped `user_id` (usernames), or both; either finds it."""

    id: str
    org_id: str
    phone_number_id: str
    wa_id: str = ""
    user_id: str = ""
    last_inbound_at: datetime | None = None
    last_inbound_message_id: str = ""
    # The latest 131047 failure Meta reported for a message to this contact.
    closed_by_meta_at: datetime | None = None
    # The latest inbound message that came from a Click-to-WhatsApp ad, and the ad.
    referral_at: datetime | None = None
    referral_source_id: str = ""
    # The latest status Meta priced as a free entry point.
    free_entry_opened_at: datetime | None = None
    # The latest `system` message (number changed, ...): recorded, never opens the window.
    last_system_at: datetime | None = None
    last_system_type: str = ""
    last_system_body: str = ""
    updated_at: datetime | None = None

    def learn_ids(self, wa_id: str, user_id: str) -> bool:
        """Keeps both ids once both are known, so either one finds the window."""
        changed = False
        if wa_id and not self.wa_id:
            self.wa_id, changed = wa_id, True
        if user_id and not self.user_id:
            self.user_id, changed = user_id, True
        return changed

    def inbound(self, message_id: str, at: datetime, *, referral_source_id: str | None = None) -> bool:
        """A message from the contact, sent at Meta's `at`. Returns whether anything changed."""
        changed = False
        if self.last_inbound_at is None or at > self.last_inbound_at:
            self.last_inbound_at, self.last_inbound_message_id = at, message_id
            changed = True
        if referral_source_id is not None and (self.referral_at is None or at > self.referral_at):
            self.referral_at, self.referral_source_id = at, referral_source_id
            changed = True
        return changed

    def system_message(self, at: datetime, kind: str, body: str) -> bool:
        if self.last_system_at is not None and at <= self.last_system_at:
            return False
        self.last_system_at, self.last_system_type, self.last_system_body = at, kind, body
        return True

    def closed_by_meta(self, at: datetime) -> bool:
        """Meta refused a message with 131047 at `at`: the window is closed from then on."""
        if self.closed_by_meta_at is not None and at <= self.closed_by_meta_at:
            return False
        self.closed_by_meta_at = at
        return True

    def free_entry_opened(self, at: datetime) -> bool:
        """Meta priced a message at `at` as a free entry point. Every message inside a free window
        is priced so; the window runs 72 hours from the first, so only a status at or after its end
        starts a new one (an earlier status than the one held, of the same window, moves it back)."""
        opened = self.free_entry_opened_at
        starts_new = opened is None or at >= opened + FREE_ENTRY_WINDOW
        starts_earlier = opened is not None and opened - FREE_ENTRY_WINDOW < at < opened
        if not (starts_new or starts_earlier):
            return False
        self.free_entry_opened_at = at
        return True

    def absorb(self, other: ConversationWindow) -> None:
        """Takes in what `other` knows about the same contact (found by its other id)."""
        self.learn_ids(other.wa_id, other.user_id)
        if other.last_inbound_at is not None:
            self.inbound(other.last_inbound_message_id, other.last_inbound_at)
        if other.referral_at is not None and (
            self.referral_at is None or other.referral_at > self.referral_at
        ):
            self.referral_at, self.referral_source_id = other.referral_at, other.referral_source_id
        if other.closed_by_meta_at is not None:
            self.closed_by_meta(other.closed_by_meta_at)
        if other.free_entry_opened_at is not None:
            self.free_entry_opened(other.free_entry_opened_at)
        if other.last_system_at is not None:
            self.system_message(other.last_system_at, other.last_system_type, other.last_system_body)

    def status(self, at: datetime) -> WindowStatus:
        return window_status(self, at)


def window_status(window: ConversationWindow | None, at: datetime) -> WindowStatus:
    """The window as it stands at `at` (None: the contact never wrote to this number)."""
    if window is None:
        return WindowStatus(WindowState.CLOSED, None, None, None, FreeEntryState.NONE, None)
    last = window.last_inbound_at
    closes_at = None if last is None else last + SERVICE_WINDOW
    closed_by_meta = window.closed_by_meta_at
    if closed_by_meta is not None and (last is None or closed_by_meta <= last):
        closed_by_meta = None  # a newer inbound message reopened it
    # Open from the latest inbound message on (what came before it is not known here), for 24 hours,
    # unless Meta said otherwise since.
    is_open = (
        last is not None
        and closes_at is not None
        and last <= at < closes_at
        and (closed_by_meta is None or at < closed_by_meta)
    )
    if closed_by_meta is not None and closes_at is not None and closed_by_meta < closes_at:
        closes_at = closed_by_meta
    free_entry, free_until = _free_entry(window, at)
    return WindowStatus(
        WindowState.OPEN if is_open else WindowState.CLOSED,
        last,
        closes_at,
        closed_by_meta,
        free_entry,
        free_until,
    )


def _free_entry(window: ConversationWindow, at: datetime) -> tuple[FreeEntryState, datetime | None]:
    if window.free_entry_opened_at is not None:
        until = window.free_entry_opened_at + FREE_ENTRY_WINDOW
        if window.free_entry_opened_at <= at < until:
            return FreeEntryState.ACTIVE, until
    if window.referral_at is not None:
        until = window.referral_at + FREE_ENTRY_REPLY_WITHIN
        opened = window.free_entry_opened_at
        replied = opened is not None and opened >= window.referral_at
        if window.referral_at <= at < until and not replied:
            return FreeEntryState.AVAILABLE, until
    return FreeEntryState.NONE, None
