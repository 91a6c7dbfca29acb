"""Use cases that reach Meta about templates: submit and sync (sends are in handlers.sends). Meta is
called outside any transaction, so a slow Graph API never holds a database lock; the result is then
stored with an optimistic version check."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TypeVar

from app.commands import (
    SubmitTemplate,
    SyncReport,
    SyncTemplates,
)
from app.errors import (
    MetaError,
    MetaNotConfigured,
)
from app.handlers.templates import expect_meta_change, load_template, meta_change_refused, require_waba
from app.listing import all_templates
from app.meta_ports import MetaTemplateState, TemplateGateway
from app.ports import Clock, UnitOfWorkFactory
from domain.events import TemplateEvent
from domain.observations import Aspect, ChangeSource, Observation, Outcome
from domain.status import TemplateStatus, reason_code
from domain.templates import Template
from domain.tenancy import Role

# A submission sent this long before a sync's list was taken has had its answer or died: the Graph
# client gives up well within it (timeouts and retries included).
SUBMISSION_IN_FLIGHT = timedelta(minutes=5)


G = TypeVar("G")


def require_gateway(gateway: G | None) -> G:
    if gateway is None:
        raise MetaNotConfigured()
    return gateway


async def submit_template(
    command: SubmitTemplate,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    template_gateway: TemplateGateway | None,
) -> Template:
    command.principal.require(Role.OPERATOR)
    gateway = require_gateway(template_gateway)
    async with uow_factory(read_only=True) as uow:
        template = await load_template(uow, command.principal, command.key)
        template.require_submittable()
    # Recorded before Meta is called: if no answer is ever recorded (a timeout after sending, a
    # shutdown, a crash), the template says so, refuses a second submission, and the next
    # SyncTemplates resolves it.
    await expect_meta_change(uow_factory, clock, template)
    try:
        submission = await gateway.create(template.waba_id, template.definition)
    except MetaError as exc:
        if not exc.outcome_unknown:
            await meta_change_refused(uow_factory, command.principal, command.key, was=False)
        raise
    async with uow_factory() as uow:
        template = await load_template(uow, command.principal, command.key)
        template.mark_submitted(
            submission.meta_template_id, submission.status, submission.category, now=clock.now()
        )
        await uow.templates.update(template)
        await uow.commit()
    return template


async def sync_templates(
    command: SyncTemplates,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    template_gateway: TemplateGateway | None,
) -> SyncReport:
    command.principal.require(Role.OPERATOR)
    gateway = require_gateway(template_gateway)
    async with uow_factory(read_only=True) as uow:
        await require_waba(uow, command.principal, command.waba_id)
    listed_at = clock.now()
    remote = await gateway.list_all(command.waba_id)
    now = clock.now()
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    vanished: list[str] = []
    async with uow_factory() as uow:
        await uow.template_events.reserve()  # many templates in one transaction: queue before locking rows
        local = {
            (t.display_name, t.language_code): t
            for t in await all_templates(uow, command.principal.org_id, command.waba_id)
        }
        for state in remote:
            key = (state.definition.display_name, state.definition.language_code)
            template = local.pop(key, None)
            if template is None:
                template = Template.imported(
                    template_id=secrets.token_hex(16),
                    org_id=command.principal.org_id,
                    waba_id=command.waba_id,
                    definition=state.definition,
                    meta_template_id=state.meta_template_id,
                    now=now,
                )
                _observe_state(template, state, now)
                await uow.templates.add(template)
                created.append(template.name)
                continue
            linked = template.meta_template_id != state.meta_template_id or template.needs_sync
            template.meta_template_id = state.meta_template_id
            template.meta_change_recorded()
            # Only what changed is news: a sync confirming the state records nothing.
            applied = _observe_state(template, state, now, applied_only=True)
            # Not news, but kept: Meta's own JSON of the same components, for a byte-exact resubmit.
            refreshed = template.keep_meta_json(state.definition.components)
            if applied or linked or refreshed:
                await uow.templates.update(template)
            if applied or linked:
                updated.append(template.name)
            else:
                unchanged.append(template.name)
        for template in local.values():
            if template.unanswered_submission_before(listed_at - SUBMISSION_IN_FLIGHT):
                # A submission whose answer was never recorded did not reach Meta after all.
                template.meta_change_recorded()
                await uow.templates.update(template)
                updated.append(template.name)
                continue
            if not template.meta_template_id or template.status is TemplateStatus.DELETED:
                continue  # drafts were never at Meta
            template.observe(
                Observation(
                    Aspect.STATUS,
                    "DELETED",
                    ChangeSource.SYNC,
                    now,
                    reason="no longer in Meta's template list",
                ),
                received_at=now,
            )
            template.meta_change_recorded()
            await uow.templates.update(template)
            vanished.append(template.name)
        await uow.commit()
    return SyncReport(tuple(created), tuple(updated), tuple(unchanged), tuple(vanished))


def _observe_state(
    template: Template, state: MetaTemplateState, now: datetime, *, applied_only: bool = False
) -> list[TemplateEvent]:
    """Returns the events that changed the template."""
    observations = [
        Observation(
            Aspect.STATUS, state.status, ChangeSource.SYNC, now, reason=reason_code(state.rejected_reason)
        ),
        Observation(
            Aspect.COMPONENTS, "synced", ChangeSource.SYNC, now, components=state.definition.components
        ),
    ]
    if state.category:
        observations.append(Observation(Aspect.CATEGORY, state.category, ChangeSource.SYNC, now))
    if state.quality:
        observations.append(Observation(Aspect.QUALITY, state.quality, ChangeSource.SYNC, now))
    events = [template.observe(o, received_at=now, applied_only=applied_only) for o in observations]
    return [event for event in events if event.outcome is Outcome.APPLIED]
