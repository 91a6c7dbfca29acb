"""Odd input for the template types: Meta's other ways of writing the same thing are read as that
thing, and what cannot be read is refused with a clear reason (or, from a sync, kept verbatim)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.grpc.components_mapping import components_from_proto, components_to_proto
from adapters.grpc.errors import RpcError
from adapters.meta_graph.payloads import PayloadError, definition_from_meta
from domain.components import ButtonType, OtpType
from domain.errors import InvalidParameterValues
from domain.lint import lint
from domain.rendering import render_definition
from support.template_fixtures import load
from watemplates.v1 import resources_pb2 as pb

DEEP = "[" * 5000 + "]" * 5000

# Meta lists an authentication template with Meta's texts and the OTP button as a URL button.
LISTED_AUTHENTICATION: dict[str, Any] = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {
            "type": "BODY",
            "text": "*{{1}}* is your verification code. For your security, do not share this code.",
        },
        {"type": "FOOTER", "text": "This code expires in 10 minutes.", "code_expiration_minutes": 10},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Autofill",
                    "url": "https://www.whatsapp.com/otp/code/?otp_type=ONE_TAP&cta_display_name=Autofill"
                    "&package_name=com.example.app&signature_hash=K8a%2FAINcGX7&code=otp{{1}}",
                }
            ],
        },
    ],
}


def test_an_authentication_template_as_meta_lists_it_is_one() -> None:
    definition = definition_from_meta(LISTED_AUTHENTICATION)

    [button] = definition.components.buttons
    assert button.type is ButtonType.OTP
    assert button.otp is not None
    assert button.otp.otp_type is OtpType.ONE_TAP
    assert button.otp.autofill_text == "Autofill"
    assert [(a.package_name, a.signature_hash) for a in button.otp.supported_apps] == [
        ("com.example.app", "K8a/AINcGX7")
    ]
    assert {v.code for v in lint(definition).errors} == set()
    message = render_definition(definition, {"code": "482913"})
    assert message.body_text.startswith("*482913* is your verification code.")


def test_a_copy_code_example_given_as_a_list_is_read() -> None:
    template = load("standard_coupon_code_copy_code_quick_reply")
    copy_code = next(b for b in template["components"][-1]["buttons"] if b["type"].upper() == "COPY_CODE")
    copy_code["example"] = [copy_code["example"]]

    definition = definition_from_meta(template)

    assert next(b for b in definition.components.buttons if b.type is ButtonType.COPY_CODE).example
    assert "COPY_CODE_EXAMPLE_REQUIRED" not in {v.code for v in lint(definition).violations}


@pytest.mark.parametrize("value", ["true", "True", True])
def test_metas_booleans_written_as_text_are_read(value: object) -> None:
    template = load("limited_time_offer_caribbean_image_copy_code_url")
    template["components"][1]["limited_time_offer"]["has_expiration"] = value

    assert definition_from_meta(template).components.limited_time_offer.has_expiration  # type: ignore[union-attr]


@pytest.mark.parametrize("minutes", ["ten", 10**12])
def test_an_unreadable_code_expiry_is_refused_or_kept_whole(minutes: object) -> None:
    template = load("authentication_copy_code_button")
    template["components"][1]["code_expiration_minutes"] = minutes

    with pytest.raises(PayloadError, match="code_expiration_minutes"):
        definition_from_meta(template)
    components = definition_from_meta(template, lenient=True).components
    assert components.code_expiration_minutes is None
    assert components.footer == ""
    assert [json.loads(part.json) for part in components.unknown] == [template["components"][1]]


def test_an_otp_button_keeps_the_form_its_apps_were_written_in_through_the_api() -> None:
    components = definition_from_meta(load("authentication_one_tap_button_level_package")).components

    again = components_from_proto(components_to_proto(components), "template.components")

    assert again == components


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        (pb.OtherComponent(position=1, meta_json="5"), "must be a JSON object"),
        (pb.OtherComponent(position=1, meta_json=DEEP), "is not JSON"),
        (pb.OtherComponent(position=1, meta_json='{"a": NaN}'), "is not JSON"),
        (pb.OtherComponent(position=1, meta_json='{"type": "body", "text": "dup"}'), "typed field"),
        (pb.OtherComponent(position=-1, meta_json='{"type": "X"}'), "0 or more"),
    ],
)
def test_other_components_from_the_api_must_be_components_this_version_does_not_type(
    part: pb.OtherComponent, reason: str
) -> None:
    message = pb.TemplateComponents(body="Hello there.", other_components=[part])

    with pytest.raises(RpcError) as caught:
        components_from_proto(message, "template.components")

    assert reason in str(caught.value)


def test_a_button_of_an_unknown_type_from_the_api_must_be_a_json_object() -> None:
    message = pb.TemplateComponents(
        body="Hello there.", buttons=[pb.TemplateButton(type=pb.BUTTON_TYPE_OTHER, meta_json=DEEP)]
    )

    with pytest.raises(RpcError, match="is not JSON"):
        components_from_proto(message, "template.components")


@pytest.mark.parametrize(
    ("name", "values", "code", "key"),
    [
        (
            "limited_time_offer_caribbean_image_copy_code_url",
            {"offer.expiration_time_ms": "\u00b9\u00b2"},
            "VALUE_NOT_A_TIME",
            "offer.expiration_time_ms",
        ),
        (
            "standard_voice_call_button_and_url",
            {"button.0.ttl_minutes": "\u00b2"},
            "VALUE_OUT_OF_RANGE",
            "button.0.ttl_minutes",
        ),
        (
            "flow_id_navigate_navigate_screen",
            {"button.0.flow_action_data": DEEP},
            "VALUE_NOT_JSON",
            "button.0.flow_action_data",
        ),
        (
            "flow_id_navigate_navigate_screen",
            {"button.0.flow_action_data": '{"a": NaN}'},
            "VALUE_NOT_JSON",
            "button.0.flow_action_data",
        ),
        (
            "mpm_abandoned_cart",
            {"button.0.sections": '[{"title": "A", "product_retailer_ids": ["x", true]}]'},
            "VALUE_SECTIONS_INVALID",
            "button.0.sections",
        ),
        ("mpm_abandoned_cart", {"button.0.sections": DEEP}, "VALUE_NOT_JSON", "button.0.sections"),
    ],
)
def test_odd_send_values_are_refused_with_their_reason(
    name: str, values: dict[str, str], code: str, key: str
) -> None:
    with pytest.raises(InvalidParameterValues) as caught:
        render_definition(definition_from_meta(load(name)), values)

    assert (code, key) in {(v.code, v.key) for v in caught.value.violations}


def test_sections_may_list_metas_product_items_objects() -> None:
    definition = definition_from_meta(load("mpm_abandoned_cart"))
    sections = '[{"title": "A", "product_items": ["sku-1", {"product_retailer_id": "sku-2"}]}]'

    message = render_definition(
        definition,
        {
            "header.1": "Pablo",
            "1": "10OFF",
            "button.0.thumbnail_product_retailer_id": "sku-1",
            "button.0.sections": sections,
        },
    )

    assert message.parameters[-1].fields[-1] == ("sections", sections)


def test_a_flow_json_too_deep_to_read_is_a_lint_error() -> None:
    template = load("flow_by_flow_id")
    button = template["components"][-1]["buttons"][0]
    button.pop("flow_id")
    button["flow_json"] = DEEP

    assert "FLOW_JSON_INVALID" in {v.code for v in lint(definition_from_meta(template)).errors}
