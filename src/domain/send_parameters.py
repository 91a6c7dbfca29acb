"""The values of a send, typed and in Meta's send order: what a template's send carries for its
header, body, limited-time offer, buttons and carousel cards. Meta's JSON for them is the Graph
adapter's business (send_payloads)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.components import (
    MEDIA_HEADERS,
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
)
from domain.parameters import button_key, card_prefix, text_keys
from domain.send_values import OFFER_EXPIRATION_KEY, OTP_CODE_KEY


class SendComponent(StrEnum):
    HEADER = "HEADER"
    BODY = "BODY"
    LIMITED_TIME_OFFER = "LIMITED_TIME_OFFER"
    BUTTON = "BUTTON"


class SendKind(StrEnum):
    TEXT = "TEXT"
    # A media header: `value` is Meta's media id or a link; fields: format, and filename (documents).
    MEDIA = "MEDIA"
    # fields: latitude, longitude, name, address.
    LOCATION = "LOCATION"
    # fields: product_retailer_id, catalog_id.
    PRODUCT = "PRODUCT"
    COUPON_CODE = "COUPON_CODE"
    PAYLOAD = "PAYLOAD"
    # A limited-time offer's expiry: `value` is Unix time in milliseconds.
    EXPIRATION = "EXPIRATION"
    # CATALOG, MPM and FLOW buttons: fields thumbnail_product_retailer_id, sections (JSON),
    # flow_token, flow_action_data (JSON).
    ACTION = "ACTION"
    # VOICE_CALL buttons: fields ttl_minutes, payload.
    CALL = "CALL"


@dataclass(frozen=True, slots=True)
class SendParameter:
    """One value as a send carries it. A message's parameters come in send order: the header's, the
    body's (positional ones by number), the offer's, the buttons' by index, then each card's."""

    component: SendComponent
    value: str
    # NAMED templates name every header and body value; positional ones bind by position.
    name: str = ""
    # BUTTON: which button (0-based, as Meta's `index`).
    button_index: int = -1
    button_type: ButtonType | None = None
    # A carousel card's value: the card (0-based, Meta's card_index).
    card_index: int = -1
    kind: SendKind = SendKind.TEXT
    fields: tuple[tuple[str, str], ...] = ()


def send_parameters(
    components: Components, fmt: ParameterFormat, values: Mapping[str, str]
) -> list[SendParameter]:
    """The parameters of a send of `components` with `values` (already checked)."""
    header = components.header
    out = list(_header(header, fmt, values, "", -1))
    if components.is_authentication:
        # Meta's body has one placeholder, the code; its button carries the code too.
        out.append(SendParameter(SendComponent.BODY, values[OTP_CODE_KEY]))
    else:
        out.extend(_body(components.body, ParameterLocation.BODY, fmt, values, "", -1))
    if OFFER_EXPIRATION_KEY in values:
        out.append(
            SendParameter(
                SendComponent.LIMITED_TIME_OFFER, values[OFFER_EXPIRATION_KEY], kind=SendKind.EXPIRATION
            )
        )
    for index, button in enumerate(components.buttons):
        out.extend(_button(button, index, values, "", -1))
    for card, content in enumerate(components.carousel or ()):
        prefix = card_prefix(card)
        out.extend(_header(content.header, fmt, values, prefix, card))
        out.extend(_body(content.body, ParameterLocation.CARD_BODY, fmt, values, prefix, card))
        for index, button in enumerate(content.buttons):
            out.extend(_button(button, index, values, prefix, card))
    return out


def _header(
    header: Header | None, fmt: ParameterFormat, values: Mapping[str, str], prefix: str, card: int
) -> Iterator[SendParameter]:
    if header is None:
        return
    key = f"{prefix}header."
    if header.format is HeaderFormat.TEXT:
        named = fmt is ParameterFormat.NAMED
        for value_key in text_keys(header.text, ParameterLocation.HEADER, fmt):
            yield SendParameter(
                SendComponent.HEADER,
                values[prefix + value_key],
                name=value_key if named else "",
                card_index=card,
            )
    elif header.format in MEDIA_HEADERS:
        fields = [("format", header.format.value)]
        if key + "filename" in values:
            fields.append(("filename", values[key + "filename"]))
        yield SendParameter(
            SendComponent.HEADER,
            values[key + "media"],
            card_index=card,
            kind=SendKind.MEDIA,
            fields=tuple(fields),
        )
    elif header.format is HeaderFormat.LOCATION:
        parts = ("latitude", "longitude", "name", "address")
        yield SendParameter(
            SendComponent.HEADER,
            "",
            card_index=card,
            kind=SendKind.LOCATION,
            fields=tuple((part, values[key + part]) for part in parts if key + part in values),
        )
    elif header.format is HeaderFormat.PRODUCT:
        yield SendParameter(
            SendComponent.HEADER,
            values[key + "product_retailer_id"],
            card_index=card,
            kind=SendKind.PRODUCT,
            fields=(
                ("product_retailer_id", values[key + "product_retailer_id"]),
                ("catalog_id", values[key + "catalog_id"]),
            ),
        )


def _body(
    text: str,
    location: ParameterLocation,
    fmt: ParameterFormat,
    values: Mapping[str, str],
    prefix: str,
    card: int,
) -> Iterator[SendParameter]:
    named = fmt is ParameterFormat.NAMED
    keys = text_keys(text, location, fmt)
    if not named:
        # Meta binds positional values by position: the first body parameter fills {{1}}.
        keys.sort(key=lambda k: (int(k), k))
    for key in keys:
        yield SendParameter(
            SendComponent.BODY, values[prefix + key], name=key if named else "", card_index=card
        )


_ACTION_FIELDS = ("thumbnail_product_retailer_id", "sections", "flow_token", "flow_action_data")
_CALL_FIELDS = ("ttl_minutes", "payload")
_SIMPLE = {
    ButtonType.URL: SendKind.TEXT,
    ButtonType.COPY_CODE: SendKind.COUPON_CODE,
    ButtonType.QUICK_REPLY: SendKind.PAYLOAD,
}


def _button(
    button: Button, index: int, values: Mapping[str, str], prefix: str, card: int
) -> Iterator[SendParameter]:
    key = prefix + button_key(index)

    def parameter(value: str, kind: SendKind, fields: tuple[tuple[str, str], ...] = ()) -> SendParameter:
        return SendParameter(
            SendComponent.BUTTON,
            value,
            button_index=index,
            button_type=button.type,
            card_index=card,
            kind=kind,
            fields=fields,
        )

    if button.type is ButtonType.OTP:
        yield parameter(values[OTP_CODE_KEY], SendKind.TEXT)
    elif button.type in _SIMPLE and key in values:
        yield parameter(values[key], _SIMPLE[button.type])
    elif button.type in (ButtonType.CATALOG, ButtonType.MPM, ButtonType.FLOW):
        fields = tuple(
            (name, values[f"{key}.{name}"]) for name in _ACTION_FIELDS if f"{key}.{name}" in values
        )
        # Meta's catalog button takes its parameters only to choose a thumbnail; a Flow's has defaults.
        if fields or button.type is ButtonType.FLOW:
            yield parameter("", SendKind.ACTION, fields)
    elif button.type is ButtonType.VOICE_CALL:
        fields = tuple((name, values[f"{key}.{name}"]) for name in _CALL_FIELDS if f"{key}.{name}" in values)
        if fields:
            yield parameter("", SendKind.CALL, fields)
