"""Notification channels and the outbox, with the SQL adapter's rules (unique keys, leases)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.notification_ports import NotificationQuery
from domain.notifications import Channel, Notification, NotificationState
from fakes.repositories.tables import Tables, clone, require_new_id


class FakeChannelRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, channel: Channel) -> None:
        rows = self._tables.write().channels
        require_new_id(rows, channel.id, "channel")
        rows[channel.id] = clone(channel)

    async def get(self, org_id: str, channel_id: str) -> Channel | None:
        found = self._tables.read.channels.get(channel_id)
        return clone(found) if found is not None and found.org_id == org_id else None

    async def list_for_org(self, org_id: str) -> Sequence[Channel]:
        return [
            clone(c)
            for c in sorted(self._tables.read.channels.values(), key=lambda c: c.id)
            if c.org_id == org_id
        ]

    async def delete(self, org_id: str, channel_id: str) -> bool:
        if await self.get(org_id, channel_id) is None:
            return False
        del self._tables.write().channels[channel_id]
        return True


class FakeNotificationRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add_many(self, notifications: Sequence[Notification]) -> int:
        rows = self._tables.write().notifications
        keys = {n.key for n in rows.values()}
        added = 0
        for notification in notifications:
            if notification.key in keys:
                continue
            require_new_id(rows, notification.id, "notification")
            rows[notification.id] = clone(notification)
            keys.add(notification.key)
            added += 1
        return added

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> Sequence[Notification]:
        store = self._tables.write()
        due = [
            n
            for n in sorted(store.notifications.values(), key=lambda n: (n.created_at, n.id))
            if n.state is NotificationState.PENDING
            and (n.next_attempt_at is None or n.next_attempt_at <= now)
            and store.notification_leases.get(n.id, now) <= now
        ][:limit]
        claimed = []
        for notification in due:
            store.notification_leases[notification.id] = lease_until
            copy = clone(notification)
            copy.claimed_until = lease_until
            claimed.append(copy)
        return claimed

    async def save_many(self, notifications: Sequence[Notification]) -> None:
        store = self._tables.write()
        for notification in notifications:
            stored = store.notifications.get(notification.id)
            if stored is None:
                continue
            if notification.claimed_until is not None and (
                store.notification_leases.get(notification.id) != notification.claimed_until
                or stored.state is not NotificationState.PENDING
            ):
                continue  # the claim ran out: another dispatcher took it over
            saved = clone(notification)
            saved.claimed_until = None
            store.notifications[notification.id] = saved
            store.notification_leases.pop(notification.id, None)

    async def get(self, org_id: str, notification_id: str) -> Notification | None:
        found = self._tables.read.notifications.get(notification_id)
        return clone(found) if found is not None and found.org_id == org_id else None

    async def list(self, query: NotificationQuery) -> Sequence[Notification]:
        found = [
            n
            for n in self._tables.read.notifications.values()
            if n.org_id == query.org_id
            and (not query.states or n.state in query.states)
            and (query.after is None or (n.created_at, n.id) < query.after)
        ]
        found.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return [clone(n) for n in found[: query.limit]]
