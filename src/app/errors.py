"""Application errors: what a use case reports to any driving adapter (gRPC, CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.denials import Denial


class AppError(Exception):
    """Base of every expected failure of a use case."""


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str
    reason: str = ""


class InvalidArgument(AppError):
    def __init__(
        self, message: str, violations: Sequence[FieldViolation] = (), reason: str = "INVALID_ARGUMENT"
    ) -> None:
        self.violations = tuple(violations)
        self.reason = reason
        super().__init__(message)


class NotFound(AppError):
    def __init__(self, resource_type: str, name: str) -> None:
        self.resource_type = resource_type
        self.name = name
        super().__init__(f"{resource_type} {name!r} was not found")


class AlreadyExists(AppError):
    def __init__(self, resource_type: str, name: str) -> None:
        self.resource_type = resource_type
        self.name = name
        super().__init__(f"{resource_type} {name!r} already exists")


class EtagMismatch(AppError):
    def __init__(self, name: str, given: str, current: str) -> None:
        self.name = name
        self.given = given
        self.current = current
        super().__init__(f"etag {given} does not match the current etag {current} of {name!r}")


class ConcurrentModification(AppError):
    """Another writer changed the resource between our read and our write; retrying is safe."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name!r} was modified concurrently; retry the request")


class TransactionConflict(ConcurrentModification):
    """The database broke a tie between this transaction and another (a deadlock, a serialization
    failure) by cancelling this one; retrying is safe."""

    def __init__(self) -> None:
        AppError.__init__(self, "the request conflicted with another one writing the same data; retry it")
        self.name = ""


class RequestIdReused(AppError):
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"request_id {request_id!r} was already used for a different request")


class StoreUnavailable(AppError):
    """The database cannot be reached (refused, lost, shutting down, locked too long): nothing
    about the request is wrong, and the same request can succeed later."""

    def __init__(self, message: str = "the database cannot be reached right now; retry later") -> None:
        super().__init__(message)


class Unauthenticated(AppError):
    """No API key, or one that is unknown or revoked."""


class PermissionDenied(AppError):
    def __init__(self, needed: str, held: str) -> None:
        self.needed = needed
        self.held = held
        super().__init__(f"this call needs the {needed} role; the API key has {held}")


class MetaNotConfigured(AppError):
    def __init__(self) -> None:
        super().__init__(
            "Meta's API is not configured: set WATEMPLATES_META_ACCESS_TOKEN to submit, sync or send"
        )


class MetaError(AppError):
    """A failure reported by (or while reaching) Meta's Graph API. `code` is Meta's error code."""

    retryable = False
    # True when the request may have reached Meta and been acted on although no answer came back
    # (a timeout or a connection lost after sending): only a sync can tell what Meta has.
    outcome_unknown = False

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        subcode: int = 0,
        fbtrace_id: str = "",
        http_status: int = 0,
        details: str = "",
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.details = details
        super().__init__(message)


class MetaUnavailable(MetaError):
    """Meta could not be reached, timed out, answered 5xx, or answered something unreadable."""

    retryable = True


class MetaRateLimited(MetaError):
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float = 60.0,
        code: int = 0,
        subcode: int = 0,
        fbtrace_id: str = "",
        http_status: int = 0,
        details: str = "",
    ) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            message,
            code=code,
            subcode=subcode,
            fbtrace_id=fbtrace_id,
            http_status=http_status,
            details=details,
        )


class MetaCredentialsExpired(MetaError):
    """190: the access token expired or was revoked."""


class MetaPermissionDenied(MetaError):
    """0, 3, 10, 200-299: the token lacks a permission or capability."""


class MetaTemplatePaused(MetaError):
    """132015: the template is paused for low quality."""


class MetaTemplateDisabled(MetaError):
    """132016: the template was paused too often and is disabled for good."""


class MetaTemplateNotFound(MetaError):
    """132001: no such template in that language (or not approved)."""


class MetaParameterMismatch(MetaError):
    """132000 / 132012: the values do not fit the template's parameters."""


class MetaWindowClosed(MetaError):
    """131047: more than 24 hours since the user last wrote; send a template instead."""


class MetaRequestRejected(MetaError):
    """Any other business error (4xx): Meta refused the request; retrying will not help."""


class SendRefused(AppError):
    """The message would fail at Meta for a reason that lies in the state of things (a closed
    window, a paused template), not in the request: refused before any call to Meta."""

    def __init__(self, message: str, denials: Sequence[Denial]) -> None:
        self.denials = tuple(denials)
        super().__init__(message)


class SendAlreadyAttempted(AppError):
    """A request_id whose send did not end with Meta accepting it: it is never sent again. `reason`
    is SEND_REJECTED (Meta refused it), SEND_OUTCOME_UNKNOWN (Meta may have it) or SEND_IN_PROGRESS
    (the first attempt is still waiting for Meta)."""

    def __init__(self, reason: str, message_id: str, message: str) -> None:
        self.reason = reason
        self.message_id = message_id
        super().__init__(message)


class CampaignTemplateNotSendable(AppError):
    """A campaign cannot start or resume: its template cannot (or, by the organization's policy,
    should not) be sent now."""

    def __init__(self, campaign_id: str, template: str, status: str, quality: str) -> None:
        self.campaign_id = campaign_id
        self.template = template
        self.status = status
        self.quality = quality
        why = f"is {status}" + (f" with quality {quality}" if quality else "")
        super().__init__(f"the campaign's template {template} {why}: it cannot be sent now")
