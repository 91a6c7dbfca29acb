"""The ports of notifications: the organization's channels, the outbox, and what delivers a
notification over a channel (part of the unit of work, see app.ports.UnitOfWork, except the sender)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.notifications import Channel, Notification, NotificationState


class ChannelRepository(Protocol):
    async def add(self, channel: Channel) -> None: ...

    async def get(self, org_id: str, channel_id: str) -> Channel | None: ...

    async def list_for_org(self, org_id: str) -> Sequence[Channel]: ...

    async def delete(self, org_id: str, channel_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class NotificationQuery:
    org_id: str
    states: frozenset[NotificationState] = frozenset()
    # Newest first: the page after (created_at, id).
    after: tuple[datetime, str] | None = None
    limit: int = 50
    # Listings narrowed to a template set this; notifications are not (see app.listing).
    template_id: str = ""


class NotificationRepository(Protocol):
    async def add_many(self, notifications: Sequence[Notification]) -> int:
        """Stores the ones whose key is new (a repeated event adds nothing); returns how many."""
        ...

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> Sequence[Notification]:
        """PENDING notifications due by `now`, oldest first, leased until `lease_until` (another
        dispatcher skips them until then; a crashed one's come back)."""
        ...

    async def save_many(self, notifications: Sequence[Notification]) -> None:
        """Stores state, attempts, next attempt, error and sent time, and releases the lease; for a
        claimed one (claimed_until set) only while the claim is still that one and it is PENDING."""
        ...

    async def get(self, org_id: str, notification_id: str) -> Notification | None: ...

    async def list(self, query: NotificationQuery) -> Sequence[Notification]:
        """Newest first (created_at, then id)."""
        ...


class DeliveryFailed(Exception):
    """A channel could not take a notification. `retry_after`: when the channel asked to come back
    (Slack's 429); `permanent`: retrying cannot help (the channel refuses it for good)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class NotificationSender(Protocol):
    async def send(self, channel: Channel, notification: Notification) -> None:
        """Delivers it; raises DeliveryFailed when it could not."""
        ...
