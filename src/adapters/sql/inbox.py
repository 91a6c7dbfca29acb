"""The webhook inbox: raw deliveries, then their changes, each applied once (claims in queue.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection
from adapters.sql.notifications import INBOX_CHANNEL, notify
from adapters.sql.queue import claim, due, lease_free, lock_due
from adapters.sql.statements import for_update, insert_or_skip
from app.inbox import ChangeState, Delivery, DeliveryBacklog, DeliveryState, InboxChange
from app.observability import InboxGauges

# Rows per multi-row INSERT: 15 columns each stays far below SQLite's 32,766 bound parameters.
_ROWS_PER_INSERT = 500


class SqlInboxRepository:
    """The webhook inbox. Claims lease rows (lease_until) rather than holding locks across
    transactions: the claiming transaction commits at once, and a crashed worker's rows become
    claimable again when the lease passes. Saving a delivery or change ends the attempt and so
    releases its lease; a change to retry is held back by next_attempt_at instead."""

    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add_delivery(self, delivery: Delivery) -> None:
        await self.add_deliveries([delivery])

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        # Ids are generated: a clash is a bug and surfaces as an IntegrityError. One statement for
        # the lot, and on PostgreSQL a notification (sent at commit) that wakes the inbox workers of
        # other processes.
        if not deliveries:
            return
        await self._connection.execute(
            sa.insert(tables.webhook_deliveries),
            [
                {
                    "id": delivery.id,
                    "body": delivery.body,
                    "received_at": delivery.received_at,
                    "lease_until": None,
                    **_delivery_state(delivery),
                }
                for delivery in deliveries
            ],
        )
        await notify(self._connection, INBOX_CHANNEL)

    async def claim_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[Delivery]:
        d = tables.webhook_deliveries
        rows = await claim(
            self._connection,
            d,
            [d.c.state == DeliveryState.PENDING.value, lease_free(d, now), due(d, now)],
            lease_until=lease_until,
            limit=limit,
        )
        return [_delivery(row) for row in rows]

    async def lock_due_deliveries(self, *, now: datetime, limit: int) -> Sequence[Delivery]:
        d = tables.webhook_deliveries
        conditions = [d.c.state == DeliveryState.PENDING.value, lease_free(d, now), due(d, now)]
        return [_delivery(row) for row in await lock_due(self._connection, d, conditions, limit=limit)]

    async def save_delivery(self, delivery: Delivery) -> None:
        d = tables.webhook_deliveries
        await self._connection.execute(
            sa.update(d).where(d.c.id == delivery.id).values(lease_until=None, **_delivery_state(delivery))
        )

    async def save_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            await self._connection.execute(
                _SAVE_DELIVERY, [{"b_id": d.id, **_delivery_state(d)} for d in deliveries]
            )

    async def requeue_delivery(self, delivery_id: str) -> bool:
        d = tables.webhook_deliveries
        result = await self._connection.execute(
            sa.update(d)
            .where(d.c.id == delivery_id)
            .values(state=DeliveryState.PENDING.value, error="", attempts=0, next_attempt_at=None)
            .values(lease_until=None)
        )
        return bool(result.rowcount)

    async def delivery_backlog(self) -> DeliveryBacklog:
        d = tables.webhook_deliveries
        row = (
            await self._connection.execute(
                sa.select(
                    sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((d.c.attempts > 0, 1), else_=0)), 0)
                ).where(d.c.state == DeliveryState.PENDING.value)
            )
        ).one()
        return DeliveryBacklog(pending=int(row[0]), failing=int(row[1]))

    async def gauges(self) -> InboxGauges:
        c = tables.webhook_changes
        # Every state but DONE: DONE rows are kept and grow without end, the others are a queue and
        # a short list. Each count walks the (state, id) index.
        counts = {
            state: int(count)
            for state, count in await self._connection.execute(
                sa.select(c.c.state, sa.func.count())
                .where(c.c.state.in_([s.value for s in ChangeState if s is not ChangeState.DONE]))
                .group_by(c.c.state)
            )
        }
        # The head of the PENDING queue is its oldest arrival: ids follow arrival order.
        oldest = (
            await self._connection.execute(
                sa.select(c.c.received_at)
                .where(c.c.state == ChangeState.PENDING.value)
                .order_by(c.c.id)
                .limit(1)
            )
        ).scalar()
        backlog = await self.delivery_backlog()
        return InboxGauges(
            changes=counts, deliveries_pending=backlog.pending, oldest_pending_received_at=oldest
        )

    async def add_changes(self, changes: Sequence[InboxChange]) -> int:
        c = tables.webhook_changes
        added = 0
        # Batched INSERTs (SQLAlchemy's "insertmanyvalues"): a delivery may hold thousands of changes,
        # and on SQLite the write lock, which webhook POSTs wait for, is held while they go in.
        # RETURNING counts what was inserted (rowcount of a batch is not reliable across drivers).
        # The conflict target is the key alone, so a clash on the generated id still fails loudly.
        for start in range(0, len(changes), _ROWS_PER_INSERT):
            rows = [
                {
                    "id": change.id,
                    "delivery_id": change.delivery_id,
                    "key": change.key,
                    "waba_id": change.waba_id,
                    "field": change.field,
                    "entry_time": change.entry_time,
                    "value": dict(change.value),
                    "received_at": change.received_at,
                    "lease_until": None,
                    **_change_state(change),
                }
                for change in changes[start : start + _ROWS_PER_INSERT]
            ]
            result = await self._connection.execute(
                insert_or_skip(self._connection, c)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(c.c.id),
                rows,
            )
            added += len(result.all())
        return added

    async def claim_changes(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> Sequence[InboxChange]:
        c = tables.webhook_changes
        rows = await claim(
            self._connection,
            c,
            [
                c.c.state == ChangeState.PENDING.value,
                lease_free(c, now),
                due(c, now),
            ],
            lease_until=lease_until,
            limit=limit,
        )
        return [_change(row) for row in rows]

    async def lock_due_changes(self, *, now: datetime, limit: int) -> Sequence[InboxChange]:
        c = tables.webhook_changes
        conditions = [c.c.state == ChangeState.PENDING.value, lease_free(c, now), due(c, now)]
        return [_change(row) for row in await lock_due(self._connection, c, conditions, limit=limit)]

    async def lock_change(self, change_id: str) -> InboxChange | None:
        c = tables.webhook_changes
        # Waits for a transaction applying the same change, then reads what it committed: the
        # caller sees DONE and does not apply it a second time.
        statement = for_update(self._connection, sa.select(c).where(c.c.id == change_id))
        row = (await self._connection.execute(statement)).one_or_none()
        return None if row is None else _change(row)

    async def lock_changes(self, change_ids: Sequence[str]) -> Sequence[InboxChange]:
        c = tables.webhook_changes
        if not change_ids:
            return []
        # In id order on every worker, so two that lock overlapping sets never deadlock.
        statement = for_update(self._connection, sa.select(c).where(c.c.id.in_(change_ids)).order_by(c.c.id))
        return [_change(row) for row in await self._connection.execute(statement)]

    async def save_changes(self, changes: Sequence[InboxChange]) -> None:
        if changes:
            # One prepared UPDATE run for every row (executemany), not one statement per change.
            await self._connection.execute(
                _SAVE_CHANGE, [{"b_id": change.id, **_change_state(change)} for change in changes]
            )

    async def save_change(self, change: InboxChange) -> None:
        c = tables.webhook_changes
        await self._connection.execute(
            sa.update(c).where(c.c.id == change.id).values(lease_until=None, **_change_state(change))
        )

    async def delete_change(self, change_id: str) -> None:
        c = tables.webhook_changes
        await self._connection.execute(sa.delete(c).where(c.c.id == change_id))

    async def release_parked(self, waba_id: str) -> int:
        c = tables.webhook_changes
        result = await self._connection.execute(
            sa.update(c)
            .where(c.c.waba_id == waba_id, c.c.state == ChangeState.PARKED.value)
            .values(state=ChangeState.PENDING.value, attempts=0, next_attempt_at=None, lease_until=None)
        )
        return result.rowcount

    async def list_changes(
        self,
        *,
        states: frozenset[ChangeState] = frozenset(),
        waba_id: str | None = None,
        after_id: str = "",
        limit: int = 100,
    ) -> Sequence[InboxChange]:
        c = tables.webhook_changes
        conditions: list[sa.ColumnElement[bool]] = []
        if states:
            conditions.append(c.c.state.in_(sorted(s.value for s in states)))
        if waba_id is not None:
            conditions.append(c.c.waba_id == waba_id)
        if after_id:
            conditions.append(c.c.id > after_id)
        rows = await self._connection.execute(sa.select(c).where(*conditions).order_by(c.c.id).limit(limit))
        return [_change(row) for row in rows]

    async def count_changes(self) -> Mapping[ChangeState, int]:
        """Every state, zero included, so a gauge drops to 0 instead of keeping its last value."""
        c = tables.webhook_changes
        rows = await self._connection.execute(
            sa.select(c.c.state, sa.func.count()).select_from(c).group_by(c.c.state)
        )
        counts = dict.fromkeys(ChangeState, 0)
        for state, count in rows:
            counts[ChangeState(state)] = count
        return counts


# Built once: executemany with bound parameters, and SQLAlchemy caches the compiled form by identity.
_SAVE_DELIVERY = (
    sa.update(tables.webhook_deliveries)
    .where(tables.webhook_deliveries.c.id == sa.bindparam("b_id"))
    .values(lease_until=None)
)
_SAVE_CHANGE = (
    sa.update(tables.webhook_changes)
    .where(tables.webhook_changes.c.id == sa.bindparam("b_id"))
    .values(lease_until=None)
)


def _delivery_state(delivery: Delivery) -> dict[str, Any]:
    """The columns processing may change."""
    return {
        "state": delivery.state.value,
        "error": delivery.error,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
    }


def _change_state(change: InboxChange) -> dict[str, Any]:
    """The columns processing may change."""
    return {
        "state": change.state.value,
        "attempts": change.attempts,
        "next_attempt_at": change.next_attempt_at,
        "last_error": change.last_error,
        "processed_at": change.processed_at,
    }


def _delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        body=bytes(row.body),
        received_at=row.received_at,
        state=DeliveryState(row.state),
        error=row.error,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
    )


def _change(row: sa.Row[Any]) -> InboxChange:
    return InboxChange(
        id=row.id,
        delivery_id=row.delivery_id,
        key=row.key,
        waba_id=row.waba_id,
        field=row.field,
        entry_time=row.entry_time,
        value=row.value if row.value is not None else {},
        received_at=row.received_at,
        state=ChangeState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        processed_at=row.processed_at,
    )
