"""Template status and quality as Meta reports them, plus the local DRAFT state."""

from __future__ import annotations

from enum import StrEnum


class TemplateStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"
    FLAGGED = "FLAGGED"
    IN_APPEAL = "IN_APPEAL"
    PENDING_DELETION = "PENDING_DELETION"
    DELETED = "DELETED"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    LOCKED = "LOCKED"
    ARCHIVED = "ARCHIVED"
    # Meta sent a value we do not know yet; the raw value is kept beside it.
    OTHER = "OTHER"
    # Not known here: the template was first seen through a webhook that does not say its status
    # (a category or components update). It needs a sync, which asks Meta; never a guess.
    UNKNOWN = "UNKNOWN"

    @classmethod
    def from_meta(cls, raw: str) -> TemplateStatus:
        """The status a Meta status value or event leaves the template in; liberal: a value this
        version does not know is OTHER (the raw value is kept beside it), never an error. An event
        that names no status (see `after_event`) is OTHER here too."""
        return cls.after_event(raw) or cls.OTHER

    @classmethod
    def after_event(cls, raw: str) -> TemplateStatus | None:
        """Like from_meta, but None for an event that says something happened without naming the
        status it left: UNARCHIVED (and UNLOCKED, should Meta send it) restores whatever the template
        was before, which only Meta knows."""
        event = status_event(raw)
        if event in _EVENTS_WITHOUT_STATUS:
            return None
        return _STATUS_AFTER_EVENT.get(event) or cls.__members__.get(event, cls.OTHER)


class TemplateQuality(StrEnum):
    UNKNOWN = "UNKNOWN"  # Meta: "quality pending"
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"

    @classmethod
    def from_meta(cls, raw: str) -> TemplateQuality:
        try:
            return cls(raw.strip().upper())
        except ValueError:
            return cls.UNKNOWN


class TemplateCategory(StrEnum):
    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"

    @classmethod
    def from_meta(cls, raw: str) -> TemplateCategory:
        """Strict: a value that is not a category raises ValueError (for input that must be one)."""
        return cls(raw.strip().upper())

    @classmethod
    def parse(cls, raw: str | None) -> TemplateCategory | None:
        """Liberal: None when absent or unknown (Meta adds categories; the raw text is kept elsewhere)."""
        if not raw:
            return None
        return cls.__members__.get(raw.strip().upper())


def reason_code(raw: str | None) -> str:
    """Meta's reason for a status, or "" for none: Meta sends the placeholder NONE on approvals and
    pauses, and null before a deletion."""
    code = (raw or "").strip()
    return "" if code.upper() == "NONE" else code


def status_event(raw: str) -> str:
    """A status value or event as Meta means it, whatever its case and spacing: what history keeps."""
    return raw.strip().upper()


# Events whose resulting state is another status: a reinstated or unpaused template is sendable again.
_STATUS_AFTER_EVENT = {"REINSTATED": TemplateStatus.APPROVED, "UNPAUSED": TemplateStatus.APPROVED}
_EVENTS_WITHOUT_STATUS = frozenset({"UNARCHIVED", "UNLOCKED"})
