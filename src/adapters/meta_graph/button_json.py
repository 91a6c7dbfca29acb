"""Meta's JSON of one template button <-> Button, for every button type.

Liberal in: any casing of enum values, numbers where strings are expected, keys this version does not
model (kept verbatim in Button.extra, and a button type it does not know as ButtonType.OTHER).
Strict out: uppercase types, only the keys Meta documents for the type, then the kept ones as they
came.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from domain.components import (
    Button,
    ButtonType,
    FlowAction,
    FlowButton,
    OneTimePassword,
    OtpType,
    SupportedApp,
)
from domain.parameters import find_placeholders

_FULL_URL = re.compile(r"https?://", re.IGNORECASE)
# The keys each type's model holds; any other key of the button goes to Button.extra.
_COMMON = frozenset({"type", "text"})
_MODELLED: dict[ButtonType, frozenset[str]] = {
    ButtonType.QUICK_REPLY: _COMMON,
    ButtonType.URL: _COMMON | {"url", "example"},
    ButtonType.PHONE_NUMBER: _COMMON | {"phone_number"},
    ButtonType.COPY_CODE: _COMMON | {"example"},
    ButtonType.OTP: _COMMON
    | {
        "otp_type",
        "autofill_text",
        "supported_apps",
        "zero_tap_terms_accepted",
        "package_name",
        "signature_hash",
    },
    ButtonType.FLOW: _COMMON
    | {"flow_id", "flow_name", "flow_json", "flow_action", "navigate_screen", "icon"},
    ButtonType.CATALOG: _COMMON,
    ButtonType.MPM: _COMMON,
    ButtonType.SPM: _COMMON,
    ButtonType.VOICE_CALL: _COMMON,
    ButtonType.OTHER: frozenset(),
}


class ButtonShapeError(ValueError):
    """The button is not a JSON object, or a field the model holds has the wrong kind of value."""


def button_from_meta(raw: object, where: str) -> tuple[Button, str]:
    """The button, and the example URL Meta gives for a URL button with a variable ("" otherwise)."""
    if not isinstance(raw, Mapping):
        raise ButtonShapeError(f"{where} must be an object")
    try:
        kind = ButtonType(_text(raw.get("type")).strip().upper())
    except ValueError:
        kind = ButtonType.OTHER
    if kind is ButtonType.OTHER:
        return Button(ButtonType.OTHER, _text(raw.get("text")), extra=_json(dict(raw))), ""
    extra = {k: v for k, v in raw.items() if k not in _MODELLED[kind]}
    example = raw.get("example")
    url = _text(raw.get("url"))
    otp = _otp(raw, where) if kind is ButtonType.OTP else None
    if kind is ButtonType.URL and (listed_otp := _otp_listed_as_url(url)) is not None:
        # Meta lists an OTP button as a URL button to its own code page; it is still the OTP button.
        kind, otp = ButtonType.OTP, listed_otp
    example_url = ""
    if kind is ButtonType.URL and isinstance(example, list) and example:
        example_url = _text(example[0])
    button = Button(
        type=kind,
        text=_text(raw.get("text")),
        url=url,
        phone_number=_text(raw.get("phone_number")),
        example=_copy_code_example(example) if kind is ButtonType.COPY_CODE else "",
        otp=otp,
        flow=_flow(raw, where) if kind is ButtonType.FLOW else None,
        extra=_json(extra) if extra else "",
    )
    return button, example_url


def _copy_code_example(example: object) -> str:
    # Meta's examples give the code as a string; many integrations (and some listings) as a list.
    if isinstance(example, list):
        return _text(example[0]) if example else ""
    return _text(example)


_OTP_PAGE = re.compile(r"https://www\.whatsapp\.com/otp/code/?\?", re.IGNORECASE)


def _otp_listed_as_url(url: str) -> OneTimePassword | None:
    """The OTP button in Meta's listed form: "https://www.whatsapp.com/otp/code/?otp_type=ONE_TAP&
    cta_display_name=Autofill&package_name=...&signature_hash=...&code=otp{{1}}"."""
    if not _OTP_PAGE.match(url):
        return None
    query = parse_qs(urlsplit(url).query)

    def first(name: str) -> str:
        return query.get(name, [""])[0]

    try:
        otp_type = OtpType(first("otp_type").upper())
    except ValueError:
        return None
    packages, signatures = query.get("package_name", []), query.get("signature_hash", [])
    apps = tuple(SupportedApp(p, s) for p, s in zip(packages, signatures, strict=False))
    return OneTimePassword(
        otp_type=otp_type,
        autofill_text=first("cta_display_name"),
        supported_apps=apps,
        # Meta created it: a zero-tap button exists only once its terms were accepted.
        zero_tap_terms_accepted=otp_type is OtpType.ZERO_TAP,
    )


def _otp(raw: Mapping[str, Any], where: str) -> OneTimePassword:
    try:
        otp_type = OtpType(_text(raw.get("otp_type")).strip().upper())
    except ValueError:
        raise ButtonShapeError(
            f"{where}.otp_type {raw.get('otp_type')!r} is not one of {', '.join(OtpType)}"
        ) from None
    apps: list[SupportedApp] = []
    listed = raw.get("supported_apps")
    if listed is not None and not isinstance(listed, list):
        raise ButtonShapeError(f"{where}.supported_apps must be a list")
    for index, app in enumerate(listed or []):
        if not isinstance(app, Mapping):
            raise ButtonShapeError(f"{where}.supported_apps[{index}] must be an object")
        apps.append(SupportedApp(_text(app.get("package_name")), _text(app.get("signature_hash"))))
    on_button = "package_name" in raw or "signature_hash" in raw
    if on_button:
        apps.append(SupportedApp(_text(raw.get("package_name")), _text(raw.get("signature_hash"))))
    return OneTimePassword(
        otp_type=otp_type,
        autofill_text=_text(raw.get("autofill_text")),
        supported_apps=tuple(apps),
        zero_tap_terms_accepted=flag(raw.get("zero_tap_terms_accepted")),
        apps_on_button=on_button,
    )


def _flow(raw: Mapping[str, Any], where: str) -> FlowButton:
    action = _text(raw.get("flow_action")).strip().upper()
    try:
        flow_action = FlowAction(action) if action else None
    except ValueError:
        raise ButtonShapeError(
            f"{where}.flow_action {raw.get('flow_action')!r} is not one of {', '.join(FlowAction)}"
        ) from None
    flow_json = raw.get("flow_json")
    return FlowButton(
        flow_id=_text(raw.get("flow_id")),
        flow_name=_text(raw.get("flow_name")),
        # Meta takes the Flow JSON as a string; an object is accepted and kept as its JSON text.
        flow_json=_json(flow_json) if isinstance(flow_json, Mapping) else _text(flow_json),
        flow_action=flow_action,
        navigate_screen=_text(raw.get("navigate_screen")),
        icon=_text(raw.get("icon")),
    )


def button_to_meta(button: Button, example_value: str) -> Any:
    """Meta's creation JSON of `button`; `example_value` fills a URL variable for Meta's review. An
    OTHER button is whatever Meta listed, verbatim (normally an object)."""
    if button.type is ButtonType.OTHER:
        return json.loads(button.extra) if button.extra else {"type": button.type.value}
    out: dict[str, Any] = {"type": button.type.value}
    # A copy-code button's label is fixed by WhatsApp; Meta's examples send no text for it.
    if button.text or button.type is not ButtonType.COPY_CODE:
        out["text"] = button.text
    if button.type is ButtonType.URL:
        out["url"] = button.url
        if example_value and find_placeholders(button.url) and _FULL_URL.match(example_value):
            # Meta's example was a whole URL that does not start like this one (its own docs have
            # such examples): it is kept as it came.
            out["example"] = [example_value]
        elif example_value and find_placeholders(button.url):
            # Meta wants the whole URL as it would look, not just the part the variable fills.
            url = button.url
            for placeholder in reversed(find_placeholders(url)):
                url = url[: placeholder.start] + example_value + url[placeholder.end :]
            out["example"] = [url]
    elif button.type is ButtonType.PHONE_NUMBER:
        out["phone_number"] = button.phone_number
    elif button.type is ButtonType.COPY_CODE:
        out["example"] = button.example
    elif button.otp is not None:
        out.update(_otp_to_meta(button.otp))
    elif button.flow is not None:
        out.update(_flow_to_meta(button.flow))
    if button.extra:
        # Only adds: what the model holds (checked by lint) is never overridden by a kept key.
        for key, value in json.loads(button.extra).items():
            out.setdefault(key, value)
    return out


def _otp_to_meta(otp: OneTimePassword) -> dict[str, Any]:
    out: dict[str, Any] = {"otp_type": otp.otp_type.value}
    if otp.autofill_text:
        out["autofill_text"] = otp.autofill_text
    if otp.apps_on_button and len(otp.supported_apps) == 1:
        (app,) = otp.supported_apps
        out["package_name"], out["signature_hash"] = app.package_name, app.signature_hash
    elif otp.supported_apps:
        out["supported_apps"] = [
            {"package_name": app.package_name, "signature_hash": app.signature_hash}
            for app in otp.supported_apps
        ]
    if otp.zero_tap_terms_accepted:
        out["zero_tap_terms_accepted"] = True
    return out


def _flow_to_meta(flow: FlowButton) -> dict[str, Any]:
    which = {"flow_id": flow.flow_id, "flow_name": flow.flow_name, "flow_json": flow.flow_json}
    out: dict[str, Any] = {key: value for key, value in which.items() if value}
    if flow.flow_action is not None:
        out["flow_action"] = flow.flow_action.value.lower()
    if flow.navigate_screen:
        out["navigate_screen"] = flow.navigate_screen
    if flow.icon:
        out["icon"] = flow.icon
    return out


def flag(value: object) -> bool:
    """Meta's booleans; the strings "true" and "false" read as what they say."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _text(value: object) -> str:
    if value is None or isinstance(value, Mapping | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
