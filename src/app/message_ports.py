"""The ports of the send guard: conversation windows and outbound message records (part of the unit
of work, see app.ports.UnitOfWork)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.conversations import ConversationWindow
from domain.messages import DeliveryStatus, OutboundMessage, SendOutcome


@dataclass(frozen=True, slots=True)
class ContactRef:
    """Which windows a batch touches: a contact of a phone number of an organization, by either id."""

    org_id: str
    phone_number_id: str
    contact_id: str


class WindowRepository(Protocol):
    async def find(self, org_id: str, phone_number_id: str, contact_id: str) -> ConversationWindow | None:
        """The window of the contact known by `contact_id` (its wa_id or its user id)."""
        ...

    async def lock_for_contacts(self, refs: Sequence[ContactRef]) -> Sequence[ConversationWindow]:
        """Every window any of `refs` names (by either id), locked for this transaction."""
        ...

    async def add_many(self, windows: Sequence[ConversationWindow]) -> None: ...

    async def save_many(self, windows: Sequence[ConversationWindow]) -> None: ...

    async def delete_many(self, window_ids: Sequence[str]) -> None:
        """Windows merged into another (the same contact, first known by each of its two ids)."""
        ...

    async def generation(self) -> int:
        """Moves whenever a window closed early (Meta's 131047): caches of OPEN answers check it."""
        ...

    async def closed_early(self) -> None:
        """Moves the generation: this transaction closed a window before its 24 hours were up."""
        ...


@dataclass(frozen=True, slots=True)
class MessageQuery:
    org_id: str
    # A contact's phone number (digits) or user id; matches the number sent to and Meta's wa_id.
    contact: str = ""
    template_id: str = ""
    phone_number_id: str = ""
    statuses: frozenset[DeliveryStatus] = frozenset()
    outcomes: frozenset[SendOutcome] = frozenset()
    # Created in [created_from, created_before).
    created_from: datetime | None = None
    created_before: datetime | None = None
    # Newest first: the page after (created_at, id).
    after: tuple[datetime, str] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """Messages created in a time range that reached each status (a later status counts for the
    earlier ones: Meta may skip `sent` or `delivered` when a message is read at once), and the
    sends Meta refused or whose outcome is unknown."""

    total: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0
    rejected: int = 0
    unknown: int = 0


class MessageRepository(Protocol):
    async def add(self, message: OutboundMessage) -> bool:
        """Stores a new record; False (nothing stored) when the organization already has one with
        its request_id."""
        ...

    async def add_new(self, messages: Sequence[OutboundMessage]) -> set[str]:
        """add() for several in one statement: the ids of those stored (the others' request_id
        was taken)."""
        ...

    async def save(self, message: OutboundMessage) -> None: ...

    async def get(self, org_id: str, message_id: str) -> OutboundMessage | None: ...

    async def get_by_request(self, org_id: str, request_id: str) -> OutboundMessage | None: ...

    async def get_by_wamid(self, org_id: str, wamid: str) -> OutboundMessage | None: ...

    async def delete(self, org_id: str, message_id: str) -> None: ...

    async def lock_by_wamids(self, org_id: str, wamids: Sequence[str]) -> Sequence[OutboundMessage]:
        """The organization's records of these Meta message ids, locked for this transaction."""
        ...

    async def add_many(self, messages: Sequence[OutboundMessage]) -> None: ...

    async def save_many(self, messages: Sequence[OutboundMessage]) -> None: ...

    async def expire_sending(
        self, created_before: datetime, now: datetime, reason: str, *, org_id: str = "", request_id: str = ""
    ) -> int:
        """Records still SENDING that were written before `created_before` become UNKNOWN with
        `reason` (their process died between the record and Meta's answer); only those of
        `org_id` / `request_id` when given. Returns how many. A conditional update: an answer
        recorded meanwhile is never overwritten."""
        ...

    async def list(self, query: MessageQuery) -> Sequence[OutboundMessage]:
        """Newest first (created_at, then id), at most query.limit."""
        ...

    async def delivery_counts(
        self, org_id: str, template_id: str, created_from: datetime | None, created_before: datetime | None
    ) -> DeliveryCounts: ...
