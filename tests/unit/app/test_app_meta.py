"""Meta-bound use cases (submit, sync, edit/delete at Meta, send) over in-memory fakes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import (
    AddWaba,
    CreateOrganization,
    CreateTemplate,
    DeleteTemplate,
    SendTemplateMessage,
    SubmitTemplate,
    SyncTemplates,
    UpdateTemplate,
)
from app.errors import (
    InvalidArgument,
    MetaError,
    MetaNotConfigured,
    MetaRequestRejected,
    MetaTemplateDisabled,
    MetaTemplateNotFound,
    MetaTemplatePaused,
    MetaUnavailable,
    NotFound,
)
from app.messagebus import MessageBus
from app.meta_ports import MetaSubmission, MetaTemplateState
from app.resource_names import TemplateKey
from domain.components import Components, ParameterFormat, ParameterSpec, TemplateDefinition
from domain.errors import InvalidParameterValues, MetaEditRefused, TemplateLifecycleError, TemplateNotSendable
from domain.observations import Aspect, ChangeSource, Outcome
from domain.send_parameters import SendComponent, SendParameter
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template, TemplateRevision
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock
from fakes.meta import FakeMessageGateway, FakeTemplateGateway

WABA = "301122334455667"
PHONE = "109876543210987"
KEY = TemplateKey(WABA, "order_ready", "en_US")
VALUES = {"first_name": "Dana", "order_id": "A-1042"}


def definition(name: str = "order_ready", body: str | None = None) -> TemplateDefinition:
    return TemplateDefinition(
        display_name=name,
        language_code="en_US",
        category=TemplateCategory.UTILITY,
        components=Components(
            body=body
            or "Hi {{first_name}}, your order {{order_id}} can be collected from the front desk today."
        ),
        parameters=(ParameterSpec("first_name", "Dana"), ParameterSpec("order_id", "A-1042")),
    )


@dataclass
class World:
    bus: MessageBus
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    templates: FakeTemplateGateway
    messages: FakeMessageGateway
    principal: Principal

    async def template(self, key: TemplateKey = KEY) -> Template:
        async with self.factory(read_only=True) as uow:
            found = await uow.templates.get_by_key(
                self.principal.org_id, key.waba_id, key.display_name, key.language_code
            )
        assert found is not None
        return found

    async def exists(self, key: TemplateKey = KEY) -> bool:
        async with self.factory(read_only=True) as uow:
            found = await uow.templates.get_by_key(
                self.principal.org_id, key.waba_id, key.display_name, key.language_code
            )
        return found is not None

    async def history(self, template: Template) -> list[tuple[Aspect, ChangeSource, Outcome, str]]:
        async with self.factory(read_only=True) as uow:
            records = await uow.template_events.list_for_template(self.principal.org_id, template.id)
        return [(r.event.aspect, r.event.source, r.event.outcome, r.event.to_value) for r in records]

    async def set_status(self, status: str) -> None:
        async with self.factory() as uow:
            template = await uow.templates.get_by_key(self.principal.org_id, WABA, "order_ready", "en_US")
            assert template is not None
            from domain.observations import Observation

            template.observe(
                Observation(Aspect.STATUS, status, ChangeSource.WEBHOOK, self.clock.now()),
                received_at=self.clock.now(),
            )
            await uow.templates.update(template)
            await uow.commit()


async def make_world(*, configured: bool = True) -> World:
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    templates, messages = FakeTemplateGateway(), FakeMessageGateway()
    bus = build_bus(factory, clock, templates if configured else None, messages if configured else None)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA, phone_number_ids=(PHONE,)))
    world = World(bus, factory, clock, templates, messages, Principal(org.org_id, Role.OPERATOR, "k"))
    await bus.handle(CreateTemplate(world.principal, WABA, definition()))
    return world


# ---- submit ------------------------------------------------------------------------------------


async def test_submit_stores_meta_id_status_and_history() -> None:
    world = await make_world()
    submitted = await world.bus.handle(SubmitTemplate(world.principal, KEY))
    assert submitted.meta_template_id == "918273645500100"
    assert submitted.status is TemplateStatus.PENDING
    [(waba, sent)] = world.templates.created
    assert (waba, sent.display_name, sent.components) == (WABA, "order_ready", definition().components)
    assert sent.parameter_format is ParameterFormat.NAMED
    stored = await world.template()
    assert stored.meta_template_id == submitted.meta_template_id
    assert (Aspect.STATUS, ChangeSource.SUBMISSION, Outcome.APPLIED, "PENDING") in await world.history(stored)


async def test_submit_twice_is_refused_without_calling_meta_again() -> None:
    world = await make_world()
    await world.bus.handle(SubmitTemplate(world.principal, KEY))
    with pytest.raises(TemplateLifecycleError) as refused:
        await world.bus.handle(SubmitTemplate(world.principal, KEY))
    assert refused.value.reason == "TEMPLATE_ALREADY_SUBMITTED"
    assert len(world.templates.created) == 1


async def test_meta_bound_use_cases_say_meta_is_not_configured_and_local_ones_work() -> None:
    world = await make_world(configured=False)
    for command in (
        SubmitTemplate(world.principal, KEY),
        SyncTemplates(world.principal, WABA),
        SendTemplateMessage(world.principal, KEY, "+15551230000", VALUES),
    ):
        with pytest.raises(MetaNotConfigured):
            await world.bus.handle(command)
    # A draft is local: editing it needs no Meta.
    written = await world.bus.handle(
        UpdateTemplate(world.principal, KEY, TemplateRevision(category=TemplateCategory.MARKETING))
    )
    assert written.template.category is TemplateCategory.MARKETING


async def test_viewer_cannot_submit_sync_or_send() -> None:
    world = await make_world()
    viewer = replace(world.principal, role=Role.VIEWER)
    from app.errors import PermissionDenied

    for command in (
        SubmitTemplate(viewer, KEY),
        SyncTemplates(viewer, WABA),
        SendTemplateMessage(viewer, KEY, "+15551230000", VALUES),
    ):
        with pytest.raises(PermissionDenied):
            await world.bus.handle(command)


# ---- edit and delete at Meta ------------------------------------------------------------------


async def submitted_and(world: World, status: str) -> None:
    await world.bus.handle(SubmitTemplate(world.principal, KEY))
    await world.set_status(status)


NEW_BODY = Components(body="Hello {{first_name}}, order {{order_id}} waits for you at the front desk today.")


async def test_edit_of_approved_template_goes_to_meta_and_back_to_review() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    written = await world.bus.handle(
        UpdateTemplate(world.principal, KEY, TemplateRevision(components=NEW_BODY))
    )
    assert [(e[0], e[2]) for e in world.templates.edits] == [("918273645500100", False)]
    assert world.templates.edits[0][1].components == NEW_BODY
    assert written.template.status is TemplateStatus.PENDING
    assert written.template.components == NEW_BODY
    assert written.template.meta_edit_times == (world.clock.now(),)


async def test_second_edit_of_approved_template_within_24h_is_refused_with_when() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    await world.bus.handle(UpdateTemplate(world.principal, KEY, TemplateRevision(components=NEW_BODY)))
    await world.set_status("APPROVED")
    world.clock.advance(timedelta(hours=3))
    with pytest.raises(MetaEditRefused) as refused:
        await world.bus.handle(
            UpdateTemplate(
                world.principal,
                KEY,
                TemplateRevision(
                    components=Components(body="Dear {{first_name}}, we hold order {{order_id}} at the desk.")
                ),
            )
        )
    assert refused.value.reason == "EDIT_LIMIT_DAILY"
    assert refused.value.available_at == world.clock.now() + timedelta(hours=21)
    assert len(world.templates.edits) == 1


async def test_eleventh_edit_in_30_days_is_refused() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    for day in range(10):
        body = f"Hello {{{{first_name}}}}, order {{{{order_id}}}} is ready, day {day} at the desk."
        await world.bus.handle(
            UpdateTemplate(world.principal, KEY, TemplateRevision(components=Components(body=body)))
        )
        await world.set_status("APPROVED")
        world.clock.advance(timedelta(days=1, minutes=1))
    with pytest.raises(MetaEditRefused) as refused:
        await world.bus.handle(UpdateTemplate(world.principal, KEY, TemplateRevision(components=NEW_BODY)))
    assert refused.value.reason == "EDIT_LIMIT_MONTHLY"
    assert refused.value.available_at is not None
    assert refused.value.available_at > world.clock.now()


async def test_category_of_approved_template_is_immutable() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    with pytest.raises(MetaEditRefused) as refused:
        await world.bus.handle(
            UpdateTemplate(world.principal, KEY, TemplateRevision(category=TemplateCategory.MARKETING))
        )
    assert refused.value.reason == "CATEGORY_IMMUTABLE"
    assert world.templates.edits == []


@pytest.mark.parametrize("status", ["PENDING", "DISABLED", "IN_APPEAL"])
async def test_templates_meta_does_not_edit_are_refused(status: str) -> None:
    world = await make_world()
    await submitted_and(world, status)
    with pytest.raises(MetaEditRefused) as refused:
        await world.bus.handle(UpdateTemplate(world.principal, KEY, TemplateRevision(components=NEW_BODY)))
    assert refused.value.reason == "TEMPLATE_NOT_EDITABLE"


@pytest.mark.parametrize("status", ["REJECTED", "PAUSED"])
async def test_rejected_and_paused_templates_edit_without_limits(status: str) -> None:
    world = await make_world()
    await submitted_and(world, status)
    for _ in range(3):
        await world.bus.handle(UpdateTemplate(world.principal, KEY, TemplateRevision(components=NEW_BODY)))
        await world.set_status(status)
    assert len(world.templates.edits) == 3


async def test_rejected_template_may_change_category() -> None:
    world = await make_world()
    await submitted_and(world, "REJECTED")
    await world.bus.handle(
        UpdateTemplate(world.principal, KEY, TemplateRevision(category=TemplateCategory.MARKETING))
    )
    assert world.templates.edits[0][2] is True


async def test_delete_of_submitted_template_deletes_at_meta_by_id_and_name() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    await world.bus.handle(DeleteTemplate(world.principal, KEY))
    assert world.templates.deleted == [(WABA, "918273645500100", "order_ready")]
    assert not await world.exists()


async def test_disabled_template_cannot_be_deleted_and_meta_is_not_called() -> None:
    world = await make_world()
    await submitted_and(world, "DISABLED")
    with pytest.raises(TemplateLifecycleError) as refused:
        await world.bus.handle(DeleteTemplate(world.principal, KEY))
    assert refused.value.reason == "TEMPLATE_DISABLED"
    assert world.templates.deleted == []
    assert (await world.template()).status is TemplateStatus.DISABLED


async def test_delete_of_template_meta_no_longer_has_still_deletes_here() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    world.templates.errors.append(MetaTemplateNotFound("gone", code=132001))
    await world.bus.handle(DeleteTemplate(world.principal, KEY))
    assert not await world.exists()


# ---- sync -------------------------------------------------------------------------------------


def remote(
    name: str, meta_id: str, status: str = "APPROVED", quality: str = "GREEN", body: str | None = None
) -> MetaTemplateState:
    return MetaTemplateState(meta_id, definition(name, body), status, "UTILITY", quality)


async def test_sync_creates_updates_counts_unchanged_and_marks_vanished() -> None:
    world = await make_world()
    await world.bus.handle(SubmitTemplate(world.principal, KEY))  # meta id ...100, PENDING locally
    await world.bus.handle(CreateTemplate(world.principal, WABA, definition("gone_later")))
    await world.bus.handle(SubmitTemplate(world.principal, TemplateKey(WABA, "gone_later", "en_US")))
    await world.bus.handle(CreateTemplate(world.principal, WABA, definition("local_draft")))
    world.templates.listed = [
        remote("order_ready", "918273645500100", "APPROVED", "YELLOW"),
        remote("from_manager", "555", "REJECTED", "UNKNOWN"),
    ]
    report = await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert report.created == ("from_manager.en_US",)
    assert report.updated == ("order_ready.en_US",)
    assert report.vanished == ("gone_later.en_US",)
    assert report.unchanged == ()
    ready = await world.template()
    assert (ready.status, ready.quality) == (TemplateStatus.APPROVED, TemplateQuality.YELLOW)
    made = await world.template(TemplateKey(WABA, "from_manager", "en_US"))
    assert (made.meta_template_id, made.status) == ("555", TemplateStatus.REJECTED)
    assert [p.key for p in made.parameters] == ["first_name", "order_id"]
    gone = await world.template(TemplateKey(WABA, "gone_later", "en_US"))
    assert gone.status is TemplateStatus.DELETED
    draft = await world.template(TemplateKey(WABA, "local_draft", "en_US"))
    assert draft.status is TemplateStatus.DRAFT

    # A second identical sync changes nothing and writes no history.
    before = await world.history(ready)
    again = await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert sorted(again.unchanged) == ["from_manager.en_US", "order_ready.en_US"]
    assert again.created == again.updated == again.vanished == ()
    assert await world.history(ready) == before
    assert all(source is ChangeSource.SYNC for _, source, _, _ in before[-2:])


async def test_sync_links_a_local_template_submitted_elsewhere_and_takes_meta_components() -> None:
    world = await make_world()
    new_body = "Hey {{first_name}}, parcel {{order_id}} has arrived at the front desk for you."
    world.templates.listed = [remote("order_ready", "777", body=new_body)]
    report = await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert report.updated == ("order_ready.en_US",)
    stored = await world.template()
    assert stored.meta_template_id == "777"
    assert stored.components.body == new_body
    # The declared examples survive a components change.
    assert {p.key: p.example for p in stored.parameters} == {"first_name": "Dana", "order_id": "A-1042"}


async def test_sync_of_another_orgs_waba_is_not_found() -> None:
    world = await make_world()
    other = replace(world.principal, org_id="someone-else")
    with pytest.raises(NotFound):
        await world.bus.handle(SyncTemplates(other, WABA))


# ---- send -------------------------------------------------------------------------------------


async def approved_world() -> World:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    return world


async def test_send_renders_and_calls_meta_from_the_first_phone_number() -> None:
    world = await approved_world()
    sent = await world.bus.handle(
        SendTemplateMessage(world.principal, KEY, "+1 555-123-0000", VALUES, callback_data="campaign=7")
    )
    assert (sent.message_id, sent.message_status, sent.phone_number_id) == ("wamid.fake1", "accepted", PHONE)
    [send] = world.messages.sent
    assert (send.phone_number_id, send.to, send.callback_data) == (PHONE, "+15551230000", "campaign=7")
    assert (send.template_name, send.language_code) == ("order_ready", "en_US")
    assert send.message.parameters == (
        SendParameter(SendComponent.BODY, "Dana", name="first_name"),
        SendParameter(SendComponent.BODY, "A-1042", name="order_id"),
    )


@pytest.mark.parametrize("status", ["DRAFT", "PENDING", "PAUSED", "DISABLED", "REJECTED"])
async def test_unsendable_template_is_refused_before_meta(status: str) -> None:
    world = await make_world()
    if status != "DRAFT":
        await submitted_and(world, status)
    with pytest.raises(TemplateNotSendable):
        await world.bus.handle(SendTemplateMessage(world.principal, KEY, "+15551230000", VALUES))
    assert world.messages.sent == []


async def test_flagged_template_is_still_sendable() -> None:
    world = await make_world()
    await submitted_and(world, "FLAGGED")
    await world.bus.handle(SendTemplateMessage(world.principal, KEY, "+15551230000", VALUES))
    assert len(world.messages.sent) == 1


async def test_send_with_missing_value_names_it_and_sends_nothing() -> None:
    world = await approved_world()
    with pytest.raises(InvalidParameterValues) as invalid:
        await world.bus.handle(
            SendTemplateMessage(world.principal, KEY, "+15551230000", {"first_name": "Dana"})
        )
    assert [v.key for v in invalid.value.violations] == ["order_id"]
    assert world.messages.sent == []


@pytest.mark.parametrize("to", ["hello", "+12", "+1555123000012345678901"])
async def test_send_to_a_non_number_is_invalid(to: str) -> None:
    world = await approved_world()
    with pytest.raises(InvalidArgument) as invalid:
        await world.bus.handle(SendTemplateMessage(world.principal, KEY, to, VALUES))
    assert invalid.value.reason == "INVALID_RECIPIENT"


async def test_send_from_a_phone_number_of_another_waba_is_not_found() -> None:
    world = await approved_world()
    with pytest.raises(NotFound):
        await world.bus.handle(
            SendTemplateMessage(world.principal, KEY, "+15551230000", VALUES, phone_number_id="42")
        )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (MetaTemplatePaused("paused", code=132015, fbtrace_id="AbC"), TemplateStatus.PAUSED),
        (MetaTemplateDisabled("disabled", code=132016), TemplateStatus.DISABLED),
    ],
)
async def test_paused_or_disabled_answer_records_evidence_on_the_template(
    error: MetaError, status: TemplateStatus
) -> None:
    world = await approved_world()
    world.messages.errors.append(error)
    with pytest.raises(type(error)):
        await world.bus.handle(SendTemplateMessage(world.principal, KEY, "+15551230000", VALUES))
    stored = await world.template()
    assert stored.status is status
    assert (Aspect.STATUS, ChangeSource.SEND_ERROR, Outcome.APPLIED, status.value) in await world.history(
        stored
    )
    # The evidence blocks the next send before it reaches Meta.
    with pytest.raises(TemplateNotSendable):
        await world.bus.handle(SendTemplateMessage(world.principal, KEY, "+15551230000", VALUES))


# ---- a Meta call whose answer is never recorded -------------------------------------------------


def unknown_outcome() -> MetaUnavailable:
    error = MetaUnavailable("Meta did not answer within 20 s (POST /v24.0/x/message_templates)")
    error.outcome_unknown = True
    return error


def meta_state(meta_id: str = "918273645500999", status: str = "PENDING") -> MetaTemplateState:
    return MetaTemplateState(meta_id, definition(), status, "UTILITY", "UNKNOWN")


async def test_a_submission_without_an_answer_is_marked_and_refused_again_until_a_sync() -> None:
    world = await make_world()
    world.templates.errors.append(unknown_outcome())

    with pytest.raises(MetaUnavailable):
        await world.bus.handle(SubmitTemplate(world.principal, KEY))

    stored = await world.template()
    assert (stored.status, stored.meta_template_id, stored.needs_sync) == (TemplateStatus.DRAFT, "", True)
    with pytest.raises(TemplateLifecycleError) as refused:
        await world.bus.handle(SubmitTemplate(world.principal, KEY))
    assert refused.value.reason == "META_OUTCOME_UNKNOWN"
    assert world.templates.created == []

    # Meta did create it: the sync links it.
    world.templates.listed = [meta_state()]
    report = await world.bus.handle(SyncTemplates(world.principal, WABA))
    assert report.updated == ("order_ready.en_US",)
    stored = await world.template()
    assert (stored.status, stored.meta_template_id, stored.needs_sync) == (
        TemplateStatus.PENDING,
        "918273645500999",
        False,
    )


async def test_a_sync_that_does_not_find_the_unanswered_submission_frees_the_draft() -> None:
    world = await make_world()
    world.templates.errors.append(unknown_outcome())
    with pytest.raises(MetaUnavailable):
        await world.bus.handle(SubmitTemplate(world.principal, KEY))

    # A sync right away proves nothing: Meta may still be processing the submission.
    assert (await world.bus.handle(SyncTemplates(world.principal, WABA))).updated == ()
    assert (await world.template()).needs_sync is True
    world.clock.advance(minutes=6)
    report = await world.bus.handle(SyncTemplates(world.principal, WABA))

    assert report.updated == ("order_ready.en_US",)
    assert (await world.template()).needs_sync is False
    submitted = await world.bus.handle(SubmitTemplate(world.principal, KEY))
    assert submitted.meta_template_id


async def test_a_draft_whose_submission_is_unanswered_is_not_changed_here() -> None:
    world = await make_world()
    world.templates.errors.append(unknown_outcome())
    with pytest.raises(MetaUnavailable):
        await world.bus.handle(SubmitTemplate(world.principal, KEY))

    for command in (
        UpdateTemplate(world.principal, KEY, TemplateRevision(category=TemplateCategory.MARKETING)),
        DeleteTemplate(world.principal, KEY),
    ):
        with pytest.raises(TemplateLifecycleError) as refused:
            await world.bus.handle(command)
        assert refused.value.reason == "META_OUTCOME_UNKNOWN"
    assert await world.exists()


async def test_a_submission_meta_refused_leaves_no_mark() -> None:
    world = await make_world()
    world.templates.errors.append(MetaRequestRejected("Invalid parameter", code=100))

    with pytest.raises(MetaRequestRejected):
        await world.bus.handle(SubmitTemplate(world.principal, KEY))

    assert (await world.template()).needs_sync is False
    assert (await world.bus.handle(SubmitTemplate(world.principal, KEY))).meta_template_id


async def test_a_submission_cut_off_mid_call_stays_marked() -> None:
    """What a shutdown past its grace period (or a crash) does to a call in flight."""
    world = await make_world()
    entered, never = asyncio.Event(), asyncio.Event()
    create = world.templates.create

    async def hanging_create(waba_id: str, definition: TemplateDefinition) -> MetaSubmission:
        entered.set()
        await never.wait()
        return await create(waba_id, definition)

    world.templates.create = hanging_create  # type: ignore[method-assign]
    call = asyncio.create_task(world.bus.handle(SubmitTemplate(world.principal, KEY)))
    await entered.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    assert (await world.template()).needs_sync is True


@pytest.mark.parametrize("outcome", ["unknown", "refused"])
async def test_an_edit_or_delete_at_meta_without_an_answer_is_marked(outcome: str) -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    etag = (await world.template()).etag
    for command in (
        UpdateTemplate(world.principal, KEY, TemplateRevision(components=NEW_BODY), etag=etag),
        DeleteTemplate(world.principal, KEY, etag=etag),
    ):
        error = unknown_outcome() if outcome == "unknown" else MetaRequestRejected("no", code=100)
        world.templates.errors.append(error)
        with pytest.raises(type(error)):
            await world.bus.handle(command)
        stored = await world.template()
        assert stored.needs_sync is (outcome == "unknown")
        assert stored.components == definition().components
        # The mark is not an edit: the etag the caller holds still works.
        assert stored.etag == etag


async def test_a_delete_at_meta_with_an_etag_deletes_here_too() -> None:
    world = await make_world()
    await submitted_and(world, "APPROVED")
    etag = (await world.template()).etag

    await world.bus.handle(DeleteTemplate(world.principal, KEY, etag=etag))

    assert world.templates.deleted
    assert not await world.exists()
