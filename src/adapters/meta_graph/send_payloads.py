"""A rendered message as Meta's send request spells it: the `template` object of
POST /{phone_number_id}/messages (name, language, components with `parameter_name` for NAMED
templates), strict in what it sends."""

from __future__ import annotations

from domain.components import ButtonType
from domain.rendering import RenderedMessage, SendComponent, SendParameter

_BUTTON_SUB_TYPES = {ButtonType.URL: "url", ButtonType.COPY_CODE: "copy_code"}


class MetaSendPayloads:
    """app.ports.SendPayloads for Meta's Cloud API."""

    def template(self, name: str, language_code: str, message: RenderedMessage) -> dict[str, object]:
        return template_payload(name, language_code, message)


def template_payload(name: str, language_code: str, message: RenderedMessage) -> dict[str, object]:
    """The `template` object of a send; a fresh one the caller may change."""
    return {"name": name, "language": {"code": language_code}, "components": send_components(message)}


def send_components(message: RenderedMessage) -> list[dict[str, object]]:
    """`template.components`, in header, body, buttons order; a part without values is left out."""
    components: list[dict[str, object]] = []
    for component, kind in ((SendComponent.HEADER, "header"), (SendComponent.BODY, "body")):
        parameters = [_text(p) for p in message.parameters if p.component is component]
        if parameters:
            components.append({"type": kind, "parameters": parameters})
    components.extend(
        _button(p)
        for p in message.parameters
        if p.component is SendComponent.BUTTON and p.button_type in _BUTTON_SUB_TYPES
    )
    return components


def _text(parameter: SendParameter) -> dict[str, object]:
    if parameter.name:
        return {"type": "text", "parameter_name": parameter.name, "text": parameter.value}
    return {"type": "text", "text": parameter.value}


def _button(parameter: SendParameter) -> dict[str, object]:
    assert parameter.button_type is not None
    value: dict[str, object] = (
        {"type": "coupon_code", "coupon_code": parameter.value}
        if parameter.button_type is ButtonType.COPY_CODE
        else {"type": "text", "text": parameter.value}
    )
    return {
        "type": "button",
        "sub_type": _BUTTON_SUB_TYPES[parameter.button_type],
        "index": str(parameter.button_index),
        "parameters": [value],
    }
