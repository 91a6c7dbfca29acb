"""The Template aggregate and the value objects it is built from.

A template is one (WABA, name, language). Its components are replaced wholesale on an edit, as
Meta does, and every change re-runs the linter so an invalid definition is never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from domain.components import Components, ParameterFormat, ParameterSpec, TemplateDefinition
from domain.errors import InvalidTemplate
from domain.lint import LintReport, Violation, lint
from domain.rendering import RenderedMessage, render_definition
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus


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
        template = cls(
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
        return template, report.warnings

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


@dataclass(frozen=True, slots=True)
class TemplateRevision:
    """An edit. None means "leave as is"; components are replaced wholesale when given."""

    category: TemplateCategory | None = None
    components: Components | None = None
    parameters: tuple[ParameterSpec, ...] | None = None
    parameter_format: ParameterFormat | None = None
    parameter_format_given: bool = False


def _checked(definition: TemplateDefinition) -> LintReport:
    report = lint(definition)
    if report.errors:
        raise InvalidTemplate(report.errors)
    return report
