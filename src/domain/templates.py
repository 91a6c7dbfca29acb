"""The Template aggregate and the value objects it is built from.

A template is one (WABA, name, language). Its components are replaced wholesale on an edit, as
Meta does, and every change re-runs the linter so an invalid definition is never stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.components import (
    Button,
    ButtonType,
    Components,
    HeaderFormat,
    ParameterFormat,
    ParameterSpec,
    TemplateDefinition,
)
from domain.errors import InvalidTemplate, MetaEditRefused, TemplateLifecycleError, TemplateNotSendable
from domain.events import TemplateEvent, template_event
from domain.lint import LintReport, Violation, lint
from domain.observations import PARTIAL_COMPONENTS, Aspect, ChangeSource, Observation, Outcome
from domain.rendering import RenderedMessage, render_definition
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus, status_event


@dataclass(slots=True)
class Template:
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
        template.status, template.raw_status = TemplateStatus.PENDING, ""
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

    def revise(self, changes: TemplateRevision, *, now: datetime) -> tuple[Violation, ...]:
        """Applies an edit; the whole result is linted before anything changes."""
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
        self.category = proposed.category
        self.components = proposed.components
        self.parameters = report.parameters
        self.parameter_format = report.parameter_format
        self.updated_at = now
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

    def observe(self, observation: Observation, *, received_at: datetime) -> TemplateEvent:
        """Applies an observation unless it is older than the aspect's state; always returns the
        history entry that records it."""
        before = self._aspect_value(observation.aspect)
        last = self.observed_at.get(observation.aspect)
        if last is not None and observation.occurred_at < last:
            outcome = Outcome.SUPERSEDED
        else:
            self.observed_at[observation.aspect] = observation.occurred_at
            changed = self._apply(observation)
            outcome = Outcome.APPLIED if changed else Outcome.UNCHANGED
            if changed:
                self.updated_at = received_at
        return template_event(
            observation.aspect,
            id=uuid.uuid4().hex,
            template_id=self.id,
            org_id=self.org_id,
            waba_id=self.waba_id,
            template_name=self.name,
            source=observation.source,
            outcome=outcome,
            from_value=before,
            to_value=observation.value,
            reason=observation.reason,
            occurred_at=observation.occurred_at,
            received_at=received_at,
            details=dict(observation.details),
        )

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
        return template_event(
            aspect,
            id=uuid.uuid4().hex,
            template_id=self.id,
            org_id=self.org_id,
            waba_id=self.waba_id,
            template_name=self.name,
            source=source,
            outcome=Outcome.NOTICE,
            from_value=self._aspect_value(aspect),
            to_value=value,
            reason=reason,
            occurred_at=occurred_at,
            received_at=received_at,
            details=dict(details or {}),
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
                if components == self.components:
                    return False
                self._replace_components(components)
                return True

    def _apply_status(self, observation: Observation) -> bool:
        raw = status_event(observation.value)
        status = TemplateStatus.from_meta(raw)
        reason = observation.reason if observation.reason.upper() not in ("", "NONE") else ""
        rejection = reason if status is TemplateStatus.REJECTED else ""
        changed = (status, raw, rejection) != (self.status, self.raw_status, self.rejection_reason)
        self.status, self.raw_status, self.rejection_reason = status, raw, rejection
        return changed

    def _replace_components(self, components: Components) -> None:
        # Meta is the source of truth here: the new text is taken even if our linter would object,
        # and the declared examples/rules of parameters that still exist are kept.
        report = lint(replace(self.definition, components=components, parameter_format=None))
        self.components = components
        self.parameters = report.parameters
        self.parameter_format = report.parameter_format

    # ---- Meta lifecycle -----------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class TemplateRevision:
    """An edit. None means "leave as is"; components are replaced wholesale when given."""

    category: TemplateCategory | None = None
    components: Components | None = None
    parameters: tuple[ParameterSpec, ...] | None = None
    parameter_format: ParameterFormat | None = None
    parameter_format_given: bool = False


SENDABLE = frozenset({TemplateStatus.APPROVED, TemplateStatus.FLAGGED})
META_EDITABLE = frozenset({TemplateStatus.APPROVED, TemplateStatus.REJECTED, TemplateStatus.PAUSED})
EDIT_DAY = timedelta(hours=24)
EDIT_MONTH = timedelta(days=30)
EDITS_PER_MONTH = 10


# What Meta's edit webhook can describe; everything else of the old components is kept.
_WEBHOOK_BUTTONS = frozenset({ButtonType.URL, ButtonType.PHONE_NUMBER})


def merge_partial_components(old: Components, reported: Components) -> Components:
    """Merges an edit webhook's components into the known ones: a media header stays unless a text
    one is reported; quick-reply and copy-code buttons stay in place; URL/phone buttons are replaced
    in order by the reported ones (extra reported ones are appended)."""
    header = reported.header
    if header is None and old.header is not None and old.header.format is not HeaderFormat.TEXT:
        header = old.header
    fresh = [b for b in reported.buttons if b.type in _WEBHOOK_BUTTONS]
    buttons: list[Button] = []
    for button in old.buttons:
        if button.type in _WEBHOOK_BUTTONS:
            if fresh:
                buttons.append(fresh.pop(0))
        else:
            buttons.append(button)
    buttons.extend(fresh)
    buttons.extend(b for b in reported.buttons if b.type not in _WEBHOOK_BUTTONS and b not in buttons)
    return Components(body=reported.body, header=header, footer=reported.footer, buttons=tuple(buttons))


def components_summary(components: Components) -> str:
    """A short, stable description of components for history (the full text is in details)."""
    parts = [f"body {len(components.body)} chars"]
    if components.header is not None:
        parts.insert(0, f"header {components.header.format.value}")
    if components.footer:
        parts.append("footer")
    if components.buttons:
        parts.append(f"{len(components.buttons)} buttons")
    return ", ".join(parts)


def _checked(definition: TemplateDefinition) -> LintReport:
    report = lint(definition)
    if report.errors:
        raise InvalidTemplate(report.errors)
    return report
