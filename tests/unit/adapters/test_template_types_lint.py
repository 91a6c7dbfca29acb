"""Every template type Meta documents, from its own examples: each lints clean, round-trips byte for
byte, and breaking any one rule of its type fails lint with that rule's code on the field at fault."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from adapters.meta_graph.creation_payload import definition_to_meta
from adapters.meta_graph.payloads import definition_from_meta
from domain.components import Button, ButtonType
from domain.lint import Severity, lint
from support.template_fixtures import (
    TYPE_CODES,
    TYPE_WARNING_CODES,
    buttons,
    cards,
    component,
    fixture_names,
    load,
)

Template = dict[str, Any]

KINDS = ("standard", "authentication", "carousel", "limited_time_offer", "catalog", "mpm", "spm", "flow")


def test_at_least_25_documented_examples_cover_every_type() -> None:
    names = fixture_names()
    assert len(names) >= 25
    assert {name.split("_")[0] for name in names} | {"limited_time_offer"} >= {k.split("_")[0] for k in KINDS}
    assert any(name.startswith("limited_time_offer") for name in names)
    sources = (load.__globals__["VALID"].parent / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"{name}.json" in sources for name in names), "every fixture names its source"


@pytest.mark.parametrize("name", fixture_names())
def test_documented_example_lints_clean(name: str) -> None:
    report = lint(definition_from_meta(load(name)))

    assert report.violations == ()


@pytest.mark.parametrize("name", fixture_names())
def test_documented_example_is_submitted_back_byte_for_byte(name: str) -> None:
    template = load(name)

    payload = definition_to_meta(definition_from_meta(template))

    assert json.dumps(payload["components"]) == json.dumps(template["components"])


@pytest.mark.parametrize("name", fixture_names())
def test_documented_example_is_modelled_whole(name: str) -> None:
    """Built from the typed model alone (no copy of Meta's JSON), the template reads back the same."""
    definition = definition_from_meta(load(name))
    typed_only = replace(definition, components=replace(definition.components, meta_json=""))

    again = definition_from_meta(definition_to_meta(typed_only))

    assert again.components == typed_only.components
    assert {p.key: p.example for p in again.parameters} == {p.key: p.example for p in typed_only.parameters}


# ---- one invalid variant per rule ---------------------------------------------------------------

AUTH = "authentication_copy_code_button"
ONE_TAP = "authentication_one_tap_supported_apps"
ZERO_TAP = "authentication_zero_tap_supported_apps"
CAROUSEL = "carousel_media_cards_image_quick_reply_url"
PRODUCT_CAROUSEL = "carousel_product_cards_spm_view"
OFFER = "limited_time_offer_caribbean_image_copy_code_url"
CATALOG = "catalog_intro_catalog_offer"
MPM = "mpm_abandoned_cart"
SPM = "spm_named_params_product_header"
FLOW = "flow_id_navigate_navigate_screen"
VOICE = "standard_voice_call_button_and_url"
BASIC = "standard_order_confirmation_positional_body"

B = "template.components.buttons"
C = "template.components.cards"


def otp(t: Template) -> dict[str, Any]:
    return buttons(t)[0]


def add_button(button: dict[str, Any]) -> Callable[[Template], None]:
    return lambda t: buttons(t).append(button)


def set_in(get: Callable[[Template], dict[str, Any]], **values: Any) -> Callable[[Template], None]:
    return lambda t: get(t).update(values)


def drop(get: Callable[[Template], dict[str, Any]], key: str) -> Callable[[Template], None]:
    return lambda t: get(t).pop(key)


def insert(index: int, part: dict[str, Any]) -> Callable[[Template], None]:
    return lambda t: t["components"].insert(index, part)


def remove(kind: str) -> Callable[[Template], None]:
    return lambda t: t["components"].remove(component(t, kind))


def both(*changes: Callable[[Template], None]) -> Callable[[Template], None]:
    def apply(t: Template) -> None:
        for change in changes:
            change(t)

    return apply


def card_header(index: int) -> Callable[[Template], dict[str, Any]]:
    return lambda t: cards(t)[index]["components"][0]


def card_buttons(index: int) -> Callable[[Template], list[dict[str, Any]]]:
    return lambda t: next(c for c in cards(t)[index]["components"] if c["type"].upper() == "BUTTONS")[
        "buttons"
    ]


def apps(n: int) -> list[dict[str, str]]:
    return [{"package_name": f"com.example.app{i}", "signature_hash": "K8a/AINcGX7"} for i in range(n)]


TEXT_HEADER = {"type": "HEADER", "format": "TEXT", "text": "Hello"}
URL_BUTTON = {"type": "URL", "text": "Open", "url": "https://example.com"}
QUICK = {"type": "QUICK_REPLY", "text": "Yes"}

VARIANTS: list[Any] = [
    # buttons of which Meta allows one
    pytest.param("OTP_BUTTONS_TOO_MANY", AUTH, add_button({"type": "OTP", "otp_type": "COPY_CODE"}), B),
    pytest.param(
        "FLOW_BUTTONS_TOO_MANY", FLOW, add_button({"type": "FLOW", "text": "Again", "flow_id": "9"}), B
    ),
    pytest.param("VOICE_CALL_BUTTONS_TOO_MANY", VOICE, add_button({"type": "VOICE_CALL", "text": "Call"}), B),
    pytest.param("CATALOG_BUTTONS_TOO_MANY", CATALOG, add_button({"type": "CATALOG", "text": "More"}), B),
    pytest.param("MPM_BUTTONS_TOO_MANY", MPM, add_button({"type": "MPM", "text": "More"}), B),
    pytest.param("SPM_BUTTONS_TOO_MANY", SPM, add_button({"type": "SPM", "text": "More"}), B),
    # one-time password buttons
    pytest.param(
        "OTP_SUPPORTED_APPS_REQUIRED", ONE_TAP, drop(otp, "supported_apps"), f"{B}[0].otp.supported_apps"
    ),
    pytest.param(
        "OTP_SUPPORTED_APPS_TOO_MANY",
        ONE_TAP,
        set_in(otp, supported_apps=apps(6)),
        f"{B}[0].otp.supported_apps",
    ),
    pytest.param("OTP_APPS_IGNORED", AUTH, set_in(otp, supported_apps=apps(1)), f"{B}[0].otp"),
    pytest.param(
        "OTP_PACKAGE_NAME_INVALID",
        ONE_TAP,
        set_in(otp, supported_apps=[{"package_name": "luckyshrub", "signature_hash": "K8a/AINcGX7"}]),
        f"{B}[0].otp.supported_apps[0].package_name",
    ),
    pytest.param(
        "OTP_SIGNATURE_HASH_INVALID",
        ONE_TAP,
        set_in(otp, supported_apps=[{"package_name": "com.example.app", "signature_hash": "short"}]),
        f"{B}[0].otp.supported_apps[0].signature_hash",
    ),
    pytest.param(
        "OTP_ZERO_TAP_TERMS_REQUIRED",
        ZERO_TAP,
        drop(otp, "zero_tap_terms_accepted"),
        f"{B}[0].otp.zero_tap_terms_accepted",
    ),
    pytest.param(
        "OTP_AUTOFILL_TEXT_TOO_LONG",
        ONE_TAP,
        set_in(otp, autofill_text="A" * 26),
        f"{B}[0].otp.autofill_text",
    ),
    # authentication templates
    pytest.param("AUTH_OTP_BUTTON_REQUIRED", AUTH, set_in(otp, type="QUICK_REPLY", text="Ok"), B),
    pytest.param(
        "AUTH_OPTIONS_NOT_ALLOWED",
        BASIC,
        set_in(lambda t: component(t, "BODY"), add_security_recommendation=True),
        "template.components",
    ),
    pytest.param("OTP_BUTTON_NOT_AUTHENTICATION", AUTH, lambda t: t.update(category="UTILITY"), B),
    pytest.param("AUTH_HEADER_NOT_ALLOWED", AUTH, insert(0, TEXT_HEADER), "template.components.header"),
    pytest.param("AUTH_BUTTONS_ONLY_OTP", AUTH, add_button(QUICK), f"{B}[1]"),
    pytest.param(
        "AUTH_BODY_WRITTEN_BY_META",
        AUTH,
        set_in(lambda t: component(t, "BODY"), text="Your code is {{1}}."),
        "template.components.body",
    ),
    pytest.param(
        "AUTH_FOOTER_WRITTEN_BY_META",
        AUTH,
        set_in(lambda t: component(t, "FOOTER"), text="Bye"),
        "template.components.footer",
    ),
    pytest.param(
        "CODE_EXPIRATION_INVALID",
        AUTH,
        set_in(lambda t: component(t, "FOOTER"), code_expiration_minutes=91),
        "template.components.code_expiration_minutes",
    ),
    pytest.param("AUTH_EMOJI_NOT_ALLOWED", AUTH, set_in(otp, text="Copy \U0001f511"), f"{B}[0].text"),
    pytest.param(
        "AUTH_URL_NOT_ALLOWED", ONE_TAP, set_in(otp, autofill_text="www.x.com"), f"{B}[0].otp.autofill_text"
    ),
    # Flow buttons
    pytest.param("FLOW_TARGET_REQUIRED", FLOW, drop(lambda t: buttons(t)[0], "flow_id"), f"{B}[0].flow"),
    pytest.param(
        "FLOW_TARGET_AMBIGUOUS", FLOW, set_in(lambda t: buttons(t)[0], flow_name="signup"), f"{B}[0].flow"
    ),
    pytest.param(
        "FLOW_JSON_INVALID",
        FLOW,
        both(
            drop(lambda t: buttons(t)[0], "flow_id"), set_in(lambda t: buttons(t)[0], flow_json="{not json")
        ),
        f"{B}[0].flow.flow_json",
    ),
    pytest.param(
        "FLOW_NAVIGATE_SCREEN_NOT_ALLOWED",
        FLOW,
        set_in(lambda t: buttons(t)[0], flow_action="data_exchange"),
        f"{B}[0].flow.navigate_screen",
    ),
    # carousels
    pytest.param(
        "CAROUSEL_HEADER_NOT_ALLOWED", CAROUSEL, insert(0, TEXT_HEADER), "template.components.header"
    ),
    pytest.param(
        "CAROUSEL_FOOTER_NOT_ALLOWED",
        CAROUSEL,
        insert(1, {"type": "FOOTER", "text": "Bye"}),
        "template.components.footer",
    ),
    pytest.param(
        "CAROUSEL_BUTTONS_NOT_ALLOWED", CAROUSEL, insert(1, {"type": "BUTTONS", "buttons": [QUICK]}), B
    ),
    pytest.param("CAROUSEL_CARDS_TOO_FEW", CAROUSEL, lambda t: del_cards(t, 1), C),
    pytest.param("CAROUSEL_CARDS_TOO_MANY", CAROUSEL, lambda t: cards(t).extend(cards(t)[0:1] * 8), C),
    pytest.param(
        "CAROUSEL_CARD_BODIES_DIFFER",
        CAROUSEL,
        lambda t: cards(t)[0]["components"].insert(1, {"type": "BODY", "text": "Fresh aloe."}),
        C,
    ),
    pytest.param("CAROUSEL_HEADERS_DIFFER", CAROUSEL, set_in(card_header(1), format="VIDEO"), C),
    pytest.param("CAROUSEL_BUTTONS_DIFFER", CAROUSEL, lambda t: card_buttons(1)(t).pop(), f"{C}[1].buttons"),
    pytest.param(
        "CAROUSEL_CARD_HEADER_REQUIRED",
        CAROUSEL,
        lambda t: cards(t)[0]["components"].pop(0),
        f"{C}[0].header",
    ),
    pytest.param(
        "CAROUSEL_CARD_HEADER_INVALID",
        CAROUSEL,
        lambda t: cards(t)[0]["components"].__setitem__(0, dict(TEXT_HEADER)),
        f"{C}[0].header.format",
    ),
    pytest.param(
        "CARD_BODY_TOO_LONG",
        CAROUSEL,
        lambda t: cards(t)[0]["components"].insert(1, {"type": "BODY", "text": "Fresh plants. " * 12}),
        f"{C}[0].body",
    ),
    pytest.param(
        "CAROUSEL_CARD_BUTTONS_REQUIRED",
        CAROUSEL,
        lambda t: cards(t)[0]["components"].pop(),
        f"{C}[0].buttons",
    ),
    pytest.param(
        "CAROUSEL_CARD_BUTTONS_TOO_MANY",
        CAROUSEL,
        lambda t: card_buttons(0)(t).append(dict(QUICK)),
        f"{C}[0].buttons",
    ),
    pytest.param(
        "CAROUSEL_CARD_BUTTON_INVALID",
        CAROUSEL,
        lambda t: card_buttons(0)(t).__setitem__(0, {"type": "COPY_CODE", "example": "SAVE"}),
        f"{C}[0].buttons[0].type",
    ),
    # limited-time offers
    pytest.param(
        "OFFER_TEXT_REQUIRED",
        OFFER,
        lambda t: component(t, "LIMITED_TIME_OFFER")["limited_time_offer"].update(text=""),
        "template.components.limited_time_offer.text",
    ),
    pytest.param(
        "OFFER_TEXT_TOO_LONG",
        OFFER,
        lambda t: component(t, "LIMITED_TIME_OFFER")["limited_time_offer"].update(text="Expiring offer now!"),
        "template.components.limited_time_offer.text",
    ),
    pytest.param("OFFER_NOT_MARKETING", OFFER, lambda t: t.update(category="UTILITY"), "template.category"),
    pytest.param(
        "OFFER_HEADER_INVALID",
        OFFER,
        lambda t: t["components"].__setitem__(0, dict(TEXT_HEADER)),
        "template.components.header.format",
    ),
    pytest.param(
        "OFFER_FOOTER_NOT_ALLOWED",
        OFFER,
        insert(3, {"type": "FOOTER", "text": "Bye"}),
        "template.components.footer",
    ),
    pytest.param(
        "OFFER_BODY_TOO_LONG",
        OFFER,
        set_in(
            lambda t: component(t, "BODY"),
            text="Good news, {{1}}! Use code {{2}} today. " + "Sun and sea. " * 50,
        ),
        "template.components.body",
    ),
    pytest.param("OFFER_URL_BUTTON_REQUIRED", OFFER, lambda t: buttons(t).pop(), B),
    pytest.param("OFFER_BUTTON_INVALID", OFFER, add_button(QUICK), f"{B}[2].type"),
    # catalog and product messages
    pytest.param("CATALOG_BUTTON_NOT_ALONE", CATALOG, add_button(QUICK), B),
    pytest.param("MPM_BUTTON_NOT_ALONE", MPM, add_button(QUICK), B),
    pytest.param("MPM_HEADER_REQUIRED", MPM, remove("HEADER"), "template.components.header"),
    pytest.param(
        "CATALOG_HEADER_INVALID",
        CATALOG,
        insert(0, {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}}),
        "template.components.header.format",
    ),
    pytest.param("SPM_HEADER_REQUIRED", SPM, remove("HEADER"), "template.components.header"),
    pytest.param(
        "PRODUCT_HEADER_WITHOUT_SPM",
        SPM,
        lambda t: buttons(t).__setitem__(0, dict(URL_BUTTON)),
        "template.components.header.format",
    ),
    # parts this version does not know
    pytest.param("BUTTON_NOT_CHECKED", VOICE, add_button({"type": "HOLOGRAM", "text": "Beam"}), f"{B}[2]"),
    pytest.param(
        "COMPONENT_NOT_CHECKED",
        BASIC,
        insert(1, {"type": "SIDEBAR"}),
        "template.components.other_components[1]",
    ),
]


def del_cards(template: Template, keep: int) -> None:
    del cards(template)[keep:]


@pytest.mark.parametrize(("code", "name", "change", "field"), VARIANTS)
def test_breaking_a_rule_fails_with_its_code(
    code: str, name: str, change: Callable[[Template], None], field: str
) -> None:
    template = load(name)
    change(template)

    report = lint(definition_from_meta(template))

    found = [v for v in report.violations if v.code == code]
    assert found, f"expected {code}, got {report.violations}"
    assert field in {v.field for v in found}
    expected = Severity.WARNING if code in TYPE_WARNING_CODES else Severity.ERROR
    assert all(v.severity is expected for v in found)


def test_an_otp_button_built_without_its_type_fails_lint() -> None:
    """Meta's JSON cannot say this (an OTP button without a readable otp_type is refused as a
    shape); a definition built in code can."""
    definition = definition_from_meta(load(AUTH))
    bare = replace(definition.components, buttons=(Button(ButtonType.OTP, "Copy"),), meta_json="")

    report = lint(replace(definition, components=bare))

    assert ("OTP_TYPE_REQUIRED", f"{B}[0].otp.otp_type") in {(v.code, v.field) for v in report.errors}


def test_every_rule_of_the_template_types_has_an_invalid_variant() -> None:
    assert {case.values[0] for case in VARIANTS} | {"OTP_TYPE_REQUIRED"} == TYPE_CODES
