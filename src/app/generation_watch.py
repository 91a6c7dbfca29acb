"""A store generation (one counter row) read at most every `recheck_seconds`: what the hot reads'
caches check to learn, with one cheap read, that something they hold changed in any process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class GenerationWatch:
    def __init__(
        self,
        read: Callable[[], Awaitable[int]],
        *,
        recheck_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        # The generation the cache's entries were read at (None: nothing read yet, or forgotten).
        self.generation: int | None = None
        self._checked_at = float("-inf")
        self._checking = asyncio.Lock()

    async def moved(self) -> bool:
        """Whether the generation moved since the last check (then the caller drops its entries).
        Reads the store at most once per recheck_seconds, however many callers ask meanwhile."""
        if self._monotonic() - self._checked_at < self._recheck:
            return False
        async with self._checking:
            if self._monotonic() - self._checked_at < self._recheck:
                return False
            generation = await self._read()
            moved = generation != self.generation
            self.generation = generation
            self._checked_at = self._monotonic()
            return moved

    def forget(self) -> None:
        """Check again at the next call, as if nothing had been read."""
        self.generation = None
        self._checked_at = float("-inf")
