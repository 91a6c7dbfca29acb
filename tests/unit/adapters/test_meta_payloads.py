"""Meta's template JSON -> TemplateDefinition (used by `watemplates lint` and, later, sync)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from adapters.meta_graph.payloads import PayloadError, definition_from_meta
from domain.components import ButtonType, HeaderFormat, ParameterFormat
from domain.lint import lint
from domain.status import TemplateCategory

# The fact sheet's create-template example (section 3), verbatim.
META_NAMED: dict[str, Any] = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{order_id}} is ready",
            "example": {"header_text_named_params": [{"param_name": "order_id", "example": "A-1042"}]},
        },
        {
            "type": "BODY",
            "text": "Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Dana"},
                    {"param_name": "order_id", "example": "A-1042"},
                    {"param_name": "store", "example": "Main St"},
                ]
            },
        },
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Thanks"},
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://example.com/t/{{1}}",
                    "example": ["https://example.com/t/A-1042"],
                },
            ],
        },
    ],
}

META_POSITIONAL: dict[str, Any] = {
    "name": "ship_update",
    "language": "pt_BR",
    "category": "utility",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}", "example": {"header_text": ["860198"]}},
        {
            "type": "BODY",
            "text": "Olá {{1}}, o seu pedido {{2}} foi enviado e chega amanhã.",
            "example": {"body_text": [["Pablo", "860198-230332"]]},
        },
    ],
}


def test_named_example_from_the_fact_sheet_is_valid() -> None:
    definition = definition_from_meta(META_NAMED)
    assert definition.parameter_format is ParameterFormat.NAMED
    assert definition.category is TemplateCategory.UTILITY
    assert definition.components.header is not None
    assert definition.components.header.format is HeaderFormat.TEXT
    assert [b.type for b in definition.components.buttons] == [ButtonType.QUICK_REPLY, ButtonType.URL]
    examples = {p.key: p.example for p in definition.parameters}
    assert examples == {"order_id": "A-1042", "first_name": "Dana", "store": "Main St", "button.1": "A-1042"}
    report = lint(definition)
    assert report.errors == ()


def test_positional_examples_map_to_keys_and_lowercase_category_is_accepted() -> None:
    definition = definition_from_meta(META_POSITIONAL)
    assert definition.parameter_format is ParameterFormat.POSITIONAL
    assert definition.category is TemplateCategory.UTILITY
    assert {p.key: p.example for p in definition.parameters} == {
        "header.1": "860198",
        "1": "Pablo",
        "2": "860198-230332",
    }
    assert lint(definition).errors == ()


def test_absent_parameter_format_means_positional_so_named_text_is_flagged() -> None:
    payload = copy.deepcopy(META_NAMED)
    del payload["parameter_format"]
    report = lint(definition_from_meta(payload))
    assert "PARAM_FORMAT_MISMATCH" in {v.code for v in report.errors}


def test_missing_examples_surface_as_lint_errors_not_parse_errors() -> None:
    payload = copy.deepcopy(META_NAMED)
    del payload["components"][1]["example"]
    report = lint(definition_from_meta(payload))
    missing = {v.field for v in report.errors if v.code == "PARAM_EXAMPLE_REQUIRED"}
    assert missing, report.errors


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "JSON object"),
        ({"name": "x"}, "'components' must be a list"),
        ({"components": ["BODY"]}, "components[0] must be an object"),
        ({"components": [{"type": "BUTTONS", "buttons": ["QUICK_REPLY"]}]}, "buttons[0] must be an object"),
        ({"components": [{"type": "CAROUSEL", "cards": {}}]}, "cards must be a list"),
        (
            {"components": [{"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "SMOKE"}]}]},
            "otp_type 'SMOKE'",
        ),
        ({"parameter_format": "EMOJI", "components": []}, "EMOJI"),
        ({"category": "SPAM", "components": []}, "SPAM"),
    ],
)
def test_unusable_shapes_are_refused_with_a_specific_reason(payload: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=re.escape(message)):
        definition_from_meta(payload)


def test_parts_of_unknown_types_are_kept_verbatim_not_refused() -> None:
    payload = {
        "components": [
            {"type": "SIDEBAR", "items": [1, 2]},
            {"type": "HEADER", "format": "HOLOGRAM"},
            {"type": "BODY", "text": "Hello there."},
            {"type": "BUTTONS", "buttons": [{"type": "TELEPORT", "text": "Go", "where": "Mars"}]},
        ]
    }

    components = definition_from_meta(payload).components

    assert components.body == "Hello there."
    assert [(part.position, part.json) for part in components.unknown] == [
        (0, '{"type":"SIDEBAR","items":[1,2]}'),
        (1, '{"type":"HEADER","format":"HOLOGRAM"}'),
    ]
    (button,) = components.buttons
    assert (button.type, button.text) == (ButtonType.OTHER, "Go")
    assert button.extra == '{"type":"TELEPORT","text":"Go","where":"Mars"}'
