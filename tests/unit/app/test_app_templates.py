"""Template use cases (create, update, delete, get, list, render, lint) over the in-memory fakes."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, replace

import pytest

from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import (
    AddWaba,
    CreateOrganization,
    CreateTemplate,
    DeleteTemplate,
    TemplateWritten,
    UpdateTemplate,
)
from app.errors import (
    AlreadyExists,
    EtagMismatch,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestIdReused,
)
from app.messagebus import MessageBus
from app.paging import MAX_PAGE_SIZE, PageTokenCodec
from app.ports import TemplateQuery
from app.queries import TemplateQueries, lint_definition
from app.resource_names import TemplateKey
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
from domain.errors import InvalidParameterValues, InvalidTemplate
from domain.send_parameters import SendComponent, SendParameter
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template, TemplateRevision
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock
from fakes.meta import FakeSendPayloads

WABA_A = "100200300"
WABA_A2 = "100200399"
WABA_B = "900800700"


def named_definition(
    name: str = "order_ready",
    language: str = "en_US",
    category: TemplateCategory = TemplateCategory.UTILITY,
    body: str = "Hi {{first_name}}, your order {{order_id}} is ready for pickup at {{store}}. See you soon!",
) -> TemplateDefinition:
    return TemplateDefinition(
        display_name=name,
        language_code=language,
        category=category,
        components=Components(
            header=Header(HeaderFormat.TEXT, "Order {{order_id}} is ready"),
            body=body,
            footer="Reply STOP to opt out",
            buttons=(
                Button(ButtonType.PHONE_NUMBER, "Call the store", phone_number="+15551230000"),
                Button(ButtonType.URL, "Track order", url="https://shop.example.com/orders/{{1}}"),
            ),
        ),
        parameters=(
            ParameterSpec("order_id", "A-1042"),
            ParameterSpec("first_name", "Dana"),
            ParameterSpec("store", "Main St"),
            ParameterSpec("button.1", "A-1042"),
        ),
    )


def positional_definition(name: str = "login_code", language: str = "en") -> TemplateDefinition:
    return TemplateDefinition(
        display_name=name,
        language_code=language,
        category=TemplateCategory.MARKETING,
        components=Components(
            header=Header(HeaderFormat.TEXT, "Code {{1}}"),
            body="Your code is {{1}} and it expires in {{2}} minutes.",
        ),
        parameters=(
            ParameterSpec("header.1", "123456"),
            ParameterSpec("1", "123456"),
            ParameterSpec("2", "10"),
        ),
    )


NAMED_VALUES = {"first_name": "Dana", "order_id": "A-1042", "store": "Main St", "button.1": "A-1042"}


@dataclass
class Env:
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    bus: MessageBus
    queries: TemplateQueries
    operator_a: Principal
    viewer_a: Principal
    admin_a: Principal
    operator_b: Principal

    async def create(
        self, definition: TemplateDefinition | None = None, *, waba_id: str = WABA_A, request_id: str = ""
    ) -> TemplateWritten:
        return await self.bus.handle(
            CreateTemplate(self.operator_a, waba_id, definition or named_definition(), request_id)
        )

    def stored(self) -> list[Template]:
        return list(self.factory.store.templates.values())


@pytest.fixture
async def env() -> Env:
    factory = FakeUnitOfWorkFactory()
    clock = FrozenClock()
    bus = build_bus(factory, clock)
    org_a = await bus.handle(CreateOrganization("acme"))
    org_b = await bus.handle(CreateOrganization("globex"))
    await bus.handle(AddWaba("acme", WABA_A))
    await bus.handle(AddWaba("acme", WABA_A2))
    await bus.handle(AddWaba("globex", WABA_B))
    return Env(
        factory=factory,
        clock=clock,
        bus=bus,
        queries=TemplateQueries(factory, PageTokenCodec(b"k" * 32), FakeSendPayloads()),
        operator_a=Principal(org_a.org_id, Role.OPERATOR, "key-op-a"),
        viewer_a=Principal(org_a.org_id, Role.VIEWER, "key-view-a"),
        admin_a=Principal(org_a.org_id, Role.ADMIN, "key-admin-a"),
        operator_b=Principal(org_b.org_id, Role.OPERATOR, "key-op-b"),
    )


def key_of(template: Template) -> TemplateKey:
    return TemplateKey(template.waba_id, template.display_name, template.language_code)


async def seed(env: Env, count: int, *, waba_id: str = WABA_A, prefix: str = "bulk") -> list[Template]:
    """Stores `count` copies of a valid template straight through a unit of work (fast)."""
    base, _ = Template.create(
        template_id="seed",
        org_id=env.operator_a.org_id,
        waba_id=waba_id,
        definition=named_definition(),
        now=env.clock.now(),
    )
    templates = [
        replace(base, id=f"{prefix}-{i:04d}", display_name=f"{prefix}_{i:04d}") for i in range(count)
    ]
    async with env.factory() as uow:
        for template in templates:
            await uow.templates.add(template)
        await uow.commit()
    return templates


async def list_all(env: Env, query: TemplateQuery, page_size: int) -> tuple[list[Template], int]:
    """Follows next_page_token to the end; returns every template and the number of pages."""
    found: list[Template] = []
    token, pages = "", 0
    while True:
        page = await env.queries.list(env.viewer_a, query, page_size, token)
        found.extend(page.templates)
        pages += 1
        token = page.next_page_token
        if not token:
            return found, pages


# ---- create -------------------------------------------------------------------------------------


async def test_create_named_template_stores_a_draft(env: Env) -> None:
    written = await env.create(named_definition())

    template = written.template
    assert (template.org_id, template.waba_id) == (env.operator_a.org_id, WABA_A)
    assert (template.display_name, template.language_code) == ("order_ready", "en_US")
    assert template.status is TemplateStatus.DRAFT
    assert template.parameter_format is ParameterFormat.NAMED
    assert [(p.key, p.locations) for p in template.parameters] == [
        ("order_id", (ParameterLocation.HEADER, ParameterLocation.BODY)),
        ("first_name", (ParameterLocation.BODY,)),
        ("store", (ParameterLocation.BODY,)),
        ("button.1", (ParameterLocation.BUTTON,)),
    ]
    assert template.created_at == template.updated_at == env.clock.now()
    assert (template.version, template.etag) == (1, '"1"')
    assert written.warnings == ()
    assert env.stored() == [template]


async def test_create_positional_template_keys_header_and_body_apart(env: Env) -> None:
    written = await env.create(positional_definition())

    template = written.template
    assert template.parameter_format is ParameterFormat.POSITIONAL
    assert [(p.key, p.locations) for p in template.parameters] == [
        ("header.1", (ParameterLocation.HEADER,)),
        ("1", (ParameterLocation.BODY,)),
        ("2", (ParameterLocation.BODY,)),
    ]
    assert await env.queries.get(env.viewer_a, key_of(template)) == template


async def test_create_returns_lint_warnings_without_failing(env: Env) -> None:
    definition = named_definition(body="Hi {{first_name}}, order {{order_id}} at {{store}} ok.")

    written = await env.create(definition)

    assert {w.code for w in written.warnings} == {"TOO_MANY_PARAMS_FOR_LENGTH"}
    assert len(env.stored()) == 1


async def test_invalid_template_raises_every_error_and_stores_nothing(env: Env) -> None:
    bad = TemplateDefinition(
        display_name="Bad Name",
        language_code="",
        category=None,
        components=Components(body="{{1}} hello", footer="Bye {{2}}"),
    )

    with pytest.raises(InvalidTemplate) as caught:
        await env.create(bad, request_id="req-invalid")

    assert {v.code for v in caught.value.violations} == {
        "NAME_INVALID",
        "LANGUAGE_REQUIRED",
        "CATEGORY_REQUIRED",
        "PARAM_AT_BODY_START",
        "FOOTER_HAS_PARAMS",
        "PARAM_EXAMPLE_REQUIRED",
    }
    assert all(v.severity == "ERROR" for v in caught.value.violations)
    assert env.stored() == []
    assert env.factory.store.idempotency == {}


async def test_duplicate_waba_name_and_language_already_exists(env: Env) -> None:
    await env.create(named_definition())

    with pytest.raises(AlreadyExists) as caught:
        await env.create(named_definition())

    assert (caught.value.resource_type, caught.value.name) == ("template", "order_ready.en_US")
    assert len(env.stored()) == 1


async def test_same_name_in_another_language_or_waba_is_a_different_template(env: Env) -> None:
    await env.create(named_definition(language="en_US"))
    await env.create(named_definition(language="pt_BR"))
    await env.create(named_definition(language="en_US"), waba_id=WABA_A2)

    assert len(env.stored()) == 3


async def test_repeated_request_id_returns_the_first_template(env: Env) -> None:
    first = await env.create(named_definition(), request_id="req-1")
    commits = env.factory.commits
    env.clock.advance(minutes=5)

    again = await env.create(named_definition(), request_id="req-1")

    assert again.template == first.template
    assert again.template.created_at == first.template.created_at
    assert env.stored() == [first.template]
    # Nothing written but the audit log's record of the repeat.
    assert env.factory.commits == commits + 1


async def test_request_id_with_a_different_request_is_refused(env: Env) -> None:
    await env.create(named_definition(), request_id="req-1")

    with pytest.raises(RequestIdReused) as caught:
        await env.create(named_definition(name="other_name"), request_id="req-1")
    with pytest.raises(RequestIdReused):
        await env.create(named_definition(), waba_id=WABA_A2, request_id="req-1")

    assert caught.value.request_id == "req-1"
    assert len(env.stored()) == 1


async def test_request_ids_are_scoped_to_the_organization(env: Env) -> None:
    await env.create(named_definition(), request_id="shared")

    written = await env.bus.handle(CreateTemplate(env.operator_b, WABA_B, named_definition(), "shared"))

    assert written.template.org_id == env.operator_b.org_id
    assert len(env.stored()) == 2


async def test_replaying_a_request_whose_template_was_deleted_is_not_found(env: Env) -> None:
    first = await env.create(named_definition(), request_id="req-1")
    await env.bus.handle(DeleteTemplate(env.operator_a, key_of(first.template)))

    with pytest.raises(NotFound):
        await env.create(named_definition(), request_id="req-1")

    assert env.stored() == []


# ---- authorization and tenancy ------------------------------------------------------------------


async def test_viewer_cannot_create(env: Env) -> None:
    with pytest.raises(PermissionDenied) as caught:
        await env.bus.handle(CreateTemplate(env.viewer_a, WABA_A, named_definition()))

    assert (caught.value.needed, caught.value.held) == ("operator", "viewer")
    assert env.stored() == []


async def test_viewer_cannot_update_or_delete(env: Env) -> None:
    template = (await env.create()).template
    revision = TemplateRevision(category=TemplateCategory.MARKETING)

    with pytest.raises(PermissionDenied):
        await env.bus.handle(UpdateTemplate(env.viewer_a, key_of(template), revision))
    with pytest.raises(PermissionDenied):
        await env.bus.handle(DeleteTemplate(env.viewer_a, key_of(template)))

    assert env.stored() == [template]


async def test_viewer_can_read_list_render_and_lint(env: Env) -> None:
    template = (await env.create()).template

    assert await env.queries.get(env.viewer_a, key_of(template)) == template
    page = await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 0, "")
    assert page.templates == [template]
    rendered = await env.queries.render(env.viewer_a, key_of(template), NAMED_VALUES)
    assert rendered.message.body_text.startswith("Hi Dana,")
    assert lint_definition(env.viewer_a, named_definition()).valid


async def test_admin_can_do_what_an_operator_can(env: Env) -> None:
    written = await env.bus.handle(CreateTemplate(env.admin_a, WABA_A, named_definition()))

    await env.bus.handle(DeleteTemplate(env.admin_a, key_of(written.template)))

    assert env.stored() == []


async def test_creating_in_another_orgs_waba_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound) as caught:
        await env.bus.handle(CreateTemplate(env.operator_a, WABA_B, named_definition()))
    with pytest.raises(NotFound) as missing:
        await env.bus.handle(CreateTemplate(env.operator_a, "555", named_definition()))

    # Another organization's WABA is indistinguishable from a missing one.
    assert (caught.value.resource_type, caught.value.name) == ("waba", f"wabas/{WABA_B}")
    assert str(missing.value) == str(caught.value).replace(WABA_B, "555")
    assert env.stored() == []


async def test_another_orgs_template_is_not_found_for_every_use_case(env: Env) -> None:
    template = (await env.create()).template
    key = key_of(template)
    intruder = env.operator_b

    with pytest.raises(NotFound):
        await env.queries.get(intruder, key)
    with pytest.raises(NotFound):
        await env.queries.render(intruder, key, NAMED_VALUES)
    with pytest.raises(NotFound):
        await env.bus.handle(
            UpdateTemplate(intruder, key, TemplateRevision(category=TemplateCategory.MARKETING))
        )
    with pytest.raises(NotFound):
        await env.bus.handle(DeleteTemplate(intruder, key))
    with pytest.raises(NotFound):
        await env.queries.list(intruder, TemplateQuery(org_id="", waba_id=WABA_A), 0, "")
    page = await env.queries.list(intruder, TemplateQuery(org_id=env.operator_a.org_id), 0, "")

    # query.org_id is always replaced by the caller's organization.
    assert page.templates == []
    assert env.stored() == [template]


# ---- update and delete --------------------------------------------------------------------------


async def test_update_with_the_current_etag(env: Env) -> None:
    template = (await env.create()).template
    env.clock.advance(hours=1)
    components = replace(template.components, footer="Thanks for shopping with us")

    written = await env.bus.handle(
        UpdateTemplate(
            env.operator_a,
            key_of(template),
            TemplateRevision(category=TemplateCategory.MARKETING, components=components),
            etag=template.etag,
        )
    )

    updated = written.template
    assert (updated.version, updated.etag) == (2, '"2"')
    assert updated.category is TemplateCategory.MARKETING
    assert updated.components.footer == "Thanks for shopping with us"
    assert updated.created_at == template.created_at
    assert updated.updated_at == env.clock.now() != template.updated_at
    assert await env.queries.get(env.viewer_a, key_of(template)) == updated


async def test_update_with_a_stale_etag_fails_and_changes_nothing(env: Env) -> None:
    template = (await env.create()).template
    revision = TemplateRevision(category=TemplateCategory.MARKETING)
    await env.bus.handle(UpdateTemplate(env.operator_a, key_of(template), revision, etag=template.etag))

    with pytest.raises(EtagMismatch) as caught:
        await env.bus.handle(
            UpdateTemplate(
                env.operator_a,
                key_of(template),
                TemplateRevision(category=TemplateCategory.UTILITY),
                etag='"1"',
            )
        )

    assert (caught.value.given, caught.value.current) == ('"1"', '"2"')
    stored = await env.queries.get(env.viewer_a, key_of(template))
    assert (stored.version, stored.category) == (2, TemplateCategory.MARKETING)


async def test_update_without_an_etag_is_unconditional(env: Env) -> None:
    template = (await env.create()).template
    for category in (TemplateCategory.MARKETING, TemplateCategory.UTILITY):
        await env.bus.handle(
            UpdateTemplate(env.operator_a, key_of(template), TemplateRevision(category=category))
        )

    stored = await env.queries.get(env.viewer_a, key_of(template))
    assert (stored.version, stored.category) == (3, TemplateCategory.UTILITY)


async def test_update_that_breaks_lint_leaves_the_stored_template_unchanged(env: Env) -> None:
    template = (await env.create()).template
    broken = replace(template.components, body="{{first_name}} starts the body", footer="x" * 61)

    with pytest.raises(InvalidTemplate) as caught:
        await env.bus.handle(
            UpdateTemplate(
                env.operator_a, key_of(template), TemplateRevision(components=broken), template.etag
            )
        )

    assert {"PARAM_AT_BODY_START", "FOOTER_TOO_LONG"} <= {v.code for v in caught.value.violations}
    assert env.stored() == [template]


async def test_update_of_a_missing_template_is_not_found(env: Env) -> None:
    key = TemplateKey(WABA_A, "nope", "en")
    with pytest.raises(NotFound):
        await env.bus.handle(UpdateTemplate(env.operator_a, key, TemplateRevision()))


async def test_delete(env: Env) -> None:
    template = (await env.create()).template

    await env.bus.handle(DeleteTemplate(env.operator_a, key_of(template), etag=template.etag))

    assert env.stored() == []
    with pytest.raises(NotFound):
        await env.queries.get(env.viewer_a, key_of(template))
    with pytest.raises(NotFound):
        await env.bus.handle(DeleteTemplate(env.operator_a, key_of(template)))


async def test_delete_with_a_stale_etag_keeps_the_template(env: Env) -> None:
    template = (await env.create()).template

    with pytest.raises(EtagMismatch):
        await env.bus.handle(DeleteTemplate(env.operator_a, key_of(template), etag='"9"'))

    assert env.stored() == [template]


async def test_a_deleted_key_can_be_created_again(env: Env) -> None:
    first = (await env.create()).template
    await env.bus.handle(DeleteTemplate(env.operator_a, key_of(first)))

    second = (await env.create()).template

    assert second.id != first.id
    assert env.stored() == [second]


# ---- list ---------------------------------------------------------------------------------------


async def test_paging_returns_everything_in_key_order_without_duplicates(env: Env) -> None:
    names = ["g_seven", "a_one", "e_five", "c_three", "b_two", "f_six", "d_four"]
    for name in names:
        await env.create(named_definition(name=name))

    found, pages = await list_all(env, TemplateQuery(org_id=""), page_size=3)

    assert [t.display_name for t in found] == sorted(names)
    assert pages == 3


async def test_list_orders_by_name_then_language(env: Env) -> None:
    for name, language in [("b_name", "en"), ("a_name", "pt_BR"), ("a_name", "en_US"), ("a_name", "de")]:
        await env.create(named_definition(name=name, language=language))

    found, _ = await list_all(env, TemplateQuery(org_id=""), page_size=1)

    assert [(t.display_name, t.language_code) for t in found] == [
        ("a_name", "de"),
        ("a_name", "en_US"),
        ("a_name", "pt_BR"),
        ("b_name", "en"),
    ]


async def test_page_size_zero_means_fifty(env: Env) -> None:
    await seed(env, 51)

    page = await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 0, "")

    assert len(page.templates) == 50
    assert page.next_page_token
    rest = await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 0, page.next_page_token)
    assert [t.display_name for t in rest.templates] == ["bulk_0050"]
    assert rest.next_page_token == ""


async def test_page_size_above_the_maximum_is_coerced(env: Env) -> None:
    await seed(env, MAX_PAGE_SIZE + 1)

    page = await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 10_000, "")

    assert len(page.templates) == MAX_PAGE_SIZE
    assert page.next_page_token


async def test_exactly_one_full_page_has_no_next_token(env: Env) -> None:
    await seed(env, 3)

    page = await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 3, "")

    assert len(page.templates) == 3
    assert page.next_page_token == ""


async def test_negative_page_size_is_invalid(env: Env) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), -1, "")

    assert caught.value.reason == "INVALID_PAGE_SIZE"
    assert [v.field for v in caught.value.violations] == ["page_size"]


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "eyJxIjoiYWJjIiwicCI6WyJhIiwiYiIsImMiXX0.AAAAAAAAAAAAAAAAAAAAAAAA",
        ".",
        "a.b.c",
        "\u00e9t\u00e9",
    ],
)
async def test_forged_page_token_is_invalid(env: Env, token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 3, token)

    assert caught.value.reason == "INVALID_PAGE_TOKEN"
    assert [v.field for v in caught.value.violations] == ["page_token"]


async def test_tampered_page_token_is_invalid(env: Env) -> None:
    await seed(env, 5)
    token = (await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 2, "")).next_page_token
    body, _, signature = token.partition(".")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature

    with pytest.raises(InvalidArgument) as caught:
        await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 2, tampered)

    assert caught.value.reason == "INVALID_PAGE_TOKEN"


async def test_page_token_of_another_query_is_invalid(env: Env) -> None:
    await seed(env, 5)
    token = (await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 2, "")).next_page_token
    other_query = TemplateQuery(org_id="", display_name_prefix="bulk_")

    with pytest.raises(InvalidArgument) as caught:
        await env.queries.list(env.viewer_a, other_query, 2, token)

    assert caught.value.reason == "INVALID_PAGE_TOKEN"
    # page_size is not part of the query: the same token works with another page size.
    page = await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 3, token)
    assert [t.display_name for t in page.templates] == ["bulk_0002", "bulk_0003", "bulk_0004"]


async def test_page_token_of_another_organization_is_invalid(env: Env) -> None:
    await seed(env, 5)
    token = (await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 2, "")).next_page_token

    with pytest.raises(InvalidArgument) as caught:
        await env.queries.list(env.operator_b, TemplateQuery(org_id=""), 2, token)

    assert caught.value.reason == "INVALID_PAGE_TOKEN"


async def test_page_token_signed_with_another_secret_is_invalid(env: Env) -> None:
    await seed(env, 5)
    token = (await env.queries.list(env.viewer_a, TemplateQuery(org_id=""), 2, "")).next_page_token
    other = TemplateQueries(
        env.factory, PageTokenCodec(b"another secret of enough length!"), FakeSendPayloads()
    )

    with pytest.raises(InvalidArgument) as caught:
        await other.list(env.viewer_a, TemplateQuery(org_id=""), 2, token)

    assert caught.value.reason == "INVALID_PAGE_TOKEN"


async def test_page_token_with_several_filter_values_is_valid_in_another_process(env: Env) -> None:
    # Replicas share the token secret, so a token must not depend on the process's hash seed
    # (set iteration order); a second interpreter with another seed must accept it.
    await seed(env, 3)
    statuses = frozenset(TemplateStatus)
    languages = frozenset({"en_US", "pt_BR", "de", "fr", "es", "it"})
    query = TemplateQuery(org_id="", statuses=statuses, language_codes=languages)
    token = (await env.queries.list(env.viewer_a, query, 1, "")).next_page_token
    script = f"""
import asyncio
from app.auth import Principal
from app.paging import PageTokenCodec
from app.ports import TemplateQuery
from app.queries import TemplateQueries
from domain.status import TemplateStatus
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory
from fakes.meta import FakeSendPayloads
queries = TemplateQueries(FakeUnitOfWorkFactory(), PageTokenCodec(b"k" * 32), FakeSendPayloads())
languages = frozenset({sorted(languages)!r})
query = TemplateQuery(org_id="", statuses=frozenset(TemplateStatus), language_codes=languages)
viewer = Principal({env.viewer_a.org_id!r}, Role.VIEWER, "key")
asyncio.run(queries.list(viewer, query, 1, {token!r}))
"""
    tests_dir = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    for seed_value in ("1", "2", "3"):
        environment = {**os.environ, "PYTHONHASHSEED": seed_value, "PYTHONPATH": tests_dir}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, env=environment, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await child.communicate()
        assert child.returncode == 0, stderr.decode()


async def test_list_filters(env: Env) -> None:
    await env.create(named_definition(name="order_ready", language="en_US"))
    await env.create(named_definition(name="order_ready", language="pt_BR"))
    await env.create(named_definition(name="order_late", category=TemplateCategory.MARKETING))
    await env.create(positional_definition(name="promo_code"))
    await env.create(named_definition(name="order_other_waba"), waba_id=WABA_A2)
    await env.bus.handle(CreateTemplate(env.operator_b, WABA_B, named_definition(name="order_of_b")))
    async with env.factory() as uow:
        late = await uow.templates.get_by_key(env.operator_a.org_id, WABA_A, "order_late", "en_US")
        assert late is not None
        late.status, late.quality = TemplateStatus.APPROVED, TemplateQuality.GREEN
        await uow.templates.update(late)
        await uow.commit()

    async def names(**filters: object) -> list[str]:
        query = TemplateQuery(org_id="", **filters)  # type: ignore[arg-type]
        found, _ = await list_all(env, query, page_size=2)
        return [f"{t.display_name}.{t.language_code}" for t in found]

    everything = [
        "order_late.en_US",
        "order_other_waba.en_US",
        "order_ready.en_US",
        "order_ready.pt_BR",
        "promo_code.en",
    ]
    assert await names() == everything
    assert await names(waba_id=WABA_A) == [n for n in everything if n != "order_other_waba.en_US"]
    assert await names(waba_id=WABA_A2) == ["order_other_waba.en_US"]
    assert await names(statuses=frozenset({TemplateStatus.APPROVED})) == ["order_late.en_US"]
    assert await names(statuses=frozenset({TemplateStatus.DRAFT, TemplateStatus.APPROVED})) == everything
    assert await names(qualities=frozenset({TemplateQuality.GREEN})) == ["order_late.en_US"]
    assert await names(categories=frozenset({TemplateCategory.UTILITY})) == [
        n for n in everything if n not in ("order_late.en_US", "promo_code.en")
    ]
    assert await names(
        categories=frozenset({TemplateCategory.AUTHENTICATION, TemplateCategory.MARKETING})
    ) == [
        "order_late.en_US",
        "promo_code.en",
    ]
    assert await names(language_codes=frozenset({"pt_BR", "en"})) == ["order_ready.pt_BR", "promo_code.en"]
    assert await names(display_name_prefix="order_r") == ["order_ready.en_US", "order_ready.pt_BR"]
    assert await names(display_name_prefix="Order") == []
    assert await names(parameter_formats=frozenset({ParameterFormat.POSITIONAL})) == ["promo_code.en"]
    assert await names(display_name_prefix="order_", language_codes=frozenset({"en_US"}), waba_id=WABA_A) == [
        "order_late.en_US",
        "order_ready.en_US",
    ]


# ---- render and lint ----------------------------------------------------------------------------


async def test_render_named(env: Env) -> None:
    template = (await env.create()).template

    rendered = await env.queries.render(env.viewer_a, key_of(template), NAMED_VALUES)

    message = rendered.message
    assert message.header_text == "Order A-1042 is ready"
    assert message.body_text == "Hi Dana, your order A-1042 is ready for pickup at Main St. See you soon!"
    assert [b.url for b in message.buttons] == ["", "https://shop.example.com/orders/A-1042"]
    assert rendered.template == template


async def test_render_positional(env: Env) -> None:
    template = (await env.create(positional_definition())).template

    rendered = await env.queries.render(
        env.viewer_a, key_of(template), {"header.1": "42", "1": "42", "2": "5"}
    )

    assert rendered.message.header_text == "Code 42"
    assert rendered.message.body_text == "Your code is 42 and it expires in 5 minutes."
    assert rendered.message.parameters == (
        SendParameter(SendComponent.HEADER, "42"),
        SendParameter(SendComponent.BODY, "42"),
        SendParameter(SendComponent.BODY, "5"),
    )
    assert rendered.meta_template == {"name": "login_code", "language": "en", "values": ["42", "42", "5"]}


async def test_render_with_a_missing_value_names_the_parameter(env: Env) -> None:
    template = (await env.create()).template
    values = {k: v for k, v in NAMED_VALUES.items() if k != "store"}

    with pytest.raises(InvalidParameterValues) as caught:
        await env.queries.render(env.viewer_a, key_of(template), values)

    assert [(v.code, v.key) for v in caught.value.violations] == [("VALUE_MISSING", "store")]
    assert "store" in str(caught.value)


async def test_render_reports_every_bad_value_at_once(env: Env) -> None:
    template = (await env.create()).template
    values = {**NAMED_VALUES, "first_name": "Dana\nSmith", "store": "", "coupon": "X"}

    with pytest.raises(InvalidParameterValues) as caught:
        await env.queries.render(env.viewer_a, key_of(template), values)

    assert {(v.code, v.key) for v in caught.value.violations} == {
        ("VALUE_FORBIDDEN_WHITESPACE", "first_name"),
        ("VALUE_EMPTY", "store"),
        ("VALUE_UNKNOWN", "coupon"),
    }


async def test_render_of_a_missing_template_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        await env.queries.render(env.viewer_a, TemplateKey(WABA_A, "missing", "en"), {})


def test_lint_reports_errors_and_warnings_without_storing(env: Env) -> None:
    definition = named_definition(body="{{first_name}} {{order_id}} {{store}}")

    report = lint_definition(env.viewer_a, definition)

    assert not report.valid
    assert {"PARAM_AT_BODY_START", "PARAM_AT_BODY_END", "PARAMS_ADJACENT"} <= {v.code for v in report.errors}
    assert "TOO_MANY_PARAMS_FOR_LENGTH" in {v.code for v in report.warnings}
    assert env.stored() == []
