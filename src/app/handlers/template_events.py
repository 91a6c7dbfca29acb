"""What every template event sets off, whichever use case caused it (a webhook, a sync, a send error,
a user's edit or delete): it is appended to the template's history, and the alert policy runs.

Registered in bootstrap with the unit of work's EventDispatcher, so they run inside the transaction
that changed the template, before it commits; no use case calls them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from app.notification_outbox import Occurrence, notify
from app.ports import UnitOfWork
from domain.alerts import SEVERITY, Alert, AlertDecision, AlertKind, AlertState, decide
from domain.events import DomainEvent, TemplateEvent
from domain.notifications import NotificationContent, NotificationKind


async def record_history(events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
    await uow.template_events.add([event for event in events if isinstance(event, TemplateEvent)])


async def apply_alert_policy(events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
    """One active alert per (template, kind): a repeat refreshes it; a recovery resolves it."""
    by_template: dict[str, list[tuple[TemplateEvent, AlertDecision]]] = {}
    for event in events:
        if isinstance(event, TemplateEvent):
            decision = decide(event)
            # Most changes (repeats, superseded, components) touch no alert: they cost no read.
            if decision.open or decision.resolve:
                by_template.setdefault(event.template_id, []).append((event, decision))
    if not by_template:
        return
    # One read for every template of the batch (the inbox applies many changes per transaction).
    active: dict[str, dict[AlertKind, Alert]] = {template_id: {} for template_id in by_template}
    for alert in await uow.alerts.active_for_templates(list(by_template)):
        active[alert.template_id][alert.kind] = alert
    added: dict[str, Alert] = {}
    changed: dict[str, Alert] = {}
    for template_id, decisions in by_template.items():
        _apply_to_template(decisions, active[template_id], added, changed)
    # Each alert written once, in its final state, however many events of the batch touched it;
    # resolved ones first, so a kind that was resolved and opened again has one active alert.
    resolved = [alert for alert in changed.values() if alert.id not in added]
    await uow.alerts.save_many(resolved)
    await uow.alerts.add_many(list(added.values()))
    # Who should hear about it hears about it, in this transaction (the outbox).
    occurrences = [_told(alert, NotificationKind.ALERT_OPENED, "opened") for alert in added.values()]
    occurrences += [
        _told(alert, NotificationKind.ALERT_RESOLVED, "resolved")
        for alert in resolved
        if alert.state is AlertState.RESOLVED
    ]
    if occurrences:
        await notify(uow, occurrences, max(o.content.occurred_at or _EPOCH for o in occurrences))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _told(alert: Alert, kind: NotificationKind, what: str) -> Occurrence:
    when = (
        alert.opened_at
        if kind is NotificationKind.ALERT_OPENED
        else (alert.resolved_at or alert.last_seen_at)
    )
    return Occurrence(
        alert.org_id,
        f"alert:{alert.id}:{what}",
        NotificationContent(
            kind=kind,
            severity=alert.severity,
            template=alert.template_name,
            waba_id=alert.waba_id,
            summary=alert.kind.value
            if kind is NotificationKind.ALERT_OPENED
            else f"{alert.kind.value} resolved",
            reason=alert.reason,
            alert_kind=alert.kind,
            occurred_at=when,
        ),
    )


def _apply_to_template(
    decisions: Sequence[tuple[TemplateEvent, AlertDecision]],
    active: dict[AlertKind, Alert],
    added: dict[str, Alert],
    changed: dict[str, Alert],
) -> None:
    for event, decision in decisions:
        now = event.received_at
        for kind in decision.resolve:
            alert = active.pop(kind, None)
            if alert is not None:
                alert.resolve(now)
                changed[alert.id] = alert
        for kind, reason in decision.open:
            alert = active.get(kind)
            if alert is not None:
                alert.last_seen_at, alert.reason = now, reason
                changed[alert.id] = alert
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
            added[alert.id] = alert
            active[kind] = alert
