"""Domain events: facts, past tense, recorded by aggregates as they change and handled in the same
transaction (history, alerts; next campaigns and notifications).

A TemplateEvent is one observation of a template and what it did: it is also the template's history
entry (the API's TemplateEvent, the `template_events` table). Its class says which aspect it is
about; `outcome` says whether it changed the template (APPLIED), repeated the state (UNCHANGED), came
too late to change it (SUPERSEDED, Meta's time older than the state) or announced something for
later (NOTICE).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.observations import Aspect, ChangeSource, Outcome

# The details key of an event we concluded rather than were told; its value says from what.
INFERRED = "inferred_from"


class DomainEvent:
    """Marker base of every domain event."""


@dataclass(frozen=True, slots=True)
class TemplateEvent(DomainEvent):
    id: str
    template_id: str
    org_id: str
    waba_id: str
    # "{name}.{language}", as the template was called when it happened.
    template_name: str
    aspect: Aspect
    source: ChangeSource
    outcome: Outcome
    from_value: str
    to_value: str
    reason: str
    occurred_at: datetime
    received_at: datetime
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TemplateStatusChanged(TemplateEvent):
    """Meta's status event (APPROVED, PAUSED, ...), or ours (submitted, edited, deleted)."""


@dataclass(frozen=True, slots=True)
class TemplateQualityChanged(TemplateEvent):
    pass


@dataclass(frozen=True, slots=True)
class TemplateCategoryChanged(TemplateEvent):
    """Outcome NOTICE: Meta announced the change for later (about 24 h ahead)."""


@dataclass(frozen=True, slots=True)
class TemplateComponentsChanged(TemplateEvent):
    pass


EVENT_BY_ASPECT: Mapping[Aspect, type[TemplateEvent]] = {
    Aspect.STATUS: TemplateStatusChanged,
    Aspect.QUALITY: TemplateQualityChanged,
    Aspect.CATEGORY: TemplateCategoryChanged,
    Aspect.COMPONENTS: TemplateComponentsChanged,
}


def template_event(aspect: Aspect, **fields: object) -> TemplateEvent:
    """The event of `aspect`'s class (the way stored events are read back, too)."""
    return EVENT_BY_ASPECT[aspect](aspect=aspect, **fields)  # type: ignore[arg-type]
