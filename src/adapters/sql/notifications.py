"""PostgreSQL LISTEN/NOTIFY: a process learns at once that another one stored something for it.

The webhook's group commit notifies INBOX_CHANNEL in the transaction that stores deliveries
(PostgreSQL delivers it at commit, and only then); an inbox worker in another process (or on
another replica) listens and wakes instead of waiting for its next poll. A notification is a hint,
never the only path: the worker still polls, so a lost connection or a missed notification delays
work by at most one poll interval and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adapters.sql.engine import SqlConnection
from app.waits import first_of, pause_unless

INBOX_CHANNEL = "watemplates_inbox"
RECONNECT_SECONDS = 1.0

log = logging.getLogger(__name__)


async def notify(connection: SqlConnection, channel: str) -> None:
    """Queues a notification on `channel`, sent when the connection's transaction commits."""
    if connection.dialect.name == "postgresql":
        await connection.execute(sa.select(sa.func.pg_notify(channel, "")))


class PostgresListener:
    """Calls `on_notify` for every notification on `channel`, and once after each (re)connect, since
    notifications sent while it was not listening are gone."""

    def __init__(self, database_url: str, channel: str, on_notify: Callable[[], None]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._channel = channel
        self._on_notify = on_notify

    async def run(self, stop: asyncio.Event) -> None:
        failing = False
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                if not failing:
                    log.warning(
                        "cannot listen for %s notifications (polling meanwhile): %s", self._channel, exc
                    )
                failing = True
                await pause_unless(stop, RECONNECT_SECONDS)
                continue
            failing = False
            closed = asyncio.Event()
            connection.add_termination_listener(lambda _connection, closed=closed: closed.set())
            try:
                await connection.add_listener(self._channel, self._notified)
                self._on_notify()
                await first_of(stop, closed)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("listening for %s notifications failed: %s", self._channel, exc)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), RECONNECT_SECONDS)

    def _notified(self, *_args: Any) -> None:
        self._on_notify()
