"""Template aggregates, with optimistic version checks, and their history of events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from app.errors import AlreadyExists, ConcurrentModification
from app.ports import StoredTemplateEvent, TemplateQuery
from domain.events import TemplateEvent
from domain.observations import Aspect, Outcome
from domain.templates import Template
from fakes.repositories.tables import IntegrityViolation, Tables, clone, clone_optional, require_new_id


def _natural_key(template: Template) -> tuple[str, str, str, str]:
    return (template.org_id, template.waba_id, template.display_name, template.language_code)


def _listing_key(template: Template) -> tuple[str, str, str]:
    return (template.display_name, template.language_code, template.id)


def _as_stored(template: Template) -> Template:
    """A copy without the domain events it recorded: like a row, the store keeps state, not events
    (those belong to the unit of work that publishes them)."""
    stored = clone(template)
    stored.events = []
    return stored


class FakeTemplateRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, template: Template) -> None:
        rows = self._tables.write().templates
        if any(_natural_key(other) == _natural_key(template) for other in rows.values()):
            raise AlreadyExists("template", template.name)
        require_new_id(rows, template.id, "template")
        rows[template.id] = _as_stored(template)
        self._tables.bump_templates_generation()

    async def get(self, org_id: str, template_id: str) -> Template | None:
        stored = self._tables.read.templates.get(template_id)
        return clone(stored) if stored is not None and stored.org_id == org_id else None

    async def get_by_key(
        self, org_id: str, waba_id: str, display_name: str, language_code: str
    ) -> Template | None:
        key = (org_id, waba_id, display_name, language_code)
        found = (t for t in self._tables.read.templates.values() if _natural_key(t) == key)
        return clone_optional(next(found, None))

    async def update(self, template: Template) -> None:
        """Stores everything but the identity (id, org, WABA, name, language, created_at), which the
        domain never changes, if the stored version is still `template.version`."""
        rows = self._tables.write().templates
        stored = self._current(rows, template)
        rows[template.id] = replace(
            _as_stored(template),
            waba_id=stored.waba_id,
            display_name=stored.display_name,
            language_code=stored.language_code,
            created_at=stored.created_at,
            version=stored.version + 1,
        )
        self._tables.bump_templates_generation()
        template.version += 1

    async def save_meta_call(self, template: Template) -> None:
        rows = self._tables.write().templates
        stored = rows.get(template.id)
        if stored is not None and stored.org_id == template.org_id:
            rows[template.id] = replace(
                stored, needs_sync=template.needs_sync, meta_call_started_at=template.meta_call_started_at
            )
            self._tables.bump_templates_generation()

    async def delete(self, template: Template) -> None:
        rows = self._tables.write().templates
        self._current(rows, template)
        del rows[template.id]
        self._tables.bump_templates_generation()

    async def list(self, query: TemplateQuery) -> Sequence[Template]:
        after = query.after

        def matches(t: Template) -> bool:
            return (
                t.org_id == query.org_id
                and (query.waba_id is None or t.waba_id == query.waba_id)
                and (not query.statuses or t.status in query.statuses)
                and (not query.categories or t.category in query.categories)
                and (not query.language_codes or t.language_code in query.language_codes)
                and (not query.qualities or t.quality in query.qualities)
                and (not query.parameter_formats or t.parameter_format in query.parameter_formats)
                # Case-sensitive code-point comparisons, as the SQL adapter makes both dialects do.
                and t.display_name.startswith(query.display_name_prefix)
                and (
                    after is None
                    or _listing_key(t) > (after.display_name, after.language_code, after.template_id)
                )
            )

        found = sorted(filter(matches, self._tables.read.templates.values()), key=_listing_key)
        return [clone(t) for t in found[: query.limit]]

    async def generation(self) -> int:
        return self._tables.read.generations["templates"]

    async def get_by_meta_id(self, waba_id: str, meta_template_id: str) -> Template | None:
        found = (
            t
            for t in self._tables.read.templates.values()
            if t.waba_id == waba_id and t.meta_template_id == meta_template_id
        )
        return clone_optional(next(found, None))

    async def lock_by_meta_ids(self, waba_id: str, meta_template_ids: Sequence[str]) -> Sequence[Template]:
        wanted = set(meta_template_ids)
        self._tables.write()  # a lock is a write's business, as on the SQL store
        found = [
            t
            for t in self._tables.read.templates.values()
            if t.waba_id == waba_id and t.meta_template_id in wanted
        ]
        return [clone(t) for t in sorted(found, key=lambda t: t.id)]

    async def update_many(self, templates: Sequence[Template]) -> None:
        for template in templates:  # the unit of work's rollback undoes a partial batch
            await self.update(template)

    @staticmethod
    def _current(rows: dict[str, Template], template: Template) -> Template:
        """The stored row, if it is the organization's and still at `template.version`."""
        stored = rows.get(template.id)
        if stored is None or stored.org_id != template.org_id or stored.version != template.version:
            raise ConcurrentModification(template.name)
        return stored


class FakeTemplateEventRepository:
    """Events are immutable (frozen), so they are stored and handed out without copies."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, events: Sequence[TemplateEvent]) -> None:
        if not events:
            return
        rows = self._tables.write().template_events
        taken_ids = {stored.event.id for stored in rows.values()}
        # Like SQLite's integer primary key: one more than the highest. A unit that rolls back
        # leaves no gap; nothing may rely on gaps either way (PostgreSQL's sequence leaves them).
        seq = max(rows, default=0)
        for event in events:
            if event.id in taken_ids:
                raise IntegrityViolation(f"template event {event.id!r} exists already")
            seq += 1
            rows[seq] = StoredTemplateEvent(seq, event)
            taken_ids.add(event.id)

    async def reserve(self) -> None:
        """Nothing to take: the fake's commits never interleave."""

    async def list_for_template(
        self, org_id: str, template_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        return self._select(
            lambda e: e.org_id == org_id and e.template_id == template_id, after_seq=after_seq, limit=limit
        )

    async def list_for_org(
        self, org_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> Sequence[StoredTemplateEvent]:
        return self._select(lambda e: e.org_id == org_id, after_seq=after_seq, limit=limit)

    async def last_seq(self, org_id: str) -> int:
        rows = self._tables.read.template_events
        return max((seq for seq, stored in rows.items() if stored.event.org_id == org_id), default=0)

    async def applied_since(
        self, org_id: str, aspect: Aspect, since: datetime, *, limit: int
    ) -> Sequence[StoredTemplateEvent]:
        found = self._select(
            lambda e: (
                e.org_id == org_id
                and e.aspect is aspect
                and e.outcome is Outcome.APPLIED
                and e.occurred_at >= since
            ),
            after_seq=0,
            limit=len(self._tables.read.template_events),
        )
        return sorted(found, key=lambda stored: (stored.event.occurred_at, stored.seq))[:limit]

    def _select(
        self, keep: Callable[[TemplateEvent], bool], *, after_seq: int, limit: int
    ) -> list[StoredTemplateEvent]:
        rows = self._tables.read.template_events
        found = [rows[seq] for seq in sorted(rows) if seq > after_seq and keep(rows[seq].event)]
        return found[:limit]
