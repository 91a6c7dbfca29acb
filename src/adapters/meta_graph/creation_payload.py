"""TemplateDefinition -> the body of POST /{waba_id}/message_templates, for every template type.

Strict in what it sends: uppercase enums, an explicit parameter_format every time, only the keys
Meta documents for each part, parts this version does not know exactly as they came, and, for
components still as Meta gave them, Meta's own JSON byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.meta_graph.button_json import button_to_meta
from domain.components import (
    Button,
    CarouselCard,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
    TemplateDefinition,
    UnknownComponent,
)
from domain.parameters import button_key, card_prefix, detect_format, text_keys


def definition_to_meta(definition: TemplateDefinition) -> dict[str, Any]:
    """The creation body for `definition`.

    parameter_format is always sent: Meta reads an absent one as POSITIONAL, so leaving it out would
    silently break a named template. A missing example is sent as "" (header/body) so positional
    examples keep their positions; lint refuses such a definition before it gets here anyway.
    """
    components = definition.components
    fmt = definition.parameter_format or detect_format(components) or ParameterFormat.POSITIONAL
    examples = _examples(definition)
    payload: dict[str, Any] = {"name": definition.display_name, "language": definition.language_code}
    if definition.category is not None:
        # Uppercase even though Meta tolerates lowercase: one spelling is easier to reason about.
        payload["category"] = definition.category.value
    payload["parameter_format"] = fmt.value
    kept = _as_meta_gave_it(definition, examples)
    payload["components"] = kept if kept is not None else components_to_meta(components, fmt, examples)
    return payload


def _examples(definition: TemplateDefinition) -> dict[str, str]:
    examples: dict[str, str] = {}
    for spec in definition.parameters:
        # The first spec of a key wins, as in rendering.
        examples.setdefault(spec.key, spec.example)
    return examples


def _as_meta_gave_it(definition: TemplateDefinition, examples: Mapping[str, str]) -> list[Any] | None:
    """Meta's components JSON, when it still says exactly what `definition` says (components and
    examples): then a template synced from Meta goes back byte for byte."""
    meta_json = definition.components.meta_json
    if not meta_json:
        return None
    # Imported here: reading is the other direction's module, needed only for this check.
    from adapters.meta_graph.payloads import PayloadError, definition_from_meta

    raw: list[Any] = json.loads(meta_json)
    try:
        again = definition_from_meta({"components": raw}, lenient=True)
    except PayloadError:
        return None
    if again.components != definition.components:
        return None
    given = {key: value for key, value in examples.items() if value}
    if {spec.key: spec.example for spec in again.parameters if spec.example} != given:
        return None
    return raw


def components_to_meta(
    components: Components, fmt: ParameterFormat, examples: Mapping[str, str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if components.header is not None:
        out.append(_header_to_meta(components.header, fmt, examples, ""))
    offer = components.limited_time_offer
    if offer is not None:
        out.append(
            {
                "type": "LIMITED_TIME_OFFER",
                "limited_time_offer": {"text": offer.text, "has_expiration": offer.has_expiration},
            }
        )
    if components.is_authentication:
        # Meta writes the text of an authentication body and footer; only the options are sent.
        body: dict[str, Any] = {"type": "BODY"}
        if components.add_security_recommendation:
            body["add_security_recommendation"] = True
        out.append(body)
        if components.code_expiration_minutes is not None:
            out.append({"type": "FOOTER", "code_expiration_minutes": components.code_expiration_minutes})
    else:
        out.append(_body_to_meta(components.body, ParameterLocation.BODY, fmt, examples, ""))
        if components.footer:
            out.append({"type": "FOOTER", "text": components.footer})
    if components.buttons:
        out.append(_buttons_to_meta(components.buttons, examples, ""))
    if components.carousel is not None:
        out.append(
            {
                "type": "CAROUSEL",
                "cards": [
                    {"components": _card_to_meta(card, fmt, examples, card_prefix(index))}
                    for index, card in enumerate(components.carousel)
                ],
            }
        )
    if components.call_permission_request:
        out.append({"type": "CALL_PERMISSION_REQUEST"})
    return _with_unknown(out, components.unknown)


def _card_to_meta(
    card: CarouselCard, fmt: ParameterFormat, examples: Mapping[str, str], prefix: str
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if card.header is not None:
        out.append(_header_to_meta(card.header, fmt, examples, prefix))
    if card.body:
        out.append(_body_to_meta(card.body, ParameterLocation.CARD_BODY, fmt, examples, prefix))
    if card.buttons:
        out.append(_buttons_to_meta(card.buttons, examples, prefix))
    return _with_unknown(out, card.unknown)


def _with_unknown(out: list[dict[str, Any]], unknown: tuple[UnknownComponent, ...]) -> list[dict[str, Any]]:
    """Puts the components this version does not know back where they were in Meta's list."""
    for part in sorted(unknown, key=lambda u: u.position):
        out.insert(min(part.position, len(out)), json.loads(part.json))
    return out


def _body_to_meta(
    text: str, location: ParameterLocation, fmt: ParameterFormat, examples: Mapping[str, str], prefix: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "BODY", "text": text}
    keys = text_keys(text, location, fmt)
    if keys and fmt is ParameterFormat.NAMED:
        body["example"] = {"body_text_named_params": _named_params(keys, examples, prefix)}
    elif keys:
        # Meta binds positional examples by position: the inner list's first value fills {{1}}.
        keys.sort(key=lambda k: (int(k), k))
        body["example"] = {"body_text": [[examples.get(prefix + k, "") for k in keys]]}
    return body


def _header_to_meta(
    header: Header, fmt: ParameterFormat, examples: Mapping[str, str], prefix: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "HEADER", "format": header.format.value}
    if header.format is HeaderFormat.TEXT:
        out["text"] = header.text
        keys = text_keys(header.text, ParameterLocation.HEADER, fmt)
        if keys and fmt is ParameterFormat.NAMED:
            out["example"] = {"header_text_named_params": _named_params(keys, examples, prefix)}
        elif keys:
            out["example"] = {"header_text": [examples.get(prefix + k, "") for k in keys]}
    elif header.example_media_handles:
        out["example"] = {"header_handle": list(header.example_media_handles)}
    return out


def _buttons_to_meta(buttons: tuple[Button, ...], examples: Mapping[str, str], prefix: str) -> dict[str, Any]:
    return {
        "type": "BUTTONS",
        "buttons": [
            button_to_meta(button, examples.get(prefix + button_key(index), ""))
            for index, button in enumerate(buttons)
        ],
    }


def _named_params(keys: list[str], examples: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    return [{"param_name": key, "example": examples.get(prefix + key, "")} for key in keys]
