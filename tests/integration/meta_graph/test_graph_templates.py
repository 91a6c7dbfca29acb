"""GraphTemplateGateway against the fake Graph server: exact requests, paging, edits, deletes."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.templates import LIST_FIELDS, GraphTemplateGateway
from app.errors import MetaRequestRejected, MetaUnavailable
from app.meta_ports import MetaSubmission, TemplateGateway
from domain.components import ParameterFormat
from domain.status import TemplateCategory
from fakes.graph_server import FakeGraph
from integration.meta_graph.graph_cases import (
    FACT_SHEET_CREATE_NAMED,
    NAMED_DEFINITION,
    POSITIONAL_DEFINITION,
    TOKEN,
    WABA_ID,
    ClientFactory,
)


@pytest.fixture
def gateway(client: GraphClient) -> GraphTemplateGateway:
    return GraphTemplateGateway(client)


def test_the_gateway_implements_the_port(gateway: GraphTemplateGateway) -> None:
    port: TemplateGateway = gateway
    assert port is gateway


async def test_create_named_sends_the_fact_sheet_body_exactly(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    submission = await gateway.create(WABA_ID, NAMED_DEFINITION)

    [request] = graph.state.requests
    assert request.method == "POST"
    assert request.path == f"/{graph.version}/{WABA_ID}/message_templates"
    assert request.query == {}
    assert request.json == FACT_SHEET_CREATE_NAMED
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    [stored] = graph.state.templates_of(WABA_ID)
    assert submission == MetaSubmission(meta_template_id=stored["id"], status="PENDING", category="UTILITY")


async def test_create_positional_sends_nested_examples_in_placeholder_order(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    await gateway.create(WABA_ID, POSITIONAL_DEFINITION)

    assert graph.state.requests[0].json == {
        "name": "ship_update",
        "language": "pt_BR",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Pedido {{1}}",
                "example": {"header_text": ["860198"]},
            },
            {
                "type": "BODY",
                "text": "Olá {{1}}, o seu pedido {{2}} foi enviado e chega amanhã.",
                "example": {"body_text": [["Pablo", "860198-230332"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [{"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999999999"}],
            },
        ],
    }


async def test_create_reports_the_immediate_status_meta_gives(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    graph.state.create_status = "APPROVED"
    submission = await gateway.create(WABA_ID, NAMED_DEFINITION)
    assert submission.status == "APPROVED"


async def test_a_duplicate_name_and_language_is_a_rejection_with_metas_subcode(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    await gateway.create(WABA_ID, NAMED_DEFINITION)

    with pytest.raises(MetaRequestRejected) as caught:
        await gateway.create(WABA_ID, NAMED_DEFINITION)

    error = caught.value
    assert (error.code, error.subcode, error.http_status) == (100, 2388024, 400)
    assert "Content in this language already exists" in error.details
    assert error.fbtrace_id.startswith("A")
    assert error.fbtrace_id in str(error)
    # A business refusal is never repeated.
    assert len(graph.state.requests) == 2


async def test_a_name_meta_refuses_comes_back_as_a_rejection(gateway: GraphTemplateGateway) -> None:
    with pytest.raises(MetaRequestRejected, match="lowercase alphanumeric"):
        await gateway.create(WABA_ID, replace(NAMED_DEFINITION, display_name="Order-Ready"))


async def test_list_all_follows_paging_next_across_three_pages(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    for i in range(250):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}", quality="YELLOW" if i == 7 else "GREEN")
    graph.state.seed_template("another_waba", "not_ours")

    states = await gateway.list_all(WABA_ID)

    assert [s.definition.display_name for s in states] == [f"tpl_{i:03d}" for i in range(250)]
    assert states[7].quality == "YELLOW"
    assert {s.status for s in states} == {"APPROVED"}
    first, second, third = graph.state.requests
    assert first.query == {"fields": LIST_FIELDS, "limit": "100"}
    # Pages 2 and 3 come from Meta's absolute next links, which keep fields/limit and add a cursor.
    assert second.query["after"]
    assert third.query["after"] != second.query["after"]
    assert {second.query["limit"], third.query["limit"]} == {"100"}
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in graph.state.requests)


async def test_list_all_of_an_empty_waba_is_one_request(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    assert await gateway.list_all(WABA_ID) == []
    assert len(graph.state.requests) == 1


async def test_list_all_parses_the_listed_template(graph: FakeGraph, gateway: GraphTemplateGateway) -> None:
    create_body = copy.deepcopy(FACT_SHEET_CREATE_NAMED)
    record = graph.state.seed_template(
        WABA_ID,
        "order_ready",
        status="REJECTED",
        category="UTILITY",
        components=create_body["components"],
        parameter_format="NAMED",
        quality=None,
        rejected_reason="INVALID_FORMAT",
    )

    [state] = await gateway.list_all(WABA_ID)

    assert state.meta_template_id == record["id"]
    assert (state.status, state.category, state.quality, state.rejected_reason) == (
        "REJECTED",
        "UTILITY",
        "",
        "INVALID_FORMAT",
    )
    assert state.definition.parameter_format is ParameterFormat.NAMED
    assert state.definition.category is TemplateCategory.UTILITY
    assert state.definition.components == NAMED_DEFINITION.components
    assert {p.key: p.example for p in state.definition.parameters} == {
        p.key: p.example for p in NAMED_DEFINITION.parameters
    }


async def test_paging_next_to_a_foreign_host_is_refused(
    graph: FakeGraph, gateway: GraphTemplateGateway, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(150):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}")
    graph.state.rewrite_next = lambda url: url.replace(graph.base_url, "https://graph.evil.example")

    with pytest.raises(MetaUnavailable, match="refused to follow a Graph paging link") as caught:
        await gateway.list_all(WABA_ID)

    assert caught.value.retryable is False
    # The caller is not told the configured Graph address; the operator's log names both hosts.
    assert graph.base_url.split("//")[1] not in str(caught.value)
    assert any("graph.evil.example" in r.getMessage() for r in caplog.records)

    # Only the first page was fetched: nothing (and no token) went anywhere else.
    assert len(graph.state.requests) == 1


async def test_paging_next_on_another_port_of_the_same_host_is_refused(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    for i in range(150):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}")
    graph.state.rewrite_next = lambda url: url.replace(graph.base_url, "http://127.0.0.1:1")

    with pytest.raises(MetaUnavailable, match="refused to follow"):
        await gateway.list_all(WABA_ID)


async def test_a_next_link_that_repeats_ends_paging_without_duplicates(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    for i in range(150):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}")
    # Every next link points back at the second page, forever.
    first_next: list[str] = []

    def loop(url: str) -> str:
        first_next.append(url)
        return first_next[0]

    graph.state.rewrite_next = loop

    states = await gateway.list_all(WABA_ID)

    assert len(states) == 150
    assert len({s.meta_template_id for s in states}) == 150
    assert len(graph.state.requests) == 2


async def test_an_access_token_echoed_into_paging_links_is_not_sent_in_the_url(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    for i in range(120):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}")
    graph.state.echo_token_in_next = True

    assert len(await gateway.list_all(WABA_ID)) == 120

    second = graph.state.requests[1]
    assert "access_token" not in second.query
    assert second.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_list_all_retries_a_failed_page_and_carries_on(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    for i in range(150):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}")
    states_before = len(graph.state.requests)
    graph.state.fail_next(1, status=503)

    assert len(await gateway.list_all(WABA_ID)) == 150
    # 503, page 1 again, page 2.
    assert len(graph.state.requests) - states_before == 3


async def test_edit_sends_components_only_unless_the_category_is_asked_for(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    record = graph.state.seed_template(WABA_ID, "order_ready", status="REJECTED", category="MARKETING")

    await gateway.edit(record["id"], NAMED_DEFINITION, include_category=False)
    record["status"] = "REJECTED"
    await gateway.edit(record["id"], NAMED_DEFINITION, include_category=True)

    without, with_category = graph.state.requests
    assert (without.method, without.path) == ("POST", f"/{graph.version}/{record['id']}")
    assert without.json == {"components": FACT_SHEET_CREATE_NAMED["components"]}
    assert with_category.json == {
        "components": FACT_SHEET_CREATE_NAMED["components"],
        "category": "UTILITY",
    }
    assert record["category"] == "UTILITY"
    assert record["components"] == FACT_SHEET_CREATE_NAMED["components"]


async def test_editing_an_approved_templates_category_is_refused_by_meta(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    record = graph.state.seed_template(WABA_ID, "order_ready", status="APPROVED", category="MARKETING")

    with pytest.raises(MetaRequestRejected, match="approved template"):
        await gateway.edit(record["id"], NAMED_DEFINITION, include_category=True)
    assert len(graph.state.requests) == 1


async def test_editing_an_unknown_template_is_a_rejection(gateway: GraphTemplateGateway) -> None:
    with pytest.raises(MetaRequestRejected) as caught:
        await gateway.edit("999999", NAMED_DEFINITION, include_category=False)
    assert (caught.value.code, caught.value.subcode) == (100, 33)


async def test_delete_names_one_language_by_hsm_id(graph: FakeGraph, gateway: GraphTemplateGateway) -> None:
    english = graph.state.seed_template(WABA_ID, "order_ready", language="en_US")
    spanish = graph.state.seed_template(WABA_ID, "order_ready", language="es_ES")

    await gateway.delete(WABA_ID, english["id"], "order_ready")

    [request] = graph.state.requests
    assert request.method == "DELETE"
    assert request.path == f"/{graph.version}/{WABA_ID}/message_templates"
    assert request.query == {"hsm_id": english["id"], "name": "order_ready"}
    assert request.json is None
    assert [t["id"] for t in graph.state.templates_of(WABA_ID)] == [spanish["id"]]


async def test_a_disabled_template_cannot_be_deleted(graph: FakeGraph, gateway: GraphTemplateGateway) -> None:
    record = graph.state.seed_template(WABA_ID, "old_promo", status="DISABLED")

    with pytest.raises(MetaRequestRejected, match="DISABLED cannot be deleted"):
        await gateway.delete(WABA_ID, record["id"], "old_promo")
    assert len(graph.state.requests) == 1


async def test_ids_that_would_change_the_path_are_refused_before_any_request(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    with pytest.raises(ValueError, match="not a Graph object id"):
        await gateway.list_all("")
    with pytest.raises(ValueError, match="not a Graph object id"):
        await gateway.edit("123/unpause", NAMED_DEFINITION, include_category=False)
    assert graph.state.requests == []


async def test_a_page_cap_refuses_to_return_a_partial_list(
    graph: FakeGraph, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adapters.meta_graph.templates as templates_module

    monkeypatch.setattr(templates_module, "MAX_PAGES", 2)
    for i in range(250):
        graph.state.seed_template(WABA_ID, f"tpl_{i:03d}")

    with pytest.raises(MetaUnavailable, match="did not end after 2 pages"):
        await GraphTemplateGateway(make_client()).list_all(WABA_ID)


async def test_an_answer_holding_a_lone_surrogate_is_refused_not_stored(
    graph: FakeGraph, gateway: GraphTemplateGateway
) -> None:
    graph.state.seed_template(WABA_ID, "order_ready", rejected_reason="bad \ud800 text")

    with pytest.raises(MetaUnavailable, match="lone UTF-16 surrogate") as caught:
        await gateway.list_all(WABA_ID)

    assert caught.value.retryable is False
