"""Template observations (ordering, superseding, recovery) and the alert policy, pure domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.alerts import AlertDecision, AlertKind, Severity, decide, is_pricier
from domain.components import Components
from domain.events import INFERRED, TemplateEvent
from domain.observations import Aspect, ChangeSource, Observation, Outcome
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template, TemplateRevision
from support.sample_templates import draft_template

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def template() -> Template:
    return draft_template(T0)


def status(value: str, at: datetime, reason: str = "") -> Observation:
    return Observation(Aspect.STATUS, value, ChangeSource.WEBHOOK, at, reason=reason)


def test_events_in_order_move_the_state() -> None:
    t = template()
    for i, event in enumerate(["PENDING", "APPROVED", "PAUSED", "APPROVED", "DISABLED"]):
        entry = t.observe(status(event, T0 + timedelta(minutes=i)), received_at=T0)
        assert entry.outcome is Outcome.APPLIED
    assert t.status is TemplateStatus.DISABLED


def test_an_older_event_is_superseded_and_does_not_roll_back() -> None:
    t = template()
    t.observe(status("PAUSED", T0 + timedelta(hours=2)), received_at=T0)
    entry = t.observe(status("APPROVED", T0 + timedelta(hours=1)), received_at=T0 + timedelta(hours=3))
    assert entry.outcome is Outcome.SUPERSEDED
    assert (entry.from_value, entry.to_value) == ("PAUSED", "APPROVED")
    assert t.status is TemplateStatus.PAUSED


def test_aspects_are_ordered_independently() -> None:
    t = template()
    t.observe(status("APPROVED", T0 + timedelta(hours=2)), received_at=T0)
    quality = Observation(Aspect.QUALITY, "RED", ChangeSource.WEBHOOK, T0 + timedelta(hours=1))
    assert t.observe(quality, received_at=T0).outcome is Outcome.APPLIED
    assert t.quality is TemplateQuality.RED


def test_a_repeat_is_unchanged() -> None:
    t = template()
    t.observe(status("APPROVED", T0), received_at=T0)
    assert t.observe(status("APPROVED", T0), received_at=T0).outcome is Outcome.UNCHANGED


@pytest.mark.parametrize("event", ["REINSTATED", "UNPAUSED"])
def test_reinstated_means_sendable_again(event: str) -> None:
    t = template()
    t.observe(status("DISABLED", T0), received_at=T0)
    t.observe(status(event, T0 + timedelta(minutes=1)), received_at=T0)
    assert t.status is TemplateStatus.APPROVED
    assert t.raw_status == event
    assert t.sendable


def test_flagged_stays_sendable_and_unknown_values_are_kept_verbatim() -> None:
    t = template()
    t.observe(status("FLAGGED", T0), received_at=T0)
    assert t.sendable
    t.observe(status("SOMETHING_NEW", T0 + timedelta(minutes=1)), received_at=T0)
    assert (t.status, t.raw_status) == (TemplateStatus.OTHER, "SOMETHING_NEW")
    assert not t.sendable


def test_rejection_reason_is_kept_and_cleared_on_approval() -> None:
    t = template()
    t.observe(status("REJECTED", T0, reason="INVALID_FORMAT"), received_at=T0)
    assert t.rejection_reason == "INVALID_FORMAT"
    t.observe(status("APPROVED", T0 + timedelta(minutes=1), reason="NONE"), received_at=T0)
    assert t.rejection_reason == ""


def test_components_update_replaces_text_and_keeps_examples() -> None:
    t = template()
    new = Components(body="Hello {{first_name}}, your order waits at the front desk today.")
    entry = t.observe(
        Observation(Aspect.COMPONENTS, "edited", ChangeSource.WEBHOOK, T0, components=new), received_at=T0
    )
    assert entry.outcome is Outcome.APPLIED
    assert t.components == new
    assert [(p.key, p.example) for p in t.parameters] == [("first_name", "Dana")]


# ---- alert policy --------------------------------------------------------------------------------


def decision_for(
    aspect: Aspect, value: str, before: str = "", outcome: Outcome = Outcome.APPLIED
) -> AlertDecision:
    t = template()
    entry = t.observe(Observation(aspect, value, ChangeSource.WEBHOOK, T0), received_at=T0)
    return decide(replace(entry, outcome=outcome, from_value=before))


@pytest.mark.parametrize(
    ("value", "kind", "severity"),
    [
        ("REJECTED", AlertKind.REJECTED, Severity.WARNING),
        ("FLAGGED", AlertKind.FLAGGED, Severity.HIGH),
        ("PAUSED", AlertKind.PAUSED, Severity.HIGH),
        ("DISABLED", AlertKind.DISABLED, Severity.CRITICAL),
    ],
)
def test_bad_statuses_open_their_alert_and_close_other_status_alerts(
    value: str, kind: AlertKind, severity: Severity
) -> None:
    from domain.alerts import SEVERITY

    decision = decision_for(Aspect.STATUS, value)
    assert [k for k, _ in decision.open] == [kind]
    assert SEVERITY[kind] is severity
    assert kind not in decision.resolve
    assert AlertKind.QUALITY_RED not in decision.resolve


@pytest.mark.parametrize("value", ["APPROVED", "REINSTATED", "UNPAUSED", "PENDING"])
def test_recovery_or_a_new_review_resolves_status_alerts(value: str) -> None:
    decision = decision_for(Aspect.STATUS, value)
    assert decision.open == ()
    assert decision.resolve == {AlertKind.PAUSED, AlertKind.DISABLED, AlertKind.FLAGGED, AlertKind.REJECTED}


def test_deletion_resolves_every_alert() -> None:
    decision = decision_for(Aspect.STATUS, "DELETED")
    assert decision.open == ()
    assert decision.resolve == frozenset(AlertKind)


def test_the_users_own_category_change_alerts_nobody() -> None:
    t = template()
    t.pull_events()
    t.revise(TemplateRevision(category=TemplateCategory.MARKETING), now=T0)
    [event] = t.pull_events()
    assert isinstance(event, TemplateEvent)
    assert (event.aspect, event.source, event.from_value) == (Aspect.CATEGORY, ChangeSource.USER, "UTILITY")
    assert decide(event).open == ()


@pytest.mark.parametrize(
    ("value", "opens", "resolves"),
    [
        ("RED", [AlertKind.QUALITY_RED], {AlertKind.QUALITY_YELLOW}),
        ("YELLOW", [AlertKind.QUALITY_YELLOW], {AlertKind.QUALITY_RED}),
        ("GREEN", [], {AlertKind.QUALITY_YELLOW, AlertKind.QUALITY_RED}),
        ("UNKNOWN", [], set()),
    ],
)
def test_quality_alerts(value: str, opens: list[AlertKind], resolves: set[AlertKind]) -> None:
    decision = decision_for(Aspect.QUALITY, value)
    assert [k for k, _ in decision.open] == opens
    assert decision.resolve == resolves


def test_only_a_pricier_category_alerts() -> None:
    assert [k for k, _ in decision_for(Aspect.CATEGORY, "MARKETING", before="UTILITY").open] == [
        AlertKind.CATEGORY_PRICIER
    ]
    assert decision_for(Aspect.CATEGORY, "UTILITY", before="MARKETING").open == ()
    assert is_pricier(TemplateCategory.UTILITY, TemplateCategory.MARKETING)
    assert not is_pricier(TemplateCategory.AUTHENTICATION, TemplateCategory.UTILITY)


def test_impending_pricier_category_alerts_ahead_of_time() -> None:
    t = template()
    entry = t.announce(
        Aspect.CATEGORY, "MARKETING", source=ChangeSource.WEBHOOK, occurred_at=T0, received_at=T0
    )
    assert entry.outcome is Outcome.NOTICE
    assert t.category is TemplateCategory.UTILITY
    assert [k for k, _ in decide(entry).open] == [AlertKind.CATEGORY_PRICIER]


@pytest.mark.parametrize("outcome", [Outcome.SUPERSEDED, Outcome.UNCHANGED])
def test_superseded_and_unchanged_entries_move_no_alerts(outcome: Outcome) -> None:
    decision = decision_for(Aspect.STATUS, "PAUSED", outcome=outcome)
    assert decision.open == ()
    assert decision.resolve == frozenset()


def test_edit_webhook_keeps_what_it_cannot_describe() -> None:
    from domain.components import Button, ButtonType, Header, HeaderFormat
    from domain.observations import PARTIAL_COMPONENTS

    t = template()
    t.components = Components(
        body="Old body {{first_name}} with enough words around it.",
        header=Header(HeaderFormat.IMAGE, example_media_handles=("h1",)),
        buttons=(
            Button(ButtonType.QUICK_REPLY, "Thanks"),
            Button(ButtonType.URL, "Track", url="https://a.example/{{1}}"),
            Button(ButtonType.COPY_CODE, "", example="SAVE10"),
        ),
    )
    reported = Components(
        body="New body {{first_name}} with enough words around it.",
        buttons=(Button(ButtonType.URL, "Follow", url="https://b.example/{{1}}"),),
    )
    t.observe(
        Observation(
            Aspect.COMPONENTS,
            "edited",
            ChangeSource.WEBHOOK,
            T0,
            components=reported,
            details={PARTIAL_COMPONENTS: True},
        ),
        received_at=T0,
    )
    assert t.components.body.startswith("New body")
    assert t.components.header is not None
    assert t.components.header.format is HeaderFormat.IMAGE
    assert [(b.type, b.text) for b in t.components.buttons] == [
        (ButtonType.QUICK_REPLY, "Thanks"),
        (ButtonType.URL, "Follow"),
        (ButtonType.COPY_CODE, ""),
    ]


# ---- events that name no status, and what Meta says came before ----------------------------------


@pytest.mark.parametrize("event", ["UNARCHIVED", "unlocked"])
def test_an_event_that_names_no_status_keeps_it_and_asks_for_a_sync(event: str) -> None:
    t = template()
    t.observe(status("ARCHIVED", T0), received_at=T0)
    recorded = t.observe(status(event, T0 + timedelta(minutes=1)), received_at=T0)
    assert (t.status, t.raw_status, t.needs_sync) == (TemplateStatus.ARCHIVED, "ARCHIVED", True)
    assert (recorded.outcome, recorded.from_value, recorded.to_value) == (
        Outcome.APPLIED,
        "ARCHIVED",
        event,
    )
    assert TemplateStatus.from_meta(event) is TemplateStatus.OTHER
    assert TemplateStatus.after_event(event) is None


def test_meta_s_previous_value_is_the_from_of_an_aspect_never_observed_only() -> None:
    t = template()
    first = t.observe(
        Observation(Aspect.QUALITY, "RED", ChangeSource.WEBHOOK, T0, previous="GREEN"), received_at=T0
    )
    later = t.observe(
        Observation(Aspect.QUALITY, "YELLOW", ChangeSource.WEBHOOK, T0 + timedelta(1), previous="GREEN"),
        received_at=T0,
    )
    assert (first.from_value, later.from_value) == ("GREEN", "RED")


def status_of(t: Template) -> TemplateStatus:
    """`t.status` read afresh: mypy keeps an attribute narrowed by an assert across method calls."""
    return t.status


def test_approval_is_inferred_from_a_rating_only_while_the_status_is_unknown() -> None:
    t = Template.imported(
        template_id="t2",
        org_id="o1",
        waba_id="w1",
        definition=template().definition,
        meta_template_id="42",
        now=T0,
        needs_sync=True,
    )
    assert status_of(t) is TemplateStatus.UNKNOWN
    t.infer_approval_from_rating(rated_at=T0, received_at=T0)
    assert status_of(t) is TemplateStatus.APPROVED
    [event] = t.pull_events()
    assert isinstance(event, TemplateEvent)
    assert INFERRED in event.details
    # Any status Meta sends, even one older than the rating, is its word and overrides the guess.
    t.observe(status("PAUSED", T0 - timedelta(hours=1)), received_at=T0)
    assert t.status is TemplateStatus.PAUSED
    t.infer_approval_from_rating(rated_at=T0, received_at=T0)
    assert t.status is TemplateStatus.PAUSED
