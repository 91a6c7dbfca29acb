"""The webhook inbox: raw deliveries, then their changes, each claimed with a lease.

A claim leases due PENDING rows in id order until `lease_until`; a row whose lease has passed is
claimable again (a worker that died). Saving a delivery or change ends the attempt and releases the
lease. Locks between concurrent workers (PostgreSQL's FOR UPDATE SKIP LOCKED) are not modelled:
tests of racing workers run on the SQL adapter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from app.inbox import ChangeState, Delivery, DeliveryBacklog, DeliveryState, InboxChange
from app.observability import InboxGauges
from fakes.repositories.tables import Tables, clone, clone_optional, require_new_id

_Queued = TypeVar("_Queued", Delivery, InboxChange)

_PENDING = (DeliveryState.PENDING, ChangeState.PENDING)


def _claim(
    rows: dict[str, _Queued],
    leases: dict[str, datetime],
    *,
    now: datetime,
    lease_until: datetime | None,
    limit: int,
) -> list[_Queued]:
    """Due rows, oldest first; leased until `lease_until` unless None (locked for this transaction
    only: with no isolation between the fake's units, that needs no record)."""

    def claimable(row_id: str) -> bool:
        row, lease = rows[row_id], leases.get(row_id)
        return (
            row.state in _PENDING
            and (row.next_attempt_at is None or row.next_attempt_at <= now)
            and (lease is None or lease < now)
        )

    claimed = [row_id for row_id in sorted(rows) if claimable(row_id)][:limit]
    if lease_until is not None:
        for row_id in claimed:
            leases[row_id] = lease_until
    return [clone(rows[row_id]) for row_id in claimed]


def _update_releasing_lease(
    rows: dict[str, _Queued], leases: dict[str, datetime], row_id: str, update: Callable[[_Queued], _Queued]
) -> bool:
    """Stores `update` of the row and releases its lease; False when there is no such row."""
    stored = rows.get(row_id)
    if stored is None:
        return False
    rows[row_id] = update(stored)
    leases.pop(row_id, None)
    return True


class FakeInboxRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add_delivery(self, delivery: Delivery) -> None:
        rows = self._tables.write().deliveries
        require_new_id(rows, delivery.id, "delivery")
        rows[delivery.id] = clone(delivery)

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:  # the unit of work's rollback undoes a partial group
            await self.add_delivery(delivery)

    async def claim_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[Delivery]:
        store = self._tables.write()
        return _claim(store.deliveries, store.delivery_leases, now=now, lease_until=lease_until, limit=limit)

    async def lock_due_deliveries(self, *, now: datetime, limit: int) -> Sequence[Delivery]:
        store = self._tables.write()
        return _claim(store.deliveries, store.delivery_leases, now=now, lease_until=None, limit=limit)

    async def save_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await self.save_delivery(delivery)

    async def save_delivery(self, delivery: Delivery) -> None:
        store = self._tables.write()
        _update_releasing_lease(
            store.deliveries,
            store.delivery_leases,
            delivery.id,
            lambda stored: replace(
                stored,
                state=delivery.state,
                error=delivery.error,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
            ),
        )

    async def requeue_delivery(self, delivery_id: str) -> bool:
        store = self._tables.write()
        return _update_releasing_lease(
            store.deliveries,
            store.delivery_leases,
            delivery_id,
            lambda stored: replace(
                stored, state=DeliveryState.PENDING, error="", attempts=0, next_attempt_at=None
            ),
        )

    async def delivery_backlog(self) -> DeliveryBacklog:
        pending = [d for d in self._tables.read.deliveries.values() if d.state is DeliveryState.PENDING]
        return DeliveryBacklog(pending=len(pending), failing=sum(1 for d in pending if d.attempts > 0))

    async def gauges(self) -> InboxGauges:
        changes = sorted(self._tables.read.changes.values(), key=lambda c: c.id)
        counts = Counter(c.state.value for c in changes if c.state is not ChangeState.DONE)
        pending = [c for c in changes if c.state is ChangeState.PENDING]
        backlog = await self.delivery_backlog()
        return InboxGauges(
            changes=dict(counts),
            deliveries_pending=backlog.pending,
            oldest_pending_received_at=pending[0].received_at if pending else None,
        )

    async def add_changes(self, changes: Sequence[InboxChange]) -> int:
        """INSERT ... ON CONFLICT (key) DO NOTHING: a key stored already, or earlier in the batch,
        is skipped."""
        rows = self._tables.write().changes
        taken_keys = {change.key for change in rows.values()}
        added = 0
        for change in changes:
            if change.key in taken_keys:
                continue
            require_new_id(rows, change.id, "change")
            rows[change.id] = clone(change)
            taken_keys.add(change.key)
            added += 1
        return added

    async def claim_changes(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[InboxChange]:
        store = self._tables.write()
        return _claim(store.changes, store.change_leases, now=now, lease_until=lease_until, limit=limit)

    async def lock_change(self, change_id: str) -> InboxChange | None:
        # FOR UPDATE takes a write lock: a read-only unit has no business asking for it.
        return clone_optional(self._tables.write().changes.get(change_id))

    async def lock_due_changes(self, *, now: datetime, limit: int) -> Sequence[InboxChange]:
        store = self._tables.write()
        return _claim(store.changes, store.change_leases, now=now, lease_until=None, limit=limit)

    async def lock_changes(self, change_ids: Sequence[str]) -> Sequence[InboxChange]:
        rows = self._tables.write().changes
        return [clone(rows[change_id]) for change_id in sorted(set(change_ids)) if change_id in rows]

    async def save_changes(self, changes: Sequence[InboxChange]) -> None:
        for change in changes:
            await self.save_change(change)

    async def save_change(self, change: InboxChange) -> None:
        store = self._tables.write()
        _update_releasing_lease(
            store.changes,
            store.change_leases,
            change.id,
            lambda stored: replace(
                stored,
                state=change.state,
                attempts=change.attempts,
                next_attempt_at=change.next_attempt_at,
                last_error=change.last_error,
                processed_at=change.processed_at,
            ),
        )

    async def delete_change(self, change_id: str) -> None:
        store = self._tables.write()
        store.changes.pop(change_id, None)
        store.change_leases.pop(change_id, None)

    async def release_parked(self, waba_id: str) -> int:
        """Back to PENDING with no attempts and no due time; why it was parked stays in last_error."""
        store = self._tables.write()
        parked = [
            change
            for change in store.changes.values()
            if change.waba_id == waba_id and change.state is ChangeState.PARKED
        ]
        for change in parked:
            _update_releasing_lease(
                store.changes,
                store.change_leases,
                change.id,
                lambda stored: replace(stored, state=ChangeState.PENDING, attempts=0, next_attempt_at=None),
            )
        return len(parked)

    async def list_changes(
        self,
        *,
        states: frozenset[ChangeState] = frozenset(),
        waba_id: str | None = None,
        after_id: str = "",
        limit: int = 100,
    ) -> Sequence[InboxChange]:
        """Ordered by id (ids increase with time)."""
        found = sorted(
            (
                change
                for change in self._tables.read.changes.values()
                if (not states or change.state in states)
                and (waba_id is None or change.waba_id == waba_id)
                and change.id > after_id
            ),
            key=lambda change: change.id,
        )
        return [clone(change) for change in found[:limit]]

    async def count_changes(self) -> Mapping[ChangeState, int]:
        """Every state, zero included."""
        counts = dict.fromkeys(ChangeState, 0)
        for change in self._tables.read.changes.values():
            counts[change.state] += 1
        return counts
