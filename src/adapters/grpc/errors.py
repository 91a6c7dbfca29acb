"""Exceptions -> AIP-193 rich status: a canonical code, one ErrorInfo, BadRequest for bad input."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    NotFound,
    PermissionDenied,
    RequestIdReused,
    Unauthenticated,
)
from domain.errors import DomainError, InvalidParameterValues, InvalidTemplate, TemplateImmutableField

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
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)

    def to_status(self) -> status_pb2.Status:
        details = [
            _pack(
                error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata)
            )
        ]
        if self.violations:
            details.append(
                _pack(
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field=v.field, description=v.description, reason=v.reason
                            )
                            for v in self.violations
                        ]
                    )
                )
            )
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=details)


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
        case Unauthenticated():
            return RpcError(grpc.StatusCode.UNAUTHENTICATED, str(exc), "INVALID_CREDENTIALS")
        case PermissionDenied():
            return RpcError(
                grpc.StatusCode.PERMISSION_DENIED,
                str(exc),
                "INSUFFICIENT_ROLE",
                {"requiredRole": exc.needed, "grantedRole": exc.held},
            )
        case AppError() | DomainError():
            return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), _upper_snake(type(exc).__name__))
        case _:
            return RpcError(grpc.StatusCode.INTERNAL, "internal error; see the server log", "INTERNAL")


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
            if error.code == grpc.StatusCode.INTERNAL:
                log.exception("unhandled error in %s", method.__qualname__)
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
