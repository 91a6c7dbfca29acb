"""Bearer-key authentication for every RPC except health checking and reflection."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from adapters.grpc.errors import RpcError, abort, log_unexpected, to_rpc_error
from app.access_log import usable_request_id
from app.auth import Authenticator, Principal
from app.errors import Unauthenticated

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")

PUBLIC_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def current_principal() -> Principal:
    """The caller of the RPC being served (set by AuthInterceptor)."""
    return _principal.get()


def bearer_token(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else str(value)
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("the authorization metadata must be 'Bearer <api key>'")
            return token.strip()
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc has no stubs: a base of type Any
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_SERVICES):
            return handler
        try:
            token = bearer_token(handler_call_details.invocation_metadata)
            if token is None:
                raise RpcError(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "missing API key: send the metadata 'authorization: Bearer <key>'",
                    "MISSING_CREDENTIALS",
                )
            principal = await self._authenticator.authenticate(token)
        except Exception as exc:
            error = to_rpc_error(exc)
            log_unexpected(exc, error, "authentication")
            return _refusing(handler, error)
        return _with_principal(handler, principal)


def request_id(metadata: Any) -> str:
    """The caller's x-request-id (logged, returned, and recorded in the audit log), if it sent a
    usable one."""
    for key, value in metadata or ():
        if key == "x-request-id":
            return usable_request_id(
                value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            )
    return ""


def _with_principal(handler: grpc.RpcMethodHandler, principal: Principal) -> grpc.RpcMethodHandler:
    # The behavior runs in its own task, so the principal is bound inside it, not here.
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary_unary(request_message: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            _principal.set(principal)
            return await inner_uu(request_message, context)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream is not None:
        inner_us = handler.unary_stream

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            _principal.set(principal)
            async for item in inner_us(request, context):
                yield item

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )
    raise TypeError(f"unsupported handler kind for authentication: {handler!r}")


def _refusing(handler: grpc.RpcMethodHandler, error: RpcError) -> grpc.RpcMethodHandler:
    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await abort(context, error)

    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            refuse, handler.request_deserializer, handler.response_serializer
        )
    return grpc.unary_unary_rpc_method_handler(
        refuse, handler.request_deserializer, handler.response_serializer
    )
