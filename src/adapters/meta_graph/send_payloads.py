"""A rendered message as Meta's send request spells it: the `template` object of
POST /{phone_number_id}/messages (name, language, components with `parameter_name` for NAMED
templates, carousel cards, the limited-time offer, every button's sub_type), strict in what it
sends."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import groupby

from domain.components import ButtonType
from domain.rendering import RenderedMessage
from domain.send_parameters import SendComponent, SendKind, SendParameter
from domain.send_values import parse_sections

_SUB_TYPES = {
    ButtonType.URL: "url",
    ButtonType.COPY_CODE: "copy_code",
    ButtonType.QUICK_REPLY: "quick_reply",
    # Every OTP button (copy code, one-tap, zero-tap) carries its code as a URL button's text.
    ButtonType.OTP: "url",
    ButtonType.CATALOG: "catalog",
    ButtonType.MPM: "mpm",
    ButtonType.FLOW: "flow",
    ButtonType.VOICE_CALL: "voice_call",
}


class MetaSendPayloads:
    """app.ports.SendPayloads for Meta's Cloud API."""

    def template(self, name: str, language_code: str, message: RenderedMessage) -> dict[str, object]:
        return template_payload(name, language_code, message)


def template_payload(name: str, language_code: str, message: RenderedMessage) -> dict[str, object]:
    """The `template` object of a send; a fresh one the caller may change."""
    return {"name": name, "language": {"code": language_code}, "components": send_components(message)}


def send_components(message: RenderedMessage) -> list[dict[str, object]]:
    """`template.components`: header, body, limited-time offer, buttons, then the carousel; a part
    without values is left out."""
    own = [p for p in message.parameters if p.card_index < 0]
    components = _components(own)
    if message.cards:
        by_card = {
            card: list(ps)
            for card, ps in groupby(
                (p for p in message.parameters if p.card_index >= 0), key=lambda p: p.card_index
            )
        }
        components.append(
            {
                "type": "carousel",
                "cards": [
                    {"card_index": index, "components": _components(by_card.get(index, []))}
                    for index in range(len(message.cards))
                ],
            }
        )
    return components


def _components(parameters: list[SendParameter]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for part, kind in (
        (SendComponent.HEADER, "header"),
        (SendComponent.BODY, "body"),
        (SendComponent.LIMITED_TIME_OFFER, "limited_time_offer"),
    ):
        values = [_parameter(p) for p in parameters if p.component is part]
        if values:
            out.append({"type": kind, "parameters": values})
    buttons = [p for p in parameters if p.component is SendComponent.BUTTON and p.button_type in _SUB_TYPES]
    for index, group in groupby(buttons, key=lambda p: p.button_index):
        out.append(_button(index, list(group)))
    return out


def _button(index: int, parameters: list[SendParameter]) -> dict[str, object]:
    button_type = parameters[0].button_type
    assert button_type is not None
    values: list[dict[str, object]] = []
    for parameter in parameters:
        values.extend(_button_values(parameter))
    return {"type": "button", "sub_type": _SUB_TYPES[button_type], "index": str(index), "parameters": values}


def _button_values(parameter: SendParameter) -> Iterable[dict[str, object]]:
    fields = dict(parameter.fields)
    match parameter.kind:
        case SendKind.COUPON_CODE:
            yield {"type": "coupon_code", "coupon_code": parameter.value}
        case SendKind.PAYLOAD:
            yield {"type": "payload", "payload": parameter.value}
        case SendKind.ACTION:
            yield {"type": "action", "action": _action(fields)}
        case SendKind.CALL:
            if "ttl_minutes" in fields:
                yield {"type": "ttl_minutes", "ttl_minutes": int(fields["ttl_minutes"])}
            if "payload" in fields:
                yield {"type": "payload", "payload": fields["payload"]}
        case _:
            yield {"type": "text", "text": parameter.value}


def _action(fields: dict[str, str]) -> dict[str, object]:
    action: dict[str, object] = {}
    if "thumbnail_product_retailer_id" in fields:
        action["thumbnail_product_retailer_id"] = fields["thumbnail_product_retailer_id"]
    if "sections" in fields:
        action["sections"] = [
            {"title": title, "product_items": [{"product_retailer_id": i} for i in ids]}
            for title, ids in parse_sections(fields["sections"])
        ]
    if "flow_token" in fields:
        action["flow_token"] = fields["flow_token"]
    if "flow_action_data" in fields:
        action["flow_action_data"] = json.loads(fields["flow_action_data"])
    return action


def _parameter(parameter: SendParameter) -> dict[str, object]:
    fields = dict(parameter.fields)
    match parameter.kind:
        case SendKind.MEDIA:
            media_type = fields["format"].lower()
            # Meta's media ids are digits; anything else was checked to be a link.
            media: dict[str, object] = (
                {"id": parameter.value} if parameter.value.isdigit() else {"link": parameter.value}
            )
            if "filename" in fields:
                media["filename"] = fields["filename"]
            return {"type": media_type, media_type: media}
        case SendKind.LOCATION:
            return {"type": "location", "location": fields}
        case SendKind.PRODUCT:
            return {"type": "product", "product": fields}
        case SendKind.EXPIRATION:
            return {
                "type": "limited_time_offer",
                "limited_time_offer": {"expiration_time_ms": int(parameter.value)},
            }
        case _:
            if parameter.name:
                return {"type": "text", "parameter_name": parameter.name, "text": parameter.value}
            return {"type": "text", "text": parameter.value}
