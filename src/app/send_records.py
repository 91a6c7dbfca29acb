"""The records of sends, written in groups: every send commits its record before Meta is called and
its outcome after, and sends arriving together share those two commits (app.group_commit), so the
records cost a send two short waits, not two transactions of its own.

Recording outcomes takes the inbox worker's lock: its batches and these writes take turns, so a
status webhook for a message is applied either before its outcome is recorded (to a record made
from the webhook, which the outcome takes over here) or after (to the send's own record), never
beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.group_commit import GroupCommit, together_else_alone
from app.ports import Clock, UnitOfWorkFactory
from domain.messages import OutboundMessage


class SendRecords:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._new = GroupCommit(self._add)
        self._outcomes = GroupCommit(self._store_outcomes)

    async def add(self, record: OutboundMessage) -> bool:
        """Commits a new record; False (nothing stored) when its request_id is taken."""
        return await self._new.submit(record)

    async def store_outcome(self, record: OutboundMessage) -> None:
        """Commits what came of the send (its outcome, Meta's id)."""
        await self._outcomes.submit(record)

    async def _add(self, records: Sequence[OutboundMessage]) -> Sequence[bool]:
        async with self._uow_factory() as uow:
            added = await uow.messages.add_new(records)
            await uow.commit()
        return [record.id in added for record in records]

    async def _store_outcomes(self, records: Sequence[OutboundMessage]) -> Sequence[Exception | None]:
        """Meta has these messages: one bad record must not cost the others their outcome."""
        return await together_else_alone(records, self._write_outcomes)

    async def _write_outcomes(self, records: Sequence[OutboundMessage]) -> None:
        async with self._uow_factory() as uow:
            await uow.template_events.reserve()
            ours = {record.id for record in records}
            by_wamid = {(r.org_id, r.wamid): r for r in records if r.wamid}
            for org_id in sorted({org for org, _ in by_wamid}):
                wamids = [wamid for org, wamid in by_wamid if org == org_id]
                for observed in await uow.messages.lock_by_wamids(org_id, wamids):
                    if observed.id not in ours:
                        # Meta's status webhooks came before its answer was recorded.
                        by_wamid[(org_id, observed.wamid)].absorb(observed, self._clock.now())
                        await uow.messages.delete(org_id, observed.id)
            await uow.messages.save_many(records)
            await uow.commit()
