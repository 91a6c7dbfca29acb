"""Meta's limits and the rules every parameter value must pass, in one place: lint checks examples
and default values with them before a template is stored or submitted, render checks the values of
every send with them (fact sheet V1-V13, V16 and the send API's error codes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from domain.components import ParameterLocation, ParameterSpec
from domain.patterns import CompiledPattern, PatternRefused, compile_pattern, pattern_work

# ---- Meta's limits --------------------------------------------------------------------------------

NAME_MAX = 512
BODY_MAX = 1024  # also the longest body after its values are filled in (error 132005)
HEADER_MAX = 60  # also the longest header after its value is filled in
FOOTER_MAX = 60
BUTTONS_MAX = 10
QUICK_REPLIES_MAX = 10
URL_BUTTONS_MAX = 2
PHONE_BUTTONS_MAX = 1
COPY_CODE_BUTTONS_MAX = 1
BUTTON_TEXT_MAX = 25
URL_MAX = 2000
PHONE_NUMBER_MAX = 20
# A copy-code button's code: the example at creation and the value at every send.
COUPON_CODE_MAX = 15
# Authentication templates.
OTP_CODE_MAX = 15
CODE_EXPIRATION_MINUTES = range(1, 91)
SUPPORTED_APPS_MAX = 5
PACKAGE_NAME_MAX = 224
SIGNATURE_HASH_LENGTH = 11
AUTOFILL_TEXT_MAX = 25
# Carousel templates.
CARDS_MIN = 2
CARDS_MAX = 10
CARD_BODY_MAX = 160
CARD_BUTTONS_MAX = 2
# Limited-time-offer templates.
OFFER_TEXT_MAX = 16
OFFER_BODY_MAX = 600

# The longest value a placeholder can take where it is used: a value cannot be longer than the text
# it goes into (a header, a body), and a URL button's variable is the end of a URL.
_PLACES = (
    (ParameterLocation.HEADER, "header", HEADER_MAX),
    (ParameterLocation.BODY, "body", BODY_MAX),
    (ParameterLocation.CARD_BODY, "card body", CARD_BODY_MAX),
    (ParameterLocation.BUTTON, "URL button", URL_MAX),
)

# V16: "Param text cannot have new-line/tab characters or more than 4 consecutive spaces".
_FORBIDDEN_WHITESPACE = re.compile(r"[\r\n\t]| {5,}")


def forbidden_whitespace(value: str) -> bool:
    return _FORBIDDEN_WHITESPACE.search(value) is not None


# ---- the rules a value must pass --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """Why a value would be refused: a stable code, and the end of a sentence about the value."""

    code: str
    detail: str


def value_problems(
    value: str,
    spec: ParameterSpec,
    locations: tuple[ParameterLocation, ...],
    pattern: CompiledPattern | None,
) -> list[ValueProblem]:
    """Every rule `value` breaks for the parameter `spec`, used in `locations`; `pattern` is its
    compiled pattern (None: not checked)."""
    if not value.strip():
        return [ValueProblem("VALUE_EMPTY", "is empty")]
    problems = _whitespace_problems(value)
    over_max_length = 0 < spec.max_length < len(value)
    if over_max_length:
        problems.append(
            ValueProblem("VALUE_TOO_LONG", f"is {len(value)} characters; its max_length is {spec.max_length}")
        )
    place, limit = _tightest_place(locations)
    if limit and len(value) > limit and not (over_max_length and spec.max_length <= limit):
        code = "HEADER_VALUE_TOO_LONG" if place == "header" else "VALUE_TOO_LONG"
        problems.append(
            ValueProblem(code, f"is {len(value)} characters; a {place} value may have at most {limit}")
        )
    # A value longer than its place allows is refused for that; its pattern is not run, which keeps
    # every check within what lint bounded (see patterns_work).
    if pattern is not None and len(value) <= longest_value(spec, locations) and not pattern.fullmatch(value):
        problems.append(
            ValueProblem("VALUE_PATTERN_MISMATCH", f"does not match the pattern {spec.pattern!r}")
        )
    return problems


def _whitespace_problems(value: str) -> list[ValueProblem]:
    """What Meta refuses in any value it fills in."""
    if not forbidden_whitespace(value):
        return []
    return [
        ValueProblem(
            "VALUE_FORBIDDEN_WHITESPACE",
            "contains a newline, a tab or more than 4 consecutive spaces, which Meta refuses",
        )
    ]


def longest_value(spec: ParameterSpec, locations: tuple[ParameterLocation, ...]) -> int:
    """The longest value the parameter can be sent with: its max_length, and the tightest of Meta's
    limits for the places it is used in (0 when it is used nowhere)."""
    limits = [limit for location, _, limit in _PLACES if location in locations]
    if spec.max_length > 0:
        limits.append(spec.max_length)
    return min(limits, default=0)


def _tightest_place(locations: tuple[ParameterLocation, ...]) -> tuple[str, int]:
    return min(
        ((place, limit) for location, place, limit in _PLACES if location in locations),
        key=lambda pair: pair[1],
        default=("", 0),
    )


def patterns_work(
    specs: Mapping[str, ParameterSpec], keys: Mapping[str, tuple[ParameterLocation, ...]]
) -> tuple[int, list[str]]:
    """What matching every used parameter's longest value against its pattern can cost at most
    (see domain.patterns), and the keys of the parameters whose pattern cannot be run at all."""
    work, refused = 0, []
    for key, locations in keys.items():
        spec = specs.get(key)
        if spec is None or not spec.pattern:
            continue
        try:
            work += pattern_work(compile_pattern(spec.pattern), longest_value(spec, locations))
        except PatternRefused:
            refused.append(key)
    return work, refused
