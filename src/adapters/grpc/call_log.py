"""One log line and one count per RPC: request id, organization, method, status code, duration.

The outermost interceptor, so every call of a method the server has is seen, refused ones included
(a method it does not have is answered UNIMPLEMENTED by grpc itself, before any interceptor). The
request id is the caller's `x-request-id` when it sent a usable one, else one made here; either way
it is returned in the trailing metadata `x-request-id`, so a caller can quote it about a call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from adapters.grpc.auth import current_principal, request_id
from adapters.grpc.errors import REQUEST_ID_HEADER, call_id_var
from app.access_log import log_access, new_request_id
from app.audit import request_id_var
from app.observability import Metrics


class CallLog(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc has no stubs: a base of type Any
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        given = request_id(handler_call_details.invocation_metadata)
        if handler.unary_unary is not None:
            return self._unary(handler, method, given)
        if handler.unary_stream is not None:
            return self._stream(handler, method, given)
        return handler  # reflection's bidirectional stream: not an API call

    def _unary(self, handler: grpc.RpcMethodHandler, method: str, given: str) -> grpc.RpcMethodHandler:
        inner = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started, call_id = self._begin(context, given)
            code = "UNKNOWN"
            try:
                response = await inner(request, context)
                code = _code(context, "OK")
                return response
            except BaseException as error:
                code = _code(context, _failure(error))
                raise
            finally:
                self._end(method, code, started, call_id)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )

    def _stream(self, handler: grpc.RpcMethodHandler, method: str, given: str) -> grpc.RpcMethodHandler:
        inner = handler.unary_stream

        async def unary_stream(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            started, call_id = self._begin(context, given)
            code = "UNKNOWN"
            try:
                answer = inner(request, context)
                if inspect.isawaitable(answer):
                    # A refusal (no key, an unreadable request) answers without streaming.
                    await answer
                else:
                    async for item in answer:
                        yield item
                code = _code(context, "OK")
            except BaseException as error:
                code = _code(context, _failure(error))
                raise
            finally:
                self._end(method, code, started, call_id)

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )

    @staticmethod
    def _begin(context: grpc.aio.ServicerContext[Any, Any], given: str) -> tuple[float, str]:
        call_id = given or new_request_id()
        # The audit log records a caller's own id (or the request's request_id field) first.
        request_id_var.set(given)
        call_id_var.set(call_id)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, call_id),))
        return time.perf_counter(), call_id

    def _end(self, method: str, code: str, started: float, call_id: str) -> None:
        seconds = time.perf_counter() - started
        self._metrics.rpc_finished(method, code, seconds)
        milliseconds = round(seconds * 1000, 3)
        log_access(
            f"rpc {method} {code} {milliseconds:.1f} ms",
            {"requestId": call_id, "org": _org(), "method": method, "code": code, "durationMs": milliseconds},
        )


def _code(context: grpc.aio.ServicerContext[Any, Any], otherwise: str) -> str:
    code = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else otherwise


def _failure(error: BaseException) -> str:
    return "CANCELLED" if isinstance(error, asyncio.CancelledError) else "UNKNOWN"


def _org() -> str:
    try:
        return current_principal().org_id
    except LookupError:  # refused before authentication, or a public service
        return ""
