"""GraphMessageGateway against the fake Graph server: exact send bodies, results, send failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.messages import GraphMessageGateway
from app.errors import MetaRateLimited, MetaTemplatePaused, MetaUnavailable, MetaWindowClosed
from app.meta_ports import MessageGateway
from domain.rendering import RenderedMessage, render_definition
from fakes.graph_server import FakeGraph
from integration.meta_graph.graph_cases import (
    NAMED_DEFINITION,
    PHONE_NUMBER_ID,
    POSITIONAL_DEFINITION,
    WABA_ID,
    ClientFactory,
)

# The fact sheet's send request (meta-platform.md, section 5), verbatim.
FACT_SHEET_SEND: dict[str, Any] = json.loads(
    """
{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15551230000","type":"template",
 "template":{"name":"order_ready","language":{"code":"en_US"},
  "components":[
   {"type":"header","parameters":[{"type":"text","parameter_name":"order_id","text":"A-1042"}]},
   {"type":"body","parameters":[
     {"type":"text","parameter_name":"first_name","text":"Dana"},
     {"type":"text","parameter_name":"order_id","text":"A-1042"},
     {"type":"text","parameter_name":"store","text":"Main St"}]},
   {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"A-1042"}]}]}}
"""
)
NAMED_VALUES = {"first_name": "Dana", "order_id": "A-1042", "store": "Main St", "button.1": "A-1042"}


@pytest.fixture
def gateway(client: GraphClient) -> GraphMessageGateway:
    return GraphMessageGateway(client)


def named_template() -> tuple[str, str, RenderedMessage]:
    """The template name, language and rendered message of the fact sheet's send."""
    return "order_ready", "en_US", render_definition(NAMED_DEFINITION, NAMED_VALUES)


def test_the_gateway_implements_the_port(gateway: GraphMessageGateway) -> None:
    port: MessageGateway = gateway
    assert port is gateway


async def test_a_named_send_is_the_fact_sheet_request(graph: FakeGraph, gateway: GraphMessageGateway) -> None:
    result = await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    [request] = graph.state.requests
    assert (request.method, request.path) == ("POST", f"/{graph.version}/{PHONE_NUMBER_ID}/messages")
    assert request.json == FACT_SHEET_SEND
    assert result.message_id.startswith("wamid.")
    assert result.message_status == "accepted"
    assert result.wa_id == "15551230000"


async def test_a_positional_send_carries_no_parameter_names(
    graph: FakeGraph, gateway: GraphMessageGateway
) -> None:
    message = render_definition(
        POSITIONAL_DEFINITION, {"header.1": "860198", "1": "Pablo", "2": "860198-230332"}
    )

    await gateway.send_template(PHONE_NUMBER_ID, "5511987654321", "ship_update", "pt_BR", message)

    assert graph.state.requests[0].json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "type": "template",
        "template": {
            "name": "ship_update",
            "language": {"code": "pt_BR"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "860198"}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Pablo"},
                        {"type": "text", "text": "860198-230332"},
                    ],
                },
            ],
        },
    }


async def test_callback_data_is_sent_only_when_given(graph: FakeGraph, gateway: GraphMessageGateway) -> None:
    await gateway.send_template(
        PHONE_NUMBER_ID, "+15551230000", *named_template(), callback_data="camp-7:c-42"
    )
    await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    with_data, without = (r.json for r in graph.state.requests)
    assert with_data["biz_opaque_callback_data"] == "camp-7:c-42"
    assert "biz_opaque_callback_data" not in without


async def test_metas_pacing_signal_is_passed_through(graph: FakeGraph, gateway: GraphMessageGateway) -> None:
    graph.state.send_message_status = "held_for_quality_assessment"
    result = await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())
    assert result.message_status == "held_for_quality_assessment"


async def test_a_paused_template_raises_template_paused_once(
    graph: FakeGraph, gateway: GraphMessageGateway
) -> None:
    graph.state.seed_template(WABA_ID, "order_ready", status="PAUSED")

    with pytest.raises(MetaTemplatePaused) as caught:
        await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    assert caught.value.code == 132015
    assert caught.value.fbtrace_id
    assert len(graph.state.requests) == 1


async def test_a_closed_window_raises_window_closed(graph: FakeGraph, gateway: GraphMessageGateway) -> None:
    graph.state.fail_next_with_code(131047, details="Message failed to send because more than 24 hours ...")

    with pytest.raises(MetaWindowClosed, match=r"\(#131047\) Re-engagement message") as caught:
        await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    assert caught.value.details.startswith("Message failed to send")
    assert len(graph.state.requests) == 1


async def test_a_pair_rate_limit_is_not_retried(graph: FakeGraph, gateway: GraphMessageGateway) -> None:
    graph.state.fail_next_with_code(131056, n=3)

    with pytest.raises(MetaRateLimited) as caught:
        await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    assert caught.value.code == 131056
    assert caught.value.retryable is False
    # Per recipient: the caller reschedules this one message (about one per 6 s per user).
    assert caught.value.retry_after_seconds == 6.0
    assert len(graph.state.requests) == 1


async def test_a_throughput_limit_is_retried(graph: FakeGraph, gateway: GraphMessageGateway) -> None:
    graph.state.fail_next_with_code(130429, http_status=429, retry_after=0)

    result = await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    assert result.message_id.startswith("wamid.")
    assert len(graph.state.requests) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, None), (503, None), (200, "not json"), (200, [1, 2])],
)
async def test_a_send_answered_with_a_server_error_or_garbage_is_not_repeated(
    graph: FakeGraph, gateway: GraphMessageGateway, status: int, body: Any
) -> None:
    # Meta may have accepted the message before its edge failed: a second send could deliver it twice.
    graph.state.fail_next(1, status=status, body=body)

    with pytest.raises(MetaUnavailable) as caught:
        await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    assert (caught.value.retryable, caught.value.outcome_unknown) == (False, True)
    assert len(graph.state.requests) == 1


async def test_a_send_that_timed_out_is_not_repeated(graph: FakeGraph, make_client: ClientFactory) -> None:
    gateway = GraphMessageGateway(make_client(timeout=0.2))
    graph.state.delay_next(1.0)

    with pytest.raises(MetaUnavailable, match="may have processed the request") as caught:
        await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    # Meta may have delivered it; a second request could message the customer twice.
    assert caught.value.retryable is False
    assert len(graph.state.requests) == 1


async def test_an_answer_without_a_message_id_is_unavailable_and_not_retried(
    graph: FakeGraph, gateway: GraphMessageGateway
) -> None:
    graph.state.fail_next(1, status=200, body={"messaging_product": "whatsapp", "messages": []})

    with pytest.raises(MetaUnavailable, match=r"no messages\[0\]\.id") as caught:
        await gateway.send_template(PHONE_NUMBER_ID, "+15551230000", *named_template())

    assert caught.value.retryable is False
    assert len(graph.state.requests) == 1
