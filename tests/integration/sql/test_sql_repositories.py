"""The SQL repositories and unit of work; every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import tables
from adapters.sql.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from app.errors import AlreadyExists, ConcurrentModification
from app.ports import IdempotencyRecord, TemplateCursor, TemplateQuery
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
from domain.tenancy import ApiKey, Organization, Role, Waba

NOW = datetime(2025, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
ORG_A = "org-a"
ORG_B = "org-b"
WABA_A1 = "100000000000001"
WABA_A2 = "100000000000002"
WABA_B = "200000000000001"


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


@pytest.fixture
async def uow_factory(sql_engine: AsyncEngine) -> SqlUnitOfWorkFactory:
    """Two organizations; A has two WABAs, B one."""
    factory = SqlUnitOfWorkFactory(sql_engine)
    async with factory() as uow:
        for org_id, slug in ((ORG_A, "acme"), (ORG_B, "globex")):
            await uow.organizations.add(
                Organization(id=org_id, slug=slug, display_name=slug.title(), created_at=NOW)
            )
        for waba_id, org_id in ((WABA_A1, ORG_A), (WABA_A2, ORG_A), (WABA_B, ORG_B)):
            await uow.wabas.add(Waba(waba_id=waba_id, org_id=org_id, display_name=waba_id, created_at=NOW))
        await uow.commit()
    return factory


async def count_rows(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


# Organizations, API keys, WABAs


async def test_organization_round_trip_by_id_and_slug(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        org = await uow.organizations.get_by_slug("acme")
        assert org == Organization(id=ORG_A, slug="acme", display_name="Acme", created_at=NOW)
        assert org.created_at.tzinfo is not None
        assert await uow.organizations.get(ORG_B) == await uow.organizations.get_by_slug("globex")
        assert await uow.organizations.get_by_slug("nobody") is None
        assert [o.slug for o in await uow.organizations.list()] == ["acme", "globex"]


async def test_duplicate_organization_slug_is_already_exists(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists) as raised:
            await uow.organizations.add(
                Organization(id="org-c", slug="acme", display_name="X", created_at=NOW)
            )
        assert raised.value.name == "acme"
        assert len(await uow.organizations.list()) == 2


async def test_api_key_by_hash_and_prefix_and_revoke(uow_factory: SqlUnitOfWorkFactory) -> None:
    key = ApiKey(
        id="key-1", org_id=ORG_A, role=Role.OPERATOR, key_hash="h" * 64, prefix="wt_abc123", created_at=NOW
    )
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.commit()

    revoked_at = NOW + timedelta(days=1)
    async with uow_factory() as uow:
        stored = await uow.api_keys.get_by_hash("h" * 64)
        assert stored == key
        assert stored.active
        assert await uow.api_keys.get_by_prefix("wt_abc123") == key
        assert await uow.api_keys.get_by_hash("nope") is None
        stored.revoked_at = revoked_at
        stored.role = Role.ADMIN
        await uow.api_keys.save(stored)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.api_keys.get_by_hash("h" * 64)
        assert stored is not None
        assert stored.revoked_at == revoked_at
        assert stored.role is Role.ADMIN
        assert not stored.active
        assert [k.id for k in await uow.api_keys.list_for_org(ORG_A)] == ["key-1"]
        assert await uow.api_keys.list_for_org(ORG_B) == []


async def test_waba_with_phone_numbers(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.wabas.add(
            Waba(
                waba_id="300",
                org_id=ORG_A,
                display_name="Support",
                created_at=NOW,
                phone_number_ids=("12", "11"),
            )
        )
        await uow.commit()

    async with uow_factory() as uow:
        waba = await uow.wabas.get("300")
        assert waba == Waba(
            waba_id="300", org_id=ORG_A, display_name="Support", created_at=NOW, phone_number_ids=("11", "12")
        )
        assert [w.waba_id for w in await uow.wabas.list_for_org(ORG_A)] == [WABA_A1, WABA_A2, "300"]
        waba.display_name = "Support desk"
        waba.phone_number_ids = ("12", "13")
        await uow.wabas.save(waba)
        await uow.commit()

    async with uow_factory() as uow:
        waba = await uow.wabas.get("300")
        assert waba is not None
        assert waba.display_name == "Support desk"
        assert waba.phone_number_ids == ("12", "13")
        assert await uow.wabas.get("404") is None


async def test_phone_number_belongs_to_one_waba(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.wabas.add(
            Waba(waba_id="300", org_id=ORG_A, display_name="A", created_at=NOW, phone_number_ids=("11",))
        )
        with pytest.raises(AlreadyExists) as raised:
            await uow.wabas.add(
                Waba(
                    waba_id="400",
                    org_id=ORG_B,
                    display_name="B",
                    created_at=NOW,
                    phone_number_ids=("11", "21"),
                )
            )
        assert raised.value.name == "11"
        # The savepoint took the half-added WABA with it; the transaction goes on.
        assert await uow.wabas.get("400") is None
        with pytest.raises(AlreadyExists):
            await uow.wabas.add(Waba(waba_id="300", org_id=ORG_A, display_name="again", created_at=NOW))
        await uow.commit()
    assert await count_rows(sql_engine, tables.waba_phone_numbers) == 1


# Templates


async def test_template_round_trip_preserves_every_field(uow_factory: SqlUnitOfWorkFactory) -> None:
    template = rich_template()
    async with uow_factory() as uow:
        await uow.templates.add(template)
        await uow.commit()

    async with uow_factory() as uow:
        by_id = await uow.templates.get(ORG_A, "tpl-rich")
        by_key = await uow.templates.get_by_key(ORG_A, WABA_A1, "spring_sale", "pt_BR")
    assert by_id == template
    assert by_key == template
    assert by_id is not None
    # Equal instants; stored and returned as UTC whatever offset they were given in.
    assert by_id.created_at.utcoffset() == timedelta(0)
    assert by_id.updated_at.tzinfo is not None


async def test_template_created_from_a_definition_round_trips(uow_factory: SqlUnitOfWorkFactory) -> None:
    template = new_template("tpl-1")
    async with uow_factory() as uow:
        await uow.templates.add(template)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored == template
    assert stored.parameter_format is ParameterFormat.NAMED
    assert [p.key for p in stored.parameters] == ["first_name", "order_id"]


async def test_template_without_category_round_trips(uow_factory: SqlUnitOfWorkFactory) -> None:
    template = replace(rich_template(), id="tpl-nocat", category=None)
    async with uow_factory() as uow:
        await uow.templates.add(template)
        assert (await uow.templates.get(ORG_A, "tpl-nocat")) == template


async def test_duplicate_template_key_is_already_exists_and_writes_nothing(
    uow_factory: SqlUnitOfWorkFactory, sql_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        with pytest.raises(AlreadyExists) as raised:
            await uow.templates.add(new_template("tpl-2"))
        assert raised.value.resource_type == "template"
        assert raised.value.name == "order_ready.en_US"
        # The transaction is still usable (PostgreSQL would reject everything after a failed
        # statement) and later work commits.
        await uow.templates.add(new_template("tpl-3", language_code="es"))
        await uow.templates.add(new_template("tpl-4", waba_id=WABA_A2))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-2") is None
        assert await uow.templates.get(ORG_A, "tpl-1") is not None
    assert await count_rows(sql_engine, tables.templates) == 3


async def test_same_template_key_in_another_organization_is_allowed(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-a"))
        await uow.templates.add(new_template("tpl-b", org_id=ORG_B, waba_id=WABA_B))
        await uow.commit()


async def test_update_stores_state_and_bumps_version(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        await uow.commit()

    async with uow_factory() as uow:
        template = await uow.templates.get(ORG_A, "tpl-1")
        assert template is not None
        assert template.version == 1
        template.status = TemplateStatus.APPROVED
        template.raw_status = "APPROVED"
        template.quality = TemplateQuality.GREEN
        template.meta_template_id = "555"
        template.category = TemplateCategory.MARKETING
        template.components = Components(
            body="Hello {{first_name}}, order {{order_id}} can be picked up now."
        )
        template.updated_at = NOW + timedelta(hours=1)
        await uow.templates.update(template)
        assert template.version == 2
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored == template
    assert stored.version == 2


async def test_stale_update_is_concurrent_modification(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        await uow.commit()

    async with uow_factory() as uow:
        first = await uow.templates.get(ORG_A, "tpl-1")
        second = await uow.templates.get(ORG_A, "tpl-1")
        assert first is not None
        assert second is not None
        first.quality = TemplateQuality.RED
        await uow.templates.update(first)
        second.quality = TemplateQuality.GREEN
        with pytest.raises(ConcurrentModification) as raised:
            await uow.templates.update(second)
        assert raised.value.name == "order_ready.en_US"
        assert second.version == 1
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored is not None
    assert stored.quality is TemplateQuality.RED
    assert stored.version == 2


async def test_update_of_another_organizations_template_changes_nothing(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        intruder = new_template("tpl-1", org_id=ORG_B, waba_id=WABA_B)
        with pytest.raises(ConcurrentModification):
            await uow.templates.update(intruder)
        with pytest.raises(ConcurrentModification):
            await uow.templates.delete(intruder)
        assert await uow.templates.get(ORG_A, "tpl-1") is not None


async def test_delete_checks_the_version(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        await uow.commit()

    async with uow_factory() as uow:
        stale = await uow.templates.get(ORG_A, "tpl-1")
        fresh = await uow.templates.get(ORG_A, "tpl-1")
        assert stale is not None
        assert fresh is not None
        await uow.templates.update(fresh)
        with pytest.raises(ConcurrentModification):
            await uow.templates.delete(stale)
        await uow.templates.delete(fresh)
        assert await uow.templates.get(ORG_A, "tpl-1") is None
        with pytest.raises(ConcurrentModification):
            await uow.templates.delete(fresh)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_templates_are_scoped_to_their_organization(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_B, "tpl-1") is None
        assert await uow.templates.get_by_key(ORG_B, WABA_A1, "order_ready", "en_US") is None
        assert await uow.templates.list(TemplateQuery(org_id=ORG_B)) == []
        assert [t.id for t in await uow.templates.list(TemplateQuery(org_id=ORG_A))] == ["tpl-1"]


# Listing


async def seed_listing(factory: SqlUnitOfWorkFactory) -> None:
    """Eight templates of org A (one of org B) with distinct filterable attributes."""
    rows = [
        # id, waba, name, language, category, status, quality
        (
            "t01",
            WABA_A1,
            "alpha",
            "en_US",
            TemplateCategory.UTILITY,
            TemplateStatus.APPROVED,
            TemplateQuality.GREEN,
        ),
        (
            "t02",
            WABA_A1,
            "alpha",
            "pt_BR",
            TemplateCategory.UTILITY,
            TemplateStatus.PAUSED,
            TemplateQuality.RED,
        ),
        (
            "t03",
            WABA_A2,
            "alpha",
            "en_US",
            TemplateCategory.MARKETING,
            TemplateStatus.APPROVED,
            TemplateQuality.YELLOW,
        ),
        (
            "t04",
            WABA_A1,
            "alpha_promo",
            "en_US",
            TemplateCategory.MARKETING,
            TemplateStatus.DRAFT,
            TemplateQuality.UNKNOWN,
        ),
        (
            "t05",
            WABA_A1,
            "alpha2",
            "en_US",
            TemplateCategory.UTILITY,
            TemplateStatus.REJECTED,
            TemplateQuality.UNKNOWN,
        ),
        (
            "t06",
            WABA_A2,
            "beta",
            "es",
            TemplateCategory.UTILITY,
            TemplateStatus.PENDING,
            TemplateQuality.UNKNOWN,
        ),
        (
            "t07",
            WABA_A1,
            "gamma",
            "en_US",
            TemplateCategory.MARKETING,
            TemplateStatus.APPROVED,
            TemplateQuality.GREEN,
        ),
        (
            "t08",
            WABA_A2,
            "gamma",
            "en_US",
            TemplateCategory.UTILITY,
            TemplateStatus.FLAGGED,
            TemplateQuality.RED,
        ),
    ]
    async with factory() as uow:
        for template_id, waba_id, name, language, category, status, quality in rows:
            template = new_template(
                template_id, waba_id=waba_id, display_name=name, language_code=language, category=category
            )
            template.status = status
            template.raw_status = status.value
            template.quality = quality
            await uow.templates.add(template)
        await uow.templates.add(new_template("t99", org_id=ORG_B, waba_id=WABA_B, display_name="alpha"))
        await uow.commit()


async def listed(factory: SqlUnitOfWorkFactory, query: TemplateQuery) -> list[str]:
    async with factory() as uow:
        return [t.id for t in await uow.templates.list(query)]


async def test_list_orders_by_name_language_id(uow_factory: SqlUnitOfWorkFactory) -> None:
    await seed_listing(uow_factory)
    # Code-point order on both dialects: "alpha2" before "alpha_promo" ("2" < "_"), where a
    # linguistic collation such as ICU's en-US puts punctuation first.
    assert await listed(uow_factory, TemplateQuery(org_id=ORG_A)) == [
        "t01", "t03", "t02", "t05", "t04", "t06", "t07", "t08",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(TemplateQuery(org_id=ORG_A, waba_id=WABA_A2), ["t03", "t06", "t08"], id="waba"),
        pytest.param(
            TemplateQuery(
                org_id=ORG_A, statuses=frozenset({TemplateStatus.APPROVED, TemplateStatus.FLAGGED})
            ),
            ["t01", "t03", "t07", "t08"],
            id="statuses",
        ),
        pytest.param(
            TemplateQuery(org_id=ORG_A, categories=frozenset({TemplateCategory.MARKETING})),
            ["t03", "t04", "t07"],
            id="categories",
        ),
        pytest.param(
            TemplateQuery(org_id=ORG_A, language_codes=frozenset({"pt_BR", "es"})),
            ["t02", "t06"],
            id="languages",
        ),
        pytest.param(
            TemplateQuery(org_id=ORG_A, qualities=frozenset({TemplateQuality.RED})),
            ["t02", "t08"],
            id="qualities",
        ),
        pytest.param(
            TemplateQuery(org_id=ORG_A, parameter_formats=frozenset({ParameterFormat.POSITIONAL})),
            [],
            id="formats",
        ),
        pytest.param(
            TemplateQuery(org_id=ORG_A, parameter_formats=frozenset({ParameterFormat.NAMED}), limit=2),
            ["t01", "t03"],
            id="formats-named",
        ),
        # Case-sensitive, and "_" is a plain character rather than a LIKE wildcard.
        pytest.param(
            TemplateQuery(org_id=ORG_A, display_name_prefix="alpha_"), ["t04"], id="prefix-underscore"
        ),
        pytest.param(
            TemplateQuery(org_id=ORG_A, display_name_prefix="alpha"),
            ["t01", "t03", "t02", "t05", "t04"],
            id="prefix",
        ),
        pytest.param(
            TemplateQuery(
                org_id=ORG_A,
                waba_id=WABA_A1,
                statuses=frozenset({TemplateStatus.APPROVED}),
                categories=frozenset({TemplateCategory.UTILITY}),
                language_codes=frozenset({"en_US"}),
                qualities=frozenset({TemplateQuality.GREEN}),
                display_name_prefix="al",
            ),
            ["t01"],
            id="combined",
        ),
    ],
)
async def test_list_filters(
    uow_factory: SqlUnitOfWorkFactory, query: TemplateQuery, expected: list[str]
) -> None:
    await seed_listing(uow_factory)
    assert await listed(uow_factory, query) == expected


async def test_list_pages_with_a_keyset_cursor(uow_factory: SqlUnitOfWorkFactory) -> None:
    await seed_listing(uow_factory)
    pages: list[list[str]] = []
    cursor: TemplateCursor | None = None
    async with uow_factory() as uow:
        while True:
            page = await uow.templates.list(TemplateQuery(org_id=ORG_A, after=cursor, limit=3))
            if not page:
                break
            pages.append([t.id for t in page])
            last = page[-1]
            cursor = TemplateCursor(last.display_name, last.language_code, last.id)
    assert pages == [["t01", "t03", "t02"], ["t05", "t04", "t06"], ["t07", "t08"]]


async def test_list_cursor_breaks_ties_on_id(uow_factory: SqlUnitOfWorkFactory) -> None:
    await seed_listing(uow_factory)
    # ("alpha", "en_US") exists in two WABAs: t01 and t03. A cursor on t01 must still yield t03.
    query = TemplateQuery(org_id=ORG_A, after=TemplateCursor("alpha", "en_US", "t01"), limit=2)
    assert await listed(uow_factory, query) == ["t03", "t02"]


# Idempotency keys and secrets


async def test_idempotency_record_add_get_and_duplicate(uow_factory: SqlUnitOfWorkFactory) -> None:
    record = IdempotencyRecord(
        org_id=ORG_A,
        operation="CreateTemplate",
        request_id="7d8a9d4e-0000-4000-8000-000000000001",
        request_fingerprint="sha256:abc",
        resource_id="tpl-1",
        created_at=NOW,
    )
    async with uow_factory() as uow:
        await uow.idempotency.add(record)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.idempotency.get(ORG_A, "CreateTemplate", record.request_id) == record
        assert await uow.idempotency.get(ORG_B, "CreateTemplate", record.request_id) is None
        assert await uow.idempotency.get(ORG_A, "UpdateTemplate", record.request_id) is None
        with pytest.raises(AlreadyExists) as raised:
            await uow.idempotency.add(replace(record, resource_id="tpl-2"))
        assert raised.value.resource_type == "request"
        assert raised.value.name == record.request_id
        # Same request id for another operation or organization is a different key.
        await uow.idempotency.add(replace(record, operation="UpdateTemplate"))
        await uow.idempotency.add(replace(record, org_id=ORG_B))
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.idempotency.get(ORG_A, "CreateTemplate", record.request_id)
        assert stored is not None
        assert stored.resource_id == "tpl-1"


async def test_secret_get_or_create_keeps_the_first_value(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.secrets.get_or_create("cursor-key", b"\x00first\xff") == b"\x00first\xff"
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.secrets.get_or_create("cursor-key", b"second") == b"\x00first\xff"
        assert await uow.secrets.get_or_create("other", b"other") == b"other"


# Unit of work


async def test_unit_of_work_without_commit_rolls_back(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        assert await uow.templates.get(ORG_A, "tpl-1") is not None
    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_unit_of_work_rolls_back_on_exception(uow_factory: SqlUnitOfWorkFactory) -> None:
    async def fail_midway() -> None:
        async with uow_factory() as uow:
            await uow.templates.add(new_template("tpl-1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_midway()
    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_unit_of_work_explicit_rollback_and_work_after_commit(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        await uow.rollback()
        await uow.templates.add(new_template("tpl-2"))
        await uow.commit()
        # After a commit the next statement opens a new transaction, rolled back on exit.
        await uow.templates.add(new_template("tpl-3", language_code="es"))
    async with uow_factory() as uow:
        ids = [t.id for t in await uow.templates.list(TemplateQuery(org_id=ORG_A))]
    assert ids == ["tpl-2"]


async def test_unit_of_work_cannot_be_entered_twice(sql_engine: AsyncEngine) -> None:
    uow = SqlUnitOfWork(sql_engine)
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="entered twice"):
        async with uow:
            pass
