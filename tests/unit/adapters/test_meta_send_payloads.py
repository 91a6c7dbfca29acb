"""A rendered message as Meta's send request spells it (adapters.meta_graph.send_payloads)."""

from __future__ import annotations

from adapters.meta_graph.send_payloads import MetaSendPayloads, template_payload
from app.meta_ports import SendPayloads
from domain.rendering import render_definition
from support.sample_templates import (
    FACT_SHEET_SEND,
    NAMED,
    NAMED_VALUES,
    POSITIONAL,
    POSITIONAL_VALUES,
    with_values,
)


def test_named_send_is_the_fact_sheet_request() -> None:
    message = render_definition(NAMED, NAMED_VALUES)
    assert template_payload("order_ready", "en_US", message) == FACT_SHEET_SEND["template"]


def test_positional_send_carries_no_parameter_names_and_a_coupon_code() -> None:
    message = render_definition(POSITIONAL, with_values(POSITIONAL_VALUES, **{"button.3": "SUMMER25"}))
    assert template_payload("order_ready", "en_US", message) == {
        "name": "order_ready",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A-1042"}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Dana"},
                    {"type": "text", "text": "A-1042"},
                    {"type": "text", "text": "Main St"},
                ],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "1",
                "parameters": [{"type": "text", "text": "A-1042"}],
            },
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": "3",
                "parameters": [{"type": "coupon_code", "coupon_code": "SUMMER25"}],
            },
        ],
    }


def test_a_message_without_values_has_no_components() -> None:
    message = render_definition(POSITIONAL, POSITIONAL_VALUES)
    components = template_payload("order_ready", "en_US", message)["components"]
    assert isinstance(components, list)
    assert [c.get("sub_type") for c in components] == [None, None, "url", "copy_code"]


def test_each_payload_is_fresh() -> None:
    message = render_definition(NAMED, NAMED_VALUES)
    payload = template_payload("order_ready", "en_US", message)
    components = payload["components"]
    assert isinstance(components, list)
    components.clear()
    assert template_payload("order_ready", "en_US", message) == FACT_SHEET_SEND["template"]


def test_the_port_is_implemented() -> None:
    port: SendPayloads = MetaSendPayloads()
    assert (
        port.template("order_ready", "en_US", render_definition(NAMED, NAMED_VALUES))
        == FACT_SHEET_SEND["template"]
    )
