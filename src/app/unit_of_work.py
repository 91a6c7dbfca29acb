"""The unit of work every use case writes through: the store's transaction, plus the domain events of
the templates it loaded or saved, handed to the event handlers (history, alerts; next campaigns and
notifications) inside the same transaction, before it commits.

So no path can change a template without the policies running: a command's handler loads, changes
and saves aggregates and commits; what the changes mean for the rest follows from their events.
Events that handlers cause (none today) are handled too, until there are no more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from app.audit_ports import AuditRepository
from app.campaign_ports import CampaignRepository, CampaignSettingsRepository
from app.dashboard_ports import SessionRepository
from app.message_ports import MessageRepository, WindowRepository
from app.notification_ports import ChannelRepository, NotificationRepository
from app.ports import (
    AlertRepository,
    ApiKeyRepository,
    IdempotencyRepository,
    InboxRepository,
    OrganizationRepository,
    SecretRepository,
    TemplateEventRepository,
    TemplateQuery,
    TemplateRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    WabaRepository,
)
from domain.events import DomainEvent
from domain.templates import Template

EventHandler = Callable[[Sequence[DomainEvent], UnitOfWork], Awaitable[None]]


class EventDispatcher:
    """Hands each handler the events of the types it is registered for (subclasses included), in
    the order they happened; handlers run in the order they are registered."""

    def __init__(self, handlers: Mapping[type[DomainEvent], Sequence[EventHandler]]) -> None:
        self._handlers = {event_type: tuple(found) for event_type, found in handlers.items()}

    async def dispatch(self, events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
        for event_type, handlers in self._handlers.items():
            matching = [event for event in events if isinstance(event, event_type)]
            if matching:
                for handler in handlers:
                    await handler(matching, uow)


class PublishingUnitOfWorkFactory:
    """app.ports.UnitOfWorkFactory over the store's: read-write units publish their events.
    `after_template_commit` callbacks run after each commit that wrote a template (this process's
    caches forget what they hold at once, rather than at their next check of the store)."""

    def __init__(self, store: UnitOfWorkFactory, dispatcher: EventDispatcher) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self.after_template_commit: list[Callable[[], None]] = []

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        unit = self._store(read_only=read_only)
        return unit if read_only else PublishingUnitOfWork(unit, self._dispatcher, self.after_template_commit)


class PublishingUnitOfWork:
    organizations: OrganizationRepository
    api_keys: ApiKeyRepository
    wabas: WabaRepository
    templates: TemplateRepository
    template_events: TemplateEventRepository
    alerts: AlertRepository
    inbox: InboxRepository
    idempotency: IdempotencyRepository
    secrets: SecretRepository
    windows: WindowRepository
    messages: MessageRepository
    campaigns: CampaignRepository
    campaign_settings: CampaignSettingsRepository
    channels: ChannelRepository
    notifications: NotificationRepository
    audit: AuditRepository
    sessions: SessionRepository

    def __init__(
        self,
        store: UnitOfWork,
        dispatcher: EventDispatcher,
        after_template_commit: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._after_template_commit = after_template_commit
        # Aggregates loaded or saved in this unit, by identity (the same object passes many times).
        self._seen: dict[int, Template] = {}
        self._reserved = False

    async def __aenter__(self) -> Self:
        store = await self._store.__aenter__()
        self.organizations = store.organizations
        self.api_keys = store.api_keys
        self.wabas = store.wabas
        self.templates = _TrackingTemplates(store.templates, self._seen, self._before_template_write)
        self.template_events = store.template_events
        self.alerts = store.alerts
        self.inbox = store.inbox
        self.idempotency = store.idempotency
        self.secrets = store.secrets
        self.windows = store.windows
        self.messages = store.messages
        self.campaigns = store.campaigns
        self.campaign_settings = store.campaign_settings
        self.channels = store.channels
        self.notifications = store.notifications
        self.audit = store.audit
        self.sessions = store.sessions
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._forget()  # left without a commit: nothing it recorded happened
        await self._store.__aexit__(exc_type, exc, tb)

    async def _before_template_write(self) -> None:
        # The history this write will append is written at commit, after the template row is
        # locked; whoever appends history takes the store's history lock first (a sync, a chunk of
        # webhook changes). Taking it here, before the row, keeps one lock order for every writer.
        if not self._reserved:
            await self._store.template_events.reserve()
            self._reserved = True

    async def commit(self) -> None:
        while events := [event for template in self._seen.values() for event in template.pull_events()]:
            await self._dispatcher.dispatch(events, self)
        self._seen.clear()
        wrote_templates, self._reserved = self._reserved, False  # held to the end of the transaction
        await self._store.commit()
        if wrote_templates:
            for callback in self._after_template_commit:
                callback()

    async def rollback(self) -> None:
        self._forget()
        await self._store.rollback()

    def _forget(self) -> None:
        for template in self._seen.values():
            template.pull_events()
        self._seen.clear()
        self._reserved = False


class _TrackingTemplates:
    """The store's template repository, noting every aggregate that passes through it (loaded or
    saved): whatever events a use case makes them record are published at commit."""

    def __init__(
        self,
        store: TemplateRepository,
        seen: dict[int, Template],
        before_write: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._seen = seen
        self._before_write = before_write

    def _track(self, template: Template | None) -> Template | None:
        if template is not None:
            self._seen[id(template)] = template
        return template

    async def add(self, template: Template) -> None:
        await self._before_write()
        await self._store.add(template)
        self._track(template)

    async def update(self, template: Template) -> None:
        await self._before_write()
        await self._store.update(template)
        self._track(template)

    async def update_many(self, templates: Sequence[Template]) -> None:
        await self._before_write()
        await self._store.update_many(templates)
        for template in templates:
            self._track(template)

    async def delete(self, template: Template) -> None:
        await self._before_write()
        await self._store.delete(template)
        self._track(template)

    async def save_meta_call(self, template: Template) -> None:
        await self._before_write()
        await self._store.save_meta_call(template)

    async def get(self, org_id: str, template_id: str) -> Template | None:
        return self._track(await self._store.get(org_id, template_id))

    async def get_by_key(
        self, org_id: str, waba_id: str, display_name: str, language_code: str
    ) -> Template | None:
        return self._track(await self._store.get_by_key(org_id, waba_id, display_name, language_code))

    async def get_by_meta_id(self, waba_id: str, meta_template_id: str) -> Template | None:
        return self._track(await self._store.get_by_meta_id(waba_id, meta_template_id))

    async def lock_by_meta_ids(self, waba_id: str, meta_template_ids: Sequence[str]) -> Sequence[Template]:
        # A row lock: the history lock comes first, as for any write.
        await self._before_write()
        found = await self._store.lock_by_meta_ids(waba_id, meta_template_ids)
        for template in found:
            self._track(template)
        return found

    async def generation(self) -> int:
        return await self._store.generation()

    async def list(self, query: TemplateQuery) -> Sequence[Template]:
        found = await self._store.list(query)
        for template in found:
            self._track(template)
        return found
