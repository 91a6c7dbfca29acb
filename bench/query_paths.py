"""The listing paths of `make bench` on a large store: ListTemplates, ListTemplateHistory and ListAlerts
with 100,000 templates and 1,000,000 history rows (half of them the caller's organization's), first
pages and later ones, next to the bare grpc.aio echo. Keyset paging and indexes that match each
listing's filter and order keep a page as cheap on a large store as on an empty one.

The store is filled straight through the SQL adapter (the repositories the service uses), before the
service starts on it.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
from harness import Figure, Measured, Service, measure

from adapters.sql.engine import create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.auth import Principal
from app.bootstrap import build_bus
from app.clock import SystemClock
from app.commands import AddWaba, CreateApiKey, CreateOrganization, CreateTemplate
from domain.alerts import SEVERITY, Alert, AlertKind, AlertState
from domain.events import TemplateEvent, template_event
from domain.observations import Aspect, ChangeSource, Outcome
from domain.status import TemplateQuality, TemplateStatus
from domain.templates import Template
from domain.tenancy import Role
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import template_health_pb2 as health_api
from watemplates.v1 import template_health_pb2_grpc, templates_pb2_grpc
from watemplates.v1 import templates_pb2 as api

TEMPLATES = 100_000
HISTORY = 1_000_000
ALERTS = 20_000
# Their own organizations and WABAs, beside the ones the other sections use in the same database.
ORG, OTHER_ORG = "lists", "lists-other"
WABA, OTHER_WABA = "501122334455667", "601122334455667"
CHUNK = 5_000
TARGET = "p99 < 20 ms"
# The template whose history is listed: it has HOT_HISTORY rows of the million.
HOT_HISTORY = 2_000
STATUSES = (
    [TemplateStatus.APPROVED] * 90
    + [TemplateStatus.PAUSED] * 5
    + [TemplateStatus.REJECTED] * 3
    + [TemplateStatus.DISABLED] * 2
)
QUALITIES = [TemplateQuality.GREEN] * 80 + [TemplateQuality.YELLOW] * 15 + [TemplateQuality.RED] * 5


def seeded(scale: float) -> str:
    return (
        f"{int(TEMPLATES * scale):,} templates, {int(HISTORY * scale):,} history rows and "
        f"{int(ALERTS * scale):,} alerts stored"
    )


async def seed(database_url: str, prototype: pb.Template, scale: float = 1.0) -> tuple[str, str]:
    """Fills the store (`scale` of the sizes above); returns (an admin API key of organization ORG,
    the hot template's name)."""
    engine = create_engine(database_url)
    factory = SqlUnitOfWorkFactory(engine)
    rng = random.Random(9)
    try:
        bus = build_bus(factory, SystemClock())
        org = await bus.handle(CreateOrganization(ORG))
        other = await bus.handle(CreateOrganization(OTHER_ORG))
        await bus.handle(AddWaba(ORG, WABA))
        await bus.handle(AddWaba(OTHER_ORG, OTHER_WABA))
        key = (await bus.handle(CreateApiKey(ORG, Role.ADMIN))).secret
        admin = Principal(org.org_id, Role.ADMIN, "seed")
        from adapters.grpc.mapping import definition_from_proto  # the service's own mapping

        made = await bus.handle(CreateTemplate(admin, WABA, definition_from_proto(prototype)))
        first = made.template
        now = datetime.now(UTC)
        templates: list[Template] = []
        for index in range(int(TEMPLATES * scale) - 1):
            mine = index % 2 == 0
            templates.append(
                replace(
                    first,
                    id=f"t{index:07d}",
                    org_id=org.org_id if mine else other.org_id,
                    waba_id=WABA if mine else OTHER_WABA,
                    display_name=f"template_{index:06d}",
                    status=rng.choice(STATUSES),
                    quality=rng.choice(QUALITIES),
                    events=[],
                )
            )
        for start in range(0, len(templates), CHUNK):
            async with factory() as uow:
                for template in templates[start : start + CHUNK]:
                    await uow.templates.add(template)
                await uow.commit()
        everyone = [first, *templates]
        hot = templates[0]
        await _seed_history(factory, everyone, hot, now, rng, int(HISTORY * scale))
        unsendable = [t for t in everyone if t.status is not TemplateStatus.APPROVED]
        await _seed_alerts(factory, unsendable, now, rng, int(ALERTS * scale))
    finally:
        await engine.dispose()
    return key, f"wabas/{WABA}/templates/{hot.display_name}.{hot.language_code}"


async def _seed_history(
    factory: SqlUnitOfWorkFactory,
    templates: list[Template],
    hot: Template,
    now: datetime,
    rng: random.Random,
    count: int,
) -> None:
    batch: list[TemplateEvent] = []
    for index in range(count):
        template = hot if index < HOT_HISTORY else templates[rng.randrange(len(templates))]
        moment = now - timedelta(seconds=count - index)
        batch.append(
            template_event(
                Aspect.STATUS,
                id=f"e{index:08d}",
                template_id=template.id,
                org_id=template.org_id,
                waba_id=template.waba_id,
                template_name=template.name,
                source=ChangeSource.WEBHOOK,
                outcome=Outcome.APPLIED,
                from_value="APPROVED",
                to_value=rng.choice(("PAUSED", "APPROVED", "FLAGGED")),
                reason="",
                occurred_at=moment,
                received_at=moment,
                details={},
            )
        )
        if len(batch) == 20_000:
            await _add_events(factory, batch)
            batch = []
    if batch:
        await _add_events(factory, batch)


async def _add_events(factory: SqlUnitOfWorkFactory, events: list[TemplateEvent]) -> None:
    async with factory() as uow:
        await uow.template_events.add(events)
        await uow.commit()


async def _seed_alerts(
    factory: SqlUnitOfWorkFactory, templates: list[Template], now: datetime, rng: random.Random, count: int
) -> None:
    alerts = []
    for index in range(count):
        template = templates[index % len(templates)]
        kind = rng.choice((AlertKind.PAUSED, AlertKind.DISABLED, AlertKind.QUALITY_RED))
        # Each template's alert of a kind is active once; the older ones are resolved.
        active = index < len(templates)
        opened = now - timedelta(minutes=count - index)
        alerts.append(
            Alert(
                id=f"a{index:07d}",
                org_id=template.org_id,
                template_id=template.id,
                waba_id=template.waba_id,
                template_name=template.name,
                kind=kind if not active else AlertKind.PAUSED,
                severity=SEVERITY[kind if not active else AlertKind.PAUSED],
                state=AlertState.OPEN if active else AlertState.RESOLVED,
                reason="seeded",
                opened_at=opened,
                last_seen_at=opened,
                resolved_at=None if active else opened + timedelta(minutes=1),
            )
        )
    for start in range(0, len(alerts), CHUNK):
        async with factory() as uow:
            await uow.alerts.add_many(alerts[start : start + CHUNK])
            await uow.commit()


async def query_figures(
    service: Service, backend: str, key: str, hot: str, seconds: float, echo: Measured
) -> list[Figure]:
    """One caller at a time: the latency of a page, not of a queue (`echo` measured the same way)."""
    auth = (("authorization", f"Bearer {key}"),)
    generator = "grpc.aio client, 1 caller"
    async with grpc.aio.insecure_channel(service.grpc_addr) as channel:
        templates = templates_pb2_grpc.TemplateServiceStub(channel)
        health = template_health_pb2_grpc.TemplateHealthServiceStub(channel)
        listing = api.ListTemplatesRequest(parent="wabas/-", page_size=50)
        rare = api.ListTemplatesRequest(
            parent="wabas/-", page_size=50, statuses=[pb.TEMPLATE_STATUS_DISABLED]
        )
        deep = api.ListTemplatesRequest(
            parent="wabas/-",
            page_size=50,
            page_token=await _token_after(templates, auth, listing, pages=200),
        )
        history = health_api.ListTemplateHistoryRequest(name=hot, page_size=50)
        later_history = health_api.ListTemplateHistoryRequest(
            name=hot, page_size=50, page_token=await _history_token(health, auth, history, pages=20)
        )
        alerts = health_api.ListAlertsRequest(page_size=50)
        open_alerts = health_api.ListAlertsRequest(page_size=50, states=[health_api.ALERT_STATE_OPEN])
        calls = {
            "ListTemplates, first page": lambda: templates.ListTemplates(listing, metadata=auth),
            "ListTemplates, DISABLED only (2%)": lambda: templates.ListTemplates(rare, metadata=auth),
            "ListTemplates, page 200": lambda: templates.ListTemplates(deep, metadata=auth),
            "ListTemplateHistory, first page": lambda: health.ListTemplateHistory(history, metadata=auth),
            "ListTemplateHistory, page 20": lambda: health.ListTemplateHistory(later_history, metadata=auth),
            "ListAlerts, newest first": lambda: health.ListAlerts(alerts, metadata=auth),
            "ListAlerts, OPEN only": lambda: health.ListAlerts(open_alerts, metadata=auth),
        }
        figures = []
        for path, call in calls.items():
            measured = await measure(call, seconds, 1)
            figures.append(Figure(path, backend, generator, measured, "bare grpc.aio echo", echo, TARGET))
    return figures


async def _token_after(stub: object, auth: object, request: api.ListTemplatesRequest, pages: int) -> str:
    token = ""
    for _ in range(pages):
        reply = await stub.ListTemplates(  # type: ignore[attr-defined]
            api.ListTemplatesRequest(parent=request.parent, page_size=request.page_size, page_token=token),
            metadata=auth,
        )
        token = reply.next_page_token
    return str(token)


async def _history_token(
    stub: object, auth: object, request: health_api.ListTemplateHistoryRequest, pages: int
) -> str:
    token = ""
    for _ in range(pages):
        reply = await stub.ListTemplateHistory(  # type: ignore[attr-defined]
            health_api.ListTemplateHistoryRequest(
                name=request.name, page_size=request.page_size, page_token=token
            ),
            metadata=auth,
        )
        token = reply.next_page_token
    return str(token)
