"""Every path that changes a template is a command on the bus, and every one of them appends the
template's history and runs the alert policy, without the use case asking for either: a webhook
change, a sync, a send error, the user's update and the user's delete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import (
    AddWaba,
    ApplyInboxChanges,
    CreateOrganization,
    CreateTemplate,
    DeleteTemplate,
    SendTemplateMessage,
    SubmitTemplate,
    SyncTemplates,
    UpdateTemplate,
)
from app.errors import MetaTemplatePaused
from app.inbox import InboxChange
from app.messagebus import MessageBus
from app.meta_ports import MetaTemplateState
from app.resource_names import TemplateKey
from domain.alerts import AlertKind, AlertState
from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.observations import Aspect, ChangeSource, Outcome
from domain.status import TemplateCategory, TemplateStatus
from domain.templates import Template, TemplateRevision
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock
from fakes.meta import FakeMessageGateway, FakeTemplateGateway

WABA = "301122334455667"
PHONE = "109876543210987"
KEY = TemplateKey(WABA, "order_ready", "en_US")
META_ID = "918273645500100"  # the fake gateway's first id
BODY = "Hi {{first_name}}, your order {{order_id}} can be collected from the front desk today."
History = list[tuple[Aspect, ChangeSource, Outcome, str]]


def definition(body: str = BODY) -> TemplateDefinition:
    return TemplateDefinition(
        display_name="order_ready",
        language_code="en_US",
        category=TemplateCategory.UTILITY,
        components=Components(body=body),
        parameters=(ParameterSpec("first_name", "Dana"), ParameterSpec("order_id", "A-1042")),
    )


def listed(status: str, quality: str = "GREEN") -> MetaTemplateState:
    return MetaTemplateState(META_ID, definition(), status, "UTILITY", quality)


@dataclass
class World:
    bus: MessageBus
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    templates: FakeTemplateGateway
    messages: FakeMessageGateway
    principal: Principal
    template_id: str = ""
    changes: int = 0

    async def template(self) -> Template:
        async with self.factory(read_only=True) as uow:
            found = await uow.templates.get_by_key(self.principal.org_id, WABA, "order_ready", "en_US")
        assert found is not None
        return found

    async def history(self) -> History:
        async with self.factory(read_only=True) as uow:
            records = await uow.template_events.list_for_template(self.principal.org_id, self.template_id)
        return [(r.event.aspect, r.event.source, r.event.outcome, r.event.to_value) for r in records]

    async def alerts(self) -> dict[AlertKind, AlertState]:
        async with self.factory(read_only=True) as uow:
            found = await uow.alerts.active_for_template(self.template_id)
        return {alert.kind: alert.state for alert in found}

    async def webhook(self, event: str) -> None:
        """Meta's status webhook for the template."""
        await self.deliver("message_template_status_update", {"event": event, "reason": "NONE"})

    async def deliver(
        self, field: str, value: Mapping[str, object], meta_ahead: timedelta = timedelta()
    ) -> None:
        """A webhook change about the template, stored in the inbox and applied by the bus, as the
        inbox worker has it applied; dated by Meta's clock, which may run `meta_ahead` of ours."""
        self.changes += 1
        change = InboxChange(
            id=f"delivery-{self.changes:04d}",
            delivery_id="delivery",
            key=f"change-{self.changes}",
            waba_id=WABA,
            field=field,
            entry_time=self.clock.now() + meta_ahead,
            value={
                "message_template_id": int(META_ID),
                "message_template_name": "order_ready",
                "message_template_language": "en_US",
                **value,
            },
            received_at=self.clock.now(),
        )
        async with self.factory() as uow:
            await uow.inbox.add_changes([change])
            await uow.commit()
        await self.bus.handle(ApplyInboxChanges((change.id,)))
        self.clock.advance(timedelta(minutes=1))


async def registered_world() -> World:
    """An organization with its WABA, and no template yet."""
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    templates, messages = FakeTemplateGateway(), FakeMessageGateway()
    bus = build_bus(factory, clock, templates, messages)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA, phone_number_ids=(PHONE,)))
    return World(bus, factory, clock, templates, messages, Principal(org.org_id, Role.OPERATOR, "k"))


async def submitted_world() -> World:
    world = await registered_world()
    written = await world.bus.handle(CreateTemplate(world.principal, WABA, definition()))
    world.template_id = written.template.id
    await world.bus.handle(SubmitTemplate(world.principal, KEY))
    world.clock.advance(timedelta(minutes=1))
    return world


async def test_a_webhook_change_appends_history_and_opens_an_alert() -> None:
    world = await submitted_world()
    await world.webhook("PAUSED")
    assert (await world.history())[-1] == (Aspect.STATUS, ChangeSource.WEBHOOK, Outcome.APPLIED, "PAUSED")
    assert await world.alerts() == {AlertKind.PAUSED: AlertState.OPEN}
    await world.webhook("APPROVED")
    assert await world.alerts() == {}


async def test_a_sync_appends_history_and_opens_alerts() -> None:
    world = await submitted_world()
    world.templates.listed = [listed("PAUSED", quality="RED")]
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    history = await world.history()
    assert (Aspect.STATUS, ChangeSource.SYNC, Outcome.APPLIED, "PAUSED") in history
    assert (Aspect.QUALITY, ChangeSource.SYNC, Outcome.APPLIED, "RED") in history
    assert await world.alerts() == {AlertKind.PAUSED: AlertState.OPEN, AlertKind.QUALITY_RED: AlertState.OPEN}

    # A sync that finds nothing new records nothing and leaves the alerts be.
    world.clock.advance(timedelta(minutes=1))
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert await world.history() == history
    world.templates.listed = [listed("APPROVED")]
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert await world.alerts() == {}


async def test_a_send_error_appends_history_and_opens_an_alert() -> None:
    world = await submitted_world()
    await world.webhook("APPROVED")
    world.messages.errors.append(MetaTemplatePaused("paused", code=132015))
    with pytest.raises(MetaTemplatePaused):
        await world.bus.handle(
            SendTemplateMessage(
                world.principal, KEY, "+15551234567", {"first_name": "Dana", "order_id": "A-1"}
            )
        )
    assert (await world.history())[-1][:3] == (Aspect.STATUS, ChangeSource.SEND_ERROR, Outcome.APPLIED)
    assert await world.alerts() == {AlertKind.PAUSED: AlertState.OPEN}


async def test_the_users_update_appends_history_and_resolves_the_alert_it_answers() -> None:
    world = await submitted_world()
    world.templates.listed = [listed("REJECTED")]
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert await world.alerts() == {AlertKind.REJECTED: AlertState.OPEN}
    new_body = Components(body="Hello {{first_name}}, order {{order_id}} is ready at the front desk.")
    await world.bus.handle(UpdateTemplate(world.principal, KEY, TemplateRevision(components=new_body)))
    history = await world.history()
    assert (Aspect.COMPONENTS, ChangeSource.USER, Outcome.APPLIED) in [h[:3] for h in history]
    assert history[-1] == (Aspect.STATUS, ChangeSource.USER, Outcome.APPLIED, "PENDING")
    # Edited and back in review: the rejection is answered.
    assert await world.alerts() == {}


async def test_the_users_delete_appends_history_and_resolves_every_alert() -> None:
    world = await submitted_world()
    await world.webhook("PAUSED")
    world.templates.listed = [listed("PAUSED", quality="YELLOW")]
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert set(await world.alerts()) == {AlertKind.PAUSED, AlertKind.QUALITY_YELLOW}
    await world.bus.handle(DeleteTemplate(world.principal, KEY))
    assert world.templates.deleted == [(WABA, META_ID, "order_ready")]
    assert (await world.history())[-1] == (Aspect.STATUS, ChangeSource.USER, Outcome.APPLIED, "DELETED")
    assert await world.alerts() == {}


async def test_a_sync_resolves_a_template_first_seen_without_its_status() -> None:
    world = await registered_world()
    category_update = {"previous_category": "UTILITY", "new_category": "MARKETING"}
    await world.deliver("template_category_update", category_update)
    seen = await world.template()
    assert (seen.status, seen.needs_sync, seen.category) == (
        TemplateStatus.UNKNOWN,
        True,
        TemplateCategory.MARKETING,
    )
    world.templates.listed = [listed("APPROVED")]
    report = await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert report.updated == ("order_ready.en_US",)
    synced = await world.template()
    assert (synced.status, synced.needs_sync) == (TemplateStatus.APPROVED, False)


# ---- what a first sight, a sync or our own acts must not get wrong ---------------------------------


async def test_a_template_first_seen_through_its_category_change_starts_from_the_old_one() -> None:
    world = await registered_world()
    category_update = {"previous_category": "UTILITY", "new_category": "MARKETING"}
    await world.deliver("template_category_update", category_update)
    world.template_id = (await world.template()).id
    assert await world.history() == [(Aspect.CATEGORY, ChangeSource.WEBHOOK, Outcome.APPLIED, "MARKETING")]
    assert await world.alerts() == {AlertKind.CATEGORY_PRICIER: AlertState.OPEN}


async def test_a_rating_approves_a_template_of_unknown_status_whenever_it_comes() -> None:
    world = await registered_world()
    same_category = {"previous_category": "UTILITY", "new_category": "UTILITY"}
    await world.deliver("template_category_update", same_category)
    assert (await world.template()).status is TemplateStatus.UNKNOWN
    rating = {"previous_quality_score": "GREEN", "new_quality_score": "YELLOW"}
    await world.deliver("message_template_quality_update", rating)
    assert (await world.template()).status is TemplateStatus.APPROVED


async def test_a_sync_after_an_explained_rejection_is_not_news() -> None:
    world = await submitted_world()
    rejection = {"reason": "Two variables side by side.", "recommendation": "Split them."}
    await world.deliver(
        "message_template_status_update",
        {"event": "REJECTED", "reason": "INVALID_FORMAT", "rejection_info": rejection},
    )
    template, history = await world.template(), await world.history()
    assert template.rejection_reason == "INVALID_FORMAT"  # Meta's code, as its template list has it
    world.templates.listed = [
        MetaTemplateState(META_ID, definition(), "REJECTED", "UTILITY", "UNKNOWN", "INVALID_FORMAT")
    ]
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert await world.history() == history
    assert (await world.template()).version == template.version
    async with world.factory(read_only=True) as uow:
        [alert] = await uow.alerts.active_for_template(world.template_id)
    assert alert.reason == ("INVALID_FORMAT: Two variables side by side. Recommendation: Split them.")


async def test_a_synced_pause_does_not_show_meta_s_placeholder_reason() -> None:
    world = await submitted_world()
    # Meta's template list says rejected_reason NONE for every template it did not reject.
    world.templates.listed = [MetaTemplateState(META_ID, definition(), "PAUSED", "UTILITY", "RED", "NONE")]
    await world.bus.handle(SyncTemplates(world.principal, WABA))
    async with world.factory(read_only=True) as uow:
        reasons = {a.kind: a.reason for a in await uow.alerts.active_for_template(world.template_id)}
    assert reasons[AlertKind.PAUSED] == "template is PAUSED"


async def test_our_delete_applies_even_when_meta_s_clock_ran_ahead() -> None:
    world = await submitted_world()
    paused = {"event": "PAUSED", "reason": "NONE"}
    await world.deliver("message_template_status_update", paused, meta_ahead=timedelta(minutes=20))
    assert await world.alerts() == {AlertKind.PAUSED: AlertState.OPEN}
    await world.bus.handle(DeleteTemplate(world.principal, KEY))
    assert (await world.history())[-1] == (Aspect.STATUS, ChangeSource.USER, Outcome.APPLIED, "DELETED")
    assert await world.alerts() == {}


async def test_our_accepted_edit_applies_even_when_meta_s_clock_ran_ahead() -> None:
    world = await submitted_world()
    rejected = {"event": "REJECTED", "reason": "INVALID_FORMAT"}
    await world.deliver("message_template_status_update", rejected, meta_ahead=timedelta(minutes=20))
    body = Components(body="Hello {{first_name}}, order {{order_id}} is ready at the front desk.")
    await world.bus.handle(UpdateTemplate(world.principal, KEY, TemplateRevision(components=body)))
    assert (await world.template()).status is TemplateStatus.PENDING
    assert await world.alerts() == {}
