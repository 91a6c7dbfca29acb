"""Exceptions -> AIP-193 rich status: a canonical code, one ErrorInfo, BadRequest for bad input."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from app.errors import (
    AlreadyExists,
    AppError,
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
    StoreUnavailable,
    Unauthenticated,
)
from domain.errors import (
    DomainError,
    InvalidParameterValues,
    InvalidTemplate,
    MetaEditRefused,
    TemplateImmutableField,
    TemplateLifecycleError,
    TemplateNotSendable,
)

ERROR_DOMAIN = "watemplates.v1"
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
            status.details.append(_pack(retry))
        return status


# ---- trailer budget -----------------------------------------------------------------------------
#
# A failed call carries its status in the trailers: `grpc-status-details-bin` is the serialized
# google.rpc.Status, base64-encoded (4 bytes per 3), and `grpc-message` repeats the message
# percent-encoded (every byte outside printable ASCII, and '%', becomes three bytes "%XX", so
# non-ASCII text roughly triples). gRPC clients refuse trailers over 8 KiB with rising probability
# and always over 16 KiB; the caller then sees RESOURCE_EXHAUSTED ("Stream removed") instead of our
# code and details. So every part that can echo user input is clipped, and field violations are added
# in order only while both encoded trailers together stay within TRAILER_BUDGET, which leaves about
# 1 KiB of the 8 KiB soft limit for the other headers/trailers (:status, content-type, grpc-status)
# and HPACK's 32 bytes per entry.

MAX_MESSAGE_CHARS = 1_000
MAX_MESSAGE_WIRE_BYTES = 2_048  # the percent-encoded grpc-message
MAX_FIELD_CHARS = 200
MAX_DESCRIPTION_CHARS = 300
MAX_REASON_CHARS = 100
MAX_METADATA_CHARS = 200  # each ErrorInfo metadata key and value
TRAILER_BUDGET = 7 * 1024  # base64(serialized Status) + percent-encoded grpc-message
OMITTED_VIOLATIONS_KEY = "omittedViolations"
ELLIPSIS = "…"


def grpc_message_wire_size(message: str) -> int:
    """Size of `message` in the grpc-message trailer (gRPC core's "compatible" percent-encoding)."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in message.encode("utf-8"))


def trailer_size(status: status_pb2.Status) -> int:
    """Bytes the status occupies in the trailers: base64 of the serialized Status plus grpc-message."""
    return 4 * -(-status.ByteSize() // 3) + grpc_message_wire_size(status.message)


def clip(text: str, max_chars: int, max_wire_bytes: int | None = None) -> str:
    """`text`, or its head ending in "…" within `max_chars` characters (and grpc-message bytes)."""
    if len(text) <= max_chars and (max_wire_bytes is None or grpc_message_wire_size(text) <= max_wire_bytes):
        return text
    chars_left = max_chars - len(ELLIPSIS)
    wire_left = None if max_wire_bytes is None else max_wire_bytes - grpc_message_wire_size(ELLIPSIS)
    end = 0
    for ch in text[: max(chars_left, 0)]:
        if wire_left is not None:
            wire_left -= grpc_message_wire_size(ch)
            if wire_left < 0:
                break
        end += 1
    return text[:end] + ELLIPSIS


def budgeted_status(
    code: grpc.StatusCode,
    message: str,
    reason: str,
    metadata: Mapping[str, str],
    violations: Sequence[FieldViolation],
) -> status_pb2.Status:
    """A google.rpc.Status that fits TRAILER_BUDGET: clipped texts, as many leading violations as fit.

    When violations are left out, ErrorInfo metadata `omittedViolations` holds their number and the
    message says so at its end.
    """
    info_metadata = {
        clip(key, MAX_METADATA_CHARS): clip(value, MAX_METADATA_CHARS) for key, value in metadata.items()
    }
    field_violations = [
        error_details_pb2.BadRequest.FieldViolation(
            field=clip(v.field, MAX_FIELD_CHARS),
            description=clip(v.description, MAX_DESCRIPTION_CHARS),
            reason=clip(v.reason, MAX_REASON_CHARS),
        )
        for v in violations
    ]

    def build(kept: int) -> status_pb2.Status:
        omitted = len(field_violations) - kept
        note = f" [{omitted} more field violation{'s' if omitted != 1 else ''} omitted]" if omitted else ""
        text = clip(
            message, MAX_MESSAGE_CHARS - len(note), MAX_MESSAGE_WIRE_BYTES - grpc_message_wire_size(note)
        )
        info = error_details_pb2.ErrorInfo(
            reason=clip(reason, MAX_REASON_CHARS), domain=ERROR_DOMAIN, metadata=info_metadata
        )
        if omitted:
            info.metadata[OMITTED_VIOLATIONS_KEY] = str(omitted)
        details = [_pack(info)]
        if kept:
            details.append(_pack(error_details_pb2.BadRequest(field_violations=field_violations[:kept])))
        return status_pb2.Status(code=code.value[0], message=text + note, details=details)

    status = build(len(field_violations))
    if trailer_size(status) <= TRAILER_BUDGET:
        return status
    # The largest prefix that fits: `fits` always fits (zero violations: clipped texts only), `fails`
    # never does. Size grows with every violation kept, so bisecting finds it in O(log n) builds.
    fits, fails = 0, len(field_violations)
    while fails - fits > 1:
        middle = (fits + fails) // 2
        if trailer_size(build(middle)) <= TRAILER_BUDGET:
            fits = middle
        else:
            fails = middle
    return build(fits)


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
                "TEMPLATE_NOT_SENDABLE",
                {"template": exc.name, "status": exc.status},
            )
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


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: RpcError) -> NoReturn:
    status = rpc_status.to_status(error.to_status())
    await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)
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


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _upper_snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name.replace(" ", "_")):
        if ch.isupper() and i and name[i - 1].islower():
            out.append("_")
        out.append(ch.upper())
    return "".join(out)
