"""A template's life at Meta: submitting it, editing it within Meta's edit limits, deleting it, and
knowing when Meta's answer to one of those was never heard (a mixin of the Template aggregate)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.errors import MetaEditRefused, TemplateLifecycleError
from domain.events import TemplateEvent
from domain.observations import Aspect, ChangeSource, Observation
from domain.status import TemplateCategory, TemplateStatus

if TYPE_CHECKING:
    from domain.templates import TemplateRevision

META_EDITABLE = frozenset({TemplateStatus.APPROVED, TemplateStatus.REJECTED, TemplateStatus.PAUSED})
EDIT_DAY = timedelta(hours=24)
EDIT_MONTH = timedelta(days=30)
EDITS_PER_MONTH = 10


class MetaLifecycle:
    """Mixed into Template; the attributes and `observe` are the aggregate's."""

    if TYPE_CHECKING:
        meta_template_id: str
        needs_sync: bool
        meta_call_started_at: datetime | None
        status: TemplateStatus
        raw_status: str
        category: TemplateCategory | None
        meta_edit_times: tuple[datetime, ...]

        @property
        def name(self) -> str: ...

        def observe(
            self, observation: Observation, *, received_at: datetime, applied_only: bool = False
        ) -> TemplateEvent: ...

    def require_submittable(self) -> None:
        if self.meta_template_id:
            raise TemplateLifecycleError(
                "TEMPLATE_ALREADY_SUBMITTED",
                f"template {self.name!r} was already submitted (Meta id {self.meta_template_id}); "
                "update it to send an edit",
            )
        self.require_known_submission()

    def require_known_submission(self) -> None:
        """A draft whose submission may have reached Meta is neither submitted, edited nor deleted
        here until a sync says what Meta has: Meta could hold a template this copy no longer matches."""
        if self.needs_sync and not self.meta_template_id:
            raise TemplateLifecycleError(
                "META_OUTCOME_UNKNOWN",
                f"a submission of {self.name!r} may have reached Meta, but its answer was never "
                "recorded; run SyncTemplates to learn the outcome first",
            )

    def expect_meta_change(self, *, now: datetime) -> bool:
        """Marks, before a change is sent to Meta, that its answer may never be heard (a timeout
        after sending, a shutdown, a crash): until the answer is recorded or a sync resolves it,
        this copy may be out of date. Returns the flag as it was, for `meta_change_refused`."""
        was = self.needs_sync
        self.needs_sync, self.meta_call_started_at = True, now
        return was

    def meta_change_refused(self, was: bool) -> None:
        """Meta answered that it did not make the change: this copy is as current as before."""
        self.needs_sync, self.meta_call_started_at = was, None

    def meta_change_recorded(self) -> None:
        """Meta's answer is recorded: this copy is what Meta has."""
        self.needs_sync, self.meta_call_started_at = False, None

    def unanswered_submission_before(self, moment: datetime) -> bool:
        """A draft's submission that was sent before `moment` and never answered: a sync whose list
        was taken at `moment` and does not show it proves it never reached Meta."""
        started = self.meta_call_started_at
        return self.needs_sync and not self.meta_template_id and (started is None or started < moment)

    def mark_submitted(
        self, meta_template_id: str, status: str, category: str, *, now: datetime
    ) -> list[TemplateEvent]:
        self.meta_template_id = meta_template_id
        self.meta_change_recorded()
        entries = [
            self.observe(Observation(Aspect.STATUS, status, ChangeSource.SUBMISSION, now), received_at=now)
        ]
        if category:
            entries.append(
                self.observe(
                    Observation(Aspect.CATEGORY, category, ChangeSource.SUBMISSION, now), received_at=now
                )
            )
        return entries

    def check_meta_edit(self, changes: TemplateRevision, *, now: datetime) -> None:
        """Refuses, before calling Meta, an edit that Meta's edit rules would refuse."""
        if self.status not in META_EDITABLE:
            raise MetaEditRefused(
                "TEMPLATE_NOT_EDITABLE",
                f"template {self.name!r} is {self.raw_status}; Meta only edits APPROVED, REJECTED or PAUSED "
                "templates",
            )
        if self.status is not TemplateStatus.APPROVED:
            return
        if changes.category is not None and changes.category is not self.category:
            raise MetaEditRefused(
                "CATEGORY_IMMUTABLE",
                f"the category of approved template {self.name!r} cannot be changed at Meta",
            )
        recent = sorted(t for t in self.meta_edit_times if t > now - EDIT_MONTH)
        if recent and recent[-1] > now - EDIT_DAY:
            available = recent[-1] + EDIT_DAY
            raise MetaEditRefused(
                "EDIT_LIMIT_DAILY",
                f"approved template {self.name!r} was edited at {recent[-1].isoformat()}; "
                f"Meta allows one edit "
                f"per 24 hours, the next from {available.isoformat()}",
                available,
            )
        if len(recent) >= EDITS_PER_MONTH:
            available = recent[len(recent) - EDITS_PER_MONTH] + EDIT_MONTH
            raise MetaEditRefused(
                "EDIT_LIMIT_MONTHLY",
                f"approved template {self.name!r} was edited {len(recent)} times in 30 days; Meta allows "
                f"{EDITS_PER_MONTH}, the next from {available.isoformat()}",
                available,
            )

    def record_meta_edit(self, *, now: datetime) -> TemplateEvent:
        """After Meta accepted an edit: count it against the limits; the template is reviewed again."""
        if self.status is TemplateStatus.APPROVED:
            self.meta_edit_times = (*(t for t in self.meta_edit_times if t > now - EDIT_MONTH), now)
        return self.observe(
            Observation(
                Aspect.STATUS, "PENDING", ChangeSource.USER, now, reason="edited; Meta reviews it again"
            ),
            received_at=now,
        )

    def require_deletable_at_meta(self) -> None:
        if self.status is TemplateStatus.DISABLED:
            raise TemplateLifecycleError(
                "TEMPLATE_DISABLED",
                f"template {self.name!r} is DISABLED; Meta does not delete disabled templates",
            )
