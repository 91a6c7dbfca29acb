"""Listing templates: filters, code-point order and keyset paging, on every store."""

from __future__ import annotations

import pytest

from app.ports import TemplateCursor, TemplateQuery, UnitOfWorkFactory
from domain.components import ParameterFormat
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from support.store_samples import ORG_A, ORG_B, WABA_A1, WABA_A2, WABA_B, new_template


async def seed_listing(factory: UnitOfWorkFactory) -> None:
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


async def listed(factory: UnitOfWorkFactory, query: TemplateQuery) -> list[str]:
    async with factory() as uow:
        return [t.id for t in await uow.templates.list(query)]


async def test_list_orders_by_name_language_id(uow_factory: UnitOfWorkFactory) -> None:
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
    uow_factory: UnitOfWorkFactory, query: TemplateQuery, expected: list[str]
) -> None:
    await seed_listing(uow_factory)
    assert await listed(uow_factory, query) == expected


async def test_list_pages_with_a_keyset_cursor(uow_factory: UnitOfWorkFactory) -> None:
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


async def test_list_cursor_breaks_ties_on_id(uow_factory: UnitOfWorkFactory) -> None:
    await seed_listing(uow_factory)
    # ("alpha", "en_US") exists in two WABAs: t01 and t03. A cursor on t01 must still yield t03.
    query = TemplateQuery(org_id=ORG_A, after=TemplateCursor("alpha", "en_US", "t01"), limit=2)
    assert await listed(uow_factory, query) == ["t03", "t02"]
