"""What is observed about a template: Meta's webhooks, syncs, send errors and our own edits.

Meta guarantees no ordering, so every observation carries Meta's time and each aspect (status,
quality, category, components) keeps the time of the last observation applied to it: an older one is
recorded as SUPERSEDED and never rolls the state back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.components import Components

# Observation detail: the components come from Meta's edit webhook, which carries only the body, a
# text header, the footer and URL/phone buttons; the rest of the template is kept, not dropped.
PARTIAL_COMPONENTS = "partialComponents"
# Observation detail: parts of the edit webhook that could not be read (a button type it does not
# describe): the template's copy may differ from Meta's until a sync.
UNREAD_PARTS = "skipped_buttons"


class Aspect(StrEnum):
    STATUS = "STATUS"
    QUALITY = "QUALITY"
    CATEGORY = "CATEGORY"
    COMPONENTS = "COMPONENTS"


class ChangeSource(StrEnum):
    WEBHOOK = "WEBHOOK"
    SYNC = "SYNC"
    SEND_ERROR = "SEND_ERROR"
    USER = "USER"
    SUBMISSION = "SUBMISSION"
    # A `failed` status webhook of a message sent with the template (132015, 132016).
    MESSAGE_STATUS = "MESSAGE_STATUS"


class Outcome(StrEnum):
    APPLIED = "APPLIED"
    # Older (by Meta's time) than what the aspect already reflects: kept in history only.
    SUPERSEDED = "SUPERSEDED"
    # Same value as already held (a repeat, or a sync confirming the state).
    UNCHANGED = "UNCHANGED"
    # Announced by Meta for later (an impending category change); the state is not touched.
    NOTICE = "NOTICE"


@dataclass(frozen=True, slots=True)
class Observation:
    aspect: Aspect
    # Meta's value verbatim: a status event, a quality score, a category; for COMPONENTS a summary.
    value: str
    source: ChangeSource
    occurred_at: datetime
    # Meta's reason code as sent (e.g. INVALID_FORMAT; see status.reason_code), or ours in words.
    reason: str = ""
    components: Components | None = None
    # What Meta says the aspect was before (quality and category updates name it), if it does.
    previous: str = ""
    # Anything else worth keeping (other_info, rejection_info, the raw change...); JSON-compatible.
    details: Mapping[str, object] = field(default_factory=dict)
    # What else Meta says about it in words (other_info on a pause, rejection_info on a rejection).
    explanation: str = ""

    @property
    def described(self) -> str:
        """The reason as history and alerts show it: the code, explained."""
        if self.reason and self.explanation:
            return f"{self.reason}: {self.explanation}"
        return self.reason or self.explanation
