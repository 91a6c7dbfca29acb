"""Explicit JSON documents for the template value objects stored in JSON columns.

Written by hand rather than with dataclasses.asdict so the stored shape is a deliberate format:
renaming a Python field must not silently change (or break reading) rows already in the database.
Readers fill absent optional keys with the domain defaults, so documents written before a field
existed still load.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.components import (
    Button,
    ButtonType,
    CarouselCard,
    Components,
    FlowAction,
    FlowButton,
    Header,
    HeaderFormat,
    LimitedTimeOffer,
    OneTimePassword,
    OtpType,
    ParameterLocation,
    ParameterSpec,
    SupportedApp,
    UnknownComponent,
)

JsonObject = dict[str, Any]


def components_to_json(components: Components) -> JsonObject:
    document: JsonObject = {
        "body": components.body,
        "header": None if components.header is None else _header_to_json(components.header),
        "footer": components.footer,
        "buttons": [_button_to_json(button) for button in components.buttons],
    }
    # Keys of the other template types only when used, so a basic template's row reads as before.
    if components.add_security_recommendation:
        document["add_security_recommendation"] = True
    if components.code_expiration_minutes is not None:
        document["code_expiration_minutes"] = components.code_expiration_minutes
    if components.carousel is not None:
        document["carousel"] = [_card_to_json(card) for card in components.carousel]
    if components.limited_time_offer is not None:
        offer = components.limited_time_offer
        document["limited_time_offer"] = {"text": offer.text, "has_expiration": offer.has_expiration}
    if components.call_permission_request:
        document["call_permission_request"] = True
    if components.unknown:
        document["unknown"] = _unknown_to_json(components.unknown)
    if components.meta_json:
        document["meta_json"] = components.meta_json
    return document


def components_from_json(document: JsonObject) -> Components:
    header = document.get("header")
    carousel = document.get("carousel")
    offer = document.get("limited_time_offer")
    return Components(
        body=document["body"],
        header=None if header is None else _header_from_json(header),
        footer=document.get("footer", ""),
        buttons=tuple(_button_from_json(button) for button in document.get("buttons", ())),
        add_security_recommendation=document.get("add_security_recommendation", False),
        code_expiration_minutes=document.get("code_expiration_minutes"),
        carousel=None if carousel is None else tuple(_card_from_json(card) for card in carousel),
        limited_time_offer=(
            None if offer is None else LimitedTimeOffer(offer["text"], offer.get("has_expiration", False))
        ),
        call_permission_request=document.get("call_permission_request", False),
        unknown=_unknown_from_json(document.get("unknown", ())),
        meta_json=document.get("meta_json", ""),
    )


def _card_to_json(card: CarouselCard) -> JsonObject:
    return {
        "header": None if card.header is None else _header_to_json(card.header),
        "body": card.body,
        "buttons": [_button_to_json(button) for button in card.buttons],
        "unknown": _unknown_to_json(card.unknown),
    }


def _card_from_json(document: JsonObject) -> CarouselCard:
    header = document.get("header")
    return CarouselCard(
        header=None if header is None else _header_from_json(header),
        body=document.get("body", ""),
        buttons=tuple(_button_from_json(button) for button in document.get("buttons", ())),
        unknown=_unknown_from_json(document.get("unknown", ())),
    )


def _unknown_to_json(parts: tuple[UnknownComponent, ...]) -> list[JsonObject]:
    return [{"position": part.position, "json": part.json} for part in parts]


def _unknown_from_json(documents: Iterable[JsonObject]) -> tuple[UnknownComponent, ...]:
    return tuple(UnknownComponent(part["position"], part["json"]) for part in documents)


def parameters_to_json(parameters: tuple[ParameterSpec, ...]) -> list[JsonObject]:
    return [
        {
            "key": spec.key,
            "example": spec.example,
            "max_length": spec.max_length,
            "pattern": spec.pattern,
            "optional": spec.optional,
            "default_value": spec.default_value,
            "locations": [location.value for location in spec.locations],
        }
        for spec in parameters
    ]


def parameters_from_json(document: list[JsonObject]) -> tuple[ParameterSpec, ...]:
    return tuple(
        ParameterSpec(
            key=spec["key"],
            example=spec.get("example", ""),
            max_length=spec.get("max_length", 0),
            pattern=spec.get("pattern", ""),
            optional=spec.get("optional", False),
            default_value=spec.get("default_value", ""),
            locations=tuple(ParameterLocation(location) for location in spec.get("locations", ())),
        )
        for spec in document
    )


def _header_to_json(header: Header) -> JsonObject:
    return {
        "format": header.format.value,
        "text": header.text,
        "example_media_handles": list(header.example_media_handles),
    }


def _header_from_json(document: JsonObject) -> Header:
    return Header(
        format=HeaderFormat(document["format"]),
        text=document.get("text", ""),
        example_media_handles=tuple(document.get("example_media_handles", ())),
    )


def _button_to_json(button: Button) -> JsonObject:
    document: JsonObject = {
        "type": button.type.value,
        "text": button.text,
        "url": button.url,
        "phone_number": button.phone_number,
        "example": button.example,
    }
    if button.otp is not None:
        otp = button.otp
        document["otp"] = {
            "otp_type": otp.otp_type.value,
            "autofill_text": otp.autofill_text,
            "supported_apps": [
                {"package_name": app.package_name, "signature_hash": app.signature_hash}
                for app in otp.supported_apps
            ],
            "zero_tap_terms_accepted": otp.zero_tap_terms_accepted,
            "apps_on_button": otp.apps_on_button,
        }
    if button.flow is not None:
        flow = button.flow
        document["flow"] = {
            "flow_id": flow.flow_id,
            "flow_name": flow.flow_name,
            "flow_json": flow.flow_json,
            "flow_action": None if flow.flow_action is None else flow.flow_action.value,
            "navigate_screen": flow.navigate_screen,
            "icon": flow.icon,
        }
    if button.extra:
        document["extra"] = button.extra
    return document


def _button_from_json(document: JsonObject) -> Button:
    otp = document.get("otp")
    flow = document.get("flow")
    return Button(
        type=ButtonType(document["type"]),
        text=document["text"],
        url=document.get("url", ""),
        phone_number=document.get("phone_number", ""),
        example=document.get("example", ""),
        otp=None if otp is None else _otp_from_json(otp),
        flow=None if flow is None else _flow_from_json(flow),
        extra=document.get("extra", ""),
    )


def _otp_from_json(document: JsonObject) -> OneTimePassword:
    return OneTimePassword(
        otp_type=OtpType(document["otp_type"]),
        autofill_text=document.get("autofill_text", ""),
        supported_apps=tuple(
            SupportedApp(app["package_name"], app["signature_hash"])
            for app in document.get("supported_apps", ())
        ),
        zero_tap_terms_accepted=document.get("zero_tap_terms_accepted", False),
        apps_on_button=document.get("apps_on_button", False),
    )


def _flow_from_json(document: JsonObject) -> FlowButton:
    action = document.get("flow_action")
    return FlowButton(
        flow_id=document.get("flow_id", ""),
        flow_name=document.get("flow_name", ""),
        flow_json=document.get("flow_json", ""),
        flow_action=None if action is None else FlowAction(action),
        navigate_screen=document.get("navigate_screen", ""),
        icon=document.get("icon", ""),
    )
