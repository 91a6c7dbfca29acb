"""Send-time value validation and rendering into display texts and the parameters of a send.

The result is typed (texts, and the parameters in send order); Meta's JSON for them is the Graph
adapter's business. Values are keyed like ParameterSpec.key: the name for NAMED templates, "1".."n"
for a positional body, "header.1" for a positional header and "button.<index>" for a URL button
variable (0-based index in components.buttons, which is also Meta's send `index`). A COPY_CODE
button also takes an optional "button.<index>" value, the coupon code, which needs no ParameterSpec:
the code changes with every campaign, so it is not part of the template's declared parameters, and
it is left out of the send when not given.

Media headers (IMAGE, VIDEO, DOCUMENT) and LOCATION headers are not rendered: their send-time
parameters (a media link or id, coordinates) are outside this service, so no header component is
produced for them and `header_text` is empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

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


class SendComponent(StrEnum):
    HEADER = "HEADER"
    BODY = "BODY"
    BUTTON = "BUTTON"


@dataclass(frozen=True, slots=True)
class SendParameter:
    """One value as a send carries it. A message's parameters come in send order: the header's, the
    body's (positional ones by number), then the buttons' by index."""

    component: SendComponent
    value: str
    # NAMED templates name every header and body value; positional ones bind by position.
    name: str = ""
    # BUTTON: which button (0-based, as Meta's `index`), a URL's variable or a copy-code's coupon.
    button_index: int = -1
    button_type: ButtonType | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    header_text: str
    body_text: str
    footer_text: str
    buttons: tuple[RenderedButton, ...]
    parameters: tuple[SendParameter, ...]


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
    named = fmt is ParameterFormat.NAMED
    parameters = [
        SendParameter(SendComponent.HEADER, values[key], name=key if named else "")
        for key in _keys_in(header_text, ParameterLocation.HEADER, fmt)
    ]
    body_keys = _keys_in(components.body, ParameterLocation.BODY, fmt)
    if not named:
        # Meta binds positional values by position: the first body parameter fills {{1}}.
        body_keys.sort(key=lambda k: (int(k), k))
    parameters += [
        SendParameter(SendComponent.BODY, values[key], name=key if named else "") for key in body_keys
    ]

    buttons: list[RenderedButton] = []
    for index, button in enumerate(components.buttons):
        value = values.get(button_key(index))
        buttons.append(_render_button(button, value))
        if value is not None and button.type in (ButtonType.URL, ButtonType.COPY_CODE):
            parameters.append(
                SendParameter(SendComponent.BUTTON, value, button_index=index, button_type=button.type)
            )

    return RenderedMessage(
        header_text=_substitute(header_text, ParameterLocation.HEADER, fmt, values),
        body_text=_substitute(components.body, ParameterLocation.BODY, fmt, values),
        footer_text=components.footer,
        buttons=tuple(buttons),
        parameters=tuple(parameters),
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
