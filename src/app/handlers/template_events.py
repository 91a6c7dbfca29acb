"""What every template event sets off, whichever use case caused it (a webhook, a sync, a send error,
a user's edit or delete): it is appended to the template's history, and the alert policy runs.

Registered in bootstrap with the unit of work's EventDispatcher, so they run inside the transaction
that changed the template, before it commits; no use case calls them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from app.ports import UnitOfWork
from domain.alerts import SEVERITY, Alert, AlertState, decide
from domain.events import DomainEvent, TemplateEvent


async def record_history(events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
    await uow.template_events.add([event for event in events if isinstance(event, TemplateEvent)])


async def apply_alert_policy(events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
    """One active alert per (template, kind): a repeat refreshes it; a recovery resolves it."""
    by_template: dict[str, list[TemplateEvent]] = {}
    for event in events:
        if isinstance(event, TemplateEvent):
            by_template.setdefault(event.template_id, []).append(event)
    for template_events in by_template.values():
        await _apply_to_template(uow, template_events)


async def _apply_to_template(uow: UnitOfWork, events: Sequence[TemplateEvent]) -> None:
    decisions = [(event, d) for event in events if (d := decide(event)).open or d.resolve]
    if not decisions:
        return  # most changes (repeats, superseded, components) touch no alert: skip the read
    active = {alert.kind: alert for alert in await uow.alerts.active_for_template(events[0].template_id)}
    for event, decision in decisions:
        now = event.received_at
        for kind in decision.resolve:
            alert = active.pop(kind, None)
            if alert is not None:
                alert.resolve(now)
                await uow.alerts.save(alert)
        for kind, reason in decision.open:
            alert = active.get(kind)
            if alert is not None:
                alert.last_seen_at, alert.reason = now, reason
                await uow.alerts.save(alert)
                continue
            alert = Alert(
                id=secrets.token_hex(16),
                org_id=event.org_id,
                template_id=event.template_id,
                waba_id=event.waba_id,
                template_name=event.template_name,
                kind=kind,
                severity=SEVERITY[kind],
                state=AlertState.OPEN,
                reason=reason,
                opened_at=now,
                last_seen_at=now,
            )
            await uow.alerts.add(alert)
            active[kind] = alert
