"""domain.patterns: author patterns in Python's syntax, run on RE2 with Python's meaning, so none
can stall lint or render; what RE2 cannot run in linear time is refused with a reason."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TypedDict, Unpack

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.components import Components, ParameterLocation, ParameterSpec, TemplateDefinition
from domain.errors import InvalidParameterValues, TemplateLifecycleError
from domain.lint import lint
from domain.patterns import (
    MAX_PATTERN_LENGTH,
    MAX_PROGRAM_SIZE,
    PATTERN_WORK_BUDGET,
    compile_pattern,
    pattern_problem,
    to_re2,
)
from domain.rendering import render_definition
from domain.status import TemplateCategory

ACCEPTED = [
    r"[A-Z]-[0-9]{1,8}",
    r"\d{4}-\d{2}-\d{2}",
    r"[A-Z][a-z]+",
    r"\w+",
    r"^[\w ]+$",
    r".*foo.*",
    r"\+?[0-9]{7,15}",
    r"-?\d+(?:\.\d{1,2})?",
    r"\d{1,3}(?:,\d{3})*(?:\.\d+)?",
    r"(?:[01]\d|2[0-3]):[0-5]\d",
    r"(?:Mr|Mrs|Ms)\. [A-Z][a-z]+",
    r"(?i)(?:order|invoice)-\d+",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"https?://[^\s/]+(?:/[^\s]*)?",
    r"(?P<code>[A-Z]{3})-\d+",
    r"caf\u00e9",
    r"\N{EURO SIGN}\d+",
    r"a{,3}b\Z",
    # What a backtracking engine stalls on runs in linear time here, so it is simply allowed.
    r"(a+)+",
    r"(a|ab)+",
    r"a*a*a*a*a*",
    "a" * MAX_PATTERN_LENGTH,
]

REFUSED = [
    pytest.param(r"(a)\1", "cannot be matched in linear time", id="backreference"),
    pytest.param(r"(?P<x>a)(?P=x)", "cannot be matched in linear time", id="named-backreference"),
    pytest.param(r"(?=.*\d)[A-Za-z\d]{8,}", "cannot be matched in linear time", id="lookahead"),
    pytest.param(r"(?<=x)y", "cannot be matched in linear time", id="lookbehind"),
    pytest.param(r"(?x) a b", "cannot be matched in linear time", id="verbose-flag"),
    pytest.param(r"a{1001}", "cannot be matched in linear time", id="huge-repeat"),
    pytest.param(r"[^x]{0,1000}[^x]{0,1000}", f"at most {MAX_PROGRAM_SIZE} are allowed", id="huge-program"),
    pytest.param("([a-z", "not a valid regular expression", id="unclosed-class"),
    pytest.param(r"\p{L}+", "not a valid regular expression", id="not-python-syntax"),
    pytest.param(r"[\W\d]", "has no RE2 equivalent", id="negated-shorthand-in-class"),
    pytest.param(r"[[:alpha:]]+", "POSIX class", id="posix-class"),
    pytest.param(r"\bword\b", "word boundary", id="word-boundary"),
    pytest.param("a\ud800", "lone surrogate", id="lone-surrogate"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_everyday_patterns_and_former_redos_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "needle"), REFUSED)
def test_what_cannot_run_in_linear_time_with_pythons_meaning_is_refused_with_its_reason(
    pattern: str, needle: str
) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    assert needle in problem


def test_over_long_patterns_are_refused_before_compiling() -> None:
    assert pattern_problem("a" * (MAX_PATTERN_LENGTH + 1)) == "it is 201 characters; at most 200 are allowed"


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"\w+", "José", True),  # RE2's own \w is ASCII only
        (r"\d+", "١٢٣", True),  # Arabic-Indic digits are \d in Python
        (r"\s", "\u00a0", True),  # a no-break space is \s in Python
        (r"\s", "\v", True),
        (r"[\w-]+", "Zoë-Anne", True),
        (r"\W", "é", False),
        (r"a{,3}", "aaa", True),  # RE2 would read {,3} as literal text
        (r"a{,3}", "a{,3}", False),
        (r"x\Z", "x", True),
        (r"caf\u00e9", "café", True),
        (r"[]a]+", "]a]", True),
        (r"[^]a]+", "bc", True),
    ],
)
def test_pythons_meaning_is_kept(pattern: str, text: str, matches: bool) -> None:
    assert compile_pattern(pattern).fullmatch(text) is matches
    assert (re.fullmatch(pattern, text) is not None) is matches


_PIECES = [
    *"ab_.()[]{}|*+?^$-,x09é ",
    r"\d",
    r"\D",
    r"\w",
    r"\W",
    r"\s",
    r"\S",
    "{,2}",
    "{1,3}",
    r"\Z",
    "(?i)",
]
_TEXT = st.text(alphabet="ab_x09é \u00a0١\tA", max_size=8)


@pytest.mark.filterwarnings("ignore:Possible:FutureWarning")  # re's notes on "[[" and "--" in classes
@settings(max_examples=500, deadline=None)
@given(pattern=st.lists(st.sampled_from(_PIECES), max_size=8).map("".join), texts=st.lists(_TEXT, max_size=5))
def test_re2_agrees_with_python_on_every_pattern_it_accepts(pattern: str, texts: list[str]) -> None:
    if pattern_problem(pattern) is not None:
        return
    compiled = compile_pattern(pattern)
    for text in texts:
        assert compiled.fullmatch(text) == (re.fullmatch(pattern, text) is not None), (
            pattern,
            to_re2(pattern),
            text,
        )


# ---- lint and render ------------------------------------------------------------------------------

DEFINITION = TemplateDefinition(
    display_name="order_ready",
    language_code="en_US",
    category=TemplateCategory.UTILITY,
    components=Components(body="Hi {{first_name}}, your order is ready."),
    parameters=(ParameterSpec("first_name", example="Dana", pattern=r"[A-Z][a-z]+"),),
)


class SpecChanges(TypedDict, total=False):
    """The fields of a ParameterSpec a test may change."""

    example: str
    max_length: int
    pattern: str
    optional: bool
    default_value: str
    locations: tuple[ParameterLocation, ...]


def _with_spec(**changes: Unpack[SpecChanges]) -> TemplateDefinition:
    return replace(DEFINITION, parameters=(replace(DEFINITION.parameters[0], **changes),))


def test_lint_names_a_refused_pattern() -> None:
    report = lint(_with_spec(pattern=r"(a)\1"))

    invalid = [v for v in report.errors if v.code == "PARAM_PATTERN_INVALID"]
    assert [v.field for v in invalid] == ["template.parameters[0].pattern"]
    assert "'first_name'" in invalid[0].message


def test_lint_checks_the_example_against_the_pattern() -> None:
    report = lint(_with_spec(pattern=r"[A-Z][a-z]+", example="dana"))

    assert [v.code for v in report.errors] == ["PARAM_EXAMPLE_INVALID"]
    assert "does not match the pattern" in report.errors[0].message


def many_patterned_parameters(pattern: str, count: int, *, max_length: int = 0) -> TemplateDefinition:
    keys = [f"p{n}" for n in range(count)]
    return replace(
        DEFINITION,
        components=Components(body="Hi " + " and ".join(f"{{{{{k}}}}}" for k in keys) + " today."),
        parameters=tuple(
            ParameterSpec(k, example="a" * 1_023 + "!", max_length=max_length, pattern=pattern) for k in keys
        ),
    )


def test_patterns_that_together_could_stall_a_send_are_refused_by_lint_without_running_them() -> None:
    """The probe that froze the service for most of a minute: many parameters, each with a large
    pattern and long values. Their worst case is bounded before anything runs."""
    heavy = r"[ab]*a[ab]{30}[ab]{0,900}"
    assert compile_pattern(heavy).size * 1_024 * 9 > PATTERN_WORK_BUDGET

    report = lint(many_patterned_parameters(heavy, 9))

    codes = [v.code for v in report.errors]
    assert "PARAM_PATTERNS_TOO_COSTLY" in codes
    assert "PARAM_EXAMPLE_INVALID" not in codes  # not run, so not reported as a mismatch


def test_a_max_length_brings_the_same_patterns_within_the_budget() -> None:
    report = lint(many_patterned_parameters(r"[ab]*a[ab]{30}[ab]{0,900}", 9, max_length=40))

    assert "PARAM_PATTERNS_TOO_COSTLY" not in [v.code for v in report.errors]


def _stored(**changes: Unpack[SpecChanges]) -> TemplateDefinition:
    """A definition as stored (format resolved by lint), then given a pattern lint never saw."""
    report = lint(DEFINITION)
    assert report.valid, report.errors
    stored = replace(DEFINITION, parameters=report.parameters, parameter_format=report.parameter_format)
    return replace(stored, parameters=(replace(stored.parameters[0], **changes),))


def test_a_stored_pattern_that_cannot_run_is_the_templates_fault_not_the_values() -> None:
    with pytest.raises(TemplateLifecycleError) as refused:
        render_definition(_stored(pattern=r"(?=a)a"), {"first_name": "Dana"})

    assert refused.value.reason == "PATTERN_UNSUPPORTED"


def test_render_matches_in_linear_time_and_reports_a_mismatch() -> None:
    definition = _stored(pattern="(a+)+")

    assert render_definition(definition, {"first_name": "aaa"}).body_text == "Hi aaa, your order is ready."
    with pytest.raises(InvalidParameterValues) as caught:
        render_definition(definition, {"first_name": "a" * 900 + "!"})
    assert [v.code for v in caught.value.violations] == ["VALUE_PATTERN_MISMATCH"]
