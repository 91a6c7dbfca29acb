"""TemplateDefinition -> Meta's creation body, and Meta's listed template -> MetaTemplateState."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from test_meta_payloads import META_NAMED

from adapters.meta_graph.creation_payload import definition_to_meta
from adapters.meta_graph.payloads import definition_from_meta, state_from_meta
from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    OneTimePassword,
    OtpType,
    ParameterFormat,
    ParameterSpec,
    TemplateDefinition,
    UnknownComponent,
)
from domain.status import TemplateCategory

# The fact sheet's create-template example (section 3), shared with the parsing tests.
META_POSITIONAL: dict[str, Any] = {
    "name": "ship_update",
    "language": "pt_BR",
    "category": "MARKETING",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}", "example": {"header_text": ["860198"]}},
        {
            "type": "BODY",
            "text": "Olá {{1}}, o seu pedido {{2}} foi enviado. Código {{3}}.",
            "example": {"body_text": [["Pablo", "860198-230332", "XYZ"]]},
        },
        {"type": "FOOTER", "text": "Loja Exemplo"},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Rastrear",
                    "url": "https://t.example/{{1}}",
                    "example": ["https://t.example/99"],
                },
                {"type": "URL", "text": "Site", "url": "https://example.com"},
                {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999999999"},
                {"type": "COPY_CODE", "example": "SAVE15"},
            ],
        },
    ],
}


@pytest.mark.parametrize("payload", [META_NAMED, META_POSITIONAL], ids=["named", "positional"])
def test_meta_json_round_trips_exactly(payload: dict[str, Any]) -> None:
    assert definition_to_meta(definition_from_meta(payload)) == payload


@pytest.mark.parametrize("payload", [META_NAMED, META_POSITIONAL], ids=["named", "positional"])
def test_definitions_round_trip_through_meta_json(payload: dict[str, Any]) -> None:
    definition = definition_from_meta(payload)
    assert definition_from_meta(definition_to_meta(definition)) == definition


def test_positional_examples_are_ordered_by_placeholder_number_not_by_declaration() -> None:
    definition = TemplateDefinition(
        display_name="t",
        language_code="en",
        category=TemplateCategory.UTILITY,
        components=Components(body="Hi {{1}}, order {{2}} is {{3}} today."),
        parameters=(ParameterSpec("3", "late"), ParameterSpec("1", "Ann"), ParameterSpec("2", "7")),
        parameter_format=ParameterFormat.POSITIONAL,
    )
    [body] = definition_to_meta(definition)["components"]
    assert body["example"] == {"body_text": [["Ann", "7", "late"]]}


def test_the_parameter_format_is_always_sent_and_detected_when_unset() -> None:
    definition = TemplateDefinition(
        display_name="t",
        language_code="en",
        category=None,
        components=Components(body="Hello {{name}}, welcome aboard."),
        parameters=(ParameterSpec("name", "Ann"),),
    )
    payload = definition_to_meta(definition)
    assert payload["parameter_format"] == "NAMED"
    # No category in the definition: none invented (lint requires one before submission).
    assert "category" not in payload


def test_text_without_placeholders_has_no_example() -> None:
    definition = TemplateDefinition(
        display_name="t",
        language_code="en",
        category=TemplateCategory.UTILITY,
        components=Components(
            body="Your parcel is on its way.", header=Header(HeaderFormat.TEXT, "Shipping")
        ),
    )
    assert definition_to_meta(definition)["components"] == [
        {"type": "HEADER", "format": "TEXT", "text": "Shipping"},
        {"type": "BODY", "text": "Your parcel is on its way."},
    ]
    assert definition_to_meta(definition)["parameter_format"] == "POSITIONAL"


def test_media_headers_send_their_handles_and_location_headers_only_the_format() -> None:
    image = Header(HeaderFormat.IMAGE, example_media_handles=("4::aW1hZ2U=:ARb", "4::b:c"))
    base = TemplateDefinition("t", "en", TemplateCategory.MARKETING, Components(body="See the new range."))
    with_image = replace(base, components=replace(base.components, header=image))
    with_location = replace(base, components=replace(base.components, header=Header(HeaderFormat.LOCATION)))
    assert definition_to_meta(with_image)["components"][0] == {
        "type": "HEADER",
        "format": "IMAGE",
        "example": {"header_handle": ["4::aW1hZ2U=:ARb", "4::b:c"]},
    }
    assert definition_to_meta(with_location)["components"][0] == {"type": "HEADER", "format": "LOCATION"}


def test_a_missing_example_is_sent_empty_so_positions_hold() -> None:
    definition = TemplateDefinition(
        display_name="t",
        language_code="en",
        category=TemplateCategory.UTILITY,
        components=Components(
            body="Hi {{1}}, order {{2}} shipped.",
            buttons=(Button(ButtonType.URL, "Track", url="https://t.example/{{1}}"),),
        ),
        parameters=(ParameterSpec("2", "7"),),
        parameter_format=ParameterFormat.POSITIONAL,
    )
    body, buttons = definition_to_meta(definition)["components"]
    assert body["example"] == {"body_text": [["", "7"]]}
    # Without an example there is no sensible example URL; Meta's refusal names the gap.
    assert buttons["buttons"] == [{"type": "URL", "text": "Track", "url": "https://t.example/{{1}}"}]


def test_a_named_header_and_body_share_a_key() -> None:
    payload = definition_to_meta(definition_from_meta(META_NAMED))
    header, body = payload["components"][:2]
    assert header["example"]["header_text_named_params"] == [{"param_name": "order_id", "example": "A-1042"}]
    assert [p["param_name"] for p in body["example"]["body_text_named_params"]] == [
        "first_name",
        "order_id",
        "store",
    ]


# ---- state_from_meta ------------------------------------------------------------------------------


def listed(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        **copy.deepcopy(META_NAMED),
        "id": "1234567890",
        "status": "APPROVED",
        "quality_score": {"score": "GREEN", "date": 1732600000},
        "rejected_reason": "NONE",
    }
    item.update(overrides)
    return item


def test_a_listed_template_becomes_a_state() -> None:
    state = state_from_meta(listed())

    assert state.meta_template_id == "1234567890"
    assert (state.status, state.category, state.quality, state.rejected_reason) == (
        "APPROVED",
        "UTILITY",
        "GREEN",
        "NONE",
    )
    assert state.definition == definition_from_meta(META_NAMED)


@pytest.mark.parametrize(
    ("quality_score", "expected"),
    [({"score": "RED", "reasons": None}, "RED"), ("YELLOW", "YELLOW"), ({}, ""), (None, "")],
)
def test_quality_is_read_from_the_object_or_a_bare_value(quality_score: object, expected: str) -> None:
    assert state_from_meta(listed(quality_score=quality_score)).quality == expected


def test_an_absent_quality_score_is_empty() -> None:
    item = listed()
    del item["quality_score"]
    assert state_from_meta(item).quality == ""


def test_a_bare_item_is_read_with_defaults() -> None:
    state = state_from_meta({"id": 42})

    assert state.meta_template_id == "42"
    assert (state.status, state.category, state.quality, state.rejected_reason) == ("", "", "", "")
    assert state.definition.display_name == ""
    assert state.definition.components == Components(body="")
    # Meta's own default when parameter_format is absent.
    assert state.definition.parameter_format is ParameterFormat.POSITIONAL


def test_parts_this_service_does_not_model_are_kept_verbatim() -> None:
    item = listed(
        category="PROMOTIONAL",
        status="SOMETHING_NEW",
        parameter_format="FANCY",
        components=[
            {"type": "header", "format": "GIF", "example": {"header_handle": ["h"]}},
            {"type": "body", "text": "Hi {{1}}, your code is ready.", "example": {"body_text": [["Ann"]]}},
            {"type": "CAROUSEL", "cards": []},
            "not an object",
            {"type": "FOOTER", "text": None},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "OTP", "otp_type": "COPY_CODE"},
                    {"type": "quick_reply", "text": "Stop"},
                    "junk",
                ],
            },
        ],
    )

    state = state_from_meta(item)

    assert (state.category, state.status) == ("PROMOTIONAL", "SOMETHING_NEW")
    definition = state.definition
    assert definition.category is None
    assert definition.parameter_format is ParameterFormat.POSITIONAL
    assert definition.components == Components(
        body="Hi {{1}}, your code is ready.",
        buttons=(
            Button(ButtonType.OTP, "", otp=OneTimePassword(OtpType.COPY_CODE)),
            Button(ButtonType.QUICK_REPLY, "Stop"),
            Button(ButtonType.OTHER, "", extra='"junk"'),
        ),
        carousel=(),
        unknown=(
            UnknownComponent(0, '{"type":"header","format":"GIF","example":{"header_handle":["h"]}}'),
            UnknownComponent(3, '"not an object"'),
        ),
    )
    assert {p.key: p.example for p in definition.parameters} == {"1": "Ann"}
    # Submitted back as Meta listed it, byte for byte.
    assert json.dumps(definition_to_meta(definition)["components"]) == json.dumps(item["components"])


@pytest.mark.parametrize("components", [None, "BODY", {"type": "BODY"}])
def test_components_that_are_not_a_list_read_as_none(components: object) -> None:
    assert state_from_meta(listed(components=components)).definition.components == Components(body="")
