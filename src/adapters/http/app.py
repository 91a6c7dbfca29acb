"""aiohttp application factory: liveness and readiness for load balancers, and Meta's webhook."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from adapters.http.access import METRICS, InstrumentedRoutes, MetricsEndpoint, metrics_page
from adapters.http.dashboard.config import DashboardConfig
from adapters.http.dashboard.routes import add_dashboard_routes
from adapters.http.webhook.endpoint import WebhookConfig, add_webhook_routes
from app.observability import NO_METRICS, Metrics
from app.ports import HealthProbe
from app.text import printable

PROBE = web.AppKey("probe", HealthProbe)
READINESS_TIMEOUT_SECONDS = 2.0
log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves HTTP; it says nothing about dependencies."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers, so requests routed here can succeed."""
    try:
        await asyncio.wait_for(request.app[PROBE].ping(), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the reason is logged and returned
        log.warning("readiness check failed: %s", exc)
        return web.json_response({"status": "unavailable", "reason": f"database: {exc}"[:300]}, status=503)
    return web.json_response({"status": "ready"})


class PeerMistakes(logging.Filter):
    """aiohttp logs every malformed request, and every client that goes away mid-body, at ERROR with
    a traceback that quotes the request: anyone could fill the log with them. They are the peer's
    doing, answered (400) or moot (the peer is gone), so they become one short WARNING line."""

    PEER_ERRORS = (HttpProcessingError, RequestPayloadError, ConnectionError)

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, self.PEER_ERRORS):
            if record.levelno > logging.WARNING:  # never raised: aiohttp logs some at DEBUG on purpose
                record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "refused a malformed or abandoned HTTP request: %s"
            detail = getattr(error, "message", None) or str(error)
            first_line = next((line for line in str(detail).splitlines() if line.strip()), "")
            record.args = (printable(f"{type(error).__name__}: {first_line.strip()}")[:200],)
            record.exc_info, record.exc_text = None, None
        return True


_PEER_MISTAKES = PeerMistakes()


def create_app(
    probe: HealthProbe,
    *,
    webhook: WebhookConfig | None = None,
    metrics: Metrics = NO_METRICS,
    metrics_endpoint: MetricsEndpoint | None = None,
    dashboard: DashboardConfig | None = None,
) -> web.Application:
    """`webhook` mounts /webhooks/meta; without it the app serves only the probes (e.g. a worker).
    Every request is logged and counted into `metrics`; `metrics_endpoint` mounts /metrics, and
    `dashboard` the operators' pages (/, /sign-in, ...)."""
    server_log = logging.getLogger("aiohttp.server")
    if _PEER_MISTAKES not in server_log.filters:
        server_log.addFilter(_PEER_MISTAKES)
    # Bodies are read as sent: the webhook signature covers the raw bytes, and aiohttp's automatic
    # decompression would both change them and fail on a broken stream outside any handler.
    app = web.Application(handler_args={"auto_decompress": False})
    app[PROBE] = probe
    routes = InstrumentedRoutes(app, metrics)
    routes.add_get("/healthz", healthz)
    routes.add_get("/readyz", readyz)
    if metrics_endpoint is not None:
        app[METRICS] = metrics_endpoint
        routes.add_get("/metrics", metrics_page)
    if dashboard is not None:
        add_dashboard_routes(app, routes, dashboard)
    if webhook is not None:
        add_webhook_routes(
            app,
            routes,
            uow_factory=webhook.uow_factory,
            clock=webhook.clock,
            app_secret=webhook.app_secret,
            verify_token=webhook.verify_token,
            on_delivery=webhook.on_delivery,
        )
    return app
