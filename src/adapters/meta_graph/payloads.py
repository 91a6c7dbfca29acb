"""Meta's template JSON <-> TemplateDefinition.

Inbound (`definition_from_meta`, `state_from_meta`): the body of POST /{waba_id}/message_templates
and what Meta lists. Liberal in what it accepts: lowercase enum values, missing examples.
Outbound (`definition_to_meta`): the exact creation body. Strict in what it sends: uppercase enums
and an explicit parameter_format every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.meta_ports import MetaTemplateState
from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
    ParameterSpec,
    TemplateDefinition,
)
from domain.parameters import (
    button_key,
    detect_format,
    find_placeholders,
    placeholder_key,
    url_button_indexes,
)
from domain.status import TemplateCategory


class PayloadError(ValueError):
    """The JSON is not shaped like a Meta template at all (lint reports rule violations separately)."""


def definition_from_meta(payload: Mapping[str, Any]) -> TemplateDefinition:
    if not isinstance(payload, Mapping):
        raise PayloadError("a template must be a JSON object")
    components = payload.get("components")
    if not isinstance(components, list):
        raise PayloadError("'components' must be a list of HEADER/BODY/FOOTER/BUTTONS objects")
    header: Header | None = None
    body = footer = ""
    buttons: list[Button] = []
    examples: dict[str, str] = {}
    fmt = _parameter_format(payload.get("parameter_format"))
    for index, component in enumerate(components):
        if not isinstance(component, Mapping):
            raise PayloadError(f"components[{index}] must be an object")
        kind = str(component.get("type", "")).upper()
        raw_example = component.get("example")
        example: Mapping[str, Any] = raw_example if isinstance(raw_example, Mapping) else {}
        if kind == "HEADER":
            header_format = _header_format(component.get("format", "TEXT"), index)
            header = Header(
                header_format,
                str(component.get("text", "")),
                tuple(map(str, example.get("header_handle", []))),
            )
            examples.update(_named_examples(example.get("header_text_named_params")))
            positional = example.get("header_text")
            if isinstance(positional, list) and positional:
                examples["header.1"] = str(positional[0])
        elif kind == "BODY":
            body = str(component.get("text", ""))
            examples.update(_named_examples(example.get("body_text_named_params")))
            rows = example.get("body_text")
            if isinstance(rows, list) and rows and isinstance(rows[0], list):
                # Positional examples follow the order of first appearance, which lint requires to be 1..n.
                examples.update({str(i): str(value) for i, value in enumerate(rows[0], start=1)})
        elif kind == "FOOTER":
            footer = str(component.get("text", ""))
        elif kind == "BUTTONS":
            for b_index, raw in enumerate(component.get("buttons") or []):
                button = _button(raw, index, b_index)
                position = len(buttons)
                buttons.append(button)
                if button.type is ButtonType.URL and isinstance(raw.get("example"), list) and raw["example"]:
                    value = _url_variable_example(button.url, str(raw["example"][0]))
                    if value:
                        examples[f"button.{position}"] = value
        else:
            raise PayloadError(
                f"components[{index}].type {component.get('type')!r} is not HEADER/BODY/FOOTER/BUTTONS"
            )
    category = payload.get("category")
    return TemplateDefinition(
        display_name=str(payload.get("name", "")),
        language_code=str(payload.get("language", "")),
        category=_category(category) if category else None,
        components=Components(body=body, header=header, footer=footer, buttons=tuple(buttons)),
        parameters=tuple(ParameterSpec(key=k, example=v) for k, v in examples.items()),
        parameter_format=fmt,
    )


def _named_examples(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {
        str(item["param_name"]): str(item.get("example", ""))
        for item in raw
        if isinstance(item, Mapping) and "param_name" in item
    }


def _url_variable_example(url: str, example_url: str) -> str:
    """Meta's URL example is the whole URL; the parameter's example is the part the variable fills."""
    placeholders = find_placeholders(url)
    if not placeholders:
        return ""
    prefix = url[: placeholders[0].start]
    return example_url[len(prefix) :] if example_url.startswith(prefix) else example_url


def _button(raw: object, component: int, index: int) -> Button:
    where = f"components[{component}].buttons[{index}]"
    if not isinstance(raw, Mapping):
        raise PayloadError(f"{where} must be an object")
    try:
        kind = ButtonType(str(raw.get("type", "")).upper())
    except ValueError:
        raise PayloadError(
            f"{where}.type {raw.get('type')!r} is not one of {', '.join(ButtonType)}"
        ) from None
    example = raw.get("example", "")
    return Button(
        type=kind,
        text=str(raw.get("text", "")),
        url=str(raw.get("url", "")),
        phone_number=str(raw.get("phone_number", "")),
        example=str(example) if kind is ButtonType.COPY_CODE and not isinstance(example, list) else "",
    )


def _header_format(raw: object, index: int) -> HeaderFormat:
    try:
        return HeaderFormat(str(raw).upper())
    except ValueError:
        raise PayloadError(
            f"components[{index}].format {raw!r} is not one of {', '.join(HeaderFormat)}"
        ) from None


def _parameter_format(raw: object) -> ParameterFormat:
    if raw is None or raw == "":
        # Meta reads an absent parameter_format as POSITIONAL, so a named template without it would
        # be rejected; linting it as POSITIONAL surfaces that before submission.
        return ParameterFormat.POSITIONAL
    try:
        return ParameterFormat(str(raw).upper())
    except ValueError:
        raise PayloadError(f"parameter_format {raw!r} is not NAMED or POSITIONAL") from None


def _category(raw: object) -> TemplateCategory:
    try:
        return TemplateCategory.from_meta(str(raw))
    except ValueError:
        raise PayloadError(f"category {raw!r} is not one of {', '.join(TemplateCategory)}") from None


# ---- outbound: TemplateDefinition -> Meta ----------------------------------------------------------


def definition_to_meta(definition: TemplateDefinition) -> dict[str, Any]:
    """The body of POST /{waba_id}/message_templates for `definition`.

    parameter_format is always sent: Meta reads an absent one as POSITIONAL, so leaving it out would
    silently break a named template. A missing example is sent as "" (header/body) so positional
    examples keep their positions; lint refuses such a definition before it gets here anyway.
    """
    components = definition.components
    fmt = definition.parameter_format or detect_format(components) or ParameterFormat.POSITIONAL
    examples: dict[str, str] = {}
    for spec in definition.parameters:
        # The first spec of a key wins, as in rendering.
        examples.setdefault(spec.key, spec.example)

    out: list[dict[str, Any]] = []
    header = components.header
    if header is not None:
        out.append(_header_to_meta(header, fmt, examples))
    body: dict[str, Any] = {"type": "BODY", "text": components.body}
    body_keys = _keys_in(components.body, ParameterLocation.BODY, fmt)
    if body_keys:
        if fmt is ParameterFormat.NAMED:
            body["example"] = {"body_text_named_params": _named_params(body_keys, examples)}
        else:
            # Meta binds positional examples by position: the inner list's first value fills {{1}}.
            body_keys.sort(key=lambda k: (int(k), k))
            body["example"] = {"body_text": [[examples.get(k, "") for k in body_keys]]}
    out.append(body)
    if components.footer:
        out.append({"type": "FOOTER", "text": components.footer})
    if components.buttons:
        with_variable = set(url_button_indexes(components))
        out.append(
            {
                "type": "BUTTONS",
                "buttons": [
                    _button_to_meta(i, button, i in with_variable, examples)
                    for i, button in enumerate(components.buttons)
                ],
            }
        )

    payload: dict[str, Any] = {"name": definition.display_name, "language": definition.language_code}
    if definition.category is not None:
        # Uppercase even though Meta tolerates lowercase: one spelling is easier to reason about.
        payload["category"] = definition.category.value
    payload["parameter_format"] = fmt.value
    payload["components"] = out
    return payload


def _keys_in(text: str, location: ParameterLocation, fmt: ParameterFormat) -> list[str]:
    """Value keys of `text` in order of first appearance (placeholders of the other format skipped)."""
    keys: dict[str, None] = {}
    for placeholder in find_placeholders(text):
        key = placeholder_key(location, placeholder, fmt)
        if key is not None:
            keys.setdefault(key)
    return list(keys)


def _named_params(keys: list[str], examples: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"param_name": key, "example": examples.get(key, "")} for key in keys]


def _header_to_meta(header: Header, fmt: ParameterFormat, examples: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "HEADER", "format": header.format.value}
    if header.format is HeaderFormat.TEXT:
        out["text"] = header.text
        keys = _keys_in(header.text, ParameterLocation.HEADER, fmt)
        if keys and fmt is ParameterFormat.NAMED:
            out["example"] = {"header_text_named_params": _named_params(keys, examples)}
        elif keys:
            out["example"] = {"header_text": [examples.get(k, "") for k in keys]}
    elif header.example_media_handles:
        out["example"] = {"header_handle": list(header.example_media_handles)}
    return out


def _button_to_meta(
    index: int, button: Button, has_variable: bool, examples: Mapping[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": button.type.value}
    # A copy-code button's label is fixed by WhatsApp; Meta's examples send no text for it.
    if button.text or button.type is not ButtonType.COPY_CODE:
        out["text"] = button.text
    if button.type is ButtonType.URL:
        out["url"] = button.url
        example = examples.get(button_key(index), "")
        if has_variable and example:
            # Meta wants the whole URL as it would look, not just the part the variable fills.
            url = button.url
            for placeholder in reversed(find_placeholders(url)):
                url = url[: placeholder.start] + example + url[placeholder.end :]
            out["example"] = [url]
    elif button.type is ButtonType.PHONE_NUMBER:
        out["phone_number"] = button.phone_number
    elif button.type is ButtonType.COPY_CODE:
        out["example"] = button.example
    return out


# ---- inbound: one listed template -> MetaTemplateState ---------------------------------------------

_COMPONENT_TYPES = frozenset({"HEADER", "BODY", "FOOTER", "BUTTONS"})


def state_from_meta(item: Mapping[str, Any]) -> MetaTemplateState:
    """One element of GET /{waba_id}/message_templates `data`; never raises for a JSON object.

    A sync must not fail (or, worse, lose a template) because Meta lists something this service does
    not model yet: unknown component, header or button types (carousels, OTP, flows, ...) are left out
    of the definition, an unknown category leaves `definition.category` unset, and missing fields
    read as "". Status, category and quality stay Meta's verbatim strings.
    """
    quality_score = item.get("quality_score")
    if isinstance(quality_score, Mapping):
        quality = _text(quality_score.get("score"))
    else:
        # Older API versions and some SDK fixtures give the bare score.
        quality = _text(quality_score)
    return MetaTemplateState(
        meta_template_id=_text(item.get("id")),
        definition=definition_from_meta(_sanitized(item)),
        status=_text(item.get("status")),
        category=_text(item.get("category")),
        quality=quality,
        rejected_reason=_text(item.get("rejected_reason")),
    )


def _text(value: object) -> str:
    return "" if value is None or isinstance(value, Mapping | list) else str(value)


def _sanitized(item: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `item` that definition_from_meta accepts (which refuses unknown shapes on purpose)."""
    out: dict[str, Any] = {"name": _text(item.get("name")), "language": _text(item.get("language"))}
    category = _text(item.get("category"))
    if TemplateCategory.parse(category) is not None:
        out["category"] = category
    fmt = _text(item.get("parameter_format"))
    if fmt.strip().upper() in ParameterFormat.__members__:
        out["parameter_format"] = fmt.strip()
    raw_components = item.get("components")
    components: list[dict[str, Any]] = []
    for raw in raw_components if isinstance(raw_components, list) else []:
        if not isinstance(raw, Mapping):
            continue
        kind = _text(raw.get("type")).upper()
        if kind not in _COMPONENT_TYPES:
            continue
        component = {k: v for k, v in raw.items() if v is not None}
        if kind == "HEADER" and _text(raw.get("format", "TEXT")).upper() not in HeaderFormat.__members__:
            continue
        if kind == "BUTTONS":
            buttons = raw.get("buttons")
            component["buttons"] = [
                button
                for button in (buttons if isinstance(buttons, list) else [])
                if isinstance(button, Mapping) and _text(button.get("type")).upper() in ButtonType.__members__
            ]
        components.append(component)
    out["components"] = components
    return out
