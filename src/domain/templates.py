"""The Template aggregate and the value objects it is built from.

A template is one (WABA, name, language). Its components are replaced wholesale on an edit, as
Meta does, and every change re-runs the linter so an invalid definition is never stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.components import (
    Components,
    ParameterFormat,
    ParameterSpec,
    TemplateDefinition,
    components_summary,
    merge_partial_components,
)
from domain.errors import InvalidTemplate, TemplateNotSendable
from domain.events import INFERRED, DomainEvent, TemplateEvent, template_event
from domain.lint import LintReport, Violation, lint
from domain.meta_lifecycle import MetaLifecycle
from domain.observations import (
    PARTIAL_COMPONENTS,
    UNREAD_PARTS,
    Aspect,
    ChangeSource,
    Observation,
    Outcome,
)
from domain.rendering import RenderedMessage, render_definition
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus, reason_code, status_event


@dataclass(slots=True)
class Template(MetaLifecycle):
    """Aggregate root. `version` increments on every stored change (optimistic concurrency, etag)."""

    id: str
    org_id: str
    waba_id: str
    display_name: str
    language_code: str
    category: TemplateCategory | None
    parameter_format: ParameterFormat
    components: Components
    parameters: tuple[ParameterSpec, ...]
    created_at: datetime
    updated_at: datetime
    status: TemplateStatus = TemplateStatus.DRAFT
    raw_status: str = "DRAFT"
    quality: TemplateQuality = TemplateQuality.UNKNOWN
    rejection_reason: str = ""
    meta_template_id: str = ""
    version: int = 1
    # Meta's time of the last observation applied, per aspect (older ones are superseded).
    observed_at: dict[Aspect, datetime] = field(default_factory=dict)
    # When an APPROVED template was edited at Meta (Meta: 1 per 24 h, 10 per 30 days).
    meta_edit_times: tuple[datetime, ...] = ()
    # Our copy may differ from Meta's: known only from a webhook or a send error, or a change sent
    # to Meta whose answer was never recorded (then meta_call_started_at says when it was sent).
    needs_sync: bool = False
    meta_call_started_at: datetime | None = None
    # What happened to it since it was loaded, for the unit of work to hand to the event handlers
    # (history, alerts) before it commits. Not part of its state.
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        template_id: str,
        org_id: str,
        waba_id: str,
        definition: TemplateDefinition,
        now: datetime,
    ) -> tuple[Template, tuple[Violation, ...]]:
        """Builds a DRAFT template; raises InvalidTemplate with every lint error."""
        report = _checked(definition)
        return cls._from(template_id, org_id, waba_id, definition, report, now), report.warnings

    @classmethod
    def imported(
        cls,
        *,
        template_id: str,
        org_id: str,
        waba_id: str,
        definition: TemplateDefinition,
        meta_template_id: str,
        now: datetime,
        needs_sync: bool = False,
    ) -> Template:
        """A template that already exists at Meta (found by a sync, a webhook or a send error).

        Meta's copy is the truth, so lint errors do not stop it; parameters are still detected.
        """
        template = cls._from(template_id, org_id, waba_id, definition, lint(definition), now)
        # Until an observation says otherwise (a sync's and a status webhook's do at once).
        template.status, template.raw_status = TemplateStatus.UNKNOWN, ""
        template.meta_template_id, template.needs_sync = meta_template_id, needs_sync
        return template

    @classmethod
    def _from(
        cls,
        template_id: str,
        org_id: str,
        waba_id: str,
        definition: TemplateDefinition,
        report: LintReport,
        now: datetime,
    ) -> Template:
        return cls(
            id=template_id,
            org_id=org_id,
            waba_id=waba_id,
            display_name=definition.display_name,
            language_code=definition.language_code,
            category=definition.category,
            parameter_format=report.parameter_format,
            components=definition.components,
            parameters=report.parameters,
            created_at=now,
            updated_at=now,
        )

    @property
    def definition(self) -> TemplateDefinition:
        return TemplateDefinition(
            display_name=self.display_name,
            language_code=self.language_code,
            category=self.category,
            components=self.components,
            parameters=self.parameters,
            parameter_format=self.parameter_format,
        )

    def pull_events(self) -> list[DomainEvent]:
        """The events recorded since the last pull, oldest first."""
        events, self.events = self.events, []
        return events

    def revise(self, changes: TemplateRevision, *, now: datetime) -> tuple[Violation, ...]:
        """Applies an edit; the whole result is linted before anything changes. A change of the
        category or of the components is recorded as the user's."""
        proposed = self.definition
        if changes.category is not None:
            proposed = replace(proposed, category=changes.category)
        if changes.components is not None:
            proposed = replace(proposed, components=changes.components)
        if changes.parameters is not None:
            proposed = replace(proposed, parameters=changes.parameters)
        if changes.parameter_format_given:
            proposed = replace(proposed, parameter_format=changes.parameter_format)
        report = _checked(proposed)
        was = {aspect: self._aspect_value(aspect) for aspect in (Aspect.CATEGORY, Aspect.COMPONENTS)}
        changed = {
            Aspect.CATEGORY: proposed.category is not self.category,
            Aspect.COMPONENTS: proposed.components != self.components,
        }
        self.category = proposed.category
        if changed[Aspect.COMPONENTS]:
            # The same components sent back keep Meta's copy of them (byte-exact resubmission).
            self.components = proposed.components
        self.parameters = report.parameters
        self.parameter_format = report.parameter_format
        self.updated_at = now
        for aspect in (a for a, did in changed.items() if did):
            self.events.append(
                self._event(
                    aspect,
                    ChangeSource.USER,
                    Outcome.APPLIED,
                    from_value=was[aspect],
                    to_value=self._aspect_value(aspect),
                    reason="",
                    occurred_at=now,
                    received_at=now,
                    details={},
                )
            )
        return report.warnings

    def render(self, values: Mapping[str, str]) -> RenderedMessage:
        """Validates values against the parameter rules and renders; raises InvalidParameterValues."""
        return render_definition(self.definition, values)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def name(self) -> str:
        return f"{self.display_name}.{self.language_code}"

    # ---- sending ------------------------------------------------------------------------------

    @property
    def sendable(self) -> bool:
        """Meta delivers APPROVED templates; FLAGGED ones are at risk but still sendable."""
        return self.status in SENDABLE

    def require_sendable(self) -> None:
        if not self.sendable:
            raise TemplateNotSendable(self.name, self.raw_status or self.status.value)

    # ---- what Meta (or a user) says happened -------------------------------------------------

    def observe(
        self, observation: Observation, *, received_at: datetime, applied_only: bool = False
    ) -> TemplateEvent:
        """Applies an observation unless it is older than the aspect's state, and records the event
        that says what it did (its history entry); with `applied_only`, only a change is recorded (a
        sync confirming what is known, or knowing better, is not news)."""
        last = self.observed_at.get(observation.aspect)
        # Meta's word on what it was (a quality or category update names it) is better than ours
        # for an aspect never observed: ours is only a default (quality UNKNOWN) or what was sent.
        before = observation.previous if last is None and observation.previous else None
        before = before or self._aspect_value(observation.aspect)
        if last is not None and observation.occurred_at < last and observation.source not in OUR_OWN:
            outcome = Outcome.SUPERSEDED
        else:
            # Our own acts (a submission, an edit, a delete) happen now: never older than what Meta
            # said so far, even when Meta's clock runs ahead of ours.
            self.observed_at[observation.aspect] = max(
                observation.occurred_at, last or observation.occurred_at
            )
            changed = self._apply(observation)
            outcome = Outcome.APPLIED if changed else Outcome.UNCHANGED
            if changed:
                self.updated_at = received_at
        event = self._event(
            observation.aspect,
            observation.source,
            outcome,
            from_value=before,
            to_value=observation.value,
            reason=observation.described,
            occurred_at=observation.occurred_at,
            received_at=received_at,
            details=observation.details,
        )
        if outcome is Outcome.APPLIED or not applied_only:
            self.events.append(event)
        return event

    def announce(
        self,
        aspect: Aspect,
        value: str,
        *,
        source: ChangeSource,
        occurred_at: datetime,
        received_at: datetime,
        reason: str = "",
        details: Mapping[str, object] | None = None,
    ) -> TemplateEvent:
        """Records something Meta announced for later (state untouched): an impending change."""
        event = self._event(
            aspect,
            source,
            Outcome.NOTICE,
            from_value=self._aspect_value(aspect),
            to_value=value,
            reason=reason,
            occurred_at=occurred_at,
            received_at=received_at,
            details=details or {},
        )
        self.events.append(event)
        return event

    def infer_approval_from_rating(self, *, rated_at: datetime, received_at: datetime) -> None:
        """Meta rates the quality of approved templates only: a template whose status is unknown
        here and that Meta rated is approved there. Recorded like a status event, but not as
        Meta's word: any status webhook, even an older one, overrides it."""
        if self.status is not TemplateStatus.UNKNOWN:
            return
        self.status, self.raw_status = TemplateStatus.APPROVED, "APPROVED"
        self.events.append(
            self._event(
                Aspect.STATUS,
                ChangeSource.WEBHOOK,
                Outcome.APPLIED,
                from_value="",
                to_value="APPROVED",
                reason="Meta rated its quality, which it does for approved templates only",
                occurred_at=rated_at,
                received_at=received_at,
                details={INFERRED: "quality rating"},
            )
        )

    def mark_deleted(self, *, now: datetime) -> TemplateEvent:
        """Deleted here (and at Meta, when it was there): its alerts close, its history stays."""
        return self.observe(Observation(Aspect.STATUS, "DELETED", ChangeSource.USER, now), received_at=now)

    def _event(
        self,
        aspect: Aspect,
        source: ChangeSource,
        outcome: Outcome,
        *,
        from_value: str,
        to_value: str,
        reason: str,
        occurred_at: datetime,
        received_at: datetime,
        details: Mapping[str, object],
    ) -> TemplateEvent:
        return template_event(
            aspect,
            id=uuid.uuid4().hex,
            template_id=self.id,
            org_id=self.org_id,
            waba_id=self.waba_id,
            template_name=self.name,
            source=source,
            outcome=outcome,
            from_value=from_value,
            to_value=to_value,
            reason=reason,
            occurred_at=occurred_at,
            received_at=received_at,
            details=dict(details),
        )

    def _aspect_value(self, aspect: Aspect) -> str:
        match aspect:
            case Aspect.STATUS:
                return self.raw_status
            case Aspect.QUALITY:
                return self.quality.value
            case Aspect.CATEGORY:
                return self.category.value if self.category else ""
            case Aspect.COMPONENTS:
                return components_summary(self.components)

    def _apply(self, observation: Observation) -> bool:
        match observation.aspect:
            case Aspect.STATUS:
                return self._apply_status(observation)
            case Aspect.QUALITY:
                quality = TemplateQuality.from_meta(observation.value)
                changed = quality is not self.quality
                self.quality = quality
                return changed
            case Aspect.CATEGORY:
                category = TemplateCategory.parse(observation.value)
                if category is None:
                    return False  # an unknown category is kept in history only
                changed = category is not self.category
                self.category = category
                return changed
            case Aspect.COMPONENTS:
                if observation.components is None:
                    return False
                components = observation.components
                if observation.details.get(PARTIAL_COMPONENTS):
                    components = merge_partial_components(self.components, components)
                if observation.details.get(UNREAD_PARTS):
                    self.needs_sync = True
                if components == self.components:
                    return bool(observation.details.get(UNREAD_PARTS))
                self._replace_components(components)
                return True

    def _apply_status(self, observation: Observation) -> bool:
        raw = status_event(observation.value)
        status = TemplateStatus.after_event(raw)
        if status is None:
            # The status is now Meta's to tell (e.g. unarchived: back to what it was before
            # archiving): keep ours, say it may be out of date, and let a sync ask.
            self.needs_sync = True
            return True
        # Meta's code only: its list (a sync) names the code without the webhook's explanation.
        rejection = reason_code(observation.reason) if status is TemplateStatus.REJECTED else ""
        changed = (status, raw, rejection) != (self.status, self.raw_status, self.rejection_reason)
        self.status, self.raw_status, self.rejection_reason = status, raw, rejection
        return changed

    def keep_meta_json(self, components: Components) -> bool:
        """Takes Meta's JSON of components equal to ours (a sync), so the template goes back to Meta
        exactly as Meta gave it; True when that copy is new (nothing else changes)."""
        if components != self.components or not components.meta_json:
            return False
        if components.meta_json == self.components.meta_json:
            return False
        self.components = components
        return True

    def _replace_components(self, components: Components) -> None:
        # Meta is the source of truth here: the new text is taken even if our linter would object,
        # and the declared examples/rules of parameters that still exist are kept.
        report = lint(replace(self.definition, components=components, parameter_format=None))
        self.components = components
        self.parameters = report.parameters
        self.parameter_format = report.parameter_format


@dataclass(frozen=True, slots=True)
class TemplateRevision:
    """An edit. None means "leave as is"; components are replaced wholesale when given."""

    category: TemplateCategory | None = None
    components: Components | None = None
    parameters: tuple[ParameterSpec, ...] | None = None
    parameter_format: ParameterFormat | None = None
    parameter_format_given: bool = False


SENDABLE = frozenset({TemplateStatus.APPROVED, TemplateStatus.FLAGGED})
# Sources of what we did ourselves, as opposed to what Meta reports.
OUR_OWN = frozenset({ChangeSource.USER, ChangeSource.SUBMISSION})


def _checked(definition: TemplateDefinition) -> LintReport:
    report = lint(definition)
    if report.errors:
        raise InvalidTemplate(report.errors)
    return report
