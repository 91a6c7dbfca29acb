"""Sends of every template type through the Graph adapter to the fake Graph server: the values each
type needs are checked like any other, and the request carries exactly the `components` JSON
Meta's documentation shows for that type (sub_types lowercase and indexes as strings, as the send
reference spells them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.messages import GraphMessageGateway
from adapters.meta_graph.payloads import definition_from_meta
from domain.errors import InvalidParameterValues
from domain.rendering import render_definition
from fakes.graph_server import FakeGraph
from integration.meta_graph.graph_cases import PHONE_NUMBER_ID
from support.template_fixtures import load


def text(value: str, name: str = "") -> dict[str, str]:
    return (
        {"type": "text", "parameter_name": name, "text": value} if name else {"type": "text", "text": value}
    )


def button(index: int, sub_type: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": list(parameters)}


MEDIA_CARD_VALUES = {
    "1": "Pablo",
    "2": "20%",
    "3": "20OFF",
    **{f"card.{c}.header.media": f"155808153158482{c}" for c in range(3)},
    **{f"card.{c}.button.0": f"more-{c}" for c in range(3)},
    **{f"card.{c}.button.1": f"elf-{c}" for c in range(3)},
}
SECTIONS = [
    {"title": "Popular Bundles", "product_retailer_ids": ["2lc20305pt", "nseiw1x3ch"]},
    {"title": "Premium Packages", "product_retailer_ids": ["n6k6x0y7oe"]},
]

CASES = [
    pytest.param(
        "authentication_copy_code_button",
        {"code": "J$FpnYnP"},
        [{"type": "body", "parameters": [text("J$FpnYnP")]}, button(0, "url", text("J$FpnYnP"))],
        id="authentication",
    ),
    pytest.param(
        "authentication_zero_tap_supported_apps",
        {"code": "123456"},
        [{"type": "body", "parameters": [text("123456")]}, button(0, "url", text("123456"))],
        id="authentication-zero-tap",
    ),
    pytest.param(
        "carousel_media_cards_image_quick_reply_url",
        MEDIA_CARD_VALUES,
        [
            {"type": "body", "parameters": [text("Pablo"), text("20%"), text("20OFF")]},
            {
                "type": "carousel",
                "cards": [
                    {
                        "card_index": c,
                        "components": [
                            {
                                "type": "header",
                                "parameters": [{"type": "image", "image": {"id": f"155808153158482{c}"}}],
                            },
                            button(0, "quick_reply", {"type": "payload", "payload": f"more-{c}"}),
                            button(1, "url", text(f"elf-{c}")),
                        ],
                    }
                    for c in range(3)
                ],
            },
        ],
        id="media-carousel",
    ),
    pytest.param(
        "carousel_product_cards_spm_view",
        {
            "1": "Pablo",
            **{f"card.{c}.header.product_retailer_id": f"sku-{c}" for c in range(2)},
            **{f"card.{c}.header.catalog_id": "194836987003835" for c in range(2)},
        },
        [
            {"type": "body", "parameters": [text("Pablo")]},
            {
                "type": "carousel",
                "cards": [
                    {
                        "card_index": c,
                        "components": [
                            {
                                "type": "header",
                                "parameters": [
                                    {
                                        "type": "product",
                                        "product": {
                                            "product_retailer_id": f"sku-{c}",
                                            "catalog_id": "194836987003835",
                                        },
                                    }
                                ],
                            }
                        ],
                    }
                    for c in range(2)
                ],
            },
        ],
        id="product-carousel",
    ),
    pytest.param(
        "limited_time_offer_caribbean_image_copy_code_url",
        {
            "header.media": "1602186516975000",
            "1": "Pablo",
            "2": "CARIBE25",
            "offer.expiration_time_ms": "1767225600000",
            "button.0": "CARIBE25",
            "button.1": "n3mtql",
        },
        [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "1602186516975000"}}]},
            {"type": "body", "parameters": [text("Pablo"), text("CARIBE25")]},
            {
                "type": "limited_time_offer",
                "parameters": [
                    {
                        "type": "limited_time_offer",
                        "limited_time_offer": {"expiration_time_ms": 1767225600000},
                    }
                ],
            },
            button(0, "copy_code", {"type": "coupon_code", "coupon_code": "CARIBE25"}),
            button(1, "url", text("n3mtql")),
        ],
        id="limited-time-offer",
    ),
    pytest.param(
        "catalog_intro_catalog_offer",
        {"1": "100", "2": "400", "3": "3", "button.0.thumbnail_product_retailer_id": "2lc20305pt"},
        [
            {"type": "body", "parameters": [text("100"), text("400"), text("3")]},
            button(
                0, "catalog", {"type": "action", "action": {"thumbnail_product_retailer_id": "2lc20305pt"}}
            ),
        ],
        id="catalog",
    ),
    pytest.param(
        "mpm_abandoned_cart",
        {
            "header.1": "Pablo",
            "1": "10OFF",
            "button.0.thumbnail_product_retailer_id": "2lc20305pt",
            "button.0.sections": json.dumps(SECTIONS),
        },
        [
            {"type": "header", "parameters": [text("Pablo")]},
            {"type": "body", "parameters": [text("10OFF")]},
            button(
                0,
                "mpm",
                {
                    "type": "action",
                    "action": {
                        "thumbnail_product_retailer_id": "2lc20305pt",
                        "sections": [
                            {
                                "title": "Popular Bundles",
                                "product_items": [
                                    {"product_retailer_id": "2lc20305pt"},
                                    {"product_retailer_id": "nseiw1x3ch"},
                                ],
                            },
                            {
                                "title": "Premium Packages",
                                "product_items": [{"product_retailer_id": "n6k6x0y7oe"}],
                            },
                        ],
                    },
                },
            ),
        ],
        id="multi-product",
    ),
    pytest.param(
        "spm_named_params_product_header",
        {
            "header.product_retailer_id": "nqryix03ez",
            "header.catalog_id": "194836987003835",
            "code": "25OFF",
            "percent": "25%",
        },
        [
            {
                "type": "header",
                "parameters": [
                    {
                        "type": "product",
                        "product": {"product_retailer_id": "nqryix03ez", "catalog_id": "194836987003835"},
                    }
                ],
            },
            {"type": "body", "parameters": [text("25OFF", "code"), text("25%", "percent")]},
        ],
        id="single-product",
    ),
    pytest.param(
        "flow_id_navigate_navigate_screen",
        {"button.0.flow_token": "FLOW_TOKEN", "button.0.flow_action_data": '{"product": "plant"}'},
        [
            button(
                0,
                "flow",
                {
                    "type": "action",
                    "action": {"flow_token": "FLOW_TOKEN", "flow_action_data": {"product": "plant"}},
                },
            )
        ],
        id="flow",
    ),
    pytest.param(
        "standard_voice_call_button_and_url",
        {"button.0.ttl_minutes": "100", "button.0.payload": "payload data"},
        [
            button(
                0,
                "voice_call",
                {"type": "ttl_minutes", "ttl_minutes": 100},
                {"type": "payload", "payload": "payload data"},
            )
        ],
        id="voice-call",
    ),
    pytest.param(
        "standard_order_delivery_update_location_header",
        {
            "header.latitude": "37.44211676562361",
            "header.longitude": "-122.16155960083124",
            "header.name": "Philz Coffee",
            "header.address": "101 Forest Ave, Palo Alto, CA 94301",
        },
        None,
        id="location",
    ),
]


@pytest.fixture
def gateway(client: GraphClient) -> GraphMessageGateway:
    return GraphMessageGateway(client)


@pytest.mark.parametrize(("name", "values", "expected"), CASES)
async def test_each_type_is_sent_as_meta_documents_it(
    graph: FakeGraph, gateway: GraphMessageGateway, name: str, values: dict[str, str], expected: Any
) -> None:
    template = load(name)
    definition = definition_from_meta(template)
    extra = _location_body_values(definition) if expected is None else {}
    message = render_definition(definition, {**values, **extra})

    await gateway.send_template(
        PHONE_NUMBER_ID, "+15551230000", template["name"], template["language"], message
    )

    [request] = graph.state.requests
    components = request.json["template"]["components"]
    if expected is None:
        expected = [
            {
                "type": "header",
                "parameters": [
                    {
                        "type": "location",
                        "location": {
                            "latitude": "37.44211676562361",
                            "longitude": "-122.16155960083124",
                            "name": "Philz Coffee",
                            "address": "101 Forest Ave, Palo Alto, CA 94301",
                        },
                    }
                ],
            },
            *components[1:],
        ]
    assert components == expected


def _location_body_values(definition: Any) -> dict[str, str]:
    return {p.key: p.example for p in definition.parameters}


@pytest.mark.parametrize(
    ("name", "values", "code", "key"),
    [
        ("authentication_copy_code_button", {}, "VALUE_MISSING", "code"),
        ("authentication_copy_code_button", {"code": "1234567890123456"}, "VALUE_TOO_LONG", "code"),
        ("carousel_media_cards_image_quick_reply_url", {}, "VALUE_MISSING", "card.2.header.media"),
        ("carousel_media_cards_image_quick_reply_url", {}, "VALUE_MISSING", "card.1.button.1"),
        ("limited_time_offer_caribbean_image_copy_code_url", {}, "VALUE_MISSING", "offer.expiration_time_ms"),
        (
            "limited_time_offer_caribbean_image_copy_code_url",
            {"offer.expiration_time_ms": "tomorrow"},
            "VALUE_NOT_A_TIME",
            "offer.expiration_time_ms",
        ),
        ("mpm_abandoned_cart", {}, "VALUE_MISSING", "button.0.sections"),
        ("mpm_abandoned_cart", {"button.0.sections": "[]"}, "VALUE_SECTIONS_INVALID", "button.0.sections"),
        (
            "mpm_abandoned_cart",
            {
                "button.0.sections": json.dumps(
                    [{"title": "T", "product_retailer_ids": [f"p{i}" for i in range(31)]}]
                )
            },
            "VALUE_SECTIONS_INVALID",
            "button.0.sections",
        ),
        ("spm_named_params_product_header", {}, "VALUE_MISSING", "header.catalog_id"),
        (
            "flow_id_navigate_navigate_screen",
            {"button.0.flow_action_data": "[1]"},
            "VALUE_NOT_JSON",
            "button.0.flow_action_data",
        ),
        (
            "standard_voice_call_button_and_url",
            {"button.0.ttl_minutes": "50000"},
            "VALUE_OUT_OF_RANGE",
            "button.0.ttl_minutes",
        ),
        ("catalog_intro_catalog_offer", {"button.0.sections": "[]"}, "VALUE_UNKNOWN", "button.0.sections"),
    ],
)
def test_each_types_values_are_checked_before_a_send(
    name: str, values: dict[str, str], code: str, key: str
) -> None:
    definition = definition_from_meta(load(name))

    with pytest.raises(InvalidParameterValues) as caught:
        render_definition(definition, values)

    assert (code, key) in {(v.code, v.key) for v in caught.value.violations}
