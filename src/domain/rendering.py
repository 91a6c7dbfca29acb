"""Send-time value validation and rendering into display texts and Meta's send payload.

Values are keyed like ParameterSpec.key: the name for NAMED templates, "1".."n" for a positional body,
"header.1" for a positional header and "button.<index>" for a URL button variable (0-based index in
components.buttons, which is also Meta's send `index`). A COPY_CODE button also takes an optional
"button.<index>" value, the coupon code, which needs no ParameterSpec: the code changes with every
campaign, so it is not part of the template's declared parameters, and it is left out of the payload
when not given.

Media headers (IMAGE, VIDEO, DOCUMENT) and LOCATION headers are not rendered: their send-time
parameters (a media link or id, coordinates) are outside this service, so no header component is
produced for them and `header_text` is empty.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from domain.components import (
    Button,
    ButtonType,
    Components,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
    ParameterSpec,
    TemplateDefinition,
)
from domain.errors import InvalidParameterValues, TemplateLifecycleError
from domain.meta_rules import (
    BODY_MAX,
    HEADER_MAX,
    coupon_code_problems,
    patterns_work,
    value_problems,
)
from domain.parameters import (
    button_key,
    detect_format,
    find_placeholders,
    parameter_keys,
    placeholder_key,
)
from domain.patterns import PATTERN_WORK_BUDGET, compile_pattern, pattern_problem

# The key of a violation about the whole rendered message rather than one value.
MESSAGE_KEY = ""


@dataclass(frozen=True, slots=True)
class ValueViolation:
    code: str
    # The value key at fault; MESSAGE_KEY ("") for a limit on the rendered message as a whole.
    key: str
    message: str


@dataclass(frozen=True, slots=True)
class RenderedButton:
    type: ButtonType
    text: str
    url: str = ""
    phone_number: str = ""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    header_text: str
    body_text: str
    footer_text: str
    buttons: tuple[RenderedButton, ...]
    # `template.components` of Meta's POST /{phone_number_id}/messages, in header, body, buttons order.
    meta_components: tuple[dict[str, object], ...]

    def meta_template(self, name: str, language_code: str) -> dict[str, object]:
        """The `template` object of Meta's send request; a fresh copy the caller may mutate."""
        return {
            "name": name,
            "language": {"code": language_code},
            "components": copy.deepcopy(list(self.meta_components)),
        }


def render_definition(definition: TemplateDefinition, values: Mapping[str, str]) -> RenderedMessage:
    """Checks every value, then renders; raises InvalidParameterValues listing all problems.

    Optional parameters left out of `values` take their default_value. The rendered-length limits
    are only checked once every value is acceptable: before that the rendered text is not the one
    that would be sent, and the value problems are what the caller has to fix first.
    """
    components = definition.components
    fmt = definition.parameter_format or detect_format(components) or ParameterFormat.POSITIONAL
    keys = parameter_keys(components, fmt)
    specs: dict[str, ParameterSpec] = {}
    for spec in definition.parameters:
        specs.setdefault(spec.key, spec)
    coupon_keys = [
        button_key(i) for i, button in enumerate(components.buttons) if button.type is ButtonType.COPY_CODE
    ]

    _require_runnable_patterns(keys, specs)
    violations: list[ValueViolation] = []
    resolved: dict[str, str] = {}
    for key, locations in keys.items():
        spec = specs.get(key, ParameterSpec(key=key))
        if key in values:
            value = values[key]
        elif spec.optional:
            value = spec.default_value
        else:
            violations.append(ValueViolation("VALUE_MISSING", key, f"value for parameter {key!r} is missing"))
            continue
        violations.extend(_check_value(key, value, spec, locations))
        resolved[key] = value
    for key in coupon_keys:
        if key in values:
            violations.extend(_check_coupon(key, values[key]))
            resolved[key] = values[key]
    violations.extend(
        ValueViolation(
            "VALUE_UNKNOWN",
            key,
            f"parameter {key!r} is not used by this template{_expected_hint(keys)}",
        )
        for key in values
        if key not in keys and key not in coupon_keys
    )
    if violations:
        raise InvalidParameterValues(violations)

    message = _render(components, fmt, resolved)
    if len(message.header_text) > HEADER_MAX:
        violations.append(
            ValueViolation(
                "HEADER_TOO_LONG_AFTER_RENDER",
                MESSAGE_KEY,
                f"rendered header is {len(message.header_text)} characters; Meta allows at most {HEADER_MAX}",
            )
        )
    if len(message.body_text) > BODY_MAX:
        violations.append(
            ValueViolation(
                "BODY_TOO_LONG_AFTER_RENDER",
                MESSAGE_KEY,
                f"rendered body is {len(message.body_text)} characters; Meta allows at most "
                f"{BODY_MAX} (error 132005)",
            )
        )
    if violations:
        raise InvalidParameterValues(violations)
    return message


def _check_value(
    key: str, value: str, spec: ParameterSpec, locations: tuple[ParameterLocation, ...]
) -> list[ValueViolation]:
    pattern = compile_pattern(spec.pattern) if spec.pattern else None
    return [
        ValueViolation(problem.code, key, f"value for parameter {key!r} {problem.detail}")
        for problem in value_problems(value, spec, locations, pattern)
    ]


def _require_runnable_patterns(
    keys: Mapping[str, tuple[ParameterLocation, ...]], specs: Mapping[str, ParameterSpec]
) -> None:
    """Lint refuses these, so only a template stored under older rules can hold them: the template
    is at fault, not the caller's values."""
    work, refused = patterns_work(specs, keys)
    if refused:
        key = refused[0]
        raise TemplateLifecycleError(
            "PATTERN_UNSUPPORTED",
            f"the pattern of parameter {key!r} cannot be run ({pattern_problem(specs[key].pattern)}); "
            "update the template",
        )
    if work > PATTERN_WORK_BUDGET:
        raise TemplateLifecycleError(
            "PATTERNS_TOO_COSTLY",
            "the template's patterns together are too costly to check on every send; update the template "
            "(simpler patterns, or a max_length on the parameters)",
        )


def _check_coupon(key: str, value: str) -> list[ValueViolation]:
    return [
        ValueViolation(problem.code, key, f"coupon code for parameter {key!r} {problem.detail}")
        for problem in coupon_code_problems(value)
    ]


def _expected_hint(keys: Mapping[str, object]) -> str:
    if not keys:
        return " (it takes no values)"
    return " (expected: " + ", ".join(repr(k) for k in keys) + ")"


def _render(components: Components, fmt: ParameterFormat, values: Mapping[str, str]) -> RenderedMessage:
    header = components.header
    header_text = header.text if header is not None and header.format is HeaderFormat.TEXT else ""
    meta: list[dict[str, object]] = []

    header_keys = _keys_in(header_text, ParameterLocation.HEADER, fmt)
    if header_keys:
        meta.append(
            {"type": "header", "parameters": [_text_parameter(k, values[k], fmt) for k in header_keys]}
        )
    body_keys = _keys_in(components.body, ParameterLocation.BODY, fmt)
    if fmt is ParameterFormat.POSITIONAL:
        # Meta binds positional values by position: parameters[0] fills {{1}}.
        body_keys.sort(key=lambda k: (int(k), k))
    if body_keys:
        meta.append({"type": "body", "parameters": [_text_parameter(k, values[k], fmt) for k in body_keys]})

    buttons: list[RenderedButton] = []
    for index, button in enumerate(components.buttons):
        value = values.get(button_key(index))
        buttons.append(_render_button(button, value))
        if value is None:
            continue
        if button.type is ButtonType.URL:
            meta.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": str(index),
                    "parameters": [{"type": "text", "text": value}],
                }
            )
        elif button.type is ButtonType.COPY_CODE:
            meta.append(
                {
                    "type": "button",
                    "sub_type": "copy_code",
                    "index": str(index),
                    "parameters": [{"type": "coupon_code", "coupon_code": value}],
                }
            )

    return RenderedMessage(
        header_text=_substitute(header_text, ParameterLocation.HEADER, fmt, values),
        body_text=_substitute(components.body, ParameterLocation.BODY, fmt, values),
        footer_text=components.footer,
        buttons=tuple(buttons),
        meta_components=tuple(meta),
    )


def _render_button(button: Button, value: str | None) -> RenderedButton:
    if button.type is ButtonType.URL:
        url = button.url
        if value is not None:
            # Every variable of a URL is the single "button.<index>" value (lint allows only {{1}}).
            for p in reversed(find_placeholders(url)):
                url = url[: p.start] + value + url[p.end :]
        return RenderedButton(type=button.type, text=button.text, url=url)
    if button.type is ButtonType.PHONE_NUMBER:
        return RenderedButton(type=button.type, text=button.text, phone_number=button.phone_number)
    return RenderedButton(type=button.type, text=button.text)


def _keys_in(text: str, location: ParameterLocation, fmt: ParameterFormat) -> list[str]:
    keys: dict[str, None] = {}
    for p in find_placeholders(text):
        key = placeholder_key(location, p, fmt)
        if key is not None:
            keys.setdefault(key)
    return list(keys)


def _text_parameter(key: str, value: str, fmt: ParameterFormat) -> dict[str, object]:
    if fmt is ParameterFormat.NAMED:
        return {"type": "text", "parameter_name": key, "text": value}
    return {"type": "text", "text": value}


def _substitute(
    text: str, location: ParameterLocation, fmt: ParameterFormat, values: Mapping[str, str]
) -> str:
    parts: list[str] = []
    position = 0
    for p in find_placeholders(text):
        key = placeholder_key(location, p, fmt)
        if key is None or key not in values:
            continue
        parts.append(text[position : p.start])
        parts.append(values[key])
        position = p.end
    parts.append(text[position:])
    return "".join(parts)
