"""Rows for the repository tests (the contract suite in tests/contract and the SQL-only tests):
two organizations with their WABAs, templates, webhook deliveries and changes, alerts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from app.inbox import Delivery, InboxChange
from app.ports import UnitOfWorkFactory
from domain.alerts import Alert, AlertKind, AlertState, Severity
from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
    ParameterSpec,
    TemplateDefinition,
)
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template
from domain.tenancy import Organization, Waba

# Microseconds on purpose: a store that truncates them fails the round trips.
NOW = datetime(2025, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ORG_A = "org-a"
ORG_B = "org-b"
# Organization A has two WABAs, B one.
WABA_A1 = "100000000000001"
WABA_A2 = "100000000000002"
WABA_B = "200000000000001"


async def add_organizations_and_wabas(factory: UnitOfWorkFactory) -> None:
    """Organization A ("acme") with WABAs A1 and A2, organization B ("globex") with WABA B."""
    async with factory() as uow:
        for org_id, slug in ((ORG_A, "acme"), (ORG_B, "globex")):
            await uow.organizations.add(
                Organization(id=org_id, slug=slug, display_name=slug.title(), created_at=NOW)
            )
        for waba_id, org_id in ((WABA_A1, ORG_A), (WABA_A2, ORG_A), (WABA_B, ORG_B)):
            await uow.wabas.add(Waba(waba_id=waba_id, org_id=org_id, display_name=waba_id, created_at=NOW))
        await uow.commit()


async def add_templates(factory: UnitOfWorkFactory, *templates: Template) -> None:
    """Stores the templates in a unit of work of their own, committed."""
    async with factory() as uow:
        for template in templates:
            await uow.templates.add(template)
        await uow.commit()


def order_ready_definition(
    display_name: str = "order_ready",
    language_code: str = "en_US",
    category: TemplateCategory = TemplateCategory.UTILITY,
) -> TemplateDefinition:
    return TemplateDefinition(
        display_name=display_name,
        language_code=language_code,
        category=category,
        components=Components(body="Hi {{first_name}}, your order {{order_id}} is ready for pickup today."),
        parameters=(
            ParameterSpec(key="first_name", example="Ana"),
            ParameterSpec(key="order_id", example="A-1001"),
        ),
    )


def new_template(
    template_id: str,
    *,
    org_id: str = ORG_A,
    waba_id: str = WABA_A1,
    display_name: str = "order_ready",
    language_code: str = "en_US",
    category: TemplateCategory = TemplateCategory.UTILITY,
) -> Template:
    template, _warnings = Template.create(
        template_id=template_id,
        org_id=org_id,
        waba_id=waba_id,
        definition=order_ready_definition(display_name, language_code, category),
        now=NOW,
    )
    return template


def rich_template() -> Template:
    """Every field away from its default, so a lossy mapping cannot go unnoticed."""
    return Template(
        id="tpl-rich",
        org_id=ORG_A,
        waba_id=WABA_A1,
        display_name="spring_sale",
        language_code="pt_BR",
        category=TemplateCategory.MARKETING,
        parameter_format=ParameterFormat.NAMED,
        components=Components(
            body="Olá {{first_name}}! Promoção de primavera 🌸: {{discount}} de desconto — só hoje.",
            header=Header(format=HeaderFormat.TEXT, text="Oferta para {{first_name}} ✨"),
            footer="Responda PARAR para sair",
            buttons=(
                Button(type=ButtonType.QUICK_REPLY, text="Quero!"),
                Button(
                    type=ButtonType.URL,
                    text="Ver ofertas",
                    url="https://example.com/ofertas/{{1}}",
                    example="https://example.com/ofertas/primavera",
                ),
                Button(type=ButtonType.PHONE_NUMBER, text="Ligar", phone_number="+5511999990000"),
                Button(type=ButtonType.COPY_CODE, text="", example="PRIMAVERA25"),
            ),
        ),
        parameters=(
            ParameterSpec(
                key="first_name",
                example="Ana",
                max_length=30,
                pattern=r"^[\w ]+$",
                locations=(ParameterLocation.HEADER, ParameterLocation.BODY),
            ),
            ParameterSpec(
                key="discount",
                example="25%",
                optional=True,
                default_value="10%",
                locations=(ParameterLocation.BODY,),
            ),
            ParameterSpec(key="button.1", example="primavera", locations=(ParameterLocation.BUTTON,)),
        ),
        created_at=datetime(2025, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=-3))),
        updated_at=NOW,
        status=TemplateStatus.OTHER,
        raw_status="SOMETHING_NEW",
        quality=TemplateQuality.YELLOW,
        rejection_reason="Não se aplica ✓",
        meta_template_id="987654321",
        version=7,
    )


def delivery(number: int, **changes: Any) -> Delivery:
    made = Delivery(id=f"d{number:04d}", body=b'{"object":"whatsapp_business_account"}', received_at=NOW)
    return replace(made, **changes)


def change(number: int, *, key: str = "", waba_id: str = WABA_A1, **changes: Any) -> InboxChange:
    """The first change of delivery `number`, with the idempotency key `key-{number}` unless given."""
    made = InboxChange(
        id=f"d{number:04d}-0000",
        delivery_id=f"d{number:04d}",
        key=key or f"key-{number}",
        waba_id=waba_id,
        field="message_template_status_update",
        entry_time=None,
        value={"event": "APPROVED", "message_template_id": number},
        received_at=NOW,
    )
    return replace(made, **changes)


def alert(
    alert_id: str,
    *,
    org_id: str = ORG_A,
    template_id: str = "tpl-1",
    kind: AlertKind = AlertKind.PAUSED,
    opened_at: datetime = NOW,
    **changes: Any,
) -> Alert:
    made = Alert(
        id=alert_id,
        org_id=org_id,
        template_id=template_id,
        waba_id=WABA_A1,
        template_name="order_ready.en_US",
        kind=kind,
        severity=Severity.HIGH,
        state=AlertState.OPEN,
        reason="template is PAUSED",
        opened_at=opened_at,
        last_seen_at=opened_at,
    )
    return replace(made, **changes)
