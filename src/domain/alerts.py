"""Alerts on template health: which changes open one, which close it, how severe it is.

One open alert per (template, kind): a repeated PAUSED does not flood anyone. An alert resolves
itself when the template recovers (APPROVED/REINSTATED, back in review, or quality back to GREEN);
a deleted template's alerts all resolve (nothing is left to act on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from domain.events import TemplateEvent
from domain.observations import Aspect, ChangeSource, Outcome
from domain.status import TemplateCategory, status_event


class AlertKind(StrEnum):
    REJECTED = "REJECTED"
    FLAGGED = "FLAGGED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"
    QUALITY_YELLOW = "QUALITY_YELLOW"
    QUALITY_RED = "QUALITY_RED"
    CATEGORY_PRICIER = "CATEGORY_PRICIER"


class Severity(IntEnum):
    """Ordered: a higher value is more urgent."""

    WARNING = 1
    HIGH = 2
    CRITICAL = 3


class AlertState(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


SEVERITY = {
    AlertKind.REJECTED: Severity.WARNING,
    AlertKind.FLAGGED: Severity.HIGH,
    AlertKind.PAUSED: Severity.HIGH,
    AlertKind.DISABLED: Severity.CRITICAL,
    AlertKind.QUALITY_YELLOW: Severity.WARNING,
    AlertKind.QUALITY_RED: Severity.HIGH,
    AlertKind.CATEGORY_PRICIER: Severity.WARNING,
}

# Meta bills MARKETING above UTILITY, and UTILITY/AUTHENTICATION alike; a move up costs money.
_PRICE_RANK = {TemplateCategory.AUTHENTICATION: 1, TemplateCategory.UTILITY: 1, TemplateCategory.MARKETING: 2}
_STATUS_ALERTS = {
    "REJECTED": AlertKind.REJECTED,
    "FLAGGED": AlertKind.FLAGGED,
    "PAUSED": AlertKind.PAUSED,
    "DISABLED": AlertKind.DISABLED,
}
# A status that means the template is healthy again, or back in Meta's review (edited after a
# rejection or a pause: the alert is answered), closes every status alert.
_RECOVERED = frozenset({"APPROVED", "REINSTATED", "UNPAUSED", "PENDING"})
_STATUS_KINDS = frozenset(_STATUS_ALERTS.values())
_QUALITY_KINDS = frozenset({AlertKind.QUALITY_YELLOW, AlertKind.QUALITY_RED})


@dataclass(slots=True)
class Alert:
    id: str
    org_id: str
    template_id: str
    waba_id: str
    template_name: str
    kind: AlertKind
    severity: Severity
    state: AlertState
    reason: str
    opened_at: datetime
    # The last change that confirmed it (a repeat of the same condition refreshes it, no new alert).
    last_seen_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    resolved_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.state is not AlertState.RESOLVED

    def acknowledge(self, who: str, now: datetime) -> bool:
        """Idempotent: acknowledging twice keeps the first who/when. Returns whether it changed."""
        if self.state is not AlertState.OPEN:
            return False
        self.state, self.acknowledged_at, self.acknowledged_by = AlertState.ACKNOWLEDGED, now, who
        return True

    def resolve(self, now: datetime) -> None:
        self.state, self.resolved_at = AlertState.RESOLVED, now


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What one applied history entry means for alerts."""

    open: tuple[tuple[AlertKind, str], ...] = ()
    resolve: frozenset[AlertKind] = frozenset()


def decide(entry: TemplateEvent) -> AlertDecision:
    """Only APPLIED entries move alerts; superseded and unchanged ones are history only."""
    if entry.outcome is Outcome.NOTICE and entry.aspect is Aspect.CATEGORY:
        return _impending_category(entry)
    if entry.outcome is not Outcome.APPLIED:
        return AlertDecision()
    # Normalized like a status event, whatever the aspect: Meta's values are upper-case words.
    value = status_event(entry.to_value)
    match entry.aspect:
        case Aspect.STATUS:
            kind = _STATUS_ALERTS.get(value)
            if kind is not None:
                reason = entry.reason or f"template is {value}"
                # A template has one status: its new status alert replaces any other status alert.
                return AlertDecision(open=((kind, reason),), resolve=_STATUS_KINDS - {kind})
            if value in _RECOVERED:
                return AlertDecision(resolve=_STATUS_KINDS)
            if value == "DELETED":
                return AlertDecision(resolve=frozenset(AlertKind))
            return AlertDecision()
        case Aspect.QUALITY:
            if value == "RED":
                return AlertDecision(
                    open=((AlertKind.QUALITY_RED, "quality is RED (low)"),),
                    resolve=frozenset({AlertKind.QUALITY_YELLOW}),
                )
            if value == "YELLOW":
                return AlertDecision(
                    open=((AlertKind.QUALITY_YELLOW, "quality is YELLOW (medium)"),),
                    resolve=frozenset({AlertKind.QUALITY_RED}),
                )
            if value == "GREEN":
                return AlertDecision(resolve=_QUALITY_KINDS)
            return AlertDecision()
        case Aspect.CATEGORY:
            before, after = TemplateCategory.parse(entry.from_value), TemplateCategory.parse(value)
            if after is None or entry.source is ChangeSource.USER:
                # The user's own choice of category is no surprise to alert anyone about.
                return AlertDecision()
            if before is not None and _PRICE_RANK[after] > _PRICE_RANK[before]:
                return AlertDecision(
                    open=(
                        (
                            AlertKind.CATEGORY_PRICIER,
                            f"category changed from {before.value} to {after.value}",
                        ),
                    )
                )
            return AlertDecision(resolve=frozenset({AlertKind.CATEGORY_PRICIER}) if before else frozenset())
        case Aspect.COMPONENTS:
            return AlertDecision()


def is_pricier(before: TemplateCategory | None, after: TemplateCategory | None) -> bool:
    return before is not None and after is not None and _PRICE_RANK[after] > _PRICE_RANK[before]


def _impending_category(entry: TemplateEvent) -> AlertDecision:
    before, after = TemplateCategory.parse(entry.from_value), TemplateCategory.parse(entry.to_value)
    if before is None or after is None or not is_pricier(before, after):
        return AlertDecision()
    return AlertDecision(
        open=(
            (
                AlertKind.CATEGORY_PRICIER,
                entry.reason or f"Meta will change the category from {before.value} to {after.value}",
            ),
        )
    )
