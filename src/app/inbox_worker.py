"""The webhook inbox worker: splits stored deliveries into changes and has the bus apply each change
once (ApplyInboxChanges, see app.handlers.inbox).

Every change is applied in the transaction that also marks it DONE, so a crash, a retry or a
second worker never applies it twice. A change that fails is retried with exponential backoff, then
parked as DEAD with its error (replayable); one for a WABA nobody registered is PARKED until it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.commands import ApplyDueInboxChanges, ApplyInboxChanges, ExpireStaleSends
from app.inbox import (
    DELIVERY_KEY_PREFIX,
    ChangeState,
    Delivery,
    DeliveryState,
    InboxChange,
    MalformedDelivery,
    RawChange,
)
from app.messagebus import MessageBus
from app.meta_ports import WebhookTranslator
from app.observability import NO_METRICS, Metrics
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.text import printable
from app.waits import first_of

log = logging.getLogger(__name__)
# How often the worker marks sends whose process died before Meta answered (see handlers.sends).
SWEEP_SECONDS = 60.0
LARGE_BODY_BYTES = 64 * 1024
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class InboxSettings:
    batch: int = 100
    # A claimed row another worker may take over after this long (a crashed worker's rows).
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    backoff_initial: timedelta = timedelta(seconds=2)
    backoff_max: timedelta = timedelta(hours=1)
    # How often an idle worker looks for due retries and released parked changes.
    idle_poll_seconds: float = 1.0
    # Changes applied per transaction: fewer commits and claims per change. On SQLite a transaction
    # holds the one write lock, which webhook POSTs also wait for, so keep it small there.
    changes_per_transaction: int = 20


class InboxWorker:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        bus: MessageBus,
        translator: WebhookTranslator,
        settings: InboxSettings | None = None,
        transient: Callable[[BaseException], bool] = lambda error: False,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        """`transient` tells a failure of the store itself (connection lost, database locked) from
        one caused by the delivery or change: the former is retried without counting an attempt,
        so an outage never parks good deliveries as DEAD. The translator splits deliveries; the
        bus applies their changes (the same translator is bound to its ApplyInboxChanges)."""
        self._uow_factory = uow_factory
        self._clock = clock
        self._bus = bus
        self._translator = translator
        self._settings = settings or InboxSettings()
        self._transient = transient
        self._metrics = metrics
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called when a delivery was stored, so it is processed now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        failing = False
        swept_at = float("-inf")
        while not stop.is_set():
            if time.monotonic() - swept_at >= SWEEP_SECONDS:
                swept_at = time.monotonic()
                await self._sweep_stale_sends()
            try:
                busy = await self.run_once()
            except Exception as exc:  # a database hiccup must not end the worker; the rows stay claimable
                # Once per outage, not once a second while the database is down.
                if not failing:
                    log.exception("inbox worker round failed; retrying until it works")
                else:
                    log.debug("inbox worker round failed again: %s", _describe(exc))
                failing, busy = True, 0
            else:
                if failing:
                    log.info("inbox worker rounds work again")
                failing = False
            if busy:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_of(self._wake, stop), self._settings.idle_poll_seconds)

    async def _sweep_stale_sends(self) -> None:
        try:
            expired = await self._bus.handle(ExpireStaleSends())
        except Exception as exc:  # the next sweep tries again; the inbox must not stop for this
            log.warning("could not mark stale sends UNKNOWN: %s", _describe(exc))
            return
        if expired:
            log.warning("%d send(s) lost Meta's answer (their process stopped): marked UNKNOWN", expired)

    async def run_once(self) -> int:
        """One round: split pending deliveries, then process due changes. Returns the work done."""
        split = await self.split_deliveries()
        processed = await self.process_changes()
        self._metrics.changes_applied(processed)
        return split + processed

    async def split_deliveries(self) -> int:
        """Splits due deliveries into changes and stores them, a batch in one transaction that
        locks, splits and stores (no lease needed: a crash rolls it back). If that fails, the
        deliveries are claimed with a lease and each is split and stored on its own, so one that
        cannot be split or stored only holds up itself; it is retried with backoff and, after
        max_attempts, parked as DEAD where an operator sees it."""
        try:
            return await self._split_batch()
        except Exception as exc:
            log.debug("a batch of deliveries failed (%s); splitting them one by one", _describe(exc))
        return await self._split_one_by_one()

    async def _split_batch(self) -> int:
        async with self._uow_factory() as uow:
            deliveries = await uow.inbox.lock_due_deliveries(
                now=self._clock.now(), limit=self._settings.batch
            )
            splits = [await self._split_off_the_loop(delivery) for delivery in deliveries]
            # Two statements for the whole batch: every change, then every delivery's state.
            await uow.inbox.add_changes([change for split in splits for change in split.changes])
            await uow.inbox.save_deliveries([split.delivery for split in splits])
            await uow.commit()
        return len(deliveries)

    async def _split_off_the_loop(self, delivery: Delivery) -> _Split:
        # A large body takes a while to split: off the event loop, so the HTTP side and the API
        # keep answering meanwhile.
        if len(delivery.body) > LARGE_BODY_BYTES:
            return await asyncio.to_thread(self._split, delivery)
        return self._split(delivery)

    async def _split_one_by_one(self) -> int:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            deliveries = await uow.inbox.claim_deliveries(
                now=now, lease_until=now + self._settings.lease, limit=self._settings.batch
            )
            await uow.commit()
        for delivery in deliveries:
            try:
                split = await self._split_off_the_loop(delivery)
            except Exception as exc:  # a translator failure is this delivery's, not the batch's
                await self._delivery_failed(delivery, exc)
                continue
            try:
                async with self._uow_factory() as uow:
                    await split.store(uow)
                    await uow.commit()
            except Exception as exc:
                await self._delivery_failed(delivery, exc)
        return len(deliveries)

    def _split(self, claimed: Delivery) -> _Split:
        delivery = replace(claimed)  # the claimed copy stays as read, for a retry
        try:
            raw = self._translator.split(delivery.body)
        except MalformedDelivery as exc:
            note = printable(str(exc))
            delivery.state, delivery.error = DeliveryState.DEAD, note
            log.warning("webhook delivery %s is not usable: %s", delivery.id, note)
            # Shown with the inbox's DEAD changes, so an operator sees it next to the rest.
            note = f"the delivery is not a Meta webhook: {note}"
            return _Split(delivery, [_unusable(delivery, note, self._clock.now())])
        delivery.state, delivery.error = DeliveryState.SPLIT, ""
        changes = [
            _inbox_change(delivery.id, index, change, delivery.received_at)
            for index, change in enumerate(raw)
        ]
        return _Split(delivery, changes)

    async def _delivery_failed(self, claimed: Delivery, error: Exception) -> None:
        now = self._clock.now()
        if self._transient(error):
            log.warning(
                "webhook delivery %s: the store failed, retrying (not counted): %s", claimed.id, error
            )
            async with self._uow_factory() as uow:
                await uow.inbox.save_delivery(
                    replace(claimed, next_attempt_at=now + self._settings.backoff_initial)
                )
                await uow.commit()
            return
        delivery = replace(claimed, attempts=claimed.attempts + 1, error=_describe(error))
        if delivery.attempts < self._settings.max_attempts:
            delay = self._backoff(delivery.attempts)
            delivery.next_attempt_at = now + delay
            log.warning(
                "webhook delivery %s could not be split (attempt %d), retrying in %s: %s",
                delivery.id,
                delivery.attempts,
                delay,
                delivery.error,
            )
            async with self._uow_factory() as uow:
                await uow.inbox.save_delivery(delivery)
                await uow.commit()
            return
        delivery.state = DeliveryState.DEAD
        log.error(
            "webhook delivery %s failed %d times; parked as DEAD: %s",
            delivery.id,
            delivery.attempts,
            delivery.error,
        )
        note = f"the delivery could not be split and stored ({delivery.attempts} attempts): {delivery.error}"
        async with self._uow_factory() as uow:
            await uow.inbox.add_changes([_unusable(delivery, note, now)])
            await uow.inbox.save_delivery(delivery)
            await uow.commit()

    def _backoff(self, attempts: int) -> timedelta:
        delay: timedelta = self._settings.backoff_initial * 2 ** (attempts - 1)
        return min(delay, self._settings.backoff_max)

    async def process_changes(self) -> int:
        """Applies due changes, changes_per_transaction at a time, each group locked and applied in
        one transaction (ApplyDueInboxChanges). If a group fails, its changes are claimed with a
        lease and applied one at a time, so one bad change never holds back or takes down the
        others; it alone is retried with backoff."""
        done = 0
        chunk = max(self._settings.changes_per_transaction, 1)
        while done < self._settings.batch:
            try:
                taken = await self._bus.handle(ApplyDueInboxChanges(min(chunk, self._settings.batch - done)))
            except Exception as exc:
                log.debug("a group of changes failed (%s); applying them one by one", _describe(exc))
                return done + await self._process_one_by_one(chunk)
            done += taken
            if taken < chunk:
                break  # nothing more is due
        return done

    async def _process_one_by_one(self, limit: int) -> int:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            claimed = await uow.inbox.claim_changes(
                now=now, lease_until=now + self._settings.lease, limit=limit
            )
            await uow.commit()
        for change in claimed:
            await self.process(change.id)
        return len(claimed)

    async def process(self, change_id: str) -> None:
        try:
            await self._bus.handle(ApplyInboxChanges((change_id,)))
        except Exception as exc:
            await self._failed(change_id, exc)

    async def _failed(self, change_id: str, error: Exception) -> None:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            change = await uow.inbox.lock_change(change_id)
            if change is None or change.state is not ChangeState.PENDING:
                return
            if self._transient(error):
                log.warning(
                    "webhook change %s: the store failed, retrying (not counted): %s", change_id, error
                )
                change.next_attempt_at = now + self._settings.backoff_initial
                await uow.inbox.save_change(change)
                await uow.commit()
                return
            change.attempts += 1
            change.last_error = _describe(error)
            if change.attempts >= self._settings.max_attempts:
                change.state = ChangeState.DEAD
                log.error(
                    "webhook change %s failed %d times; parked as DEAD: %s",
                    change_id,
                    change.attempts,
                    change.last_error,
                )
            else:
                delay = self._backoff(change.attempts)
                change.next_attempt_at = now + delay
                log.warning(
                    "webhook change %s failed (attempt %d), retrying in %s: %s",
                    change_id,
                    change.attempts,
                    delay,
                    change.last_error,
                )
            await uow.inbox.save_change(change)
            await uow.commit()


@dataclass(frozen=True, slots=True)
class _Split:
    """A delivery split into its changes, ready to store."""

    delivery: Delivery
    changes: list[InboxChange]

    async def store(self, uow: UnitOfWork) -> None:
        await uow.inbox.add_changes(self.changes)
        await uow.inbox.save_delivery(self.delivery)


def _inbox_change(delivery_id: str, index: int, raw: RawChange, received_at: datetime) -> InboxChange:
    return InboxChange(
        id=f"{delivery_id}-{index:04d}",
        delivery_id=delivery_id,
        key=raw.key,
        waba_id=raw.waba_id,
        field=raw.field,
        entry_time=raw.entry_time,
        value=raw.value,
        received_at=received_at,
    )


def _unusable(delivery: Delivery, note: str, now: datetime) -> InboxChange:
    """The DEAD change that stands for a whole delivery; its value shows the body's start."""
    text = printable(delivery.body[:2000].decode("utf-8", "replace"))
    return InboxChange(
        id=f"{delivery.id}-0000",
        delivery_id=delivery.id,
        key=f"{DELIVERY_KEY_PREFIX}{hashlib.sha256(delivery.body).hexdigest()}",
        waba_id="",
        field="",
        entry_time=None,
        value={"_raw": text},
        received_at=delivery.received_at,
        state=ChangeState.DEAD,
        last_error=note[:2000],
        processed_at=now,
    )


def _describe(error: BaseException) -> str:
    """An error as stored beside a change or delivery (which an organization's admin may read) and
    logged: its first line only, short and printable. A database error goes on with the statement
    and its parameters, which are neither the admin's business nor a size fit for a log line."""
    lines = str(error).strip().splitlines()
    return printable(f"{type(error).__name__}: {lines[0] if lines else ''}")[:MAX_ERROR_CHARS]
