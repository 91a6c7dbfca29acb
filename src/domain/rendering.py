"""Send-time value validation and rendering into display texts and the parameters of a send.

The result is typed (texts, and the parameters in send order: domain.send_parameters); Meta's JSON
for them is the Graph adapter's business. Values are keyed like ParameterSpec.key: the name for
NAMED templates, "1".."n" for a positional body, "header.1" for a positional header,
"button.<index>" for a URL button variable (0-based index in components.buttons, which is also
Meta's send `index`) and "card.<card>." before the keys of a carousel card. What each template type
needs besides its placeholders (a media header's file, the one-time password, a limited-time offer's
expiry, a coupon code, a quick reply's payload, a catalog's products, a Flow's token) has keys of its
own, listed in domain.send_values: those need no ParameterSpec, they change with every send.
"""

from __future__ import annotations

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
from domain.meta_rules import BODY_MAX, CARD_BODY_MAX, HEADER_MAX, patterns_work, value_problems
from domain.parameters import (
    button_key,
    card_prefix,
    detect_format,
    find_placeholders,
    parameter_keys,
    placeholder_key,
)
from domain.patterns import PATTERN_WORK_BUDGET, compile_pattern, pattern_problem
from domain.send_parameters import SendParameter, send_parameters
from domain.send_values import OTP_CODE_KEY, send_value_problems, send_values

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
class RenderedCard:
    body_text: str
    buttons: tuple[RenderedButton, ...]


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    header_text: str
    body_text: str
    footer_text: str
    buttons: tuple[RenderedButton, ...]
    parameters: tuple[SendParameter, ...]
    cards: tuple[RenderedCard, ...] = ()
    offer_text: str = ""


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
    extras = {value.key: value for value in send_values(components)}

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
    for key, extra in extras.items():
        if key in values:
            violations.extend(
                ValueViolation(problem.code, key, f"value for {key!r} {problem.detail}")
                for problem in send_value_problems(values[key], extra.kind)
            )
            resolved[key] = values[key]
        elif extra.required:
            violations.append(ValueViolation("VALUE_MISSING", key, f"value for {key!r} is missing"))
    violations.extend(
        ValueViolation(
            "VALUE_UNKNOWN",
            key,
            f"parameter {key!r} is not used by this template{_expected_hint([*keys, *extras])}",
        )
        for key in values
        if key not in keys and key not in extras
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
    violations.extend(
        ValueViolation(
            "CARD_BODY_TOO_LONG_AFTER_RENDER",
            MESSAGE_KEY,
            f"rendered body of card {index} is {len(card.body_text)} characters; Meta allows at most "
            f"{CARD_BODY_MAX}",
        )
        for index, card in enumerate(message.cards)
        if len(card.body_text) > CARD_BODY_MAX
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


def _expected_hint(keys: list[str]) -> str:
    if not keys:
        return " (it takes no values)"
    return " (expected: " + ", ".join(repr(k) for k in keys) + ")"


def _render(components: Components, fmt: ParameterFormat, values: Mapping[str, str]) -> RenderedMessage:
    header = components.header
    header_text = header.text if header is not None and header.format is HeaderFormat.TEXT else ""
    body_text = _substitute(components.body, ParameterLocation.BODY, fmt, values, "")
    footer_text = components.footer
    if components.is_authentication:
        body_text, footer_text = _authentication_texts(components, values[OTP_CODE_KEY])
    offer = components.limited_time_offer
    return RenderedMessage(
        header_text=_substitute(header_text, ParameterLocation.HEADER, fmt, values, ""),
        body_text=body_text,
        footer_text=footer_text,
        buttons=_render_buttons(components.buttons, values, ""),
        parameters=tuple(send_parameters(components, fmt, values)),
        cards=tuple(
            RenderedCard(
                body_text=_substitute(
                    card.body, ParameterLocation.CARD_BODY, fmt, values, card_prefix(index)
                ),
                buttons=_render_buttons(card.buttons, values, card_prefix(index)),
            )
            for index, card in enumerate(components.carousel or ())
            for prefix in (card_prefix(index),)
        ),
        offer_text="" if offer is None else offer.text,
    )


def _authentication_texts(components: Components, code: str) -> tuple[str, str]:
    """What WhatsApp shows for an authentication template: Meta's text (as synced, its {{1}} is the
    code) or, for one not synced yet, the text Meta documents for these options."""
    if find_placeholders(components.body):
        body = _substitute_all(components.body, code)
    else:
        body = f"*{code}* is your verification code."
        if components.add_security_recommendation:
            body += " For your security, do not share this code."
    footer = components.footer
    if not footer and components.code_expiration_minutes is not None:
        footer = f"This code expires in {components.code_expiration_minutes} minutes."
    return body, footer


def _render_buttons(
    buttons: tuple[Button, ...], values: Mapping[str, str], prefix: str
) -> tuple[RenderedButton, ...]:
    return tuple(
        _render_button(button, values.get(prefix + button_key(index))) for index, button in enumerate(buttons)
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


def _substitute_all(text: str, value: str) -> str:
    for p in reversed(find_placeholders(text)):
        text = text[: p.start] + value + text[p.end :]
    return text


def _substitute(
    text: str, location: ParameterLocation, fmt: ParameterFormat, values: Mapping[str, str], prefix: str
) -> str:
    parts: list[str] = []
    position = 0
    for p in find_placeholders(text):
        key = placeholder_key(location, p, fmt)
        if key is None or prefix + key not in values:
            continue
        key = prefix + key
        parts.append(text[position : p.start])
        parts.append(values[key])
        position = p.end
    parts.append(text[position:])
    return "".join(parts)
