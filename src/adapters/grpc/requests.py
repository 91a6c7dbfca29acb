"""Every request is read and checked here before any servicer code runs.

grpc-python decodes a request with the handler's deserializer before the handler is called; a
deserializer that raises ends the call UNKNOWN and logs a traceback, so anyone could fill the log.
RequestGuard gives every method a deserializer that never raises: a request that is not valid
protobuf, or that breaks a field rule, becomes a RefusedRequest, and the guarded handler answers it
INVALID_ARGUMENT (logged once at INFO, without a traceback). Registered after the authentication
interceptor, so a caller without a key still hears UNAUTHENTICATED first.

The field rules are the same for every message and both databases (see field_limits.proto): no
NUL character in any text (PostgreSQL cannot store it, SQLite can: the two used to disagree), at
most `max_length` characters per string and `max_items` entries per repeated or map field, and an
enum field only values its enum defines (proto3 keeps unknown numbers, which would otherwise be read
as the default).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from adapters.grpc.errors import RpcError, abort
from adapters.grpc.trailers import clip
from app.errors import FieldViolation
from app.text import printable, text_problem
from watemplates.v1 import field_limits_pb2

DEFAULT_MAX_LENGTH = 4_096
DEFAULT_MAX_ITEMS = 1_000
# Enough to fix a request in one round; the error's trailer budget clips the rest anyway.
MAX_VIOLATIONS = 20
# What of a caller's text reaches the log: refusals are logged, and must not be a way to fill it.
MAX_KEY_LABEL = 64
MAX_LOGGED_CHARS = 500

log = logging.getLogger(__name__)
Deserializer = Callable[[bytes], Any]


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """Stands in for a request that cannot be served; the guarded handler answers with `error`."""

    error: RpcError


class RequestGuard(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc has no stubs: a base of type Any
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return _guarded(handler, handler_call_details.method)


def read_request(deserialize: Deserializer, data: bytes) -> Any:
    """The request, or a RefusedRequest saying why it cannot be served. Never raises."""
    message_class = getattr(deserialize, "__self__", None)
    name = getattr(getattr(message_class, "DESCRIPTOR", None), "full_name", "request message")
    try:
        message = deserialize(data)
    except Exception as exc:  # DecodeError for bad wire data or UTF-8, RecursionError for deep groups
        return RefusedRequest(
            RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the request is not a valid {name} ({type(exc).__name__})",
                "UNREADABLE_REQUEST",
                {"message": name},
            )
        )
    if isinstance(message, Message):
        violations = field_violations(message)
        if violations:
            return RefusedRequest(
                RpcError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "; ".join(f"{v.field}: {v.description}" for v in violations),
                    "INVALID_ARGUMENT",
                    {"message": name},
                    violations,
                )
            )
    return message


def field_violations(message: Message) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    _check_message(message, "", found)
    return found[:MAX_VIOLATIONS]


def _check_message(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for field, value in message.ListFields():
        if len(found) >= MAX_VIOLATIONS:
            return
        path = f"{prefix}{field.name}"
        if not field.is_repeated:
            _check_value(field, value, path, found)
            continue
        max_items = _limits(field)[1]
        if len(value) > max_items:
            found.append(
                FieldViolation(path, f"has {len(value)} entries; at most {max_items}", "TOO_MANY_ITEMS")
            )
            continue
        entry = _map_entry(field)
        if entry is not None:
            key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
            for key, item in value.items():
                where = f"{path}[{_label(key)}]"
                _check_value(key_field, key, where, found, limits_of=field)
                _check_value(value_field, item, where, found, limits_of=field)
        else:
            for index, item in enumerate(value):
                _check_value(field, item, f"{path}[{index}]", found)


def _check_value(
    field: FieldDescriptor,
    value: Any,
    path: str,
    found: list[FieldViolation],
    *,
    limits_of: FieldDescriptor | None = None,
) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        if problem := text_problem(value):
            found.append(FieldViolation(path, problem, "INVALID_TEXT"))
            return
        max_length = _limits(limits_of or field)[0]
        if len(value) > max_length:
            found.append(
                FieldViolation(path, f"is {len(value)} characters; at most {max_length}", "FIELD_TOO_LONG")
            )
    elif field.type == FieldDescriptor.TYPE_ENUM:
        enum_type = field.enum_type
        assert enum_type is not None  # an enum field's descriptor always names its enum
        if value not in enum_type.values_by_number:
            found.append(
                FieldViolation(path, f"{value} is not a {enum_type.name} value", "INVALID_ENUM_VALUE")
            )
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        _check_message(value, f"{path}.", found)


def _label(key: object) -> str:
    """A map key as a field path shows it: the caller's own text, but short and printable, since
    paths end up in logs and error trailers."""
    text = key if isinstance(key, str) else str(key)
    if len(text) <= MAX_KEY_LABEL and text.isprintable():
        return text
    return repr(text[:MAX_KEY_LABEL]) + ("…" if len(text) > MAX_KEY_LABEL else "")


_LIMITS: dict[str, tuple[int, int]] = {}


def _limits(field: FieldDescriptor) -> tuple[int, int]:
    """(max_length, max_items) from the field's options, else the defaults; read once per field."""
    cached = _LIMITS.get(field.full_name)
    if cached is None:
        options = field.GetOptions()
        max_length = options.Extensions[field_limits_pb2.max_length] or DEFAULT_MAX_LENGTH
        max_items = options.Extensions[field_limits_pb2.max_items] or DEFAULT_MAX_ITEMS
        cached = _LIMITS[field.full_name] = (max_length, max_items)
    return cached


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The entry message of a map field (its `key` and `value` fields), None for any other field."""
    message_type: Descriptor | None = field.message_type
    return message_type if message_type is not None and message_type.GetOptions().map_entry else None


# ---- the guarded handlers ----------------------------------------------------------------------


def _guarded(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    deserialize = handler.request_deserializer

    def read(data: bytes) -> Any:
        return read_request(deserialize, data)

    async def refuse(refused: RefusedRequest, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        log.info(
            "refused a request to %s: %s", method, clip(printable(refused.error.message), MAX_LOGGED_CHARS)
        )
        await abort(context, refused.error)

    serialize = handler.response_serializer
    if handler.unary_unary is not None:
        unary = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if isinstance(request, RefusedRequest):
                await refuse(request, context)
            return await unary(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, read, serialize)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _unary_stream(handler.unary_stream, refuse), read, serialize
        )
    if handler.stream_unary is not None:
        inner_su = handler.stream_unary

        async def stream_unary(
            requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            return await inner_su(_checked(requests, context, refuse), context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, read, serialize)
    inner_ss = handler.stream_stream
    if inspect.isasyncgenfunction(inner_ss):

        async def stream_stream(
            requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async for response in inner_ss(_checked(requests, context, refuse), context):
                yield response

        return grpc.stream_stream_rpc_method_handler(stream_stream, read, serialize)

    async def stream_stream_writing(
        requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        return await inner_ss(_checked(requests, context, refuse), context)

    return grpc.stream_stream_rpc_method_handler(stream_stream_writing, read, serialize)


Refuse = Callable[[RefusedRequest, "grpc.aio.ServicerContext[Any, Any]"], Awaitable[None]]


def _unary_stream(inner: Callable[..., Any], refuse: Refuse) -> Callable[..., Any]:
    """Keeps the inner handler's kind: grpc runs an async generator and a coroutine that writes
    with context.write() differently, so the wrapper must be the same kind as what it wraps."""
    if inspect.isasyncgenfunction(inner):

        async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            if isinstance(request, RefusedRequest):
                await refuse(request, context)
            async for response in inner(request, context):
                yield response

        return streaming

    async def writing(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if isinstance(request, RefusedRequest):
            await refuse(request, context)
        return await inner(request, context)

    return writing


async def _checked(
    requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any], refuse: Refuse
) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, RefusedRequest):
            await refuse(request, context)
        yield request
