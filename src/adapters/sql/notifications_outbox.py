"""Notification channels and the notification outbox (claimed with leases; SKIP LOCKED on
PostgreSQL, so several dispatchers share it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql import outbound_tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import for_update, insert_or_skip
from app.notification_ports import NotificationQuery
from domain.alerts import AlertKind, Severity
from domain.notifications import (
    Channel,
    ChannelKind,
    Notification,
    NotificationContent,
    NotificationKind,
    NotificationState,
)

_C = outbound_tables.notification_channels
_N = outbound_tables.notifications
_SAVE = (
    sa.update(_N)
    .where(_N.c.id == sa.bindparam("b_id"))
    .values(
        state=sa.bindparam("state"),
        attempts=sa.bindparam("attempts"),
        next_attempt_at=sa.bindparam("next_attempt_at"),
        last_error=sa.bindparam("last_error"),
        sent_at=sa.bindparam("sent_at"),
        lease_until=None,
    )
)


class SqlChannelRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, channel: Channel) -> None:
        await self._connection.execute(
            sa.insert(_C).values(
                id=channel.id,
                org_id=channel.org_id,
                kind=channel.kind.value,
                display_name=channel.display_name,
                targets=list(channel.targets),
                min_severity=int(channel.min_severity),
                muted=sorted(kind.value for kind in channel.muted),
                signing_secret=channel.signing_secret,
                created_at=channel.created_at,
            )
        )

    async def get(self, org_id: str, channel_id: str) -> Channel | None:
        row = (
            await self._connection.execute(sa.select(_C).where(_C.c.org_id == org_id, _C.c.id == channel_id))
        ).one_or_none()
        return None if row is None else _channel(row)

    async def list_for_org(self, org_id: str) -> Sequence[Channel]:
        rows = await self._connection.execute(sa.select(_C).where(_C.c.org_id == org_id).order_by(_C.c.id))
        return [_channel(row) for row in rows]

    async def delete(self, org_id: str, channel_id: str) -> bool:
        result = await self._connection.execute(
            sa.delete(_C).where(_C.c.org_id == org_id, _C.c.id == channel_id)
        )
        return bool(result.rowcount)


class SqlNotificationRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add_many(self, notifications: Sequence[Notification]) -> int:
        if not notifications:
            return 0
        result = await self._connection.execute(
            insert_or_skip(self._connection, _N)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(_N.c.id),
            [
                {
                    "id": n.id,
                    "org_id": n.org_id,
                    "channel_id": n.channel_id,
                    "key": n.key,
                    "kind": n.content.kind.value,
                    "content": _content_json(n.content),
                    "state": n.state.value,
                    "attempts": n.attempts,
                    "next_attempt_at": n.next_attempt_at,
                    "lease_until": None,
                    "last_error": n.last_error,
                    "created_at": n.created_at,
                    "sent_at": n.sent_at,
                }
                for n in notifications
            ],
        )
        return len(result.scalars().all())

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> Sequence[Notification]:
        due = sa.and_(
            _N.c.state == NotificationState.PENDING.value,
            sa.or_(_N.c.next_attempt_at.is_(None), _N.c.next_attempt_at <= now),
            sa.or_(_N.c.lease_until.is_(None), _N.c.lease_until <= now),
        )
        statement = for_update(
            self._connection,
            sa.select(_N).where(due).order_by(_N.c.created_at, _N.c.id).limit(limit),
            skip_locked=True,
        )
        found = [_notification(row) for row in await self._connection.execute(statement)]
        if found:
            await self._connection.execute(
                sa.update(_N).where(_N.c.id.in_([n.id for n in found])).values(lease_until=lease_until)
            )
        for notification in found:
            notification.claimed_until = lease_until
        return found

    async def save_many(self, notifications: Sequence[Notification]) -> None:
        claimed = [n for n in notifications if n.claimed_until is not None]
        for notification in claimed:
            # A dispatcher whose claim ran out (another took the notification over) reports nothing.
            await self._connection.execute(
                sa.update(_N)
                .where(
                    _N.c.id == notification.id,
                    _N.c.lease_until == notification.claimed_until,
                    _N.c.state == NotificationState.PENDING.value,
                )
                .values(**_outcome(notification))
            )
        unclaimed = [n for n in notifications if n.claimed_until is None]
        if unclaimed:
            await self._connection.execute(
                _SAVE,
                [
                    {
                        "b_id": n.id,
                        "state": n.state.value,
                        "attempts": n.attempts,
                        "next_attempt_at": n.next_attempt_at,
                        "last_error": n.last_error,
                        "sent_at": n.sent_at,
                    }
                    for n in unclaimed
                ],
            )

    async def get(self, org_id: str, notification_id: str) -> Notification | None:
        row = (
            await self._connection.execute(
                sa.select(_N).where(_N.c.org_id == org_id, _N.c.id == notification_id)
            )
        ).one_or_none()
        return None if row is None else _notification(row)

    async def list(self, query: NotificationQuery) -> Sequence[Notification]:
        conditions: list[sa.ColumnElement[bool]] = [_N.c.org_id == query.org_id]
        if query.states:
            conditions.append(_N.c.state.in_(sorted(s.value for s in query.states)))
        if query.after is not None:
            conditions.append(sa.tuple_(_N.c.created_at, _N.c.id) < sa.tuple_(*query.after))
        rows = await self._connection.execute(
            sa.select(_N)
            .where(*conditions)
            .order_by(_N.c.created_at.desc(), _N.c.id.desc())
            .limit(query.limit)
        )
        return [_notification(row) for row in rows]


def _outcome(n: Notification) -> dict[str, Any]:
    return {
        "state": n.state.value,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "last_error": n.last_error,
        "sent_at": n.sent_at,
        "lease_until": None,
    }


def _content_json(content: NotificationContent) -> dict[str, Any]:
    return {
        "kind": content.kind.value,
        "severity": int(content.severity),
        "template": content.template,
        "wabaId": content.waba_id,
        "summary": content.summary,
        "reason": content.reason,
        "alertKind": content.alert_kind.value if content.alert_kind is not None else None,
        "campaignId": content.campaign_id,
        "campaignName": content.campaign_name,
        "occurredAt": content.occurred_at.isoformat() if content.occurred_at is not None else None,
    }


def _content(raw: dict[str, Any]) -> NotificationContent:
    occurred = raw.get("occurredAt")
    alert_kind = raw.get("alertKind")
    return NotificationContent(
        kind=NotificationKind(raw["kind"]),
        severity=Severity(raw["severity"]),
        template=raw["template"],
        waba_id=raw["wabaId"],
        summary=raw["summary"],
        reason=raw.get("reason", ""),
        alert_kind=AlertKind(alert_kind) if alert_kind else None,
        campaign_id=raw.get("campaignId", ""),
        campaign_name=raw.get("campaignName", ""),
        occurred_at=datetime.fromisoformat(occurred) if occurred else None,
    )


def _notification(row: sa.Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        org_id=row.org_id,
        channel_id=row.channel_id,
        key=row.key,
        content=_content(row.content),
        created_at=row.created_at,
        state=NotificationState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


def _channel(row: sa.Row[Any]) -> Channel:
    return Channel(
        id=row.id,
        org_id=row.org_id,
        kind=ChannelKind(row.kind),
        display_name=row.display_name,
        targets=tuple(row.targets),
        created_at=row.created_at,
        min_severity=Severity(row.min_severity),
        muted=frozenset(AlertKind(kind) for kind in row.muted),
        signing_secret=row.signing_secret,
    )
