"""aiohttp application factory: liveness and readiness for load balancers, and Meta's webhook."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from adapters.http.webhook import WebhookConfig, add_webhook_routes
from app.ports import HealthProbe

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


def create_app(probe: HealthProbe, *, webhook: WebhookConfig | None = None) -> web.Application:
    """`webhook` mounts /webhooks/meta; without it the app serves only the probes (e.g. a worker)."""
    # Bodies are read as sent: the webhook signature covers the raw bytes, and aiohttp's automatic
    # decompression would both change them and fail on a broken stream outside any handler.
    app = web.Application(handler_args={"auto_decompress": False})
    app[PROBE] = probe
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if webhook is not None:
        add_webhook_routes(
            app,
            uow_factory=webhook.uow_factory,
            clock=webhook.clock,
            app_secret=webhook.app_secret,
            verify_token=webhook.verify_token,
            on_delivery=webhook.on_delivery,
        )
    return app
