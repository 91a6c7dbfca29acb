"""watemplates.v1.TemplateService over a real in-process gRPC server (fakes behind it).

Failures are checked the way a client sees them: the canonical code plus the AIP-193 rich status
carried in the `grpc-status-details-bin` trailer (one ErrorInfo, BadRequest for bad input).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from domain.status import TemplateQuality, TemplateStatus
from integration.grpc.grpc_cases import (
    ERROR_DOMAIN,
    NAMED_VALUES,
    fails,
    named_template,
    rich_status,
)
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api

if TYPE_CHECKING:
    # Fixture types only: pytest loads conftest modules itself; importing one again would run it twice.
    from integration.grpc.conftest import GrpcWorld, Tenant

# Meta's send request (the Cloud API reference, "Send a template message"): its `template` object.
META_DOC_TEMPLATE = json.loads(
    """
    {"name":"order_ready","language":{"code":"en_US"},
     "components":[
      {"type":"header","parameters":[{"type":"text","parameter_name":"order_id","text":"A-1042"}]},
      {"type":"body","parameters":[
        {"type":"text","parameter_name":"first_name","text":"Dana"},
        {"type":"text","parameter_name":"order_id","text":"A-1042"},
        {"type":"text","parameter_name":"store","text":"Main St"}]},
      {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"A-1042"}]}]}
    """
)


# ---- helpers ------------------------------------------------------------------------------------


def positional_template(name: str = "login_code", language: str = "en") -> pb.Template:
    return pb.Template(
        display_name=name,
        language_code=language,
        category=pb.TEMPLATE_CATEGORY_MARKETING,
        components=pb.TemplateComponents(
            header=pb.TemplateHeader(format=pb.HEADER_FORMAT_TEXT, text="Code {{1}}"),
            body="Your code is {{1}} and it expires in {{2}} minutes.",
        ),
        parameters=[
            pb.TemplateParameter(key="header.1", example="123456"),
            pb.TemplateParameter(key="1", example="123456"),
            pb.TemplateParameter(key="2", example="10"),
        ],
    )


def broken_template() -> pb.Template:
    """Breaks seven rules at once (and triggers one warning, which is not an error)."""
    return pb.Template(
        display_name="Bad Name",
        language_code="",
        components=pb.TemplateComponents(
            body="{{1}} hello",
            footer="Bye {{2}}",
            buttons=[pb.TemplateButton(type=pb.BUTTON_TYPE_URL, text="Go", url="ftp://example.com")],
        ),
    )


BROKEN_TEMPLATE_ERRORS = {
    ("template.display_name", "NAME_INVALID"),
    ("template.language_code", "LANGUAGE_REQUIRED"),
    ("template.category", "CATEGORY_REQUIRED"),
    ("template.components.body", "PARAM_AT_BODY_START"),
    ("template.components.footer", "FOOTER_HAS_PARAMS"),
    ("template.components.buttons[0].url", "URL_INVALID"),
    ("template.parameters", "PARAM_EXAMPLE_REQUIRED"),
}


async def create(
    world: GrpcWorld,
    template: pb.Template | None = None,
    *,
    tenant: Tenant | None = None,
    request_id: str = "",
) -> pb.Template:
    tenant = tenant or world.a
    response: api.CreateTemplateResponse = await world.stub.CreateTemplate(
        api.CreateTemplateRequest(
            parent=tenant.parent, template=template or named_template(), request_id=request_id
        ),
        metadata=tenant.auth("operator"),
    )
    return response.template


async def list_names(
    world: GrpcWorld, request: api.ListTemplatesRequest, tenant: Tenant | None = None
) -> list[str]:
    """Every page of a list call, as template names."""
    tenant = tenant or world.a
    names: list[str] = []
    while True:
        response = await world.stub.ListTemplates(request, metadata=tenant.auth("viewer"))
        names += [t.name for t in response.templates]
        if not response.next_page_token:
            return names
        next_request = api.ListTemplatesRequest()
        next_request.CopyFrom(request)
        next_request.page_token = response.next_page_token
        request = next_request


async def stored_count(world: GrpcWorld, tenant: Tenant | None = None) -> int:
    return len(await list_names(world, api.ListTemplatesRequest(parent="wabas/-"), tenant))


# ---- authentication and authorization -----------------------------------------------------------


async def test_missing_key_is_unauthenticated(grpc_world: GrpcWorld) -> None:
    status = await fails(grpc_world.stub.GetTemplate(api.GetTemplateRequest(name="wabas/1/templates/x.en")))

    assert status.code == grpc.StatusCode.UNAUTHENTICATED
    assert status.reason == "MISSING_CREDENTIALS"


async def test_unknown_key_is_unauthenticated(grpc_world: GrpcWorld) -> None:
    metadata = (("authorization", "Bearer wat_000000000000_not-a-real-key"),)

    status = await fails(
        grpc_world.stub.ListTemplates(api.ListTemplatesRequest(parent="wabas/-"), metadata=metadata)
    )

    assert status.code == grpc.StatusCode.UNAUTHENTICATED
    assert status.reason == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "wat_abc_def", "Token wat_abc_def", ""],
    ids=["basic", "bearer-no-key", "bearer-blank", "no-scheme", "other-scheme", "empty"],
)
async def test_malformed_authorization_is_unauthenticated(grpc_world: GrpcWorld, header: str) -> None:
    status = await fails(
        grpc_world.stub.ListTemplates(
            api.ListTemplatesRequest(parent="wabas/-"), metadata=(("authorization", header),)
        )
    )

    assert status.code == grpc.StatusCode.UNAUTHENTICATED
    assert status.reason == "INVALID_CREDENTIALS"


async def test_bearer_scheme_is_case_insensitive(grpc_world: GrpcWorld) -> None:
    metadata = (("authorization", f"bearer {grpc_world.a.keys['viewer']}"),)

    response = await grpc_world.stub.ListTemplates(
        api.ListTemplatesRequest(parent="wabas/-"), metadata=metadata
    )

    assert list(response.templates) == []


async def test_revoked_key_is_unauthenticated(grpc_world: GrpcWorld) -> None:
    from app.commands import RevokeApiKey

    key = grpc_world.a.keys["viewer"]
    await grpc_world.stub.ListTemplates(
        api.ListTemplatesRequest(parent="wabas/-"), metadata=grpc_world.a.auth("viewer")
    )
    await grpc_world.services.bus.handle(RevokeApiKey(key.split("_")[1]))

    status = await fails(
        grpc_world.stub.ListTemplates(
            api.ListTemplatesRequest(parent="wabas/-"), metadata=grpc_world.a.auth("viewer")
        )
    )

    assert status.code == grpc.StatusCode.UNAUTHENTICATED


async def test_viewer_cannot_create(grpc_world: GrpcWorld) -> None:
    request = api.CreateTemplateRequest(parent=grpc_world.a.parent, template=named_template())

    status = await fails(grpc_world.stub.CreateTemplate(request, metadata=grpc_world.a.auth("viewer")))

    assert status.code == grpc.StatusCode.PERMISSION_DENIED
    assert status.reason == "INSUFFICIENT_ROLE"
    assert status.metadata == {"requiredRole": "operator", "grantedRole": "viewer"}
    assert await stored_count(grpc_world) == 0


async def test_viewer_cannot_update_or_delete(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    viewer = grpc_world.a.auth("viewer")

    update = await fails(
        grpc_world.stub.UpdateTemplate(api.UpdateTemplateRequest(template=template), metadata=viewer)
    )
    delete = await fails(
        grpc_world.stub.DeleteTemplate(api.DeleteTemplateRequest(name=template.name), metadata=viewer)
    )

    assert (update.code, update.reason) == (grpc.StatusCode.PERMISSION_DENIED, "INSUFFICIENT_ROLE")
    assert (delete.code, delete.reason) == (grpc.StatusCode.PERMISSION_DENIED, "INSUFFICIENT_ROLE")


async def test_viewer_can_get_list_lint_and_render(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    viewer = grpc_world.a.auth("viewer")
    stub = grpc_world.stub

    got = await stub.GetTemplate(api.GetTemplateRequest(name=template.name), metadata=viewer)
    listed = await stub.ListTemplates(api.ListTemplatesRequest(parent=grpc_world.a.parent), metadata=viewer)
    linted = await stub.LintTemplate(api.LintTemplateRequest(template=named_template()), metadata=viewer)
    rendered = await stub.RenderTemplate(
        api.RenderTemplateRequest(name=template.name, values=NAMED_VALUES), metadata=viewer
    )

    assert got.template == template
    assert list(listed.templates) == [template]
    assert linted.valid
    assert rendered.header_text == "Order A-1042 is ready"


async def test_another_orgs_template_is_not_found(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    intruder = grpc_world.b.auth("admin")

    status = await fails(
        grpc_world.stub.GetTemplate(api.GetTemplateRequest(name=template.name), metadata=intruder)
    )
    render = await fails(
        grpc_world.stub.RenderTemplate(
            api.RenderTemplateRequest(name=template.name, values=NAMED_VALUES), metadata=intruder
        )
    )
    delete = await fails(
        grpc_world.stub.DeleteTemplate(api.DeleteTemplateRequest(name=template.name), metadata=intruder)
    )
    listing = await fails(
        grpc_world.stub.ListTemplates(api.ListTemplatesRequest(parent=grpc_world.a.parent), metadata=intruder)
    )

    assert (status.code, status.reason) == (grpc.StatusCode.NOT_FOUND, "TEMPLATE_NOT_FOUND")
    assert status.metadata["name"] == template.name
    assert render.code == delete.code == grpc.StatusCode.NOT_FOUND
    assert (listing.code, listing.reason) == (grpc.StatusCode.NOT_FOUND, "WABA_NOT_FOUND")
    assert await stored_count(grpc_world, grpc_world.b) == 0
    assert await stored_count(grpc_world) == 1


async def test_creating_in_another_orgs_waba_is_not_found(grpc_world: GrpcWorld) -> None:
    request = api.CreateTemplateRequest(parent=grpc_world.b.parent, template=named_template())

    status = await fails(grpc_world.stub.CreateTemplate(request, metadata=grpc_world.a.auth("admin")))

    assert (status.code, status.reason) == (grpc.StatusCode.NOT_FOUND, "WABA_NOT_FOUND")
    assert await stored_count(grpc_world, grpc_world.b) == 0


# ---- create -------------------------------------------------------------------------------------


async def test_create_returns_the_stored_draft(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)

    assert template.name == f"wabas/{grpc_world.a.waba_id}/templates/order_ready.en_US"
    assert (template.waba_id, template.display_name, template.language_code) == (
        grpc_world.a.waba_id,
        "order_ready",
        "en_US",
    )
    assert template.status == pb.TEMPLATE_STATUS_DRAFT
    assert template.quality == pb.TEMPLATE_QUALITY_UNKNOWN
    assert template.parameter_format == pb.PARAMETER_FORMAT_NAMED
    assert template.etag == '"1"'
    assert template.create_time.ToDatetime().replace(tzinfo=None) == grpc_world.clock.now().replace(
        tzinfo=None
    )
    assert [(p.key, list(p.locations)) for p in template.parameters] == [
        ("order_id", [pb.PARAMETER_LOCATION_HEADER, pb.PARAMETER_LOCATION_BODY]),
        ("first_name", [pb.PARAMETER_LOCATION_BODY]),
        ("store", [pb.PARAMETER_LOCATION_BODY]),
        ("button.1", [pb.PARAMETER_LOCATION_BUTTON]),
    ]
    got = await grpc_world.stub.GetTemplate(
        api.GetTemplateRequest(name=template.name), metadata=grpc_world.a.auth()
    )
    assert got.template == template


async def test_create_returns_warnings(grpc_world: GrpcWorld) -> None:
    template = named_template()
    template.components.body = "Hi {{first_name}}, order {{order_id}} at {{store}} ok."

    response = await grpc_world.stub.CreateTemplate(
        api.CreateTemplateRequest(parent=grpc_world.a.parent, template=template), metadata=grpc_world.a.auth()
    )

    assert [(w.code, w.severity) for w in response.warnings] == [
        ("TOO_MANY_PARAMS_FOR_LENGTH", pb.VIOLATION_SEVERITY_WARNING)
    ]


async def test_invalid_template_lists_one_violation_per_lint_error_and_stores_nothing(
    grpc_world: GrpcWorld,
) -> None:
    request = api.CreateTemplateRequest(
        parent=grpc_world.a.parent, template=broken_template(), request_id="r-1"
    )

    status = await fails(grpc_world.stub.CreateTemplate(request, metadata=grpc_world.a.auth()))

    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert status.reason == "INVALID_TEMPLATE"
    assert len(status.violations) == len(BROKEN_TEMPLATE_ERRORS)
    assert set(status.violations) == BROKEN_TEMPLATE_ERRORS
    assert status.metadata == {"violationCount": str(len(BROKEN_TEMPLATE_ERRORS))}
    assert all(
        d.startswith(f"[{r}] ") for d, (_, r) in zip(status.descriptions, status.violations, strict=True)
    )
    assert await stored_count(grpc_world) == 0
    # The failed request_id is not burned: a fixed template may reuse it.
    assert (await create(grpc_world, request_id="r-1")).display_name == "order_ready"


async def test_duplicate_template_already_exists(grpc_world: GrpcWorld) -> None:
    await create(grpc_world)

    status = await fails(create(grpc_world))

    assert (status.code, status.reason) == (grpc.StatusCode.ALREADY_EXISTS, "TEMPLATE_ALREADY_EXISTS")
    assert status.metadata == {"resourceType": "template", "name": "order_ready.en_US"}
    assert await stored_count(grpc_world) == 1


async def test_the_same_key_in_another_org_is_not_a_duplicate(grpc_world: GrpcWorld) -> None:
    await create(grpc_world)

    template = await create(grpc_world, tenant=grpc_world.b)

    assert template.waba_id == grpc_world.b.waba_id


async def test_repeated_request_id_returns_the_first_result(grpc_world: GrpcWorld) -> None:
    first = await create(grpc_world, request_id="3f1c-create-order-ready")
    grpc_world.clock.advance(minutes=10)

    again = await create(grpc_world, request_id="3f1c-create-order-ready")

    assert again == first
    assert await list_names(grpc_world, api.ListTemplatesRequest(parent=grpc_world.a.parent)) == [first.name]


async def test_reused_request_id_with_another_body_is_invalid(grpc_world: GrpcWorld) -> None:
    await create(grpc_world, request_id="req-1")

    status = await fails(create(grpc_world, named_template(name="other_template"), request_id="req-1"))

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED")
    assert status.violations == [("request_id", "REQUEST_ID_REUSED")]
    assert await stored_count(grpc_world) == 1


# ---- update and delete --------------------------------------------------------------------------


async def test_update_with_the_current_etag(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    grpc_world.clock.advance(hours=1)
    template.category = pb.TEMPLATE_CATEGORY_MARKETING
    template.components.footer = "Thanks for shopping with us"

    response = await grpc_world.stub.UpdateTemplate(
        api.UpdateTemplateRequest(
            template=template, update_mask=field_mask_pb2.FieldMask(paths=["category"]), etag=template.etag
        ),
        metadata=grpc_world.a.auth(),
    )

    updated = response.template
    assert (updated.etag, updated.category) == ('"2"', pb.TEMPLATE_CATEGORY_MARKETING)
    # Only masked fields change.
    assert updated.components.footer == "Reply STOP to opt out"
    assert updated.update_time.ToSeconds() - updated.create_time.ToSeconds() == 3600


async def test_update_with_an_empty_mask_replaces_every_updatable_field(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    template.components.footer = "Thanks for shopping with us"

    response = await grpc_world.stub.UpdateTemplate(
        api.UpdateTemplateRequest(template=template), metadata=grpc_world.a.auth()
    )

    assert response.template.components.footer == "Thanks for shopping with us"


async def test_stale_etag_is_a_failed_precondition(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    request = api.UpdateTemplateRequest(
        template=template, update_mask=field_mask_pb2.FieldMask(paths=["category"]), etag=template.etag
    )
    await grpc_world.stub.UpdateTemplate(request, metadata=grpc_world.a.auth())

    status = await fails(grpc_world.stub.UpdateTemplate(request, metadata=grpc_world.a.auth()))

    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ETAG_MISMATCH")
    assert (status.metadata["givenEtag"], status.metadata["currentEtag"]) == ('"1"', '"2"')


async def test_stale_etag_on_delete_keeps_the_template(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)

    status = await fails(
        grpc_world.stub.DeleteTemplate(
            api.DeleteTemplateRequest(name=template.name, etag='"7"'), metadata=grpc_world.a.auth()
        )
    )

    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ETAG_MISMATCH")
    assert await stored_count(grpc_world) == 1


@pytest.mark.parametrize(
    "path", ["display_name", "template.display_name", "language_code", "name", "waba_id"]
)
async def test_update_mask_with_an_immutable_field_is_invalid(grpc_world: GrpcWorld, path: str) -> None:
    template = await create(grpc_world)
    request = api.UpdateTemplateRequest(template=template, update_mask=field_mask_pb2.FieldMask(paths=[path]))

    status = await fails(grpc_world.stub.UpdateTemplate(request, metadata=grpc_world.a.auth()))

    field_path = "template." + path.removeprefix("template.")
    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IMMUTABLE_FIELD")
    assert status.violations == [(field_path, "IMMUTABLE_FIELD")]


@pytest.mark.parametrize("path", ["colour", "status", "etag", "components.body.text", "category,components"])
async def test_update_mask_with_an_unknown_or_output_only_path_is_invalid(
    grpc_world: GrpcWorld, path: str
) -> None:
    template = await create(grpc_world)
    request = api.UpdateTemplateRequest(template=template, update_mask=field_mask_pb2.FieldMask(paths=[path]))

    status = await fails(grpc_world.stub.UpdateTemplate(request, metadata=grpc_world.a.auth()))

    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in status.violations] == ["update_mask"]


async def test_update_that_breaks_lint_changes_nothing(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    broken = pb.Template()
    broken.CopyFrom(template)
    broken.components.body = "{{first_name}} starts the body"

    status = await fails(
        grpc_world.stub.UpdateTemplate(
            api.UpdateTemplateRequest(template=broken), metadata=grpc_world.a.auth()
        )
    )

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TEMPLATE")
    assert ("template.components.body", "PARAM_AT_BODY_START") in status.violations
    got = await grpc_world.stub.GetTemplate(
        api.GetTemplateRequest(name=template.name), metadata=grpc_world.a.auth()
    )
    assert got.template == template


async def test_delete(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)

    await grpc_world.stub.DeleteTemplate(
        api.DeleteTemplateRequest(name=template.name, etag=template.etag), metadata=grpc_world.a.auth()
    )

    status = await fails(
        grpc_world.stub.GetTemplate(api.GetTemplateRequest(name=template.name), metadata=grpc_world.a.auth())
    )
    assert status.code == grpc.StatusCode.NOT_FOUND
    assert await stored_count(grpc_world) == 0


# ---- list ---------------------------------------------------------------------------------------


async def test_paging_over_seven_templates(grpc_world: GrpcWorld) -> None:
    names = ["g_seven", "a_one", "e_five", "c_three", "b_two", "f_six", "d_four"]
    for name in names:
        await create(grpc_world, named_template(name=name))
    viewer = grpc_world.a.auth("viewer")

    pages: list[list[str]] = []
    token = ""
    while True:
        response = await grpc_world.stub.ListTemplates(
            api.ListTemplatesRequest(parent=grpc_world.a.parent, page_size=3, page_token=token),
            metadata=viewer,
        )
        pages.append([t.display_name for t in response.templates])
        token = response.next_page_token
        if not token:
            break

    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [name for page in pages for name in page]
    assert flat == sorted(names)
    assert len(set(flat)) == len(flat)


async def test_negative_page_size_is_invalid(grpc_world: GrpcWorld) -> None:
    request = api.ListTemplatesRequest(parent="wabas/-", page_size=-1)

    status = await fails(grpc_world.stub.ListTemplates(request, metadata=grpc_world.a.auth("viewer")))

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_SIZE")
    assert [f for f, _ in status.violations] == ["page_size"]


@pytest.mark.parametrize(
    "token", ["forged", "eyJxIjoiIiwicCI6W119.AAAAAAAAAAAAAAAAAAAAAAAA", "a.b.c", "!!.??"]
)
async def test_forged_page_token_is_invalid(grpc_world: GrpcWorld, token: str) -> None:
    request = api.ListTemplatesRequest(parent="wabas/-", page_token=token)

    status = await fails(grpc_world.stub.ListTemplates(request, metadata=grpc_world.a.auth("viewer")))

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
    assert [f for f, _ in status.violations] == ["page_token"]


async def test_page_token_of_another_list_call_is_invalid(grpc_world: GrpcWorld) -> None:
    for name in ("a_one", "b_two", "c_three"):
        await create(grpc_world, named_template(name=name))
    viewer = grpc_world.a.auth("viewer")
    first = await grpc_world.stub.ListTemplates(
        api.ListTemplatesRequest(parent="wabas/-", page_size=1), metadata=viewer
    )

    other_filter = api.ListTemplatesRequest(parent="wabas/-", page_size=1, page_token=first.next_page_token)
    other_filter.display_name_prefix = "b"
    status = await fails(grpc_world.stub.ListTemplates(other_filter, metadata=viewer))
    other_org = await fails(
        grpc_world.stub.ListTemplates(
            api.ListTemplatesRequest(parent="wabas/-", page_token=first.next_page_token),
            metadata=grpc_world.b.auth("viewer"),
        )
    )

    assert status.reason == other_org.reason == "INVALID_PAGE_TOKEN"
    # A different page_size is not a different call (AIP-158).
    rest = await grpc_world.stub.ListTemplates(
        api.ListTemplatesRequest(parent="wabas/-", page_size=5, page_token=first.next_page_token),
        metadata=viewer,
    )
    assert [t.display_name for t in rest.templates] == ["b_two", "c_three"]


async def test_list_filters(grpc_world: GrpcWorld) -> None:
    from app.commands import AddWaba

    a = grpc_world.a
    await grpc_world.services.bus.handle(AddWaba(a.slug, "100200399", "second"))
    await create(grpc_world, named_template(name="order_ready", language="en_US"))
    await create(grpc_world, named_template(name="order_ready", language="pt_BR"))
    await create(grpc_world, named_template(name="order_late", category=pb.TEMPLATE_CATEGORY_MARKETING))
    await create(grpc_world, positional_template(name="promo_code"))
    await grpc_world.stub.CreateTemplate(
        api.CreateTemplateRequest(
            parent="wabas/100200399", template=named_template(name="order_second_waba")
        ),
        metadata=a.auth(),
    )
    await create(grpc_world, named_template(name="order_of_globex"), tenant=grpc_world.b)
    # Meta's verdicts arrive by webhook; set one straight in the store.
    async with grpc_world.factory() as uow:
        late = await uow.templates.get_by_key(a.org_id, a.waba_id, "order_late", "en_US")
        assert late is not None
        late.status, late.quality = TemplateStatus.APPROVED, TemplateQuality.GREEN
        await uow.templates.update(late)
        await uow.commit()

    async def names(parent: str = "wabas/-", **filters: Any) -> list[str]:
        request = api.ListTemplatesRequest(parent=parent, page_size=2, **filters)
        return [n.rsplit("/", 1)[1] for n in await list_names(grpc_world, request)]

    everything = [
        "order_late.en_US",
        "order_ready.en_US",
        "order_ready.pt_BR",
        "order_second_waba.en_US",
        "promo_code.en",
    ]
    assert await names() == everything
    assert await names(parent=a.parent) == [n for n in everything if n != "order_second_waba.en_US"]
    assert await names(parent="wabas/100200399") == ["order_second_waba.en_US"]
    assert await names(statuses=[pb.TEMPLATE_STATUS_APPROVED]) == ["order_late.en_US"]
    assert await names(statuses=[pb.TEMPLATE_STATUS_APPROVED, pb.TEMPLATE_STATUS_DRAFT]) == everything
    assert await names(statuses=[pb.TEMPLATE_STATUS_REJECTED]) == []
    assert await names(qualities=[pb.TEMPLATE_QUALITY_GREEN]) == ["order_late.en_US"]
    assert await names(categories=[pb.TEMPLATE_CATEGORY_UTILITY]) == [
        n for n in everything if n not in ("order_late.en_US", "promo_code.en")
    ]
    assert await names(categories=[pb.TEMPLATE_CATEGORY_AUTHENTICATION, pb.TEMPLATE_CATEGORY_MARKETING]) == [
        "order_late.en_US",
        "promo_code.en",
    ]
    assert await names(language_codes=["pt_BR", "en"]) == ["order_ready.pt_BR", "promo_code.en"]
    assert await names(display_name_prefix="order_r") == ["order_ready.en_US", "order_ready.pt_BR"]
    assert await names(display_name_prefix="ORDER") == []
    assert await names(parent=a.parent, display_name_prefix="order_", language_codes=["en_US"]) == [
        "order_late.en_US",
        "order_ready.en_US",
    ]


# ---- lint and render ----------------------------------------------------------------------------


async def test_lint_returns_every_violation_without_storing(grpc_world: GrpcWorld) -> None:
    response = await grpc_world.stub.LintTemplate(
        api.LintTemplateRequest(template=broken_template()), metadata=grpc_world.a.auth("viewer")
    )

    assert not response.valid
    errors = {(v.field, v.code) for v in response.violations if v.severity == pb.VIOLATION_SEVERITY_ERROR}
    warnings = {v.code for v in response.violations if v.severity == pb.VIOLATION_SEVERITY_WARNING}
    assert errors == BROKEN_TEMPLATE_ERRORS
    assert warnings == {"TOO_MANY_PARAMS_FOR_LENGTH"}
    assert all(v.message for v in response.violations)
    assert response.detected_parameter_format == pb.PARAMETER_FORMAT_POSITIONAL
    assert await stored_count(grpc_world) == 0


async def test_lint_of_a_valid_template_reports_detected_parameters(grpc_world: GrpcWorld) -> None:
    response = await grpc_world.stub.LintTemplate(
        api.LintTemplateRequest(template=named_template()), metadata=grpc_world.a.auth("viewer")
    )

    assert response.valid
    assert list(response.violations) == []
    assert response.detected_parameter_format == pb.PARAMETER_FORMAT_NAMED
    assert [p.key for p in response.detected_parameters] == ["order_id", "first_name", "store", "button.1"]


async def test_render_named_matches_metas_send_payload(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)

    response = await grpc_world.stub.RenderTemplate(
        api.RenderTemplateRequest(name=template.name, values=NAMED_VALUES),
        metadata=grpc_world.a.auth("viewer"),
    )

    assert response.header_text == "Order A-1042 is ready"
    assert response.body_text == "Hi Dana, your order A-1042 is ready for pickup at Main St. See you soon!"
    assert response.footer_text == "Reply STOP to opt out"
    assert [(b.type, b.text, b.url, b.phone_number) for b in response.buttons] == [
        (pb.BUTTON_TYPE_PHONE_NUMBER, "Call the store", "", "+15551230000"),
        (pb.BUTTON_TYPE_URL, "Track order", "https://shop.example.com/orders/A-1042", ""),
    ]
    assert json.loads(response.meta_components_json) == META_DOC_TEMPLATE["components"]
    assert json.loads(response.meta_template_json) == META_DOC_TEMPLATE


async def test_render_positional_leaves_out_parameter_names(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world, positional_template())

    response = await grpc_world.stub.RenderTemplate(
        api.RenderTemplateRequest(name=template.name, values={"2": "5", "1": "123456", "header.1": "123456"}),
        metadata=grpc_world.a.auth("viewer"),
    )

    assert response.header_text == "Code 123456"
    assert response.body_text == "Your code is 123456 and it expires in 5 minutes."
    assert json.loads(response.meta_components_json) == [
        {"type": "header", "parameters": [{"type": "text", "text": "123456"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "123456"}, {"type": "text", "text": "5"}]},
    ]
    assert json.loads(response.meta_template_json)["language"] == {"code": "en"}


async def test_render_with_a_missing_value_names_the_parameter(grpc_world: GrpcWorld) -> None:
    template = await create(grpc_world)
    values = {k: v for k, v in NAMED_VALUES.items() if k != "store"}

    status = await fails(
        grpc_world.stub.RenderTemplate(
            api.RenderTemplateRequest(name=template.name, values=values), metadata=grpc_world.a.auth("viewer")
        )
    )

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PARAMETER_VALUES")
    assert status.violations == [("values[store]", "VALUE_MISSING")]
    assert status.metadata == {"parameters": "store"}


# ---- resource names and malformed input ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "order_ready.en_US",
        "wabas/100200300/templates/order_ready",
        "wabas/100200300/templates/order.ready.en_US",
        "wabas/-/templates/order_ready.en_US",
        "wabas/abc/templates/order_ready.en_US",
        "/wabas/100200300/templates/order_ready.en_US",
        "wabas/100200300/templates/order_ready.en_US/",
        "wabas/100200300/template/order_ready.en_US",
    ],
)
async def test_bad_template_name_is_an_invalid_resource_name(grpc_world: GrpcWorld, name: str) -> None:
    status = await fails(
        grpc_world.stub.GetTemplate(api.GetTemplateRequest(name=name), metadata=grpc_world.a.auth("viewer"))
    )

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_RESOURCE_NAME")
    assert status.violations == [("name", "INVALID_RESOURCE_NAME")]


@pytest.mark.parametrize(
    "parent", ["", "wabas/", "wabas/-", "wabas/12a", "organizations/acme", "wabas/1/templates"]
)
async def test_bad_create_parent_is_an_invalid_resource_name(grpc_world: GrpcWorld, parent: str) -> None:
    request = api.CreateTemplateRequest(parent=parent, template=named_template())

    status = await fails(grpc_world.stub.CreateTemplate(request, metadata=grpc_world.a.auth()))

    assert (status.code, status.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_RESOURCE_NAME")
    assert status.violations == [("parent", "INVALID_RESOURCE_NAME")]


def _template(**changes: Any) -> pb.Template:
    template = named_template()
    for name, value in changes.items():
        if isinstance(value, list):
            repeated = getattr(template, name)
            del repeated[:]
            repeated.extend(value)
        else:
            setattr(template, name, value)
    return template


def _with_components(**changes: Any) -> pb.Template:
    template = named_template()
    for name, value in changes.items():
        if name == "buttons":
            del template.components.buttons[:]
            template.components.buttons.extend(value)
        elif name == "header":
            template.components.header.CopyFrom(value)
        else:
            setattr(template.components, name, value)
    return template


def _with_parameter(**spec: Any) -> pb.Template:
    template = named_template()
    template.parameters[0].MergeFrom(pb.TemplateParameter(**spec))
    return template


NAME = "wabas/100200300/templates/order_ready.en_US"
MASK = field_mask_pb2.FieldMask
MALFORMED: dict[str, tuple[str, Any]] = {
    "create-no-template": ("CreateTemplate", api.CreateTemplateRequest(parent="wabas/100200300")),
    "create-empty-template": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=pb.Template()),
    ),
    "create-no-parent": ("CreateTemplate", api.CreateTemplateRequest(template=named_template())),
    "create-unknown-waba": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/1", template=named_template()),
    ),
    "create-huge-waba-id": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/" + "9" * 40, template=named_template()),
    ),
    "create-unknown-category": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(category=99)),
    ),
    "create-negative-category": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(category=-1)),
    ),
    "create-unknown-format": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(parameter_format=42)),
    ),
    "create-wrong-format": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_template(parameter_format=pb.PARAMETER_FORMAT_POSITIONAL)
        ),
    ),
    "create-output-fields-set": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_template(status=99, quality=77, etag="x")
        ),
    ),
    "create-nul-name": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(display_name="a\x00b")),
    ),
    "create-slash-name": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(display_name="a/b.c")),
    ),
    "create-path-language": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(language_code="../..")),
    ),
    "create-huge-name": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(display_name="a" * 100_000)),
    ),
    "create-huge-body": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_with_components(body="word " * 40_000)),
    ),
    "create-braces-body": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_with_components(body="{{{{ }}}} {{" * 5)
        ),
    ),
    "create-emoji-body": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_with_components(body="\U0001f600 {{\U0001f600}} \u202e.")
        ),
    ),
    "create-unknown-header-format": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300",
            template=_with_components(
                header=pb.TemplateHeader(format=pb.HeaderFormat.ValueType(77), text="x")
            ),
        ),
    ),
    "create-media-header-with-text": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300",
            template=_with_components(header=pb.TemplateHeader(format=pb.HEADER_FORMAT_IMAGE, text="x")),
        ),
    ),
    "create-untyped-button": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_with_components(buttons=[pb.TemplateButton(text="x")])
        ),
    ),
    "create-unknown-button-type": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300",
            template=_with_components(
                buttons=[pb.TemplateButton(type=pb.ButtonType.ValueType(99), text="x")]
            ),
        ),
    ),
    "create-many-buttons": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300",
            template=_with_components(
                buttons=[pb.TemplateButton(type=pb.BUTTON_TYPE_QUICK_REPLY, text="Yes")] * 11
            ),
        ),
    ),
    "create-bad-regex": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_with_parameter(pattern="(")),
    ),
    "create-huge-repeat-regex": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_with_parameter(pattern="a{99999999999}")
        ),
    ),
    "create-deep-regex": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_with_parameter(pattern="(" * 1000 + ")" * 1000)
        ),
    ),
    "create-negative-max-length": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_with_parameter(max_length=-5)),
    ),
    "create-optional-without-default": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_with_parameter(optional=True)),
    ),
    "create-duplicate-parameter": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300",
            template=_template(parameters=[pb.TemplateParameter(key="order_id", example="1")] * 3),
        ),
    ),
    "get-empty-name": ("GetTemplate", api.GetTemplateRequest()),
    "get-long-name": ("GetTemplate", api.GetTemplateRequest(name="wabas/1/templates/" + "a" * 1_000 + ".en")),
    "get-unicode-name": (
        "GetTemplate",
        api.GetTemplateRequest(name="wabas/100200300/templates/\u00f1and\u00fa.en"),
    ),
    "get-missing": ("GetTemplate", api.GetTemplateRequest(name=NAME)),
    "list-no-parent": ("ListTemplates", api.ListTemplatesRequest()),
    "list-bad-parent": ("ListTemplates", api.ListTemplatesRequest(parent="wabas/x")),
    "list-unknown-waba": ("ListTemplates", api.ListTemplatesRequest(parent="wabas/42")),
    "list-negative-page-size": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", page_size=-(2**31)),
    ),
    "list-huge-page-size": ("ListTemplates", api.ListTemplatesRequest(parent="wabas/-", page_size=2**31 - 1)),
    "list-garbage-token": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", page_token="\u00e9\u00e9.\u00e9"),
    ),
    "list-padding-token": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", page_token="====.===="),
    ),
    "list-unknown-status": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", statuses=[pb.TemplateStatus.ValueType(99)]),
    ),
    "list-unspecified-status": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", statuses=[pb.TEMPLATE_STATUS_UNSPECIFIED]),
    ),
    "list-unknown-category": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", categories=[pb.TemplateCategory.ValueType(42)]),
    ),
    "list-unknown-quality": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", qualities=[pb.TemplateQuality.ValueType(-3)]),
    ),
    "list-odd-filters": (
        "ListTemplates",
        api.ListTemplatesRequest(parent="wabas/-", language_codes=["", "\x00"], display_name_prefix="%_\\"),
    ),
    "update-no-template": ("UpdateTemplate", api.UpdateTemplateRequest()),
    "update-bad-name": ("UpdateTemplate", api.UpdateTemplateRequest(template=_template(name="nope"))),
    "update-missing": ("UpdateTemplate", api.UpdateTemplateRequest(template=_template(name=NAME))),
    "update-output-only-mask": (
        "UpdateTemplate",
        api.UpdateTemplateRequest(template=_template(name=NAME), update_mask=MASK(paths=["status"])),
    ),
    "update-unknown-mask": (
        "UpdateTemplate",
        api.UpdateTemplateRequest(template=_template(name=NAME), update_mask=MASK(paths=["foo.bar", ""])),
    ),
    "update-immutable-mask": (
        "UpdateTemplate",
        api.UpdateTemplateRequest(template=_template(name=NAME), update_mask=MASK(paths=["language_code"])),
    ),
    "update-unknown-category": (
        "UpdateTemplate",
        api.UpdateTemplateRequest(
            template=_template(name=NAME, category=99), update_mask=MASK(paths=["category"])
        ),
    ),
    "update-unknown-button": (
        "UpdateTemplate",
        api.UpdateTemplateRequest(
            template=_with_components(buttons=[pb.TemplateButton(type=pb.ButtonType.ValueType(9))]),
            update_mask=MASK(paths=["components"]),
        ),
    ),
    "update-wildcard-empty": (
        "UpdateTemplate",
        api.UpdateTemplateRequest(template=pb.Template(name=NAME), update_mask=MASK(paths=["*"])),
    ),
    "delete-empty-name": ("DeleteTemplate", api.DeleteTemplateRequest()),
    "delete-missing": ("DeleteTemplate", api.DeleteTemplateRequest(name=NAME, etag="garbage")),
    "lint-no-template": ("LintTemplate", api.LintTemplateRequest()),
    "lint-unknown-enum": ("LintTemplate", api.LintTemplateRequest(template=_template(category=99))),
    "lint-unknown-button": (
        "LintTemplate",
        api.LintTemplateRequest(
            template=_with_components(buttons=[pb.TemplateButton(type=pb.ButtonType.ValueType(9))])
        ),
    ),
    "lint-deep-regex": (
        "LintTemplate",
        api.LintTemplateRequest(template=_with_parameter(pattern="(" * 1000 + ")" * 1000)),
    ),
    "render-bad-name": ("RenderTemplate", api.RenderTemplateRequest(name="x")),
    "render-missing": ("RenderTemplate", api.RenderTemplateRequest(name=NAME, values={"": "", "\x00": "\n"})),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_requests_never_fail_as_internal(grpc_world: GrpcWorld, case: str) -> None:
    method, request = MALFORMED[case]
    if not case.endswith("-missing"):
        # Give name-addressed calls something to find, so the bad part is what they trip over.
        await create(grpc_world)

    error: grpc.aio.AioRpcError | None = None
    try:
        await getattr(grpc_world.stub, method)(request, metadata=grpc_world.a.auth("admin"))
    except grpc.aio.AioRpcError as failed:
        error = failed
    if error is None:
        return  # Some odd requests are fine, e.g. linting an empty template (valid=false).

    assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), error.details()
    status = rich_status(error)
    assert (status.error_infos, status.domain) == (1, ERROR_DOMAIN)
    assert status.reason
    assert status.reason == status.reason.upper()


# Errors whose rich status outgrows gRPC's metadata limits. The status travels in the trailers
# (grpc-status-details-bin, plus the message again in grpc-message); gRPC clients refuse trailers
# over 8 KiB with rising probability and always over 16 KiB, so the caller gets RESOURCE_EXHAUSTED
# ("Stream removed") without code or details. The first case is an ordinary 901-character body.
OVERSIZED: dict[str, tuple[str, Any, grpc.StatusCode]] = {
    "sixty-spaced-placeholders": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300", template=_with_components(body="Hi {{ a }} and " * 60 + ".")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "fifty-broken-url-buttons": (
        "CreateTemplate",
        api.CreateTemplateRequest(
            parent="wabas/100200300",
            template=_with_components(
                buttons=[pb.TemplateButton(type=pb.BUTTON_TYPE_URL, text="", url="{{x}}{{y}}")] * 50
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "long-uppercase-display-name": (
        "CreateTemplate",
        api.CreateTemplateRequest(parent="wabas/100200300", template=_template(display_name="A" * 10_000)),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "long-template-name": (
        "GetTemplate",
        api.GetTemplateRequest(name="wabas/100200300/templates/" + "a" * 20_000 + ".en"),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
}


@pytest.mark.parametrize("case", sorted(OVERSIZED))
async def test_large_errors_keep_their_code_and_details(grpc_world: GrpcWorld, case: str) -> None:
    method, request, expected = OVERSIZED[case]

    status = await fails(getattr(grpc_world.stub, method)(request, metadata=grpc_world.a.auth("admin")))

    assert status.code == expected


# ---- health and reflection ----------------------------------------------------------------------


async def test_health_check_needs_no_key(grpc_world: GrpcWorld) -> None:
    health = health_pb2_grpc.HealthStub(grpc_world.channel)
    await grpc_world.server.set_serving(True)

    overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
    service = await health.Check(health_pb2.HealthCheckRequest(service="watemplates.v1.TemplateService"))

    assert overall.status == service.status == health_pb2.HealthCheckResponse.SERVING
    await grpc_world.server.set_serving(False)
    assert (
        await health.Check(health_pb2.HealthCheckRequest())
    ).status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_reflection_lists_the_template_service_without_a_key(grpc_world: GrpcWorld) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(grpc_world.channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="watemplates.v1.TemplateService"),
    ]

    responses = [response async for response in reflection.ServerReflectionInfo(iter(requests))]

    services = {s.name for s in responses[0].list_services_response.service}
    assert {"watemplates.v1.TemplateService", "grpc.health.v1.Health"} <= services
    # grpcurl also needs the descriptors, not only the names.
    assert responses[1].file_descriptor_response.file_descriptor_proto
