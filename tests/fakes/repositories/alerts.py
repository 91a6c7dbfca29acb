"""Template health alerts: one active per (template, kind), kept when resolved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.errors import AlreadyExists
from app.ports import AlertQuery
from domain.alerts import Alert
from fakes.repositories.tables import IntegrityViolation, Tables, clone, require_new_id


def _has_active_rival(rows: dict[str, Alert], alert: Alert) -> bool:
    """Whether another alert of the same template and kind is active (OPEN or ACKNOWLEDGED)."""
    return any(
        other.id != alert.id
        and other.active
        and (other.template_id, other.kind) == (alert.template_id, alert.kind)
        for other in rows.values()
    )


class FakeAlertRepository:
    """One active alert per (template, kind): add() reports a second one as AlreadyExists; save() that
    would make one refuses with IntegrityViolation (the SQL index raises IntegrityError: the domain
    never reopens a resolved alert)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, alert: Alert) -> None:
        rows = self._tables.write().alerts
        if alert.active and _has_active_rival(rows, alert):
            raise AlreadyExists("alert", f"{alert.template_id}/{alert.kind.value}")
        require_new_id(rows, alert.id, "alert")
        rows[alert.id] = clone(alert)

    async def add_many(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:  # the unit of work's rollback undoes a partial batch
            await self.add(alert)

    async def save_many(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            await self.save(alert)

    async def save(self, alert: Alert) -> None:
        """Stores everything but the identity (id, org, template, WABA, kind, opened_at)."""
        rows = self._tables.write().alerts
        stored = rows.get(alert.id)
        if stored is None or stored.org_id != alert.org_id:
            return
        updated = replace(
            stored,
            template_name=alert.template_name,
            severity=alert.severity,
            state=alert.state,
            reason=alert.reason,
            last_seen_at=alert.last_seen_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=alert.acknowledged_by,
            resolved_at=alert.resolved_at,
        )
        if updated.active and _has_active_rival(rows, updated):
            raise IntegrityViolation(f"a second active {alert.kind.value} alert of {alert.template_id}")
        rows[alert.id] = updated

    async def get(self, org_id: str, alert_id: str) -> Alert | None:
        stored = self._tables.read.alerts.get(alert_id)
        return clone(stored) if stored is not None and stored.org_id == org_id else None

    async def active_for_template(self, template_id: str) -> Sequence[Alert]:
        """Oldest first."""
        found = [a for a in self._tables.read.alerts.values() if a.template_id == template_id and a.active]
        return [clone(a) for a in sorted(found, key=lambda a: (a.opened_at, a.id))]

    async def active_for_templates(self, template_ids: Sequence[str]) -> Sequence[Alert]:
        wanted = set(template_ids)
        found = [a for a in self._tables.read.alerts.values() if a.template_id in wanted and a.active]
        return [clone(a) for a in sorted(found, key=lambda a: (a.opened_at, a.id))]

    async def active_for_org(self, org_id: str) -> Sequence[Alert]:
        """Most urgent first, then newest first."""
        found = [a for a in self._tables.read.alerts.values() if a.org_id == org_id and a.active]
        return [clone(a) for a in sorted(found, key=lambda a: (a.severity, a.opened_at, a.id), reverse=True)]

    async def list(self, query: AlertQuery) -> Sequence[Alert]:
        """Newest first by (opened_at, id), strictly before `query.before`."""

        def matches(a: Alert) -> bool:
            return (
                a.org_id == query.org_id
                and (not query.states or a.state in query.states)
                and (not query.severities or a.severity in query.severities)
                and (query.template_id is None or a.template_id == query.template_id)
                and (query.before is None or (a.opened_at, a.id) < query.before)
            )

        found = sorted(
            filter(matches, self._tables.read.alerts.values()),
            key=lambda a: (a.opened_at, a.id),
            reverse=True,
        )
        return [clone(a) for a in found[: query.limit]]
