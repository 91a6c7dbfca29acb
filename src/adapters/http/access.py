"""One log line and one count per HTTP request (the webhook's POSTs, the dashboard's pages), and the
Prometheus endpoint.

The request id is the caller's X-Request-Id when it sent a usable one, else one made here; either
way it goes back in the response's X-Request-Id. Probes and scrapes are counted, not logged: a load
balancer asking every second would drown the lines that matter.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from app.access_log import log_access, new_request_id, usable_request_id
from app.observability import Metrics

REQUEST_ID_HEADER = "X-Request-Id"
# The request's id (given or made), for handlers that send their headers themselves (a stream).
REQUEST_ID = web.RequestKey("request_id", str)
# The organization a request acts for, once known (the dashboard's session), for the log line.
ORG_ID = web.RequestKey("org_id", str)
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InstrumentedRoutes:
    """Registers routes whose handlers log and count every request. A wrapper per handler rather
    than an aiohttp middleware: any middleware costs every request two more coroutine layers (aiohttp
    adds one of its own), which measured 13-15% of the webhook's acknowledgements per second."""

    def __init__(self, app: web.Application, metrics: Metrics) -> None:
        self._router = app.router
        self._metrics = metrics

    def add_get(self, path: str, handler: Handler, *, allow_head: bool = True) -> None:
        self._router.add_get(path, self._logged(path, handler), allow_head=allow_head)

    def add_post(self, path: str, handler: Handler) -> None:
        self._router.add_post(path, self._logged(path, handler))

    def _logged(self, route: str, handler: Handler) -> Handler:
        metrics = self._metrics
        quiet = route in _QUIET_PATHS

        async def log_and_count(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            call_id = _given_id(request) or new_request_id()
            request[REQUEST_ID] = call_id
            status = 500
            try:
                response = await handler(request)
                status = response.status
                if not response.prepared:  # a stream (server-sent events) sent its headers itself
                    response.headers[REQUEST_ID_HEADER] = call_id
                return response
            except web.HTTPException as answer:
                status = answer.status
                answer.headers[REQUEST_ID_HEADER] = call_id
                raise
            finally:
                seconds = time.perf_counter() - started
                metrics.http_finished(route, request.method, status, seconds)
                if not quiet:
                    milliseconds = round(seconds * 1000, 3)
                    log_access(
                        f"http {request.method} {route} {status} {milliseconds:.1f} ms",
                        {
                            "requestId": call_id,
                            "org": request.get(ORG_ID, ""),
                            "method": request.method,
                            "path": route,
                            "code": status,
                            "durationMs": milliseconds,
                        },
                    )

        return log_and_count


def _given_id(request: web.Request) -> str:
    return usable_request_id(request.headers.get(REQUEST_ID_HEADER, ""))


@dataclass(frozen=True, slots=True)
class MetricsEndpoint:
    """/metrics: `render` gives the text and its content type; with a `token`, a scraper must send
    `Authorization: Bearer <token>`."""

    render: Callable[[], Awaitable[tuple[bytes, str]]]
    token: str = ""


METRICS = web.AppKey("metrics", MetricsEndpoint)


async def metrics_page(request: web.Request) -> web.Response:
    endpoint = request.app[METRICS]
    if endpoint.token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), endpoint.token.encode()
        ):
            raise web.HTTPUnauthorized(
                text="send the metrics token: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    body, content_type = await endpoint.render()
    response = web.Response(body=body)
    # Prometheus's content type carries a version parameter aiohttp's content_type cannot take.
    response.headers["Content-Type"] = content_type
    return response
