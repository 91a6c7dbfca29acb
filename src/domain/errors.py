"""Typed domain errors. Callers branch on the type and read structured fields, never on text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.lint import Violation
    from domain.rendering import ValueViolation


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""


class InvalidTemplate(DomainError):
    """The template definition breaks one or more of Meta's rules (lint errors)."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        codes = ", ".join(v.code for v in self.violations)
        super().__init__(f"template is invalid: {codes}")


class InvalidParameterValues(DomainError):
    """The values given for a render or send break the template's parameter rules."""

    def __init__(self, violations: Sequence[ValueViolation]) -> None:
        self.violations = tuple(violations)
        summary = "; ".join(v.message for v in self.violations)
        super().__init__(f"parameter values are invalid: {summary}")


class TemplateImmutableField(DomainError):
    """A field that Meta never lets change (name, language) was asked to change."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"{field} cannot be changed once a template exists")


class TemplateNotSendable(DomainError):
    """The template's status does not allow sending (Meta would refuse it too)."""

    def __init__(self, name: str, status: str) -> None:
        self.name = name
        self.status = status
        super().__init__(f"template {name!r} is {status} and cannot be sent")


class TemplateLifecycleError(DomainError):
    """The operation does not fit the template's place in its lifecycle (e.g. submitting twice)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class MetaEditRefused(DomainError):
    """Meta would refuse this edit; `available_at` says when it becomes possible, if ever."""

    def __init__(self, reason: str, message: str, available_at: datetime | None = None) -> None:
        self.reason = reason
        self.available_at = available_at
        super().__init__(message)
