"""Template health: applying Meta's template events, and the alert policy every change goes through
(webhooks, syncs and send errors alike)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from app.commands import AcknowledgeAlert, ReplayInboxChange
from app.errors import NotFound
from app.inbox import (
    DELIVERY_KEY_PREFIX,
    ChangeState,
    InboxChange,
    TemplateChange,
    UntranslatableChange,
)
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.resource_names import alert_name, inbox_change_name
from domain.alerts import SEVERITY, Alert, AlertState, decide
from domain.components import Components, TemplateDefinition
from domain.errors import TemplateLifecycleError
from domain.events import TemplateEvent
from domain.observations import Aspect, ChangeSource
from domain.status import TemplateCategory
from domain.templates import Template
from domain.tenancy import Role, Waba


async def apply_template_change(
    uow: UnitOfWork, waba: Waba, change: TemplateChange, now: datetime
) -> Template:
    """Applies one translated Meta event to its template (creating it if Meta knows it and we do not),
    records every observation in history and moves alerts. The caller commits."""
    template, created = await _find_or_create(uow, waba, change, now)
    entries: list[TemplateEvent] = []
    if template.category is None:
        # A status event names the category; a template first seen through a webhook learns it here.
        template.category = TemplateCategory.parse(change.category)
    entries.extend(template.observe(observation, received_at=now) for observation in change.observations)
    if change.impending_category is not None:
        impending = change.impending_category
        when = impending.effective_at.isoformat() if impending.effective_at else "soon"
        entries.append(
            template.announce(
                Aspect.CATEGORY,
                impending.raw_upcoming,
                source=ChangeSource.WEBHOOK,
                occurred_at=now,
                received_at=now,
                reason=f"Meta will change the category to {impending.raw_upcoming} at {when}",
                details={"effectiveAt": when},
            )
        )
    if created:
        await uow.templates.add(template)
    else:
        await uow.templates.update(template)
    await uow.template_events.add(entries)
    await apply_alert_policy(uow, template, entries, now)
    return template


async def apply_alert_policy(
    uow: UnitOfWork, template: Template, entries: Sequence[TemplateEvent], now: datetime
) -> None:
    """One active alert per (template, kind): a repeat refreshes it; a recovery resolves it."""
    decisions = [d for d in map(decide, entries) if d.open or d.resolve]
    if not decisions:
        return  # most changes (repeats, superseded, components) touch no alert: skip the read
    active = {alert.kind: alert for alert in await uow.alerts.active_for_template(template.id)}
    for decision in decisions:
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
                org_id=template.org_id,
                template_id=template.id,
                waba_id=template.waba_id,
                template_name=template.name,
                kind=kind,
                severity=SEVERITY[kind],
                state=AlertState.OPEN,
                reason=reason,
                opened_at=now,
                last_seen_at=now,
            )
            await uow.alerts.add(alert)
            active[kind] = alert


async def _find_or_create(
    uow: UnitOfWork, waba: Waba, change: TemplateChange, now: datetime
) -> tuple[Template, bool]:
    template = None
    if change.meta_template_id:
        template = await uow.templates.get_by_meta_id(waba.waba_id, change.meta_template_id)
    if template is None and change.display_name and change.language_code:
        template = await uow.templates.get_by_key(
            waba.org_id, waba.waba_id, change.display_name, change.language_code
        )
        if template is not None and change.meta_template_id:
            template.meta_template_id = change.meta_template_id
    if template is not None:
        return template, False
    if not (change.display_name and change.language_code):
        raise UntranslatableChange(
            f"template {change.meta_template_id!r} is unknown here and the event names no "
            "template name and language"
        )
    category = TemplateCategory.parse(change.category)
    # Only the name, language and category are known: flag it so a sync fetches the rest.
    template = Template.imported(
        template_id=secrets.token_hex(16),
        org_id=waba.org_id,
        waba_id=waba.waba_id,
        definition=TemplateDefinition(
            change.display_name, change.language_code, category, Components(body="")
        ),
        meta_template_id=change.meta_template_id,
        now=now,
        needs_sync=True,
    )
    return template, True


async def acknowledge_alert(command: AcknowledgeAlert, uow_factory: UnitOfWorkFactory, clock: Clock) -> Alert:
    command.principal.require(Role.OPERATOR)
    async with uow_factory() as uow:
        alert = await uow.alerts.get(command.principal.org_id, command.alert_id)
        if alert is None:
            raise NotFound("alert", alert_name(command.alert_id))
        if alert.acknowledge(command.principal.label, clock.now()):
            await uow.alerts.save(alert)
            await uow.commit()
    return alert


async def replay_inbox_change(
    command: ReplayInboxChange, uow_factory: UnitOfWorkFactory, clock: Clock
) -> InboxChange:
    async with uow_factory() as uow:
        change = await uow.inbox.lock_change(command.change_id)
        if change is None or not await _visible(uow, command.org_id, change.waba_id):
            raise NotFound("inbox change", inbox_change_name(command.change_id))
        if change.state not in REPLAYABLE:
            raise TemplateLifecycleError(
                "CHANGE_NOT_REPLAYABLE",
                f"inbox change {change.id} is {change.state.value}; only "
                "DEAD, PARKED and SKIPPED changes can be replayed",
            )
        change.state, change.attempts, change.next_attempt_at = ChangeState.PENDING, 0, None
        change.last_error = f"replayed at {clock.now().isoformat()} (was: {change.last_error})"[:2000]
        if change.key.startswith(DELIVERY_KEY_PREFIX):
            # It stands for a delivery that could not be split: split that again instead. Its
            # changes take the ids from position 0 on, so this stand-in makes room for them.
            if not await uow.inbox.requeue_delivery(change.delivery_id):
                raise NotFound("inbox change", inbox_change_name(command.change_id))
            await uow.inbox.delete_change(change.id)
        else:
            await uow.inbox.save_change(change)
        await uow.commit()
    return change


REPLAYABLE = frozenset({ChangeState.DEAD, ChangeState.PARKED, ChangeState.SKIPPED})


async def _visible(uow: UnitOfWork, org_id: str | None, waba_id: str) -> bool:
    if org_id is None:
        return True
    waba = await uow.wabas.get(waba_id)
    return waba is not None and waba.org_id == org_id
