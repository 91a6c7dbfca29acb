"""The rules about buttons: how many of each kind, their texts, URLs and phone numbers."""

from __future__ import annotations

import itertools
import json
import re

from domain.components import Button, ButtonType
from domain.lint.report import BUTTONS, Findings, shorten, tokens
from domain.lint.special_buttons import lint_flow_button, lint_otp_button
from domain.lint.texts import ONLY_VARIABLE, lint_malformed
from domain.meta_rules import (
    BUTTON_TEXT_MAX,
    BUTTONS_MAX,
    COPY_CODE_BUTTONS_MAX,
    COUPON_CODE_MAX,
    PHONE_BUTTONS_MAX,
    PHONE_NUMBER_MAX,
    QUICK_REPLIES_MAX,
    URL_BUTTONS_MAX,
    URL_MAX,
)
from domain.parameters import find_placeholders

# Spaces, dashes, dots and parentheses are how people write numbers; what is left must be digits
# with an optional leading "+". Meta itself wants E.164, which this does not try to prove.
PHONE_PATTERN = re.compile(r"\+?[0-9]{4,20}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_URL_SCHEME = re.compile(r"https?://", re.IGNORECASE)


# Meta's limit per button type (types not listed here have only the overall limit).
_TYPE_LIMITS = (
    ("QUICK_REPLY_TOO_MANY", ButtonType.QUICK_REPLY, QUICK_REPLIES_MAX, "quick reply"),
    ("URL_BUTTONS_TOO_MANY", ButtonType.URL, URL_BUTTONS_MAX, "URL"),
    ("PHONE_BUTTONS_TOO_MANY", ButtonType.PHONE_NUMBER, PHONE_BUTTONS_MAX, "phone number"),
    ("COPY_CODE_BUTTONS_TOO_MANY", ButtonType.COPY_CODE, COPY_CODE_BUTTONS_MAX, "copy code"),
    ("OTP_BUTTONS_TOO_MANY", ButtonType.OTP, 1, "one-time password"),
    ("FLOW_BUTTONS_TOO_MANY", ButtonType.FLOW, 1, "Flow"),
    ("VOICE_CALL_BUTTONS_TOO_MANY", ButtonType.VOICE_CALL, 1, "voice call"),
    ("CATALOG_BUTTONS_TOO_MANY", ButtonType.CATALOG, 1, "catalog"),
    ("MPM_BUTTONS_TOO_MANY", ButtonType.MPM, 1, "multi-product"),
    ("SPM_BUTTONS_TOO_MANY", ButtonType.SPM, 1, "single-product"),
)
# WhatsApp writes the label of these itself when none is given.
_LABEL_OPTIONAL = frozenset({ButtonType.COPY_CODE, ButtonType.OTP, ButtonType.OTHER})


def lint_buttons(buttons: tuple[Button, ...], out: Findings, field: str = BUTTONS) -> None:
    counts = {kind: sum(1 for b in buttons if b.type is kind) for kind in ButtonType}
    if len(buttons) > BUTTONS_MAX:
        out.error(
            "BUTTONS_TOO_MANY",
            field,
            f"template has {len(buttons)} buttons; Meta allows at most {BUTTONS_MAX}",
        )
    for code, kind, limit, label in _TYPE_LIMITS:
        if counts[kind] > limit:
            out.error(
                code, field, f"template has {counts[kind]} {label} buttons; Meta allows at most {limit}"
            )
    is_quick = [b.type is ButtonType.QUICK_REPLY for b in buttons]
    switches = sum(1 for a, b in itertools.pairwise(is_quick) if a != b)
    if switches > 1:
        out.error(
            "BUTTONS_NOT_GROUPED",
            field,
            "quick reply buttons are interleaved with other buttons; put all quick replies together, "
            "before or after the others",
        )
    for index, button in enumerate(buttons):
        _lint_button(button, out, f"{field}[{index}]", f"button {index} ({_type_name(button)})")


def _lint_button(button: Button, out: Findings, field: str, label: str) -> None:
    if button.type is ButtonType.OTHER:
        out.warning(
            "BUTTON_NOT_CHECKED",
            field,
            f"{label}: Meta's button type is not one this version knows; it is kept and submitted as "
            "it is, but not checked by this version",
        )
        return
    if not button.text.strip() and button.type not in _LABEL_OPTIONAL:
        out.error("BUTTON_TEXT_REQUIRED", f"{field}.text", f"{label} needs a text")
    if len(button.text) > BUTTON_TEXT_MAX:
        out.error(
            "BUTTON_TEXT_TOO_LONG",
            f"{field}.text",
            f"{label} text is {len(button.text)} characters; Meta allows at most {BUTTON_TEXT_MAX}",
        )
    if button.type is ButtonType.URL:
        _lint_url(button.url, f"{field}.url", label, out)
    elif button.type is ButtonType.PHONE_NUMBER:
        _lint_phone(button.phone_number, f"{field}.phone_number", label, out)
    elif button.type is ButtonType.COPY_CODE:
        if not button.example.strip():
            out.error(
                "COPY_CODE_EXAMPLE_REQUIRED",
                f"{field}.example",
                f"{label} needs an example code for Meta's review",
            )
        elif len(button.example) > COUPON_CODE_MAX:
            out.error(
                "COPY_CODE_EXAMPLE_TOO_LONG",
                f"{field}.example",
                f"{label} example is {len(button.example)} characters; Meta allows at most {COUPON_CODE_MAX}",
            )
    elif button.type is ButtonType.OTP:
        lint_otp_button(button, out, field, label)
    elif button.type is ButtonType.FLOW:
        lint_flow_button(button, out, field, label)


def _type_name(button: Button) -> str:
    """The type as Meta spells it, also for a type this version does not know."""
    if button.type is ButtonType.OTHER and button.extra:
        kept = json.loads(button.extra)
        if isinstance(kept, dict) and isinstance(kept.get("type"), str):
            return repr(kept["type"])
    return button.type.value


def _lint_url(url: str, field: str, label: str, out: Findings) -> None:
    if not url.strip():
        out.error("URL_REQUIRED", field, f"{label} needs a URL")
        return
    if not _URL_SCHEME.match(url):
        out.error("URL_INVALID", field, f"{label} URL {shorten(url)!r} must start with https:// or http://")
    if len(url) > URL_MAX:
        out.error(
            "URL_TOO_LONG", field, f"{label} URL is {len(url)} characters; Meta allows at most {URL_MAX}"
        )
    lint_malformed(url, field, f"{label} URL", out)
    placeholders = find_placeholders(url)
    if len(placeholders) > 1:
        out.error(
            "URL_TOO_MANY_VARIABLES",
            field,
            f"{label} URL has {len(placeholders)} variables ({tokens(placeholders)}); Meta allows 1",
        )
    for p in placeholders:
        if p.token != ONLY_VARIABLE:
            out.error(
                "URL_VARIABLE_INVALID",
                field,
                f"{label} URL uses {{{{{p.token}}}}}; a URL variable is always {{{{1}}}}, "
                "even in a NAMED template",
            )
    if placeholders and any(p.end != len(url) for p in placeholders):
        out.error(
            "URL_VARIABLE_NOT_AT_END",
            field,
            f"{label} URL {shorten(url)!r} has a variable before its end; Meta only appends it at the end",
        )


def _lint_phone(phone: str, field: str, label: str, out: Findings) -> None:
    if not phone.strip():
        out.error("PHONE_NUMBER_REQUIRED", field, f"{label} needs a phone number")
        return
    if len(phone) > PHONE_NUMBER_MAX:
        out.error(
            "PHONE_NUMBER_TOO_LONG",
            field,
            f"{label} phone number is {len(phone)} characters; Meta allows at most {PHONE_NUMBER_MAX}",
        )
    if not PHONE_PATTERN.fullmatch(_PHONE_SEPARATORS.sub("", phone)):
        out.error(
            "PHONE_NUMBER_INVALID",
            field,
            f"{label} phone number {phone!r} is not a phone number such as +15551230000",
        )
