"""Seeding a real database's inbox, for the CLI's listings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from adapters.sql.engine import create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.inbox import ChangeState, InboxChange


def seed_dead_changes(database_url: str, count: int, *, waba_id: str = "301122334455667") -> None:
    """`count` DEAD inbox changes in the database at `database_url` (for the CLI's inbox listings)."""

    async def seed() -> None:
        engine = create_engine(database_url)
        try:
            async with SqlUnitOfWorkFactory(engine)() as uow:
                now = datetime(2026, 12, 1, tzinfo=UTC)
                await uow.inbox.add_changes(
                    [
                        InboxChange(
                            id=f"{n:020d}-0000",
                            delivery_id=f"{n:020d}",
                            key=f"k{n}",
                            waba_id=waba_id,
                            field="message_template_status_update",
                            entry_time=None,
                            value={"event": "PAUSED", "n": n},
                            received_at=now,
                            state=ChangeState.DEAD,
                            last_error="broken",
                        )
                        for n in range(count)
                    ]
                )
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(seed())
