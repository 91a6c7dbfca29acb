"""The webhook inbox's use cases: applying claimed changes to their templates (the inbox worker
dispatches ApplyInboxChanges), and an operator's replay of a change that did not go through."""

from __future__ import annotations

import secrets
from datetime import datetime

from cachetools import TTLCache

from app.commands import ApplyDueInboxChanges, ApplyInboxChanges, ReplayInboxChange
from app.errors import NotFound
from app.handlers.message_changes import ConversationBatch
from app.inbox import (
    DELIVERY_KEY_PREFIX,
    ChangeState,
    IgnoredChange,
    InboxChange,
    MessagesChange,
    RawChange,
    TemplateChange,
    UntranslatableChange,
)
from app.meta_ports import WebhookTranslator
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.resource_names import inbox_change_name
from app.text import printable
from domain.components import Components, TemplateDefinition
from domain.errors import TemplateLifecycleError
from domain.observations import Aspect, ChangeSource
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template
from domain.tenancy import Waba


class ApplyInboxChangesHandler:
    """Holds the translator and a cache of registered WABAs across commands."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, translator: WebhookTranslator) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._translator = translator
        self._wabas: TTLCache[str, Waba] = TTLCache(maxsize=10_000, ttl=60)

    async def __call__(self, command: ApplyInboxChanges | ApplyDueInboxChanges) -> int:
        """Applies a batch in one transaction with a handful of statements, however many changes it
        holds: the changes are locked in one read, their templates in one read per WABA, the
        decisions are made in memory, and templates, history, alerts and the changes' states are
        written in bulk at the end. Each change is still marked DONE in the transaction that applies
        it, so exactly-once holds; Meta's time order is kept by the aggregate, whatever the order."""
        async with self._uow_factory() as uow:
            # First, before any row lock (the inbox rows, then the templates'): every writer of
            # history queues here in the same order, so two workers never deadlock.
            await uow.template_events.reserve()
            if isinstance(command, ApplyDueInboxChanges):
                changes = await uow.inbox.lock_due_changes(now=self._clock.now(), limit=command.limit)
            else:
                changes = await uow.inbox.lock_changes(command.change_ids)
            # Only PENDING ones: another worker may have finished some meanwhile.
            pending = [change for change in changes if change.state is ChangeState.PENDING]
            await self._apply(uow, pending)
            await uow.commit()
        return len(changes)

    async def _apply(self, uow: UnitOfWork, changes: list[InboxChange]) -> None:
        now = self._clock.now()
        to_apply: list[tuple[InboxChange, Waba, TemplateChange]] = []
        messages: list[tuple[InboxChange, Waba, MessagesChange]] = []
        for change in changes:
            try:
                translated = self._translator.translate(_raw(change), change.received_at)
            except UntranslatableChange as exc:
                _finish(change, ChangeState.DEAD, now, f"cannot be understood: {exc}")
                continue
            if isinstance(translated, IgnoredChange):
                _finish(change, ChangeState.SKIPPED, now, translated.reason)
                continue
            waba = await self._waba(uow, change.waba_id)
            if waba is None:
                _finish(change, ChangeState.PARKED, None, f"WABA {change.waba_id} is not registered")
            elif isinstance(translated, MessagesChange):
                messages.append((change, waba, translated))
            else:
                to_apply.append((change, waba, translated))
        conversations = await ConversationBatch.load(uow, [(waba, m) for _, waba, m in messages], now)
        # What statuses say about templates (paused, disabled) goes through the templates' own rules.
        failures: list[tuple[Waba, TemplateChange]] = []
        for change, waba, translated_messages in messages:
            for failure in conversations.apply(waba, translated_messages):
                failed_waba = await self._waba(uow, failure.waba_id)
                if failed_waba is not None and failed_waba.org_id == waba.org_id:
                    failures.append((failed_waba, failure.change))
            _finish(change, ChangeState.DONE, now, "")
        batch = await _BatchTemplates.load(uow, [(waba, t) for _, waba, t in to_apply] + failures)
        for change, waba, translated in to_apply:
            try:
                await _apply_template_change(batch, waba, translated, now)
            except UntranslatableChange as exc:
                # Raised before anything is changed for this change (the template could not be
                # identified), so there is nothing to undo.
                _finish(change, ChangeState.DEAD, now, f"cannot be applied: {exc}")
            else:
                _finish(change, ChangeState.DONE, now, "")
        for waba, template_change in failures:
            # Only a template we know: the record names it, and a send needs it to exist.
            template = await batch.find(waba, template_change)
            if template is not None:
                for observation in template_change.observations:
                    template.observe(observation, received_at=now)
        await conversations.save()
        await batch.save()
        await uow.inbox.save_changes(changes)

    async def _waba(self, uow: UnitOfWork, waba_id: str) -> Waba | None:
        # A WABA's organization never changes once registered, so a found one is cached; a missing
        # one is asked again every time (it may be registered any moment).
        cached = self._wabas.get(waba_id)
        if cached is not None:
            return cached
        waba = await uow.wabas.get(waba_id)
        if waba is not None:
            self._wabas[waba_id] = waba
        return waba


class _BatchTemplates:
    """The templates a batch of changes touches, each loaded once and written once: found by Meta's
    id or by name and language (indexed both ways, so two changes naming one template the two ways
    get the same aggregate), or created when Meta knows a template we do not."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._by_meta_id: dict[tuple[str, str], Template] = {}
        self._by_key: dict[tuple[str, str, str, str], Template] = {}
        self._loaded: dict[str, Template] = {}
        self._created: dict[str, Template] = {}

    @classmethod
    async def load(cls, uow: UnitOfWork, changes: list[tuple[Waba, TemplateChange]]) -> _BatchTemplates:
        batch = cls(uow)
        meta_ids: dict[str, set[str]] = {}
        for waba, change in changes:
            if change.meta_template_id:
                meta_ids.setdefault(waba.waba_id, set()).add(change.meta_template_id)
        for waba_id, ids in meta_ids.items():
            for template in await uow.templates.lock_by_meta_ids(waba_id, sorted(ids)):
                batch._remember(template, batch._loaded)
        return batch

    async def find(self, waba: Waba, change: TemplateChange) -> Template | None:
        if change.meta_template_id:
            found = self._by_meta_id.get((waba.waba_id, change.meta_template_id))
            if found is not None:
                return found
        if not (change.display_name and change.language_code):
            return None
        key = (waba.org_id, waba.waba_id, change.display_name, change.language_code)
        found = self._by_key.get(key)
        if found is None:
            found = await self._uow.templates.get_by_key(*key)
            if found is None:
                return None
            self._remember(found, self._loaded)
        if change.meta_template_id:
            found.meta_template_id = change.meta_template_id
            self._by_meta_id[(waba.waba_id, change.meta_template_id)] = found
        return found

    def created(self, template: Template) -> None:
        self._remember(template, self._created)

    async def save(self) -> None:
        for template in self._created.values():
            await self._uow.templates.add(template)
        if self._loaded:
            await self._uow.templates.update_many(list(self._loaded.values()))

    def _remember(self, template: Template, into: dict[str, Template]) -> None:
        into[template.id] = template
        if template.meta_template_id:
            self._by_meta_id[(template.waba_id, template.meta_template_id)] = template
        key = (template.org_id, template.waba_id, template.display_name, template.language_code)
        self._by_key[key] = template


async def _apply_template_change(
    batch: _BatchTemplates, waba: Waba, change: TemplateChange, now: datetime
) -> None:
    """Applies one translated Meta event to its template, creating it if Meta knows it and we do
    not; the template records what each observation did (history and alerts follow at commit)."""
    template = await batch.find(waba, change) or _imported(batch, waba, change, now)
    if template.status is TemplateStatus.UNKNOWN:
        _infer_status(template, change, now)
    if template.category is None:
        # A status event names the category; a template first seen through a webhook learns it here.
        template.category = _category_before(change)
    for observation in change.observations:
        template.observe(observation, received_at=now)
    if change.impending_category is not None:
        impending = change.impending_category
        when = impending.effective_at.isoformat() if impending.effective_at else "soon"
        template.announce(
            Aspect.CATEGORY,
            impending.raw_upcoming,
            source=ChangeSource.WEBHOOK,
            occurred_at=now,
            received_at=now,
            reason=f"Meta will change the category to {impending.raw_upcoming} at {when}",
            details={"effectiveAt": when},
        )


def _category_before(change: TemplateChange) -> TemplateCategory | None:
    """The category a template had before this change: the one the change names, unless the change
    is a category change, which names the category it replaces (so that it applies, with its alert)."""
    for observation in change.observations:
        if observation.aspect is Aspect.CATEGORY:
            return TemplateCategory.parse(observation.previous)
    return TemplateCategory.parse(change.category)


def _infer_status(template: Template, change: TemplateChange, now: datetime) -> None:
    """A template whose status is unknown here (first seen through a webhook that did not say it)
    stays so until a sync asks Meta, unless Meta rated its quality: only approved ones are rated."""
    aspects = {observation.aspect for observation in change.observations}
    if Aspect.STATUS in aspects:
        return
    for observation in change.observations:
        if (
            observation.aspect is Aspect.QUALITY
            and TemplateQuality.from_meta(observation.value) is not TemplateQuality.UNKNOWN
        ):
            template.infer_approval_from_rating(rated_at=observation.occurred_at, received_at=now)
            return


def _imported(batch: _BatchTemplates, waba: Waba, change: TemplateChange, now: datetime) -> Template:
    """A template Meta knows and we did not: only its name, language and category are known, so its
    status is UNKNOWN and it needs a sync."""
    if not (change.display_name and change.language_code):
        raise UntranslatableChange(
            f"template {change.meta_template_id!r} is unknown here and the event names no "
            "template name and language"
        )
    template = Template.imported(
        template_id=secrets.token_hex(16),
        org_id=waba.org_id,
        waba_id=waba.waba_id,
        definition=TemplateDefinition(
            change.display_name, change.language_code, _category_before(change), Components(body="")
        ),
        meta_template_id=change.meta_template_id,
        now=now,
        needs_sync=True,
    )
    batch.created(template)
    return template


async def replay_inbox_change(
    command: ReplayInboxChange, uow_factory: UnitOfWorkFactory, clock: Clock
) -> InboxChange:
    async with uow_factory() as uow:
        change = await uow.inbox.lock_change(command.change_id)
        if change is None or not await _visible(uow, command.org_id, change.waba_id):
            raise NotFound("inbox change", inbox_change_name(command.change_id))
        if change.state not in REPLAYABLE:
            raise TemplateLifecycleError(
                "CHANGE_NOT_REPLAYABLE",
                f"inbox change {change.id} is {change.state.value}; only "
                "DEAD, PARKED and SKIPPED changes can be replayed",
            )
        change.state, change.attempts, change.next_attempt_at = ChangeState.PENDING, 0, None
        change.last_error = f"replayed at {clock.now().isoformat()} (was: {change.last_error})"[:2000]
        if change.key.startswith(DELIVERY_KEY_PREFIX):
            # It stands for a delivery that could not be split: split that again instead. Its
            # changes take the ids from position 0 on, so this stand-in makes room for them.
            if not await uow.inbox.requeue_delivery(change.delivery_id):
                raise NotFound("inbox change", inbox_change_name(command.change_id))
            await uow.inbox.delete_change(change.id)
        else:
            await uow.inbox.save_change(change)
        await uow.commit()
    return change


REPLAYABLE = frozenset({ChangeState.DEAD, ChangeState.PARKED, ChangeState.SKIPPED})


async def _visible(uow: UnitOfWork, org_id: str | None, waba_id: str) -> bool:
    if org_id is None:
        return True
    waba = await uow.wabas.get(waba_id)
    return waba is not None and waba.org_id == org_id


def _raw(change: InboxChange) -> RawChange:
    return RawChange(change.key, change.waba_id, change.field, change.entry_time, change.value)


def _finish(change: InboxChange, state: ChangeState, now: datetime | None, note: str) -> None:
    change.state, change.processed_at, change.last_error = state, now, printable(note)[:2000]
