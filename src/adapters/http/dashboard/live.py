"""Live updates: Server-Sent Events from the organization's template event stream (the one
WatchTemplateEvents reads), resumable after a disconnect by the last event's id (the cursor)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict

from aiohttp import web

from adapters.http.access import REQUEST_ID, REQUEST_ID_HEADER
from adapters.http.dashboard.config import DASHBOARD, LIVE_KEEPALIVE_SECONDS
from app.dashboard_sessions import SignedIn
from app.waits import first_of

BATCH = 100
# A session signed out in another process (or its key revoked) ends its streams within this.
SESSION_CHECK_SECONDS = 30.0
# Each stream reads the database every poll: a browser needs one per open tab, not thousands.
MAX_STREAMS_PER_SESSION = 8
MAX_STREAMS = 500
log = logging.getLogger(__name__)


class LiveStreams:
    """The open streams of this process, by session: bounded, and ended at sign-out or shutdown."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self._ended: dict[str, set[asyncio.Event]] = defaultdict(set)

    @property
    def open(self) -> int:
        return sum(len(events) for events in self._ended.values())

    def join(self, session_id: str) -> asyncio.Event | None:
        """An event set when the stream must end; None when there are too many streams already."""
        if self.open >= MAX_STREAMS or len(self._ended[session_id]) >= MAX_STREAMS_PER_SESSION:
            return None
        ended = asyncio.Event()
        self._ended[session_id].add(ended)
        return ended

    def leave(self, session_id: str, ended: asyncio.Event) -> None:
        streams = self._ended.get(session_id)
        if streams is not None:
            streams.discard(ended)
            if not streams:
                del self._ended[session_id]

    def end_session(self, session_id: str) -> None:
        for ended in self._ended.get(session_id, ()):
            ended.set()


LIVE = web.AppKey("live_streams", LiveStreams)


async def events(request: web.Request, session: SignedIn) -> web.StreamResponse:
    config = request.app[DASHBOARD]
    streams = request.app[LIVE]
    health = config.health
    ended = streams.join(session.session_id)
    if ended is None:
        raise web.HTTPTooManyRequests(
            text="too many live streams are open: close some tabs", headers={"Retry-After": "30"}
        )
    try:
        latest = await health.latest_seq(session.principal)
        given = _cursor(request.headers.get("Last-Event-ID", "") or request.query.get("after", ""))
        # A cursor from the future (a restored database) would wait for events that are not coming.
        cursor = latest if given is None or given > latest else given
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
                REQUEST_ID_HEADER: request.get(REQUEST_ID, ""),
            }
        )
        await response.prepare(request)
        # Tells EventSource how long to wait before it reconnects (with Last-Event-ID).
        await response.write(b"retry: 2000\n\n")
        await _pump(request, response, session, cursor, ended)
        return response
    finally:
        streams.leave(session.session_id, ended)


async def _pump(
    request: web.Request, response: web.StreamResponse, session: SignedIn, cursor: int, ended: asyncio.Event
) -> None:
    config = request.app[DASHBOARD]
    stopping = request.app[LIVE].stopping
    quiet_since = checked_at = time.monotonic()
    with contextlib.suppress(ConnectionResetError):
        while not (stopping.is_set() or ended.is_set()):
            if request.transport is None or request.transport.is_closing():
                return  # the browser went away: stop reading the database for it
            if time.monotonic() - checked_at >= SESSION_CHECK_SECONDS:
                checked_at = time.monotonic()
                if await config.sessions.resolve(session.session_id) is None:
                    return
            found = await config.health.events_after(session.principal, cursor, BATCH)
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
                await asyncio.wait_for(first_of(stopping, ended), config.live_poll_seconds)


def _cursor(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


async def stop_streams(app: web.Application) -> None:
    """On shutdown: open streams end now rather than holding the server for its grace period."""
    app[LIVE].stopping.set()
