"""Composition root: the one place that names concrete adapters and wires them into the use cases."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.messages import GraphMessageGateway
from adapters.meta_graph.send_payloads import MetaSendPayloads
from adapters.meta_graph.templates import GraphTemplateGateway
from adapters.sql.engine import SqlHealthProbe, create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app import campaign_commands, commands
from app.audit import AuditTrail
from app.audit_queries import AuditQueries
from app.auth import Authenticator
from app.campaign_queries import CampaignQueries
from app.clock import SystemClock
from app.handlers import (
    alerts,
    campaign_policy,
    campaigns,
    inbox,
    notifications,
    sends,
    template_events,
    templates,
    tenancy,
)
from app.handlers import meta as meta_handlers
from app.inbox_queries import InboxQueries
from app.message_queries import MessageQueries
from app.messagebus import MessageBus
from app.meta_ports import MessageGateway, TemplateGateway, WebhookTranslator
from app.notification_queries import NotificationQueries
from app.observability import NO_METRICS, Metrics
from app.paging import PageTokenCodec
from app.ports import Clock, HealthProbe, UnitOfWorkFactory
from app.queries import TemplateQueries
from app.send_guard import SendGuard
from app.send_records import SendRecords
from app.settings import Settings
from app.template_cache import RECHECK_SECONDS, TemplateCache
from app.template_health_queries import TemplateHealthQueries
from app.unit_of_work import EventDispatcher, PublishingUnitOfWorkFactory
from app.window_cache import WindowCache
from domain.events import TemplateEvent

PAGE_TOKEN_SECRET = "page_token_secret"  # noqa: S105 - the row name, not the secret


@dataclass
class Services:
    """Everything a driving adapter (gRPC, CLI, HTTP) needs; close() releases the database."""

    bus: MessageBus
    queries: TemplateQueries
    health_queries: TemplateHealthQueries
    inbox_queries: InboxQueries
    send_guard: SendGuard
    message_queries: MessageQueries
    campaign_queries: CampaignQueries
    notification_queries: NotificationQueries
    audit_queries: AuditQueries
    authenticator: Authenticator
    probe: HealthProbe
    uow_factory: UnitOfWorkFactory
    clock: Clock
    close: Callable[[], Awaitable[None]]
    metrics: Metrics = NO_METRICS


def build_bus(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    template_gateway: TemplateGateway | None = None,
    message_gateway: MessageGateway | None = None,
    webhook_translator: WebhookTranslator | None = None,
    template_cache: TemplateCache | None = None,
) -> MessageBus:
    """Every command's handler, writing through units of work that publish the templates' events."""
    uow_factory = publishing(uow_factory)
    template_cache = template_cache or cache_of(uow_factory)
    # One writer of send records per bus: concurrent sends share its commits.
    send_records = SendRecords(uow_factory, clock)

    def bind(handler: Callable[..., Awaitable[Any]], **extra: object) -> Callable[[Any], Awaitable[Any]]:
        return functools.partial(handler, uow_factory=uow_factory, clock=clock, **extra)

    apply_inbox_changes = inbox.ApplyInboxChangesHandler(
        uow_factory, clock, webhook_translator or MetaWebhookTranslator()
    )
    handlers: dict[type[commands.Command[Any]], Callable[[Any], Awaitable[Any]]] = {
        commands.CreateOrganization: bind(tenancy.create_organization),
        commands.CreateApiKey: bind(tenancy.create_api_key),
        commands.RevokeApiKey: bind(tenancy.revoke_api_key),
        commands.AddWaba: bind(tenancy.add_waba),
        commands.CreateTemplate: bind(templates.create_template),
        commands.UpdateTemplate: bind(templates.update_template, template_gateway=template_gateway),
        commands.DeleteTemplate: bind(templates.delete_template, template_gateway=template_gateway),
        commands.SubmitTemplate: bind(meta_handlers.submit_template, template_gateway=template_gateway),
        commands.SyncTemplates: bind(meta_handlers.sync_templates, template_gateway=template_gateway),
        commands.SendTemplateMessage: bind(
            sends.send_template_message,
            message_gateway=message_gateway,
            template_cache=template_cache,
            send_records=send_records,
        ),
        commands.ExpireStaleSends: bind(sends.expire_stale_sends),
        commands.SendTextMessage: bind(
            sends.send_text_message,
            message_gateway=message_gateway,
            template_cache=template_cache,
            send_records=send_records,
        ),
        commands.AcknowledgeAlert: bind(alerts.acknowledge_alert),
        campaign_commands.CreateCampaign: bind(campaigns.create_campaign),
        campaign_commands.MoveCampaign: bind(campaigns.move_campaign),
        campaign_commands.AddCampaignAudience: bind(campaigns.add_campaign_audience),
        campaign_commands.UpdateCampaignPolicy: bind(campaigns.update_campaign_policy),
        campaign_commands.CreateChannel: bind(notifications.create_channel),
        campaign_commands.DeleteChannel: bind(notifications.delete_channel),
        campaign_commands.ReplayNotification: bind(notifications.replay_notification),
        commands.ApplyInboxChanges: apply_inbox_changes,
        commands.ApplyDueInboxChanges: apply_inbox_changes,
        commands.ReplayInboxChange: bind(inbox.replay_inbox_change),
    }
    return MessageBus(handlers, observer=AuditTrail(uow_factory, clock).record)


def cache_of(uow_factory: UnitOfWorkFactory, *, recheck_seconds: float = RECHECK_SECONDS) -> TemplateCache:
    """A template cache over `uow_factory`, forgetting what it holds whenever a unit of work from
    that factory commits a template write."""
    cache = TemplateCache(uow_factory, recheck_seconds=recheck_seconds)
    if isinstance(uow_factory, PublishingUnitOfWorkFactory):
        uow_factory.after_template_commit.append(cache.invalidate)
    return cache


def publishing(store: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """The store's units of work, with every template event handled before each commit."""
    if isinstance(store, PublishingUnitOfWorkFactory):
        return store
    return PublishingUnitOfWorkFactory(
        store,
        EventDispatcher(
            {
                TemplateEvent: [
                    template_events.record_history,
                    template_events.apply_alert_policy,
                    campaign_policy.apply_campaign_policy,
                ]
            }
        ),
    )


async def page_token_codec(settings: Settings, uow_factory: UnitOfWorkFactory) -> PageTokenCodec:
    if settings.page_token_secret is not None:
        return PageTokenCodec(settings.page_token_secret.get_secret_value().encode())
    async with uow_factory() as uow:
        secret = await uow.secrets.get_or_create(PAGE_TOKEN_SECRET, secrets.token_bytes(32))
        await uow.commit()
    return PageTokenCodec(secret)


@dataclass(frozen=True)
class MetaGateways:
    templates: TemplateGateway | None
    messages: MessageGateway | None


async def build_services(
    settings: Settings,
    *,
    uow_factory: UnitOfWorkFactory | None = None,
    probe: HealthProbe | None = None,
    clock: Clock | None = None,
    meta: MetaGateways | None = None,
    metrics: Metrics = NO_METRICS,
) -> Services:
    """Wires the SQL adapter and the Graph API client from settings unless ports are handed in
    (tests pass in-memory fakes). Without an access token the Meta-bound use cases say so."""
    closers: list[Callable[[], Awaitable[None]]] = []

    async def close() -> None:
        for closer in reversed(closers):
            await closer()

    if uow_factory is None or probe is None:
        engine = create_engine(settings.database_url)
        uow_factory = uow_factory or SqlUnitOfWorkFactory(engine)
        probe = probe or SqlHealthProbe(engine)
        closers.append(engine.dispose)
    uow_factory = publishing(uow_factory)
    if meta is None:
        meta = MetaGateways(None, None)
        if settings.meta_access_token is not None and settings.meta_access_token.get_secret_value():
            client = GraphClient(
                settings.meta_graph_url,
                settings.meta_api_version,
                settings.meta_access_token.get_secret_value(),
                metrics=metrics,
            )
            closers.append(client.close)
            meta = MetaGateways(GraphTemplateGateway(client), GraphMessageGateway(client))
    clock = clock or SystemClock()
    page_tokens = await page_token_codec(settings, uow_factory)
    # One cache for the hot reads of this process: rendering, validating and sending.
    template_cache = cache_of(uow_factory)
    return Services(
        bus=build_bus(uow_factory, clock, meta.templates, meta.messages, template_cache=template_cache),
        queries=TemplateQueries(uow_factory, page_tokens, MetaSendPayloads(), template_cache),
        health_queries=TemplateHealthQueries(uow_factory, page_tokens),
        inbox_queries=InboxQueries(uow_factory, page_tokens),
        send_guard=SendGuard(clock, template_cache, WindowCache(uow_factory)),
        message_queries=MessageQueries(uow_factory, page_tokens),
        campaign_queries=CampaignQueries(uow_factory, page_tokens, clock),
        notification_queries=NotificationQueries(uow_factory, page_tokens),
        audit_queries=AuditQueries(uow_factory, page_tokens),
        authenticator=Authenticator(uow_factory, settings.auth_cache_seconds),
        probe=probe,
        uow_factory=uow_factory,
        clock=clock,
        close=close,
        metrics=metrics,
    )
