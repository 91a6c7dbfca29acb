"""Meta's documented example templates (tests/fixtures/templates/valid, sources in SOURCES.md) and
the lint codes of the template types beyond the basic one."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

VALID = Path(__file__).resolve().parent.parent / "fixtures" / "templates" / "valid"


def fixture_names() -> list[str]:
    return sorted(path.stem for path in VALID.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VALID / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(document)


def component(template: dict[str, Any], kind: str) -> dict[str, Any]:
    """The first component of `kind` (any casing)."""
    for part in template["components"]:
        if str(part.get("type", "")).upper() == kind:
            return part  # type: ignore[no-any-return]
    raise KeyError(kind)


def buttons(template: dict[str, Any]) -> list[dict[str, Any]]:
    return component(template, "BUTTONS")["buttons"]  # type: ignore[no-any-return]


def cards(template: dict[str, Any]) -> list[dict[str, Any]]:
    return component(template, "CAROUSEL")["cards"]  # type: ignore[no-any-return]


TYPE_WARNING_CODES = {
    "BUTTON_NOT_CHECKED", "COMPONENT_NOT_CHECKED", "OTP_APPS_IGNORED", "AUTH_BODY_WRITTEN_BY_META",
    "AUTH_FOOTER_WRITTEN_BY_META",
}  # fmt: skip
TYPE_CODES = TYPE_WARNING_CODES | {
    "CAROUSEL_CARD_BODIES_DIFFER",
    "OTP_BUTTONS_TOO_MANY", "FLOW_BUTTONS_TOO_MANY", "VOICE_CALL_BUTTONS_TOO_MANY",
    "CATALOG_BUTTONS_TOO_MANY", "MPM_BUTTONS_TOO_MANY", "SPM_BUTTONS_TOO_MANY", "OTP_TYPE_REQUIRED",
    "OTP_SUPPORTED_APPS_REQUIRED", "OTP_SUPPORTED_APPS_TOO_MANY", "OTP_PACKAGE_NAME_INVALID",
    "OTP_SIGNATURE_HASH_INVALID", "OTP_ZERO_TAP_TERMS_REQUIRED", "OTP_AUTOFILL_TEXT_TOO_LONG",
    "FLOW_TARGET_REQUIRED", "FLOW_TARGET_AMBIGUOUS", "FLOW_JSON_INVALID",
    "FLOW_NAVIGATE_SCREEN_NOT_ALLOWED", "AUTH_OTP_BUTTON_REQUIRED", "AUTH_OPTIONS_NOT_ALLOWED",
    "OTP_BUTTON_NOT_AUTHENTICATION", "AUTH_HEADER_NOT_ALLOWED", "AUTH_BUTTONS_ONLY_OTP",
    "CODE_EXPIRATION_INVALID", "AUTH_EMOJI_NOT_ALLOWED", "AUTH_URL_NOT_ALLOWED",
    "CAROUSEL_HEADER_NOT_ALLOWED", "CAROUSEL_FOOTER_NOT_ALLOWED", "CAROUSEL_BUTTONS_NOT_ALLOWED",
    "CAROUSEL_CARDS_TOO_FEW", "CAROUSEL_CARDS_TOO_MANY", "CAROUSEL_HEADERS_DIFFER",
    "CAROUSEL_BUTTONS_DIFFER", "CAROUSEL_CARD_HEADER_REQUIRED", "CAROUSEL_CARD_HEADER_INVALID",
    "CARD_BODY_TOO_LONG", "CAROUSEL_CARD_BUTTONS_REQUIRED", "CAROUSEL_CARD_BUTTONS_TOO_MANY",
    "CAROUSEL_CARD_BUTTON_INVALID", "OFFER_TEXT_REQUIRED", "OFFER_TEXT_TOO_LONG", "OFFER_NOT_MARKETING",
    "OFFER_HEADER_INVALID", "OFFER_FOOTER_NOT_ALLOWED", "OFFER_BODY_TOO_LONG",
    "OFFER_URL_BUTTON_REQUIRED", "OFFER_BUTTON_INVALID", "CATALOG_BUTTON_NOT_ALONE",
    "MPM_BUTTON_NOT_ALONE", "MPM_HEADER_REQUIRED", "CATALOG_HEADER_INVALID", "SPM_HEADER_REQUIRED",
    "PRODUCT_HEADER_WITHOUT_SPM",
}  # fmt: skip
