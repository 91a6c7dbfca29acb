"""The dispatcher: delivers the outbox's notifications over their channels, with retries.

It claims due notifications with a lease (one transaction, committed at once), sends each outside
any transaction, then records what came of it. A dispatcher that dies mid-send leaves its claims to
expire and another (or itself, restarted) sends them again: a channel sees a notification at most
twice only if the process dies between the channel's acceptance and the record of it, and every
delivery carries the notification's stable id (email Message-ID, webhook-id) for the receiver to
drop a repeat. After the retry budget a notification is FAILED, listed, and replayable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from app.notification_ports import DeliveryFailed, NotificationSender
from app.observability import NO_METRICS, Metrics
from app.ports import Clock, UnitOfWorkFactory
from app.waits import first_of
from domain.notifications import Notification, NotificationState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    batch: int = 20
    # A claim another dispatcher may take over after this long (a crashed dispatcher's).
    lease: timedelta = timedelta(seconds=120)
    attempts: int = 8
    backoff: timedelta = timedelta(seconds=5)
    idle_poll_seconds: float = 1.0


# A failed attempt with retries left leaves the notification PENDING: that attempt's outcome is "retry".
_OUTCOMES = {NotificationState.SENT: "sent", NotificationState.FAILED: "failed"}


class NotificationDispatcher:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        sender: NotificationSender,
        settings: DispatchSettings | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._sender = sender
        self._settings = settings or DispatchSettings()
        self._metrics = metrics
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        failing = False
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:  # the database went away: the outbox waits, nothing is lost
                if not failing:
                    log.exception("notification dispatch failed; retrying until it works")
                failing, busy = True, 0
            else:
                failing = False
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_of(self._wake, stop), self._settings.idle_poll_seconds)

    async def run_once(self) -> int:
        """Claims, sends and records one batch; returns how many were claimed."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            claimed = list(
                await uow.notifications.claim_due(now, self._settings.batch, now + self._settings.lease)
            )
            await uow.commit()
        if not claimed:
            return 0
        await asyncio.gather(*(self._deliver(notification) for notification in claimed))
        return len(claimed)

    async def _deliver(self, notification: Notification) -> None:
        async with self._uow_factory(read_only=True) as uow:
            channel = await uow.channels.get(notification.org_id, notification.channel_id)
        now = self._clock.now()
        if channel is None:
            notification.state, notification.last_error = NotificationState.FAILED, "the channel was removed"
            await self._record(notification)
            return
        try:
            # Well within the claim: a send still running when it ran out would be sent again.
            async with asyncio.timeout(self._settings.lease.total_seconds() / 2):
                await self._sender.send(channel, notification)
        except TimeoutError:
            notification.failed(
                "the channel took too long to answer",
                self._clock.now(),
                budget=self._settings.attempts,
                backoff=self._settings.backoff,
                retry_after=None,
            )
        except DeliveryFailed as exc:
            budget = notification.attempts + 1 if exc.permanent else self._settings.attempts
            notification.failed(
                str(exc),
                self._clock.now(),
                budget=budget,
                backoff=self._settings.backoff,
                retry_after=exc.retry_after,
            )
            log.warning(
                "notification %s over %s channel %s failed (attempt %d): %s",
                notification.id,
                channel.kind.value,
                channel.id,
                notification.attempts,
                exc,
            )
        except Exception as exc:  # a bug in a sender must not stop the others
            notification.failed(
                f"unexpected error: {type(exc).__name__}",
                now,
                budget=self._settings.attempts,
                backoff=self._settings.backoff,
                retry_after=None,
            )
            log.exception("notification %s could not be sent", notification.id)
        else:
            notification.sent(self._clock.now())
        self._metrics.notification_finished(channel.kind.value, _OUTCOMES.get(notification.state, "retry"))
        await self._record(notification)

    async def _record(self, notification: Notification) -> None:
        # As soon as it is known, each on its own: a dispatcher that dies now sends again only what
        # was in flight, not what its batch had already delivered.
        async with self._uow_factory() as uow:
            await uow.notifications.save_many([notification])
            await uow.commit()
