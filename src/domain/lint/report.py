"""What lint reports: violations with a stable code, a severity and the request field at fault, and
the small helpers every rule uses to quote what it found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.components import ParameterFormat, ParameterSpec
from domain.parameters import Placeholder

BODY = "template.components.body"
HEADER = "template.components.header"
FOOTER = "template.components.footer"
BUTTONS = "template.components.buttons"
PARAMETERS = "template.parameters"


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    severity: Severity
    # AIP-193 path of the request field at fault, e.g. "template.components.buttons[2].url".
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class LintReport:
    violations: tuple[Violation, ...]
    parameter_format: ParameterFormat
    # Detected parameters in order of first appearance, merged with what the author declared.
    parameters: tuple[ParameterSpec, ...]

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity is Severity.WARNING)

    @property
    def valid(self) -> bool:
        return not self.errors


class Findings:
    """The violations found so far, in the order the rules found them."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def error(self, code: str, field: str, message: str) -> None:
        self.violations.append(Violation(code, Severity.ERROR, field, message))

    def warning(self, code: str, field: str, message: str) -> None:
        self.violations.append(Violation(code, Severity.WARNING, field, message))


def distinct(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def quoted(items: list[str]) -> str:
    return ", ".join(repr(i) for i in items)


def braced(tokens: list[str]) -> str:
    return ", ".join(f"{{{{{t}}}}}" for t in tokens)


def tokens(placeholders: list[Placeholder]) -> str:
    return braced([p.token for p in placeholders])


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
