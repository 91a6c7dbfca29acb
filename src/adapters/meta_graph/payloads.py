"""Meta's template JSON (the body of POST /{waba_id}/message_templates, and what Meta lists) ->
a TemplateDefinition. Liberal in what it accepts: lowercase enum values, missing examples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterSpec,
    TemplateDefinition,
)
from domain.parameters import find_placeholders
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
        example = component.get("example") if isinstance(component.get("example"), Mapping) else {}
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
