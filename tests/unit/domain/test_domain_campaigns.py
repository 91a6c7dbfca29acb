"""The campaign state machine and the service's protection policy, table-driven."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.campaigns import (
    SERVICE_ACTOR,
    Campaign,
    CampaignPolicy,
    CampaignState,
    CampaignTransitionRefused,
    PauseReason,
    TemplateCondition,
)
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
S = CampaignState


def campaign(state: CampaignState = S.DRAFT, reason: PauseReason | None = None) -> Campaign:
    found = Campaign.create(
        campaign_id="c1",
        org_id="org",
        waba_id="waba",
        phone_number_id="phone",
        template_id="t1",
        template_name="order_ready",
        language_code="en_US",
        display_name="Spring sale",
        actor="apiKeys/abc",
        now=NOW,
    )
    found.state, found.pause_reason = state, reason
    found.new_transitions.clear()
    return found


MOVES: dict[CampaignState, Callable[[Campaign], None]] = {
    S.SCHEDULED: lambda c: c.schedule(NOW + timedelta(hours=1), "apiKeys/abc", NOW),
    S.DRAFT: lambda c: c.unschedule("apiKeys/abc", NOW),
    S.RUNNING: lambda c: (
        c.start("apiKeys/abc", NOW) if c.state is not S.PAUSED else c.resume("apiKeys/abc", NOW)
    ),
    S.PAUSED: lambda c: c.pause(PauseReason.MANUAL, "apiKeys/abc", NOW),
    S.COMPLETED: lambda c: c.complete("apiKeys/abc", NOW),
    S.CANCELLED: lambda c: c.cancel("apiKeys/abc", NOW),
}
ALLOWED = {
    (S.DRAFT, S.SCHEDULED),
    (S.DRAFT, S.RUNNING),
    (S.DRAFT, S.CANCELLED),
    (S.SCHEDULED, S.DRAFT),
    (S.SCHEDULED, S.RUNNING),
    (S.SCHEDULED, S.CANCELLED),
    (S.RUNNING, S.PAUSED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.CANCELLED),
    (S.PAUSED, S.RUNNING),
    (S.PAUSED, S.COMPLETED),
    (S.PAUSED, S.CANCELLED),
}


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("to", list(S))
def test_every_transition_is_allowed_or_refused_as_the_state_machine_says(
    start: CampaignState, to: CampaignState
) -> None:
    found = campaign(start, PauseReason.MANUAL if start is S.PAUSED else None)
    if (start, to) in ALLOWED:
        MOVES[to](found)
        assert found.state is to
        [transition] = found.new_transitions
        assert (transition.from_state, transition.to_state, transition.actor) == (start, to, "apiKeys/abc")
    else:
        with pytest.raises(CampaignTransitionRefused):
            MOVES[to](found)
        assert (found.state, found.new_transitions) == (start, [])


def condition(
    status: TemplateStatus = TemplateStatus.APPROVED,
    quality: TemplateQuality = TemplateQuality.GREEN,
    *,
    became_marketing: bool = False,
) -> TemplateCondition:
    return TemplateCondition(status, quality, TemplateCategory.UTILITY, became_marketing)


@pytest.mark.parametrize(
    ("template", "policy", "reason"),
    [
        (condition(TemplateStatus.PAUSED), CampaignPolicy(), PauseReason.TEMPLATE_PAUSED),
        (condition(TemplateStatus.DISABLED), CampaignPolicy(), PauseReason.TEMPLATE_DISABLED),
        (condition(TemplateStatus.REJECTED), CampaignPolicy(), PauseReason.TEMPLATE_REJECTED),
        (condition(TemplateStatus.DELETED), CampaignPolicy(), PauseReason.TEMPLATE_DELETED),
        # Broken statuses pause whatever the policy says.
        (condition(TemplateStatus.PAUSED), CampaignPolicy(False, False, False), PauseReason.TEMPLATE_PAUSED),
        (condition(quality=TemplateQuality.RED), CampaignPolicy(), PauseReason.QUALITY_RED),
        (condition(quality=TemplateQuality.RED), CampaignPolicy(pause_on_quality_red=False), None),
        (condition(quality=TemplateQuality.YELLOW), CampaignPolicy(), None),
        (condition(became_marketing=True), CampaignPolicy(), None),
        (
            condition(became_marketing=True),
            CampaignPolicy(pause_on_marketing_category=True),
            PauseReason.CATEGORY_CHANGED,
        ),
        (condition(TemplateStatus.FLAGGED), CampaignPolicy(), None),
    ],
)
def test_a_running_campaign_is_paused_when_its_template_breaks(
    template: TemplateCondition, policy: CampaignPolicy, reason: PauseReason | None
) -> None:
    found = campaign(S.RUNNING)
    moved = found.protect(template, policy, NOW, "webhook")
    assert moved is (reason is not None)
    assert found.state is (S.PAUSED if reason else S.RUNNING)
    assert found.pause_reason is reason
    if moved:
        assert found.new_transitions[-1].actor == SERVICE_ACTOR


@pytest.mark.parametrize(
    ("reason", "template", "policy", "resumed"),
    [
        (PauseReason.TEMPLATE_PAUSED, condition(), CampaignPolicy(), True),
        (PauseReason.TEMPLATE_PAUSED, condition(TemplateStatus.FLAGGED), CampaignPolicy(), True),
        (PauseReason.QUALITY_RED, condition(quality=TemplateQuality.YELLOW), CampaignPolicy(), True),
        (PauseReason.TEMPLATE_PAUSED, condition(quality=TemplateQuality.RED), CampaignPolicy(), False),
        (PauseReason.TEMPLATE_PAUSED, condition(TemplateStatus.PENDING), CampaignPolicy(), False),
        (PauseReason.TEMPLATE_PAUSED, condition(), CampaignPolicy(auto_resume=False), False),
        # Paused by a person, or for a category change: only a person resumes it.
        (PauseReason.MANUAL, condition(), CampaignPolicy(), False),
        (PauseReason.CATEGORY_CHANGED, condition(), CampaignPolicy(), False),
    ],
)
def test_only_what_the_service_paused_is_resumed_by_it_once_the_template_is_sendable(
    reason: PauseReason, template: TemplateCondition, policy: CampaignPolicy, resumed: bool
) -> None:
    found = campaign(S.PAUSED, reason)
    found.protect(template, policy, NOW, "webhook")
    assert found.state is (S.RUNNING if resumed else S.PAUSED)
    if not resumed and reason is PauseReason.TEMPLATE_PAUSED and template.quality is TemplateQuality.RED:
        assert found.pause_reason is PauseReason.QUALITY_RED  # still broken, now for this reason


def test_a_campaign_still_broken_for_another_reason_says_so() -> None:
    found = campaign(S.PAUSED, PauseReason.TEMPLATE_PAUSED)
    assert found.protect(condition(TemplateStatus.DISABLED), CampaignPolicy(), NOW, "webhook")
    assert (found.state, found.pause_reason) == (S.PAUSED, PauseReason.TEMPLATE_DISABLED)
    assert not found.protect(condition(TemplateStatus.DISABLED), CampaignPolicy(), NOW, "again")


def test_a_manual_pause_is_kept_whatever_the_template_does() -> None:
    found = campaign(S.PAUSED, PauseReason.MANUAL)
    for template in (condition(TemplateStatus.PAUSED), condition(), condition(quality=TemplateQuality.RED)):
        assert not found.protect(template, CampaignPolicy(), NOW, "webhook")
    assert (found.state, found.pause_reason) == (S.PAUSED, PauseReason.MANUAL)


@pytest.mark.parametrize("state", [S.DRAFT, S.SCHEDULED, S.COMPLETED, S.CANCELLED])
def test_campaigns_that_do_not_run_are_left_alone(state: CampaignState) -> None:
    found = campaign(state)
    assert not found.protect(condition(TemplateStatus.PAUSED), CampaignPolicy(), NOW, "webhook")
    assert found.state is state


def test_a_person_pausing_a_campaign_the_service_paused_makes_the_pause_theirs() -> None:
    found = campaign(S.PAUSED, PauseReason.TEMPLATE_PAUSED)
    found.pause(PauseReason.MANUAL, "apiKeys/abc", NOW)
    assert (found.state, found.pause_reason) == (S.PAUSED, PauseReason.MANUAL)
    assert not found.protect(condition(), CampaignPolicy(), NOW, "approved again")
    assert found.state is S.PAUSED


def test_a_change_to_marketing_stays_a_person_s_decision_whatever_the_template_does_next() -> None:
    policy = CampaignPolicy(pause_on_marketing_category=True)
    found = campaign(S.RUNNING)
    # Paused by Meta and made MARKETING in the same batch: the stickier reason is kept.
    assert found.protect(condition(TemplateStatus.PAUSED, became_marketing=True), policy, NOW, "batch")
    assert found.pause_reason is PauseReason.CATEGORY_CHANGED
    assert not found.protect(condition(TemplateStatus.DISABLED), policy, NOW, "disabled")
    assert not found.protect(condition(), policy, NOW, "reinstated")
    assert (found.state, found.pause_reason) == (S.PAUSED, PauseReason.CATEGORY_CHANGED)
    # Paused for a broken template, then made MARKETING: the reason becomes the person's.
    other = campaign(S.PAUSED, PauseReason.TEMPLATE_PAUSED)
    assert other.protect(condition(TemplateStatus.PAUSED, became_marketing=True), policy, NOW, "marketing")
    assert other.pause_reason is PauseReason.CATEGORY_CHANGED


def test_a_red_template_is_sendable_again_when_the_policy_does_not_pause_on_red() -> None:
    found = campaign(S.PAUSED, PauseReason.TEMPLATE_PAUSED)
    policy = CampaignPolicy(pause_on_quality_red=False)
    assert found.protect(condition(quality=TemplateQuality.RED), policy, NOW, "approved, still red")
    assert found.state is S.RUNNING
