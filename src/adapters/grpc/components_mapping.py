"""Protobuf TemplateComponents <-> domain Components, every template type included."""

from __future__ import annotations

import json
from collections.abc import Iterable

from adapters.grpc.proto_values import enum_in, invalid, reverse
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
    SupportedApp,
    UnknownComponent,
)
from watemplates.v1 import resources_pb2 as pb

HEADER = {h: getattr(pb, f"HEADER_FORMAT_{h.value}") for h in HeaderFormat}
BUTTON = {b: getattr(pb, f"BUTTON_TYPE_{b.value}") for b in ButtonType}
_OTP = {o: getattr(pb, f"OTP_TYPE_{o.value}") for o in OtpType}
_FLOW_ACTION = {a: getattr(pb, f"FLOW_ACTION_{a.value}") for a in FlowAction}
_HEADER_IN = reverse(HEADER)
_BUTTON_IN = reverse(BUTTON)
_OTP_IN = reverse(_OTP)
_FLOW_ACTION_IN = reverse(_FLOW_ACTION)


# ---- proto -> domain --------------------------------------------------------------------------


def components_from_proto(message: pb.TemplateComponents, field: str) -> Components:
    offer = message.limited_time_offer if message.HasField("limited_time_offer") else None
    return Components(
        body=message.body,
        header=_header_from_proto(message.header, f"{field}.header") if message.HasField("header") else None,
        footer=message.footer,
        buttons=_buttons_from_proto(message.buttons, f"{field}.buttons"),
        add_security_recommendation=message.add_security_recommendation,
        code_expiration_minutes=(
            message.code_expiration_minutes if message.HasField("code_expiration_minutes") else None
        ),
        carousel=(
            tuple(_card_from_proto(card, f"{field}.cards[{i}]") for i, card in enumerate(message.cards))
            if message.cards or message.is_carousel
            else None
        ),
        limited_time_offer=None if offer is None else LimitedTimeOffer(offer.text, offer.has_expiration),
        call_permission_request=message.call_permission_request,
        unknown=_unknown_from_proto(message.other_components, f"{field}.other_components"),
    )


def _header_from_proto(message: pb.TemplateHeader, field: str) -> Header | None:
    if (
        message.format == pb.HEADER_FORMAT_UNSPECIFIED
        and not message.text
        and not message.example_media_handles
    ):
        return None
    header_format = (
        HeaderFormat.TEXT
        if message.format == pb.HEADER_FORMAT_UNSPECIFIED
        else enum_in(_HEADER_IN, message.format, f"{field}.format")
    )
    return Header(header_format, message.text, tuple(message.example_media_handles))


def _buttons_from_proto(messages: Iterable[pb.TemplateButton], field: str) -> tuple[Button, ...]:
    return tuple(_button_from_proto(button, f"{field}[{index}]") for index, button in enumerate(messages))


def _button_from_proto(button: pb.TemplateButton, field: str) -> Button:
    if button.type == pb.BUTTON_TYPE_UNSPECIFIED:
        raise invalid(f"{field}.type", "every button needs a type")
    kind = enum_in(_BUTTON_IN, button.type, f"{field}.type")
    extra = _json_object(button.meta_json, f"{field}.meta_json") if button.meta_json else ""
    if kind is ButtonType.OTHER and not extra:
        raise invalid(f"{field}.meta_json", "a button of type OTHER is kept as Meta's JSON: give it here")
    otp: OneTimePassword | None = None
    if kind is ButtonType.OTP:
        if not button.HasField("otp") or button.otp.otp_type == pb.OTP_TYPE_UNSPECIFIED:
            raise invalid(
                f"{field}.otp.otp_type", "an OTP button needs an otp_type: COPY_CODE, ONE_TAP or ZERO_TAP"
            )
        otp = OneTimePassword(
            otp_type=enum_in(_OTP_IN, button.otp.otp_type, f"{field}.otp.otp_type"),
            autofill_text=button.otp.autofill_text,
            supported_apps=tuple(
                SupportedApp(a.package_name, a.signature_hash) for a in button.otp.supported_apps
            ),
            zero_tap_terms_accepted=button.otp.zero_tap_terms_accepted,
            apps_on_button=button.otp.apps_on_button and len(button.otp.supported_apps) == 1,
        )
    flow: FlowButton | None = None
    if kind is ButtonType.FLOW:
        given = button.flow
        flow = FlowButton(
            flow_id=given.flow_id,
            flow_name=given.flow_name,
            flow_json=given.flow_json,
            flow_action=(
                None
                if given.flow_action == pb.FLOW_ACTION_UNSPECIFIED
                else enum_in(_FLOW_ACTION_IN, given.flow_action, f"{field}.flow.flow_action")
            ),
            navigate_screen=given.navigate_screen,
            icon=given.icon,
        )
    return Button(
        type=kind,
        text=button.text,
        url=button.url,
        phone_number=button.phone_number,
        example=button.example,
        otp=otp,
        flow=flow,
        extra=extra,
    )


def _card_from_proto(card: pb.CarouselCard, field: str) -> CarouselCard:
    return CarouselCard(
        header=_header_from_proto(card.header, f"{field}.header") if card.HasField("header") else None,
        body=card.body,
        buttons=_buttons_from_proto(card.buttons, f"{field}.buttons"),
        unknown=_unknown_from_proto(card.other_components, f"{field}.other_components"),
    )


# Components the typed fields describe: one of these as an "other" component would be a second copy.
_TYPED_COMPONENTS = frozenset(
    {"HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER", "CALL_PERMISSION_REQUEST"}
)


def _unknown_from_proto(messages: Iterable[pb.OtherComponent], field: str) -> tuple[UnknownComponent, ...]:
    parts = []
    for index, part in enumerate(messages):
        where = f"{field}[{index}]"
        if part.position < 0:
            raise invalid(f"{where}.position", "must be 0 or more (the place in Meta's component list)")
        document = _json_object(part.meta_json, f"{where}.meta_json")
        kind = str(json.loads(document).get("type", "")).strip().upper()
        if kind in _TYPED_COMPONENTS:
            raise invalid(f"{where}.meta_json", f"a {kind} component is written in its typed field, not here")
        parts.append(UnknownComponent(part.position, document))
    return tuple(parts)


def _json_object(text: str, field: str) -> str:
    """`text` as compact JSON, when it is a JSON object."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise invalid(field, f"is not JSON ({str(error)[:200]})") from None
    if not isinstance(value, dict):
        raise invalid(field, "must be a JSON object")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# ---- domain -> proto --------------------------------------------------------------------------


def components_to_proto(components: Components) -> pb.TemplateComponents:
    message = pb.TemplateComponents(
        body=components.body,
        footer=components.footer,
        buttons=[button_to_proto(b) for b in components.buttons],
        add_security_recommendation=components.add_security_recommendation,
        cards=[_card_to_proto(card) for card in components.carousel or ()],
        is_carousel=components.carousel is not None,
        other_components=[_unknown_to_proto(part) for part in components.unknown],
        call_permission_request=components.call_permission_request,
    )
    if components.header is not None:
        message.header.CopyFrom(_header_to_proto(components.header))
    if components.code_expiration_minutes is not None:
        message.code_expiration_minutes = components.code_expiration_minutes
    offer = components.limited_time_offer
    if offer is not None:
        message.limited_time_offer.CopyFrom(
            pb.LimitedTimeOffer(text=offer.text, has_expiration=offer.has_expiration)
        )
    return message


def _header_to_proto(header: Header) -> pb.TemplateHeader:
    return pb.TemplateHeader(
        format=HEADER[header.format],
        text=header.text,
        example_media_handles=list(header.example_media_handles),
    )


def button_to_proto(button: Button) -> pb.TemplateButton:
    message = pb.TemplateButton(
        type=BUTTON[button.type],
        text=button.text,
        url=button.url,
        phone_number=button.phone_number,
        example=button.example,
        meta_json=button.extra,
    )
    if button.otp is not None:
        otp = button.otp
        message.otp.CopyFrom(
            pb.OtpButton(
                otp_type=_OTP[otp.otp_type],
                autofill_text=otp.autofill_text,
                supported_apps=[
                    pb.SupportedApp(package_name=a.package_name, signature_hash=a.signature_hash)
                    for a in otp.supported_apps
                ],
                zero_tap_terms_accepted=otp.zero_tap_terms_accepted,
                apps_on_button=otp.apps_on_button,
            )
        )
    if button.flow is not None:
        flow = button.flow
        message.flow.CopyFrom(
            pb.FlowButton(
                flow_id=flow.flow_id,
                flow_name=flow.flow_name,
                flow_json=flow.flow_json,
                flow_action=(
                    pb.FLOW_ACTION_UNSPECIFIED if flow.flow_action is None else _FLOW_ACTION[flow.flow_action]
                ),
                navigate_screen=flow.navigate_screen,
                icon=flow.icon,
            )
        )
    return message


def _card_to_proto(card: CarouselCard) -> pb.CarouselCard:
    message = pb.CarouselCard(
        body=card.body,
        buttons=[button_to_proto(b) for b in card.buttons],
        other_components=[_unknown_to_proto(part) for part in card.unknown],
    )
    if card.header is not None:
        message.header.CopyFrom(_header_to_proto(card.header))
    return message


def _unknown_to_proto(part: UnknownComponent) -> pb.OtherComponent:
    return pb.OtherComponent(position=part.position, meta_json=part.json)
