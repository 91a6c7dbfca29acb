"""A campaign: one template, in one language, sent by the caller to many contacts, which the service
protects by pausing it while its template cannot (or should not) be sent.

    DRAFT -> SCHEDULED -> RUNNING <-> PAUSED -> COMPLETED | CANCELLED

(DRAFT may start at once; any state but the two final ones may be cancelled.) Every transition is
kept in the campaign's history with who or what made it, when and why. A campaign the service paused
may be resumed by the service when its template recovers; one a person paused only by a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.errors import DomainError
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import SENDABLE

# The actor of what the service does by itself (the API shows it as is).
SERVICE_ACTOR = "service"


class CampaignState(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class PauseReason(StrEnum):
    MANUAL = "MANUAL"
    TEMPLATE_PAUSED = "TEMPLATE_PAUSED"
    TEMPLATE_DISABLED = "TEMPLATE_DISABLED"
    TEMPLATE_REJECTED = "TEMPLATE_REJECTED"
    TEMPLATE_DELETED = "TEMPLATE_DELETED"
    QUALITY_RED = "QUALITY_RED"
    CATEGORY_CHANGED = "CATEGORY_CHANGED"


# What the service may undo by itself once the template recovers. A category change is not a
# recovery the service can see (Meta does not change it back), so a person decides.
SERVICE_RESUMABLE = frozenset(
    {
        PauseReason.TEMPLATE_PAUSED,
        PauseReason.TEMPLATE_DISABLED,
        PauseReason.TEMPLATE_REJECTED,
        PauseReason.TEMPLATE_DELETED,
        PauseReason.QUALITY_RED,
    }
)
_BROKEN_STATUS = {
    TemplateStatus.PAUSED: PauseReason.TEMPLATE_PAUSED,
    TemplateStatus.DISABLED: PauseReason.TEMPLATE_DISABLED,
    TemplateStatus.REJECTED: PauseReason.TEMPLATE_REJECTED,
    TemplateStatus.DELETED: PauseReason.TEMPLATE_DELETED,
}
_ALLOWED = {
    CampaignState.DRAFT: {CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.CANCELLED},
    CampaignState.SCHEDULED: {CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.CANCELLED},
    CampaignState.RUNNING: {CampaignState.PAUSED, CampaignState.COMPLETED, CampaignState.CANCELLED},
    CampaignState.PAUSED: {CampaignState.RUNNING, CampaignState.COMPLETED, CampaignState.CANCELLED},
    CampaignState.COMPLETED: set(),
    CampaignState.CANCELLED: set(),
}


class CampaignTransitionRefused(DomainError):
    def __init__(self, state: CampaignState, wanted: CampaignState) -> None:
        self.state = state
        self.wanted = wanted
        super().__init__(f"a {state.value} campaign cannot become {wanted.value}")


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """An organization's settings: when the service pauses and resumes its campaigns. Pauses on a
    PAUSED, DISABLED, REJECTED or DELETED template always happen."""

    pause_on_quality_red: bool = True
    pause_on_marketing_category: bool = False
    auto_resume: bool = True


@dataclass(frozen=True, slots=True)
class TemplateCondition:
    """What the policy looks at: the template as it stands after a change."""

    status: TemplateStatus
    quality: TemplateQuality
    category: TemplateCategory | None
    # The change just made it MARKETING (it was something else before).
    became_marketing: bool = False


def pause_reason_for(condition: TemplateCondition, policy: CampaignPolicy) -> PauseReason | None:
    """Why the template's campaigns must stop now (None: they may run). A change to MARKETING comes
    first when the policy pauses on it: only a person resumes that, whatever else the template does."""
    if condition.became_marketing and policy.pause_on_marketing_category:
        return PauseReason.CATEGORY_CHANGED
    if condition.status in _BROKEN_STATUS:
        return _BROKEN_STATUS[condition.status]
    if condition.quality is TemplateQuality.RED and policy.pause_on_quality_red:
        return PauseReason.QUALITY_RED
    return None


def sendable_again(condition: TemplateCondition, policy: CampaignPolicy) -> bool:
    """Approved (or reinstated), and not RED where the policy pauses on RED: what auto-resume waits
    for."""
    red = condition.quality is TemplateQuality.RED and policy.pause_on_quality_red
    return condition.status in SENDABLE and not red


@dataclass(frozen=True, slots=True)
class CampaignTransition:
    """One entry of a campaign's history."""

    campaign_id: str
    from_state: CampaignState | None
    to_state: CampaignState
    actor: str
    at: datetime
    reason: PauseReason | None = None
    detail: str = ""


@dataclass(slots=True)
class Campaign:
    id: str
    org_id: str
    waba_id: str
    phone_number_id: str
    template_id: str
    # The template's Meta name and language (a campaign uses exactly one language).
    template_name: str
    language_code: str
    display_name: str
    created_at: datetime
    created_by: str
    state: CampaignState = CampaignState.DRAFT
    pause_reason: PauseReason | None = None
    scheduled_at: datetime | None = None
    updated_at: datetime | None = None
    request_id: str = ""
    request_fingerprint: str = ""
    # Optimistic concurrency: bumped by every saved transition.
    version: int = 0
    # Transitions made since the campaign was loaded, for the repository to append to its history.
    new_transitions: list[CampaignTransition] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        campaign_id: str,
        org_id: str,
        waba_id: str,
        phone_number_id: str,
        template_id: str,
        template_name: str,
        language_code: str,
        display_name: str,
        actor: str,
        now: datetime,
        request_id: str = "",
        request_fingerprint: str = "",
    ) -> Campaign:
        campaign = cls(
            id=campaign_id,
            org_id=org_id,
            waba_id=waba_id,
            phone_number_id=phone_number_id,
            template_id=template_id,
            template_name=template_name,
            language_code=language_code,
            display_name=display_name,
            created_at=now,
            created_by=actor,
            updated_at=now,
            request_id=request_id,
            request_fingerprint=request_fingerprint,
        )
        campaign.new_transitions.append(
            CampaignTransition(campaign_id, None, CampaignState.DRAFT, actor, now)
        )
        return campaign

    @property
    def paused_by_service(self) -> bool:
        return (
            self.state is CampaignState.PAUSED
            and self.pause_reason is not None
            and (self.pause_reason is not PauseReason.MANUAL)
        )

    @property
    def final(self) -> bool:
        return self.state in (CampaignState.COMPLETED, CampaignState.CANCELLED)

    def schedule(self, at: datetime, actor: str, now: datetime) -> None:
        self._move(CampaignState.SCHEDULED, actor, now, detail=f"to start at {at.isoformat()}")
        self.scheduled_at = at

    def unschedule(self, actor: str, now: datetime) -> None:
        self._move(CampaignState.DRAFT, actor, now)
        self.scheduled_at = None

    def start(self, actor: str, now: datetime) -> None:
        """The caller checked that the template is sendable (the application does, with its state)."""
        self._move(CampaignState.RUNNING, actor, now)

    def pause(self, reason: PauseReason, actor: str, now: datetime, detail: str = "") -> None:
        """Pauses a running campaign. A person pausing one the service paused makes the pause theirs
        (MANUAL): the service will not resume it."""
        if self.state is CampaignState.PAUSED and reason is PauseReason.MANUAL and self.paused_by_service:
            self.new_transitions.append(
                CampaignTransition(
                    self.id, CampaignState.PAUSED, CampaignState.PAUSED, actor, now, reason, detail
                )
            )
            self.pause_reason, self.updated_at = reason, now
            return
        self._move(CampaignState.PAUSED, actor, now, reason=reason, detail=detail)
        self.pause_reason = reason

    def resume(self, actor: str, now: datetime, detail: str = "") -> None:
        self._move(CampaignState.RUNNING, actor, now, detail=detail)
        self.pause_reason = None

    def complete(self, actor: str, now: datetime) -> None:
        self._move(CampaignState.COMPLETED, actor, now)
        self.pause_reason = None

    def cancel(self, actor: str, now: datetime) -> None:
        self._move(CampaignState.CANCELLED, actor, now)
        self.pause_reason = None

    def protect(self, condition: TemplateCondition, policy: CampaignPolicy, now: datetime, why: str) -> bool:
        """The service's own move after its template changed: pause a running campaign the policy
        says must stop, or resume one the service paused once the template is sendable again.
        Returns whether the campaign moved. A campaign a person paused is never resumed here."""
        reason = pause_reason_for(condition, policy)
        if self.state is CampaignState.RUNNING and reason is not None:
            self.pause(reason, SERVICE_ACTOR, now, detail=why)
            return True
        if self.state is CampaignState.PAUSED and self.pause_reason not in SERVICE_RESUMABLE:
            return False  # a person decides (paused by one, or for a change to MARKETING)
        if self.state is CampaignState.PAUSED and reason is not None:
            if reason is not self.pause_reason:  # still broken, for another reason now
                self.pause_reason = reason
                self.new_transitions.append(
                    CampaignTransition(
                        self.id, CampaignState.PAUSED, CampaignState.PAUSED, SERVICE_ACTOR, now, reason, why
                    )
                )
                self.updated_at = now
                return True
            return False
        if (
            self.state is CampaignState.PAUSED
            and self.pause_reason in SERVICE_RESUMABLE
            and policy.auto_resume
            and reason is None
            and sendable_again(condition, policy)
        ):
            self.resume(SERVICE_ACTOR, now, detail=why)
            return True
        return False

    def _move(
        self,
        to: CampaignState,
        actor: str,
        now: datetime,
        *,
        reason: PauseReason | None = None,
        detail: str = "",
    ) -> None:
        if to not in _ALLOWED[self.state]:
            raise CampaignTransitionRefused(self.state, to)
        self.new_transitions.append(CampaignTransition(self.id, self.state, to, actor, now, reason, detail))
        self.state = to
        self.updated_at = now
