"""Writing notifications to the outbox, in the transaction of what they tell: one per channel of the
organization that wants it, under a key made of the event's and the channel's, so writing the same
event again (a repeated webhook, a retried transaction) adds nothing."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.ports import UnitOfWork
from domain.notifications import Channel, Notification, NotificationContent


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Something to tell an organization: `event_key` names it for good (e.g. alert:{id}:opened)."""

    org_id: str
    event_key: str
    content: NotificationContent


async def notify(uow: UnitOfWork, occurrences: Sequence[Occurrence], now: datetime) -> int:
    """Queues a notification per occurrence and interested channel; returns how many were new."""
    if not occurrences:
        return 0
    channels: dict[str, Sequence[Channel]] = {}
    queued: list[Notification] = []
    for occurrence in occurrences:
        if occurrence.org_id not in channels:
            channels[occurrence.org_id] = await uow.channels.list_for_org(occurrence.org_id)
        content = occurrence.content
        queued.extend(
            Notification(
                id=secrets.token_hex(16),
                org_id=occurrence.org_id,
                channel_id=channel.id,
                key=f"{occurrence.event_key}/{channel.id}",
                content=content,
                created_at=now,
                # Due at once (None), whatever the clock of what it tells says.
                next_attempt_at=None,
            )
            for channel in channels[occurrence.org_id]
            if channel.wants(content.severity, content.alert_kind)
        )
    return await uow.notifications.add_many(queued)
