"""Template health alerts: one active per (template, kind), kept when resolved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import insert_or_skip
from app.errors import AlreadyExists
from app.ports import AlertQuery
from domain.alerts import Alert, AlertKind, AlertState, Severity

_ACTIVE_ALERT_STATES = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)


class SqlAlertRepository:
    """One active alert per (template, kind) is a unique index (tables.alerts.active_marker): add()
    reports a second one as AlreadyExists and leaves the transaction usable."""

    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, alert: Alert) -> None:
        a = tables.alerts
        # The conflict target is the one-active rule only: a clash on the generated id is a bug
        # and surfaces as an IntegrityError.
        result = await self._connection.execute(
            insert_or_skip(self._connection, a)
            .values(
                id=alert.id,
                org_id=alert.org_id,
                template_id=alert.template_id,
                waba_id=alert.waba_id,
                kind=alert.kind.value,
                opened_at=alert.opened_at,
                **_alert_state(alert),
            )
            .on_conflict_do_nothing(index_elements=["template_id", "kind", "active_marker"])
        )
        if result.rowcount == 0:
            raise AlreadyExists("alert", _alert_name(alert))

    async def add_many(self, alerts: Sequence[Alert]) -> None:
        """add() for several in one statement; AlreadyExists names the first that clashed."""
        a = tables.alerts
        if not alerts:
            return
        result = await self._connection.execute(
            insert_or_skip(self._connection, a)
            .on_conflict_do_nothing(index_elements=["template_id", "kind", "active_marker"])
            .returning(a.c.id),
            [
                {
                    "id": alert.id,
                    "org_id": alert.org_id,
                    "template_id": alert.template_id,
                    "waba_id": alert.waba_id,
                    "kind": alert.kind.value,
                    "opened_at": alert.opened_at,
                    **_alert_state(alert),
                }
                for alert in alerts
            ],
        )
        inserted = set(result.scalars().all())
        for alert in alerts:
            if alert.id not in inserted:
                raise AlreadyExists("alert", _alert_name(alert))

    async def save_many(self, alerts: Sequence[Alert]) -> None:
        """save() for several in one executemany."""
        if alerts:
            await self._connection.execute(
                _SAVE_ALERT, [{"b_id": a.id, "b_org_id": a.org_id, **_alert_state(a)} for a in alerts]
            )

    async def save(self, alert: Alert) -> None:
        """Stores everything but the identity (id, org, template, WABA, kind, opened_at). Making an
        alert active again beside another active one of its kind breaks the unique index
        (IntegrityError): the domain never reopens a resolved alert."""
        a = tables.alerts
        await self._connection.execute(
            sa.update(a).where(a.c.id == alert.id, a.c.org_id == alert.org_id).values(**_alert_state(alert))
        )

    async def get(self, org_id: str, alert_id: str) -> Alert | None:
        a = tables.alerts
        row = (
            await self._connection.execute(sa.select(a).where(a.c.org_id == org_id, a.c.id == alert_id))
        ).one_or_none()
        return None if row is None else _alert(row)

    async def active_for_template(self, template_id: str) -> Sequence[Alert]:
        """Oldest first."""
        a = tables.alerts
        rows = await self._connection.execute(
            sa.select(a)
            .where(a.c.template_id == template_id, a.c.state.in_(_ACTIVE_ALERT_STATES))
            .order_by(a.c.opened_at, a.c.id)
        )
        return [_alert(row) for row in rows]

    async def active_for_templates(self, template_ids: Sequence[str]) -> Sequence[Alert]:
        """Oldest first, for several templates in one query."""
        a = tables.alerts
        if not template_ids:
            return []
        rows = await self._connection.execute(
            sa.select(a)
            .where(a.c.template_id.in_(sorted(set(template_ids))), a.c.state.in_(_ACTIVE_ALERT_STATES))
            .order_by(a.c.opened_at, a.c.id)
        )
        return [_alert(row) for row in rows]

    async def active_for_org(self, org_id: str) -> Sequence[Alert]:
        """Most urgent first, then newest first."""
        a = tables.alerts
        rows = await self._connection.execute(
            sa.select(a)
            .where(a.c.org_id == org_id, a.c.state.in_(_ACTIVE_ALERT_STATES))
            .order_by(a.c.severity.desc(), a.c.opened_at.desc(), a.c.id.desc())
        )
        return [_alert(row) for row in rows]

    async def list(self, query: AlertQuery) -> Sequence[Alert]:
        a = tables.alerts
        conditions: list[sa.ColumnElement[bool]] = [a.c.org_id == query.org_id]
        if query.states:
            conditions.append(a.c.state.in_(sorted(s.value for s in query.states)))
        if query.severities:
            conditions.append(a.c.severity.in_(sorted(int(s) for s in query.severities)))
        if query.template_id is not None:
            conditions.append(a.c.template_id == query.template_id)
        if query.before is not None:
            opened_at, alert_id = query.before
            conditions.append(
                sa.tuple_(a.c.opened_at, a.c.id)
                < sa.tuple_(sa.literal(opened_at, a.c.opened_at.type), sa.literal(alert_id, a.c.id.type))
            )
        rows = await self._connection.execute(
            sa.select(a).where(*conditions).order_by(a.c.opened_at.desc(), a.c.id.desc()).limit(query.limit)
        )
        return [_alert(row) for row in rows]


def _alert_name(alert: Alert) -> str:
    return f"{alert.template_id}/{alert.kind.value}"


_SAVE_ALERT = sa.update(tables.alerts).where(
    tables.alerts.c.id == sa.bindparam("b_id"), tables.alerts.c.org_id == sa.bindparam("b_org_id")
)


def _alert_state(alert: Alert) -> dict[str, Any]:
    """The columns save() may change."""
    return {
        "template_name": alert.template_name,
        "severity": int(alert.severity),
        "state": alert.state.value,
        "reason": alert.reason,
        "last_seen_at": alert.last_seen_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": alert.resolved_at,
        "active_marker": 1 if alert.active else None,
    }


def _alert(row: sa.Row[Any]) -> Alert:
    return Alert(
        id=row.id,
        org_id=row.org_id,
        template_id=row.template_id,
        waba_id=row.waba_id,
        template_name=row.template_name,
        kind=AlertKind(row.kind),
        severity=Severity(row.severity),
        state=AlertState(row.state),
        reason=row.reason,
        opened_at=row.opened_at,
        last_seen_at=row.last_seen_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
    )
