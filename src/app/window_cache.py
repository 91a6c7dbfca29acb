"""Conversation windows for CheckWindow and ValidateMessage, from memory while an answer stays right.

A window only moves forward: a newer inbound message keeps it open longer, never shorter. So a window
that was OPEN when read is still OPEN at any moment before its own closing time, and answering from
memory cannot say OPEN where the store would say CLOSED, with one exception: Meta's 131047 failure
closes a window early. Applying one moves the store's "windows" generation (one row), which every
process reads at most every `recheck_seconds` and then forgets everything. A CLOSED answer from memory
is never given: the store is asked again, since the contact may have written since.

Entries also expire after `max_age_seconds`, so the times an OPEN answer shows (last inbound message,
closing time) lag the store by at most that much.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.generation_watch import GenerationWatch
from app.ports import UnitOfWorkFactory
from domain.conversations import ConversationWindow, window_status

RECHECK_SECONDS = 0.25
MAX_AGE_SECONDS = 30.0
MAX_ENTRIES = 100_000

# (organization, phone number id, contact id)
WindowKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class _Entry:
    window: ConversationWindow
    cached_at: float


class WindowCache:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        max_age_seconds: float = MAX_AGE_SECONDS,
        max_entries: int = MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[WindowKey, _Entry] = {}
        self._watch = GenerationWatch(
            self._read_generation, recheck_seconds=recheck_seconds, monotonic=monotonic
        )

    async def find(self, key: WindowKey, at: datetime) -> ConversationWindow | None:
        return (await self.find_many([(key, at)]))[key]

    async def find_many(
        self, wanted: Sequence[tuple[WindowKey, datetime]]
    ) -> dict[WindowKey, ConversationWindow | None]:
        """The window of each key (None: the contact never wrote) for the moment asked: from memory
        when it is open then, else from the store (all the misses in one transaction)."""
        if await self._watch.moved():
            self._entries.clear()
        found: dict[WindowKey, ConversationWindow | None] = {}
        now = self._monotonic()
        for key, at in wanted:
            entry = self._entries.get(key)
            fresh = entry is not None and now - entry.cached_at < self._max_age
            if fresh and entry is not None and window_status(entry.window, at).open:
                found[key] = entry.window
        missing = [key for key in dict.fromkeys(key for key, _ in wanted) if key not in found]
        if not missing:
            return found
        async with self._uow_factory(read_only=True) as uow:
            generation = await uow.windows.generation()
            for key in missing:
                found[key] = await uow.windows.find(*key)
        if generation == self._watch.generation:  # read at the generation held: nothing raced it
            if len(self._entries) + len(missing) > self._max_entries:
                self._entries.clear()
            read_at = self._monotonic()
            for key in missing:
                window = found[key]
                if window is not None:
                    self._entries[key] = _Entry(window, read_at)
        return found

    def invalidate(self) -> None:
        self._entries.clear()
        self._watch.forget()

    async def _read_generation(self) -> int:
        async with self._uow_factory(read_only=True) as uow:
            return await uow.windows.generation()
