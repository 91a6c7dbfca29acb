"""An in-process gRPC server over the in-memory fakes, with two organizations to call it as.

Each organization has an admin, an operator and a viewer key and one WABA, all created through the
same bus commands the CLI uses. `grpc_world.stub` is the generated async TemplateService stub on a
channel to the server; `Tenant.auth(role)` is the call metadata for one of its keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from adapters.prometheus.metrics import PrometheusMetrics
from app.bootstrap import Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization
from app.messagebus import MessageBus
from app.settings import Settings
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from watemplates.v1 import templates_pb2_grpc

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Tenant:
    slug: str
    org_id: str
    waba_id: str
    # Role name ("admin", "operator", "viewer") -> API key secret.
    keys: dict[str, str]

    @property
    def parent(self) -> str:
        return f"wabas/{self.waba_id}"

    def auth(self, role: str = "operator") -> Metadata:
        return (("authorization", f"Bearer {self.keys[role]}"),)


@dataclass
class GrpcWorld:
    services: Services
    server: GrpcServer
    channel: grpc.aio.Channel
    stub: templates_pb2_grpc.TemplateServiceStub
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    probe: FakeHealthProbe
    a: Tenant
    b: Tenant
    metrics: PrometheusMetrics


async def create_tenant(bus: MessageBus, slug: str, waba_id: str) -> Tenant:
    created = await bus.handle(CreateOrganization(slug))
    keys = {}
    for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
        keys[role.name.lower()] = (await bus.handle(CreateApiKey(slug, role))).secret
    await bus.handle(AddWaba(slug, waba_id, f"{slug} WABA"))
    return Tenant(slug=slug, org_id=created.org_id, waba_id=waba_id, keys=keys)


@pytest.fixture
async def grpc_world() -> AsyncIterator[GrpcWorld]:
    factory, clock, probe = FakeUnitOfWorkFactory(), FrozenClock(), FakeHealthProbe()
    metrics = PrometheusMetrics()
    services = await build_services(
        Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0),
        uow_factory=factory,
        probe=probe,
        clock=clock,
    )
    a = await create_tenant(services.bus, "acme", "100200300")
    b = await create_tenant(services.bus, "globex", "900800700")
    server = GrpcServer(
        services.bus,
        services.queries,
        services.authenticator,
        "127.0.0.1:0",
        health_queries=services.health_queries,
        inbox_queries=services.inbox_queries,
        send_guard=services.send_guard,
        message_queries=services.message_queries,
        campaign_queries=services.campaign_queries,
        notification_queries=services.notification_queries,
        audit_queries=services.audit_queries,
        metrics=metrics,
    )
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield GrpcWorld(
            services=services,
            server=server,
            channel=channel,
            stub=templates_pb2_grpc.TemplateServiceStub(channel),
            factory=factory,
            clock=clock,
            probe=probe,
            a=a,
            b=b,
            metrics=metrics,
        )
    finally:
        await channel.close()
        await server.stop(0)
        await services.close()
