"""The rules of the buttons that do more than show a label: one-time password (OTP) and Flow."""

from __future__ import annotations

import json
import re

from domain.components import Button, FlowAction, OtpType
from domain.lint.report import Findings, shorten
from domain.meta_rules import (
    AUTOFILL_TEXT_MAX,
    PACKAGE_NAME_MAX,
    SIGNATURE_HASH_LENGTH,
    SUPPORTED_APPS_MAX,
)

# Meta: at least two dot-separated segments, each starting with a letter; letters, digits and
# underscores only.
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
SIGNATURE_HASH = re.compile(r"[A-Za-z0-9+/=]+")
_HANDS_OFF_CODE = frozenset({OtpType.ONE_TAP, OtpType.ZERO_TAP})


def lint_otp_button(button: Button, out: Findings, field: str, label: str) -> None:
    otp = button.otp
    if otp is None:
        out.error("OTP_TYPE_REQUIRED", f"{field}.otp.otp_type", f"{label} needs an otp_type")
        return
    if otp.otp_type in _HANDS_OFF_CODE:
        if not otp.supported_apps:
            out.error(
                "OTP_SUPPORTED_APPS_REQUIRED",
                f"{field}.otp.supported_apps",
                f"{label}: a {otp.otp_type} button needs the Android apps (package name and signature "
                "hash) the code is handed to",
            )
        if len(otp.supported_apps) > SUPPORTED_APPS_MAX:
            out.error(
                "OTP_SUPPORTED_APPS_TOO_MANY",
                f"{field}.otp.supported_apps",
                f"{label} names {len(otp.supported_apps)} apps; Meta allows at most {SUPPORTED_APPS_MAX}",
            )
    elif otp.supported_apps or otp.autofill_text:
        out.warning(
            "OTP_APPS_IGNORED",
            f"{field}.otp",
            f"{label}: apps and autofill text only matter for ONE_TAP and ZERO_TAP buttons",
        )
    for index, app in enumerate(otp.supported_apps):
        app_field = f"{field}.otp.supported_apps[{index}]"
        name = app.package_name
        if len(name) > PACKAGE_NAME_MAX or not PACKAGE_NAME.fullmatch(name):
            out.error(
                "OTP_PACKAGE_NAME_INVALID",
                f"{app_field}.package_name",
                f"{label}: package name {shorten(name)!r} is not an Android package name such as "
                f"'com.example.app' (dot-separated segments starting with a letter, at most "
                f"{PACKAGE_NAME_MAX} characters)",
            )
        signature = app.signature_hash
        if len(signature) != SIGNATURE_HASH_LENGTH or not SIGNATURE_HASH.fullmatch(signature):
            out.error(
                "OTP_SIGNATURE_HASH_INVALID",
                f"{app_field}.signature_hash",
                f"{label}: signature hash {shorten(signature)!r} must be the app's "
                f"{SIGNATURE_HASH_LENGTH}-character hash (letters, digits, +, / and =)",
            )
    if otp.otp_type is OtpType.ZERO_TAP and not otp.zero_tap_terms_accepted:
        out.error(
            "OTP_ZERO_TAP_TERMS_REQUIRED",
            f"{field}.otp.zero_tap_terms_accepted",
            f"{label}: Meta refuses a zero-tap button until the business accepts its zero-tap terms "
            "(zero_tap_terms_accepted)",
        )
    if len(otp.autofill_text) > AUTOFILL_TEXT_MAX:
        out.error(
            "OTP_AUTOFILL_TEXT_TOO_LONG",
            f"{field}.otp.autofill_text",
            f"{label} autofill text is {len(otp.autofill_text)} characters; Meta allows at most "
            f"{AUTOFILL_TEXT_MAX}",
        )


def lint_flow_button(button: Button, out: Findings, field: str, label: str) -> None:
    flow = button.flow
    targets = [] if flow is None else [t for t in (flow.flow_id, flow.flow_name, flow.flow_json) if t]
    if flow is None or not targets:
        out.error(
            "FLOW_TARGET_REQUIRED",
            f"{field}.flow",
            f"{label} needs the Flow it opens: a flow_id, a flow_name or a flow_json",
        )
        return
    if len(targets) > 1:
        out.error(
            "FLOW_TARGET_AMBIGUOUS",
            f"{field}.flow",
            f"{label} names its Flow {len(targets)} ways; give exactly one of flow_id, flow_name and "
            "flow_json",
        )
    if flow.flow_json:
        try:
            json.loads(flow.flow_json)
        except (ValueError, RecursionError) as error:
            out.error(
                "FLOW_JSON_INVALID", f"{field}.flow.flow_json", f"{label} flow_json is not JSON: {error}"
            )
    if flow.flow_action is FlowAction.DATA_EXCHANGE and flow.navigate_screen:
        out.error(
            "FLOW_NAVIGATE_SCREEN_NOT_ALLOWED",
            f"{field}.flow.navigate_screen",
            f"{label}: a data_exchange Flow starts where its endpoint says; remove navigate_screen",
        )
