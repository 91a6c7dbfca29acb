"""Meta's template rejection rules (fact sheet V1-V13), checked before anything is submitted.

`lint` reports every violation at once so an author fixes a template in one round trip. Codes are
API contract; messages are for people and quote the offending values.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

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
from domain.meta_rules import (
    BODY_MAX,
    BUTTON_TEXT_MAX,
    BUTTONS_MAX,
    COPY_CODE_BUTTONS_MAX,
    COUPON_CODE_MAX,
    FOOTER_MAX,
    HEADER_MAX,
    NAME_MAX,
    PHONE_BUTTONS_MAX,
    PHONE_NUMBER_MAX,
    QUICK_REPLIES_MAX,
    URL_BUTTONS_MAX,
    URL_MAX,
    patterns_work,
    value_problems,
)
from domain.parameters import (
    NAME_TOKEN,
    Placeholder,
    TokenKind,
    detect_format,
    find_malformed,
    find_placeholders,
    formats_used,
    parameter_keys,
)
from domain.patterns import PATTERN_WORK_BUDGET, CompiledPattern, PatternRefused, compile_pattern

# V12: Meta publishes no ratio for "too many variables for its length" (subcode 2388293). The
# fact sheet's suggestion is about three words of fixed text per placeholder; it is only a warning.
MIN_WORDS_PER_PLACEHOLDER = 2
# The one positional token a header or a URL may use.
ONLY_VARIABLE = "1"

NAME_PATTERN = re.compile(r"[a-z0-9_]+")
# Liberal BCP-47-ish: Meta's codes look like "en", "en_US", "pt_BR", "zh_Hant_HK"; hyphens are
# accepted too because authors paste IETF tags.
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")
# Spaces, dashes, dots and parentheses are how people write numbers; what is left must be digits
# with an optional leading "+". Meta itself wants E.164, which this does not try to prove.
PHONE_PATTERN = re.compile(r"\+?[0-9]{4,20}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_URL_SCHEME = re.compile(r"https?://", re.IGNORECASE)
# Ideographs and kana are written without spaces, so each counts as a word for V12; other scripts
# (including Hangul, which uses spaces) are split on non-word characters.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")

BODY = "template.components.body"
HEADER_TEXT = "template.components.header.text"
FOOTER = "template.components.footer"
BUTTONS = "template.components.buttons"
PARAMETERS = "template.parameters"


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    severity: Severity
    # AIP-193 path of the request field at fault, e.g. "template.components.buttons[2].url".
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class LintReport:
    violations: tuple[Violation, ...]
    parameter_format: ParameterFormat
    # Detected parameters in order of first appearance, merged with what the author declared.
    parameters: tuple[ParameterSpec, ...]

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity is Severity.WARNING)

    @property
    def valid(self) -> bool:
        return not self.errors


class _Collector:
    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def error(self, code: str, field: str, message: str) -> None:
        self.violations.append(Violation(code, Severity.ERROR, field, message))

    def warning(self, code: str, field: str, message: str) -> None:
        self.violations.append(Violation(code, Severity.WARNING, field, message))


def lint(definition: TemplateDefinition) -> LintReport:
    """Every violation of `definition`, plus the resolved parameter format and parameters."""
    out = _Collector()
    _lint_identity(definition, out)
    components = definition.components
    _lint_body(components.body, out)
    if components.header is not None:
        _lint_header(components.header, out)
    _lint_footer(components.footer, out)
    _lint_buttons(components.buttons, out)

    detected = detect_format(components)
    declared = definition.parameter_format
    _lint_format(components, declared, out)
    # Keys follow what the text actually uses: when the declared format disagrees, the mismatch is
    # reported once instead of every placeholder also showing up as "unknown" or "missing".
    key_format = detected or declared or ParameterFormat.POSITIONAL
    keys = parameter_keys(components, key_format)
    parameters = _lint_parameters(definition.parameters, keys, out)
    return LintReport(
        violations=tuple(out.violations),
        parameter_format=declared or detected or ParameterFormat.POSITIONAL,
        parameters=parameters,
    )


def _lint_identity(definition: TemplateDefinition, out: _Collector) -> None:
    name = definition.display_name
    if not name.strip():
        out.error("NAME_REQUIRED", "template.display_name", "name is required")
    else:
        if not NAME_PATTERN.fullmatch(name):
            bad = _distinct(ch for ch in name if not NAME_PATTERN.fullmatch(ch))
            out.error(
                "NAME_INVALID",
                "template.display_name",
                f"name {name!r} contains {_quoted(bad)}; only lowercase letters, digits and "
                "underscores are allowed",
            )
        if len(name) > NAME_MAX:
            out.error(
                "NAME_TOO_LONG",
                "template.display_name",
                f"name is {len(name)} characters; Meta allows at most {NAME_MAX}",
            )
    language = definition.language_code
    if not language.strip():
        out.error("LANGUAGE_REQUIRED", "template.language_code", "language code is required")
    elif not LANGUAGE_PATTERN.fullmatch(language):
        out.error(
            "LANGUAGE_INVALID",
            "template.language_code",
            f"language code {language!r} is not a language code such as 'en', 'en_US' or 'pt_BR'",
        )
    if definition.category is None:
        out.error(
            "CATEGORY_REQUIRED",
            "template.category",
            "category is required: MARKETING, UTILITY or AUTHENTICATION",
        )


def _lint_body(body: str, out: _Collector) -> None:
    if not body.strip():
        out.error("BODY_REQUIRED", BODY, "body is required")
        return
    if len(body) > BODY_MAX:
        out.error("BODY_TOO_LONG", BODY, f"body is {len(body)} characters; Meta allows at most {BODY_MAX}")
    placeholders = find_placeholders(body)
    _lint_text_placeholders(body, placeholders, "body", BODY, out)
    _lint_positional_sequence(placeholders, out)
    _lint_body_edges(body, placeholders, out)
    _lint_ratio(body, placeholders, out)
    _lint_repeats(placeholders, out)


def _lint_header(header: Header, out: _Collector) -> None:
    if header.format is not HeaderFormat.TEXT:
        if header.text:
            out.error(
                "HEADER_TEXT_NOT_ALLOWED",
                HEADER_TEXT,
                f"a {header.format} header has no text; remove {_shorten(header.text)!r}",
            )
        if header.format is not HeaderFormat.LOCATION and not header.example_media_handles:
            out.error(
                "HEADER_EXAMPLE_REQUIRED",
                "template.components.header.example_media_handles",
                f"a {header.format} header needs an example media handle for Meta's review",
            )
        return
    text = header.text
    if not text.strip():
        out.error("HEADER_TEXT_REQUIRED", HEADER_TEXT, "a TEXT header needs text")
        return
    if len(text) > HEADER_MAX:
        out.error(
            "HEADER_TOO_LONG",
            HEADER_TEXT,
            f"header is {len(text)} characters; Meta allows at most {HEADER_MAX}",
        )
    placeholders = find_placeholders(text)
    if len(placeholders) > 1:
        out.error(
            "HEADER_TOO_MANY_PARAMS",
            HEADER_TEXT,
            f"header has {len(placeholders)} placeholders ({_tokens(placeholders)}); Meta allows at most 1",
        )
    _lint_text_placeholders(text, placeholders, "header", HEADER_TEXT, out)
    bad = _distinct(
        f"{{{{{p.token}}}}}"
        for p in placeholders
        if p.kind is TokenKind.POSITIONAL and p.token != ONLY_VARIABLE
    )
    if bad:
        out.error(
            "POSITIONAL_NOT_SEQUENTIAL",
            HEADER_TEXT,
            f"header uses {', '.join(bad)}; the only positional header placeholder is {{{{1}}}}",
        )


def _lint_footer(footer: str, out: _Collector) -> None:
    if len(footer) > FOOTER_MAX:
        out.error(
            "FOOTER_TOO_LONG",
            FOOTER,
            f"footer is {len(footer)} characters; Meta allows at most {FOOTER_MAX}",
        )
    placeholders = find_placeholders(footer)
    if placeholders:
        out.error(
            "FOOTER_HAS_PARAMS",
            FOOTER,
            f"footer contains {_tokens(placeholders)}; Meta allows no placeholders in the footer",
        )
    _lint_malformed(footer, FOOTER, "footer", out)


def _lint_text_placeholders(
    text: str, placeholders: list[Placeholder], where: str, field: str, out: _Collector
) -> None:
    """Rules shared by header and body: V6 names, V9 braces, V11 adjacency."""
    _lint_malformed(text, field, where, out)
    named = _distinct(p.token for p in placeholders if p.kind is TokenKind.NAMED)
    for name in named:
        if not NAME_TOKEN.fullmatch(name):
            out.error(
                "PARAM_NAME_INVALID",
                field,
                f"parameter name {name!r} in the {where} must use only lowercase letters, digits and "
                f"underscores, e.g. {{{{{_suggest_name(name)}}}}}",
            )
        if any(ch.isdigit() for ch in name):
            out.warning(
                "PARAM_NAME_HAS_DIGITS",
                field,
                f"parameter name {name!r} in the {where} contains digits; Meta documents only "
                "lowercase letters and underscores",
            )
    for left, right in itertools.pairwise(placeholders):
        if not text[left.end : right.start].strip():
            out.error(
                "PARAMS_ADJACENT",
                field,
                f"placeholders {{{{{left.token}}}}} and {{{{{right.token}}}}} in the {where} are next to "
                "each other; put words or punctuation between them",
            )


def _lint_malformed(text: str, field: str, where: str, out: _Collector) -> None:
    for problem in find_malformed(text):
        out.error("PLACEHOLDER_MALFORMED", field, f"{where}: {problem}")


def _lint_positional_sequence(placeholders: list[Placeholder], out: _Collector) -> None:
    seen = _distinct(p.token for p in placeholders if p.kind is TokenKind.POSITIONAL)
    expected = [str(n) for n in range(1, len(seen) + 1)]
    if seen != expected:
        out.error(
            "POSITIONAL_NOT_SEQUENTIAL",
            BODY,
            f"body placeholders appear as {_braced(seen)}; they must be {_braced(expected)} "
            "in order of first appearance",
        )


def _lint_body_edges(body: str, placeholders: list[Placeholder], out: _Collector) -> None:
    if not placeholders:
        return
    first, last = placeholders[0], placeholders[-1]
    if first.start == len(body) - len(body.lstrip()):
        out.error(
            "PARAM_AT_BODY_START",
            BODY,
            f"body starts with {{{{{first.token}}}}}; Meta rejects a placeholder at the very start",
        )
    if last.end == len(body.rstrip()):
        out.error(
            "PARAM_AT_BODY_END",
            BODY,
            f"body ends with {{{{{last.token}}}}}; Meta rejects a placeholder at the very end "
            "(end with text or punctuation)",
        )


def _lint_ratio(body: str, placeholders: list[Placeholder], out: _Collector) -> None:
    if not placeholders:
        return
    static = body
    for p in reversed(placeholders):
        static = static[: p.start] + " " + static[p.end :]
    words = len(_WORD.findall(static))
    if words < MIN_WORDS_PER_PLACEHOLDER * len(placeholders):
        out.warning(
            "TOO_MANY_PARAMS_FOR_LENGTH",
            BODY,
            f"body has {len(placeholders)} placeholders but only {words} words of fixed text; Meta may "
            f"reject templates with too many variables for their length (aim for at least "
            f"{MIN_WORDS_PER_PLACEHOLDER} words per placeholder)",
        )


def _lint_repeats(placeholders: list[Placeholder], out: _Collector) -> None:
    uses = Counter(p.token for p in placeholders if p.kind is not TokenKind.INVALID)
    for token, count in uses.items():
        if count > 1:
            out.warning(
                "PARAM_REPEATED",
                BODY,
                f"{{{{{token}}}}} is used {count} times in the body; each use shows the same value",
            )


def _lint_format(components: Components, declared: ParameterFormat | None, out: _Collector) -> None:
    used = formats_used(components)
    if len(used) > 1:
        out.error(
            "PARAM_FORMAT_MIXED",
            "template.components",
            "header and body mix named ({{name}}) and positional ({{1}}) placeholders; use one format",
        )
    if declared is not None and used and declared not in used:
        (actual,) = used
        out.error(
            "PARAM_FORMAT_MISMATCH",
            "template.parameter_format",
            f"parameter_format is {declared} but the placeholders are {actual}",
        )


def _lint_buttons(buttons: tuple[Button, ...], out: _Collector) -> None:
    counts = {kind: sum(1 for b in buttons if b.type is kind) for kind in ButtonType}
    limits = (
        ("QUICK_REPLY_TOO_MANY", ButtonType.QUICK_REPLY, QUICK_REPLIES_MAX, "quick reply"),
        ("URL_BUTTONS_TOO_MANY", ButtonType.URL, URL_BUTTONS_MAX, "URL"),
        ("PHONE_BUTTONS_TOO_MANY", ButtonType.PHONE_NUMBER, PHONE_BUTTONS_MAX, "phone number"),
        ("COPY_CODE_BUTTONS_TOO_MANY", ButtonType.COPY_CODE, COPY_CODE_BUTTONS_MAX, "copy code"),
    )
    if len(buttons) > BUTTONS_MAX:
        out.error(
            "BUTTONS_TOO_MANY",
            BUTTONS,
            f"template has {len(buttons)} buttons; Meta allows at most {BUTTONS_MAX}",
        )
    for code, kind, limit, label in limits:
        if counts[kind] > limit:
            out.error(
                code, BUTTONS, f"template has {counts[kind]} {label} buttons; Meta allows at most {limit}"
            )
    is_quick = [b.type is ButtonType.QUICK_REPLY for b in buttons]
    switches = sum(1 for a, b in itertools.pairwise(is_quick) if a != b)
    if switches > 1:
        out.error(
            "BUTTONS_NOT_GROUPED",
            BUTTONS,
            "quick reply buttons are interleaved with other buttons; put all quick replies together, "
            "before or after the others",
        )
    for index, button in enumerate(buttons):
        _lint_button(index, button, out)


def _lint_button(index: int, button: Button, out: _Collector) -> None:
    field = f"{BUTTONS}[{index}]"
    label = f"button {index} ({button.type})"
    # Meta supplies the label of a copy-code button itself ("Copy offer code").
    if not button.text.strip() and button.type is not ButtonType.COPY_CODE:
        out.error("BUTTON_TEXT_REQUIRED", f"{field}.text", f"{label} needs a text")
    if len(button.text) > BUTTON_TEXT_MAX:
        out.error(
            "BUTTON_TEXT_TOO_LONG",
            f"{field}.text",
            f"{label} text is {len(button.text)} characters; Meta allows at most {BUTTON_TEXT_MAX}",
        )
    if button.type is ButtonType.URL:
        _lint_url(button.url, f"{field}.url", label, out)
    elif button.type is ButtonType.PHONE_NUMBER:
        _lint_phone(button.phone_number, f"{field}.phone_number", label, out)
    elif button.type is ButtonType.COPY_CODE:
        if not button.example.strip():
            out.error(
                "COPY_CODE_EXAMPLE_REQUIRED",
                f"{field}.example",
                f"{label} needs an example code for Meta's review",
            )
        elif len(button.example) > COUPON_CODE_MAX:
            out.error(
                "COPY_CODE_EXAMPLE_TOO_LONG",
                f"{field}.example",
                f"{label} example is {len(button.example)} characters; Meta allows at most {COUPON_CODE_MAX}",
            )


def _lint_url(url: str, field: str, label: str, out: _Collector) -> None:
    if not url.strip():
        out.error("URL_REQUIRED", field, f"{label} needs a URL")
        return
    if not _URL_SCHEME.match(url):
        out.error("URL_INVALID", field, f"{label} URL {_shorten(url)!r} must start with https:// or http://")
    if len(url) > URL_MAX:
        out.error(
            "URL_TOO_LONG", field, f"{label} URL is {len(url)} characters; Meta allows at most {URL_MAX}"
        )
    _lint_malformed(url, field, f"{label} URL", out)
    placeholders = find_placeholders(url)
    if len(placeholders) > 1:
        out.error(
            "URL_TOO_MANY_VARIABLES",
            field,
            f"{label} URL has {len(placeholders)} variables ({_tokens(placeholders)}); Meta allows 1",
        )
    for p in placeholders:
        if p.token != ONLY_VARIABLE:
            out.error(
                "URL_VARIABLE_INVALID",
                field,
                f"{label} URL uses {{{{{p.token}}}}}; a URL variable is always {{{{1}}}}, "
                "even in a NAMED template",
            )
    if placeholders and any(p.end != len(url) for p in placeholders):
        out.error(
            "URL_VARIABLE_NOT_AT_END",
            field,
            f"{label} URL {_shorten(url)!r} has a variable before its end; Meta only appends it at the end",
        )


def _lint_phone(phone: str, field: str, label: str, out: _Collector) -> None:
    if not phone.strip():
        out.error("PHONE_NUMBER_REQUIRED", field, f"{label} needs a phone number")
        return
    if len(phone) > PHONE_NUMBER_MAX:
        out.error(
            "PHONE_NUMBER_TOO_LONG",
            field,
            f"{label} phone number is {len(phone)} characters; Meta allows at most {PHONE_NUMBER_MAX}",
        )
    if not PHONE_PATTERN.fullmatch(_PHONE_SEPARATORS.sub("", phone)):
        out.error(
            "PHONE_NUMBER_INVALID",
            field,
            f"{label} phone number {phone!r} is not a phone number such as +15551230000",
        )


def _lint_parameters(
    declared: tuple[ParameterSpec, ...],
    keys: dict[str, tuple[ParameterLocation, ...]],
    out: _Collector,
) -> tuple[ParameterSpec, ...]:
    first: dict[str, int] = {}
    # RE2 makes every match linear, but a template's patterns together are bounded too, so that no
    # render of it (and no lint) can cost more than PATTERN_WORK_BUDGET; over it, none is run here.
    work, _ = patterns_work({spec.key: spec for spec in reversed(declared)}, keys)
    within_budget = work <= PATTERN_WORK_BUDGET
    if not within_budget:
        out.error(
            "PARAM_PATTERNS_TOO_COSTLY",
            PARAMETERS,
            f"the parameters' patterns together could cost {work:,} steps per send, over "
            f"{PATTERN_WORK_BUDGET:,}: use simpler patterns (smaller repeat counts, fewer Unicode "
            "classes) or give the parameters a max_length",
        )
    for position, spec in enumerate(declared):
        field = f"{PARAMETERS}[{position}]"
        if spec.key in first:
            out.error(
                "PARAM_DUPLICATE_DECLARATION",
                f"{field}.key",
                f"parameter {spec.key!r} is declared twice (also at index {first[spec.key]})",
            )
            continue
        first[spec.key] = position
        if spec.key not in keys:
            out.error(
                "PARAM_UNKNOWN",
                f"{field}.key",
                f"parameter {spec.key!r} is declared but the template does not use it"
                f"{_known_keys_hint(keys)}",
            )
        _lint_spec(spec, field, keys.get(spec.key, ()), out, run_pattern=within_budget and spec.key in keys)

    merged: list[ParameterSpec] = []
    for key, locations in keys.items():
        index = first.get(key)
        spec = ParameterSpec(key=key) if index is None else declared[index]
        if not spec.example.strip():
            field = PARAMETERS if index is None else f"{PARAMETERS}[{index}].example"
            out.error(
                "PARAM_EXAMPLE_REQUIRED",
                field,
                f"parameter {key!r} needs an example value; Meta's review requires one for every placeholder",
            )
        merged.append(replace(spec, locations=locations))
    return tuple(merged)


def _lint_spec(
    spec: ParameterSpec,
    field: str,
    locations: tuple[ParameterLocation, ...],
    out: _Collector,
    *,
    run_pattern: bool,
) -> None:
    pattern: CompiledPattern | None = None
    if spec.pattern:
        try:
            compiled = compile_pattern(spec.pattern)
            pattern = compiled if run_pattern else None
        except PatternRefused as refused:
            out.error(
                "PARAM_PATTERN_INVALID",
                f"{field}.pattern",
                f"pattern {_shorten(spec.pattern)!r} of parameter {spec.key!r} is not allowed: "
                f"{refused.reason}",
            )
    if spec.max_length < 0:
        out.error(
            "PARAM_MAX_LENGTH_INVALID",
            f"{field}.max_length",
            f"max_length of parameter {spec.key!r} is {spec.max_length}; use 0 for no limit or a "
            "positive number",
        )

    def rule_failures(value: str) -> list[str]:
        """Why a sample value (example or default) would be refused at send time."""
        return [problem.detail for problem in value_problems(value, spec, locations, pattern)]

    if spec.example:
        for failure in rule_failures(spec.example):
            out.error(
                "PARAM_EXAMPLE_INVALID",
                f"{field}.example",
                f"example {_shorten(spec.example)!r} of parameter {spec.key!r} {failure}",
            )
    _lint_default(spec, field, rule_failures, out)


def _lint_default(
    spec: ParameterSpec, field: str, rule_failures: Callable[[str], list[str]], out: _Collector
) -> None:
    if spec.optional and not spec.default_value.strip():
        out.error(
            "PARAM_DEFAULT_INVALID",
            f"{field}.default_value",
            f"optional parameter {spec.key!r} needs a non-empty default_value, used when no value is given",
        )
        return
    if spec.default_value:
        for failure in rule_failures(spec.default_value):
            out.error(
                "PARAM_DEFAULT_INVALID",
                f"{field}.default_value",
                f"default value {_shorten(spec.default_value)!r} of parameter {spec.key!r} {failure}",
            )


def _distinct(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _quoted(items: list[str]) -> str:
    return ", ".join(repr(i) for i in items)


def _braced(tokens: list[str]) -> str:
    return ", ".join(f"{{{{{t}}}}}" for t in tokens)


def _tokens(placeholders: list[Placeholder]) -> str:
    return _braced([p.token for p in placeholders])


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _suggest_name(name: str) -> str:
    # FirstName -> first_name: the fix an author most likely means.
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return snake


def _known_keys_hint(keys: dict[str, tuple[ParameterLocation, ...]]) -> str:
    if not keys:
        return " (it has no placeholders)"
    return f" (it uses {_quoted(list(keys))})"
