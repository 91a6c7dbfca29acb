"""The audit log through the real gRPC server over the in-memory store: every action a person takes
is recorded with actor, action, resource, request id and outcome (refusals too), the service's own
work is not, and only an organization's admins read its log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from app.bootstrap import Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization
from app.settings import Settings
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from integration.grpc.grpc_cases import fails, named_template
from watemplates.v1 import audit_pb2 as ap
from watemplates.v1 import audit_pb2_grpc, templates_pb2_grpc
from watemplates.v1 import templates_pb2 as api

WABA = "301122334455667"
TEMPLATE = f"wabas/{WABA}/templates/order_ready.en_US"


@dataclass
class World:
    services: Services
    templates: templates_pb2_grpc.TemplateServiceStub
    audit: audit_pb2_grpc.AuditServiceStub
    keys: dict[str, tuple[tuple[str, str], ...]]
    prefixes: dict[str, str]

    async def events(self, who: str = "acme-admin", **filters: Any) -> list[ap.AuditEvent]:
        response: ap.ListAuditEventsResponse = await self.audit.ListAuditEvents(
            ap.ListAuditEventsRequest(**filters), metadata=self.keys[who]
        )
        return list(response.events)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    services = await build_services(
        Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0),
        uow_factory=FakeUnitOfWorkFactory(),
        probe=FakeHealthProbe(),
        clock=FrozenClock(),
    )
    keys: dict[str, tuple[tuple[str, str], ...]] = {}
    prefixes: dict[str, str] = {}
    for slug in ("acme", "globex"):
        await services.bus.handle(CreateOrganization(slug))
        await services.bus.handle(AddWaba(slug, WABA if slug == "acme" else "301122334455999"))
        for role in (Role.ADMIN, Role.VIEWER):
            created = await services.bus.handle(CreateApiKey(slug, role))
            keys[f"{slug}-{role.name.lower()}"] = (("authorization", f"Bearer {created.secret}"),)
            prefixes[f"{slug}-{role.name.lower()}"] = created.prefix
    server = GrpcServer(
        services.bus,
        services.queries,
        services.authenticator,
        "127.0.0.1:0",
        audit_queries=services.audit_queries,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield World(
                services,
                templates_pb2_grpc.TemplateServiceStub(channel),
                audit_pb2_grpc.AuditServiceStub(channel),
                keys,
                prefixes,
            )
    finally:
        await server.stop(0)
        await services.close()


async def test_actions_are_recorded_with_who_what_which_request_and_how_it_ended(world: World) -> None:
    admin = world.keys["acme-admin"]
    await world.templates.CreateTemplate(
        api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()),
        metadata=(*admin, ("x-request-id", "req-42")),
    )
    refused = await fails(
        world.templates.DeleteTemplate(
            api.DeleteTemplateRequest(name=TEMPLATE), metadata=world.keys["acme-viewer"]
        )
    )
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED

    events = await world.events()
    mine = [
        (e.actor, e.action, e.resource, e.request_id, e.outcome)
        for e in events
        if e.actor.startswith("apiKeys/")
    ]
    assert mine == [
        (f"apiKeys/{world.prefixes['acme-viewer']}", "DeleteTemplate", TEMPLATE, "", "PERMISSION_DENIED"),
        (f"apiKeys/{world.prefixes['acme-admin']}", "CreateTemplate", TEMPLATE, "req-42", "OK"),
    ]
    # The operator's own set-up, from the CLI, is in the log too.
    assert {("cli", "AddWaba", f"wabas/{WABA}")} <= {(e.actor, e.action, e.resource) for e in events}
    assert [e.action for e in await world.events(action="CreateTemplate")] == ["CreateTemplate"]
    assert [e.resource for e in await world.events(resource=TEMPLATE)] == [TEMPLATE, TEMPLATE]


async def test_only_an_organization_s_admins_read_its_log(world: World) -> None:
    await world.templates.CreateTemplate(
        api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()),
        metadata=world.keys["acme-admin"],
    )
    denied = await fails(world.events("acme-viewer"))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    assert "CreateTemplate" not in {e.action for e in await world.events("globex-admin")}
    page: ap.ListAuditEventsResponse = await world.audit.ListAuditEvents(
        ap.ListAuditEventsRequest(page_size=1), metadata=world.keys["acme-admin"]
    )
    rest: ap.ListAuditEventsResponse = await world.audit.ListAuditEvents(
        ap.ListAuditEventsRequest(page_size=100, page_token=page.next_page_token),
        metadata=world.keys["acme-admin"],
    )
    assert len(page.events) + len(rest.events) == len(await world.events())
