"""Live updates: Server-Sent Events from the organization's template event stream (the one
WatchTemplateEvents reads), resumable after a disconnect by the last event's id (the cursor)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from aiohttp import web

from adapters.http.dashboard.config import DASHBOARD, LIVE_KEEPALIVE_SECONDS
from app.dashboard_sessions import SignedIn

BATCH = 100
SESSION_CHECK_SECONDS = 30.0
STOPPING = web.AppKey("live_stopping", asyncio.Event)
log = logging.getLogger(__name__)


async def events(request: web.Request, session: SignedIn) -> web.StreamResponse:
    config = request.app[DASHBOARD]
    health = config.health
    cursor = _cursor(request.headers.get("Last-Event-ID", "") or request.query.get("after", ""))
    if cursor is None:
        cursor = await health.latest_seq(session.principal)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    stopping = request.app[STOPPING]
    # Tells EventSource how long to wait before it reconnects (with Last-Event-ID).
    await response.write(b"retry: 2000\n\n")
    quiet_since = checked_at = time.monotonic()
    with contextlib.suppress(ConnectionResetError):
        while not stopping.is_set():
            if time.monotonic() - checked_at >= SESSION_CHECK_SECONDS:
                # A session signed out or a key revoked elsewhere ends its open streams too.
                checked_at = time.monotonic()
                if await config.sessions.resolve(session.session_id) is None:
                    break
            found = await health.events_after(session.principal, cursor, BATCH)
            for stored in found:
                event = stored.event
                data = {
                    "seq": stored.seq,
                    "template": event.template_name,
                    "waba": event.waba_id,
                    "aspect": event.aspect.value,
                    "outcome": event.outcome.value,
                    "to": event.to_value,
                }
                await response.write(
                    f"id: {stored.seq}\nevent: template\ndata: {json.dumps(data)}\n\n".encode()
                )
                cursor = stored.seq
            if found:
                quiet_since = time.monotonic()
                continue
            if time.monotonic() - quiet_since >= LIVE_KEEPALIVE_SECONDS:
                await response.write(b": still here\n\n")
                quiet_since = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), config.live_poll_seconds)
    return response


def _cursor(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


async def stop_streams(app: web.Application) -> None:
    """On shutdown: open streams end now rather than holding the server for its grace period."""
    app[STOPPING].set()
