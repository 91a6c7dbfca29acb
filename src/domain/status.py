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

    @classmethod
    def from_meta(cls, raw: str) -> TemplateStatus:
        """Liberal parse: unknown values map to OTHER rather than failing."""
        try:
            return cls(raw.strip().upper())
        except ValueError:
            return cls.OTHER


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
        return cls(raw.strip().upper())
