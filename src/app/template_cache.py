"""Templates for the hot reads (RenderTemplate, SendTemplateMessage), from memory while they are current.

Reading a template costs a transaction and a query; the hot paths read the same few templates
thousands of times a second. So they are kept here, with their WABA's phone numbers, for as long as
nothing changed: every template or WABA write, in any process, moves the store's generation (one
row, see TemplateRepository.generation), and the cache reads it at most every `recheck_seconds`,
dropping everything when it moved. A template a webhook paused on another replica is therefore seen
paused here within recheck_seconds (plus one read), never later.

Entries are per organization, so one organization's lookup never finds another's template. What a
caller gets is shared: it must not change it (the hot reads only render it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.auth import Principal
from app.handlers.templates import load_template
from app.ports import UnitOfWorkFactory
from app.resource_names import TemplateKey
from domain.templates import Template

RECHECK_SECONDS = 0.25
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class CachedTemplate:
    template: Template
    # The phone numbers registered for the template's WABA, to send from.
    phone_number_ids: tuple[str, ...]


class TemplateCache:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        max_entries: int = MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._recheck = recheck_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[tuple[str, TemplateKey], CachedTemplate] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._checking: asyncio.Lock = asyncio.Lock()

    async def get(self, principal: Principal, key: TemplateKey) -> CachedTemplate:
        """The caller's organization's template (NotFound otherwise), current to recheck_seconds."""
        await self._revalidate()
        cache_key = (principal.org_id, key)
        found = self._entries.get(cache_key)
        if found is not None:
            return found
        async with self._uow_factory(read_only=True) as uow:
            generation = await uow.templates.generation()
            template = await load_template(uow, principal, key)
            waba = await uow.wabas.get(template.waba_id)
        found = CachedTemplate(template, waba.phone_number_ids if waba is not None else ())
        # Kept only if read at the generation the cache holds: a read that raced a write stays out.
        if generation == self._generation:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[cache_key] = found
        return found

    def invalidate(self) -> None:
        """Forgets everything now: this process wrote a template (its own writes are read back at
        once; other processes' within recheck_seconds)."""
        self._entries.clear()
        self._generation = None
        self._checked_at = float("-inf")

    async def _revalidate(self) -> None:
        if self._monotonic() - self._checked_at < self._recheck:
            return
        async with self._checking:  # one read for every caller that arrives meanwhile
            if self._monotonic() - self._checked_at < self._recheck:
                return
            async with self._uow_factory(read_only=True) as uow:
                generation = await uow.templates.generation()
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            self._checked_at = self._monotonic()
