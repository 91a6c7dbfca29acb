"""Exceptions -> AIP-193 rich status: a canonical code, one ErrorInfo, BadRequest for bad input."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from adapters.grpc.trailers import budgeted_status, pack
from app.errors import (
    AlreadyExists,
    AppError,
    CampaignTemplateNotSendable,
    ConcurrentModification,
    EtagMismatch,
    FieldViolation,
    InvalidArgument,
    MetaCredentialsExpired,
    MetaError,
    MetaNotConfigured,
    MetaParameterMismatch,
    MetaPermissionDenied,
    MetaRateLimited,
    MetaRequestRejected,
    MetaTemplateDisabled,
    MetaTemplateNotFound,
    MetaTemplatePaused,
    MetaUnavailable,
    MetaWindowClosed,
    NotFound,
    PermissionDenied,
    RequestIdReused,
    SendAlreadyAttempted,
    SendRefused,
    StoreUnavailable,
    TransactionConflict,
    Unauthenticated,
)
from app.resource_names import message_name
from domain.campaigns import CampaignTransitionRefused
from domain.errors import (
    DomainError,
    InvalidParameterValues,
    InvalidTemplate,
    MetaEditRefused,
    TemplateImmutableField,
    TemplateLifecycleError,
    TemplateNotSendable,
)

log = logging.getLogger(__name__)


class RpcError(Exception):
    """A fully described failure, ready to send: code, message, ErrorInfo and optional violations."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)
        self.retry_after_seconds = retry_after_seconds

    def to_status(self) -> status_pb2.Status:
        """The rich status as sent: budgeted so that it always fits gRPC's trailer limits."""
        status = budgeted_status(self.code, self.message, self.reason, self.metadata, self.violations)
        if self.retry_after_seconds is not None:
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromTimedelta(timedelta(seconds=max(self.retry_after_seconds, 0.0)))
            status.details.append(pack(retry))
        return status


# A template's status -> the reason a send of it is refused (Meta's 132015 / 132016 / 132001).
_NOT_SENDABLE = {"PAUSED": "TEMPLATE_PAUSED", "DISABLED": "TEMPLATE_DISABLED"}


def to_rpc_error(exc: Exception) -> RpcError:
    """The one mapping table from app/domain exceptions to gRPC statuses."""
    match exc:
        case RpcError():
            return exc
        case InvalidTemplate():
            errors = [v for v in exc.violations if v.severity == "ERROR"]
            return RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the template breaks {len(errors)} of Meta's rules: " + "; ".join(v.message for v in errors),
                "INVALID_TEMPLATE",
                {"violationCount": str(len(errors))},
                [FieldViolation(v.field, f"[{v.code}] {v.message}", v.code) for v in errors],
            )
        case InvalidParameterValues():
            return RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                str(exc),
                "INVALID_PARAMETER_VALUES",
                {"parameters": ",".join(dict.fromkeys(v.key for v in exc.violations))},
                [
                    FieldViolation(f"values[{v.key}]", f"[{v.code}] {v.message}", v.code)
                    for v in exc.violations
                ],
            )
        case TemplateImmutableField():
            return RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                str(exc),
                "IMMUTABLE_FIELD",
                {"field": exc.field},
                [FieldViolation(exc.field, str(exc), "IMMUTABLE_FIELD")],
            )
        case RequestIdReused():
            return RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                str(exc),
                "REQUEST_ID_REUSED",
                {"requestId": exc.request_id},
                [FieldViolation("request_id", str(exc), "REQUEST_ID_REUSED")],
            )
        case InvalidArgument():
            return RpcError(grpc.StatusCode.INVALID_ARGUMENT, str(exc), exc.reason, {}, exc.violations)
        case NotFound():
            return RpcError(
                grpc.StatusCode.NOT_FOUND,
                str(exc),
                f"{_upper_snake(exc.resource_type)}_NOT_FOUND",
                {"resourceType": exc.resource_type, "name": exc.name},
            )
        case AlreadyExists():
            return RpcError(
                grpc.StatusCode.ALREADY_EXISTS,
                str(exc),
                f"{_upper_snake(exc.resource_type)}_ALREADY_EXISTS",
                {"resourceType": exc.resource_type, "name": exc.name},
            )
        case EtagMismatch():
            return RpcError(
                grpc.StatusCode.FAILED_PRECONDITION,
                str(exc),
                "ETAG_MISMATCH",
                {"name": exc.name, "givenEtag": exc.given, "currentEtag": exc.current},
            )
        case TransactionConflict():
            return RpcError(grpc.StatusCode.ABORTED, str(exc), "TRANSACTION_CONFLICT")
        case ConcurrentModification():
            return RpcError(grpc.StatusCode.ABORTED, str(exc), "CONCURRENT_MODIFICATION", {"name": exc.name})
        case StoreUnavailable():
            return RpcError(grpc.StatusCode.UNAVAILABLE, str(exc), "STORE_UNAVAILABLE")
        case Unauthenticated():
            return RpcError(grpc.StatusCode.UNAUTHENTICATED, str(exc), "INVALID_CREDENTIALS")
        case PermissionDenied():
            return RpcError(
                grpc.StatusCode.PERMISSION_DENIED,
                str(exc),
                "INSUFFICIENT_ROLE",
                {"requiredRole": exc.needed, "grantedRole": exc.held},
            )
        case MetaNotConfigured():
            return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), "META_NOT_CONFIGURED")
        case MetaError():
            return _meta_error(exc)
        case TemplateNotSendable():
            return RpcError(
                grpc.StatusCode.FAILED_PRECONDITION,
                str(exc),
                _NOT_SENDABLE.get(exc.status, "TEMPLATE_NOT_APPROVED"),
                {"template": exc.name, "status": exc.status},
            )
        case SendRefused():
            first = exc.denials[0]
            return RpcError(
                grpc.StatusCode.FAILED_PRECONDITION,
                str(exc),
                first.reason,
                {
                    "metaErrorCode": str(first.meta_error_code),
                    "reasons": ",".join(dict.fromkeys(d.reason for d in exc.denials)),
                },
            )
        case CampaignTemplateNotSendable():
            return RpcError(
                grpc.StatusCode.FAILED_PRECONDITION,
                str(exc),
                "TEMPLATE_NOT_SENDABLE",
                {"template": exc.template, "status": exc.status, "quality": exc.quality},
            )
        case CampaignTransitionRefused():
            return RpcError(
                grpc.StatusCode.FAILED_PRECONDITION,
                str(exc),
                "CAMPAIGN_TRANSITION_REFUSED",
                {"state": exc.state.value, "requestedState": exc.wanted.value},
            )
        case SendAlreadyAttempted():
            code = (
                grpc.StatusCode.ABORTED
                if exc.reason == "SEND_IN_PROGRESS"
                else grpc.StatusCode.FAILED_PRECONDITION
            )
            return RpcError(code, str(exc), exc.reason, {"message": message_name(exc.message_id)})
        case TemplateLifecycleError():
            return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), exc.reason)
        case MetaEditRefused():
            metadata = {"availableAt": exc.available_at.isoformat()} if exc.available_at else {}
            return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), exc.reason, metadata)
        case AppError() | DomainError():
            return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), _upper_snake(type(exc).__name__))
        case _:
            return RpcError(grpc.StatusCode.INTERNAL, "internal error; see the server log", "INTERNAL")


# Meta's errors by type: the canonical code says what the caller can do about it, the reason which
# Meta condition it was; ErrorInfo carries Meta's own code and fbtrace_id for support requests.
_META_ERRORS: tuple[tuple[type[MetaError], grpc.StatusCode, str], ...] = (
    (MetaTemplatePaused, grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_PAUSED"),
    (MetaTemplateDisabled, grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_DISABLED"),
    (MetaTemplateNotFound, grpc.StatusCode.NOT_FOUND, "META_TEMPLATE_NOT_FOUND"),
    (MetaParameterMismatch, grpc.StatusCode.INVALID_ARGUMENT, "META_PARAMETER_MISMATCH"),
    (MetaWindowClosed, grpc.StatusCode.FAILED_PRECONDITION, "CUSTOMER_SERVICE_WINDOW_CLOSED"),
    (MetaCredentialsExpired, grpc.StatusCode.FAILED_PRECONDITION, "META_CREDENTIALS_EXPIRED"),
    (MetaPermissionDenied, grpc.StatusCode.FAILED_PRECONDITION, "META_PERMISSION_DENIED"),
    (MetaRateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED, "META_RATE_LIMITED"),
    (MetaUnavailable, grpc.StatusCode.UNAVAILABLE, "META_UNAVAILABLE"),
    (MetaRequestRejected, grpc.StatusCode.FAILED_PRECONDITION, "META_REJECTED"),
)


def _meta_error(exc: MetaError) -> RpcError:
    code, reason = grpc.StatusCode.UNAVAILABLE, "META_UNAVAILABLE"
    for kind, kind_code, kind_reason in _META_ERRORS:
        if isinstance(exc, kind):
            code, reason = kind_code, kind_reason
            break
    metadata = {"metaCode": str(exc.code), "fbtraceId": exc.fbtrace_id}
    if exc.subcode:
        metadata["metaSubcode"] = str(exc.subcode)
    if exc.details:
        metadata["metaDetails"] = exc.details
    retry_after = exc.retry_after_seconds if isinstance(exc, MetaRateLimited) else None
    return RpcError(code, str(exc), reason, metadata, retry_after_seconds=retry_after)


def log_unexpected(exc: Exception, error: RpcError, where: str) -> None:
    """A bug (INTERNAL) with its traceback; the database being away as one line (it is not the
    caller's fault, and the log must say why calls fail)."""
    if error.code == grpc.StatusCode.INTERNAL:
        log.error("unhandled error in %s", where, exc_info=exc)
    elif isinstance(exc, StoreUnavailable):
        cause = exc.__cause__
        log.warning("%s: the database cannot be reached: %s", where, str(cause).split("\n", 1)[0][:300])


REQUEST_ID_HEADER = "x-request-id"
# The id of the call being served (the caller's x-request-id or one made for it; see call_log).
call_id_var: ContextVar[str] = ContextVar("call_id", default="")


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: RpcError) -> NoReturn:
    status = rpc_status.to_status(error.to_status())
    trailing = tuple(status.trailing_metadata)
    if call_id := call_id_var.get():
        # An abort's trailers replace any set before: the request id goes with them.
        trailing += ((REQUEST_ID_HEADER, call_id),)
    await context.abort(status.code, status.details, trailing_metadata=trailing)
    raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises


Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def mapped_errors(method: Method) -> Method:
    """Servicer-method decorator: every exception leaves as a rich status, never as a bare INTERNAL."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await method(self, request, context)
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            error = to_rpc_error(exc)
            log_unexpected(exc, error, method.__qualname__)
            await abort(context, error)

    return wrapper  # type: ignore[return-value]


def _upper_snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name.replace(" ", "_")):
        if ch.isupper() and i and name[i - 1].islower():
            out.append("_")
        out.append(ch.upper())
    return "".join(out)
