"""Templates for the hot reads (RenderTemplate, SendTemplateMessage, ValidateMessage), and each
organization's phone numbers, from memory while they are current.

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

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.auth import Principal
from app.generation_watch import GenerationWatch
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
        self._max_entries = max_entries
        self._entries: dict[tuple[str, TemplateKey], CachedTemplate] = {}
        # Per organization: its registered phone numbers, each with its WABA.
        self._senders: dict[str, dict[str, str]] = {}
        self._watch = GenerationWatch(
            self._read_generation, recheck_seconds=recheck_seconds, monotonic=monotonic
        )

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
        if generation == self._watch.generation:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[cache_key] = found
        return found

    async def waba_of_phone_number(self, principal: Principal, phone_number_id: str) -> str | None:
        """The caller's organization's WABA that `phone_number_id` is registered to, if any."""
        await self._revalidate()
        senders = self._senders.get(principal.org_id)
        if senders is None:
            async with self._uow_factory(read_only=True) as uow:
                generation = await uow.templates.generation()
                wabas = await uow.wabas.list_for_org(principal.org_id)
            senders = {phone: waba.waba_id for waba in wabas for phone in waba.phone_number_ids}
            if generation == self._watch.generation:
                if len(self._senders) >= self._max_entries:
                    self._senders.clear()
                self._senders[principal.org_id] = senders
        return senders.get(phone_number_id)

    def invalidate(self) -> None:
        """Forgets everything now: this process wrote a template (its own writes are read back at
        once; other processes' within recheck_seconds)."""
        self._entries.clear()
        self._senders.clear()
        self._watch.forget()

    async def _revalidate(self) -> None:
        if await self._watch.moved():
            self._entries.clear()
            self._senders.clear()

    async def _read_generation(self) -> int:
        async with self._uow_factory(read_only=True) as uow:
            return await uow.templates.generation()
