"""Composition root: the one place that names concrete adapters and wires them into the use cases."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.sql.engine import SqlHealthProbe, create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app import commands
from app.auth import Authenticator
from app.clock import SystemClock
from app.handlers import templates, tenancy
from app.messagebus import MessageBus
from app.paging import PageTokenCodec
from app.ports import Clock, HealthProbe, UnitOfWorkFactory
from app.queries import TemplateQueries
from app.settings import Settings

PAGE_TOKEN_SECRET = "page_token_secret"  # noqa: S105 - the row name, not the secret


@dataclass
class Services:
    """Everything a driving adapter (gRPC, CLI, HTTP) needs; close() releases the database."""

    bus: MessageBus
    queries: TemplateQueries
    authenticator: Authenticator
    probe: HealthProbe
    uow_factory: UnitOfWorkFactory
    close: Callable[[], Awaitable[None]]


def build_bus(uow_factory: UnitOfWorkFactory, clock: Clock) -> MessageBus:
    def bind(handler: Callable[..., Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
        return functools.partial(handler, uow_factory=uow_factory, clock=clock)

    handlers: dict[type[commands.Command[Any]], Callable[[Any], Awaitable[Any]]] = {
        commands.CreateOrganization: bind(tenancy.create_organization),
        commands.CreateApiKey: bind(tenancy.create_api_key),
        commands.RevokeApiKey: bind(tenancy.revoke_api_key),
        commands.AddWaba: bind(tenancy.add_waba),
        commands.CreateTemplate: bind(templates.create_template),
        commands.UpdateTemplate: bind(templates.update_template),
        commands.DeleteTemplate: bind(templates.delete_template),
    }
    return MessageBus(handlers)


async def page_token_codec(settings: Settings, uow_factory: UnitOfWorkFactory) -> PageTokenCodec:
    if settings.page_token_secret is not None:
        return PageTokenCodec(settings.page_token_secret.get_secret_value().encode())
    async with uow_factory() as uow:
        secret = await uow.secrets.get_or_create(PAGE_TOKEN_SECRET, secrets.token_bytes(32))
        await uow.commit()
    return PageTokenCodec(secret)


async def build_services(
    settings: Settings,
    *,
    uow_factory: UnitOfWorkFactory | None = None,
    probe: HealthProbe | None = None,
    clock: Clock | None = None,
) -> Services:
    """Wires the SQL adapter from settings unless ports are handed in (tests pass in-memory fakes)."""

    async def nothing_to_close() -> None:
        return None

    close = nothing_to_close
    if uow_factory is None or probe is None:
        engine = create_engine(settings.database_url)
        uow_factory = uow_factory or SqlUnitOfWorkFactory(engine)
        probe = probe or SqlHealthProbe(engine)
        close = engine.dispose
    clock = clock or SystemClock()
    return Services(
        bus=build_bus(uow_factory, clock),
        queries=TemplateQueries(uow_factory, await page_token_codec(settings, uow_factory)),
        authenticator=Authenticator(uow_factory, settings.auth_cache_seconds),
        probe=probe,
        uow_factory=uow_factory,
        close=close,
    )
