"""domain.patterns: author patterns run on RE2, so none can stall lint or render; what RE2 cannot
run in linear time is refused with a reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.errors import InvalidParameterValues
from domain.lint import lint
from domain.patterns import MAX_PATTERN_LENGTH, compile_pattern, pattern_problem
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
    r"\p{L}+",
    # What a backtracking engine stalls on runs in linear time here, so it is simply allowed.
    r"(a+)+",
    r"(a|ab)+",
    r"a*a*a*a*a*",
    r"(.*)*",
    "a" * MAX_PATTERN_LENGTH,
]

REFUSED = [
    pytest.param(r"(a)\1", "invalid escape sequence", id="backreference"),
    pytest.param(r"(?P<x>a)(?P=x)", "invalid", id="named-backreference"),
    pytest.param(r"(?=.*\d)[A-Za-z\d]{8,}", "invalid perl operator", id="lookahead"),
    pytest.param(r"(?<=x)y", "invalid", id="lookbehind"),
    pytest.param(r"a{1001}", "invalid repetition size", id="huge-repeat"),
    pytest.param("((((a{1,1000}){1,1000}){1,1000}){1,1000})", "invalid repetition size", id="nested-huge"),
    pytest.param("([a-z", "missing ]", id="unclosed-class"),
    pytest.param("(?x) a b", "invalid perl operator", id="verbose-flag"),
    pytest.param("a\ud800", "lone surrogate", id="lone-surrogate"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_everyday_patterns_and_former_redos_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "needle"), REFUSED)
def test_what_re2_cannot_run_in_linear_time_is_refused_with_its_reason(pattern: str, needle: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    assert problem.startswith("it is not a regular expression this service can run")
    assert needle in problem


def test_over_long_patterns_are_refused_before_compiling() -> None:
    assert pattern_problem("a" * (MAX_PATTERN_LENGTH + 1)) == "it is 201 characters; at most 200 are allowed"


def test_matching_a_long_adversarial_value_finishes() -> None:
    # On a backtracking engine these run for hours: finishing at all is the assertion.
    for pattern in (r"(a+)+", r"(a|aa)+b", r"a*a*a*a*a*b", r"(x+x+)+y"):
        assert not compile_pattern(pattern).fullmatch("a" * 1_023 + "!")


_PATTERN_PIECES = [*"ab_.()[]{}|*+?^$\\-:=!<>PdDwWs0123,x", "(?i)", "(?:", "(?=", "\\1", "\\p{L}"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PATTERN_PIECES)).map("".join))
def test_any_input_gets_an_answer(pattern: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is None or problem


# ---- lint and render ------------------------------------------------------------------------------

DEFINITION = TemplateDefinition(
    display_name="order_ready",
    language_code="en_US",
    category=TemplateCategory.UTILITY,
    components=Components(body="Hi {{first_name}}, your order is ready."),
    parameters=(ParameterSpec("first_name", example="Dana", pattern=r"[A-Z][a-z]+"),),
)


def _with_spec(**changes: object) -> TemplateDefinition:
    return replace(DEFINITION, parameters=(replace(DEFINITION.parameters[0], **changes),))


def test_lint_names_a_refused_pattern() -> None:
    report = lint(_with_spec(pattern=r"(a)\1"))

    invalid = [v for v in report.errors if v.code == "PARAM_PATTERN_INVALID"]
    assert [v.field for v in invalid] == ["template.parameters[0].pattern"]
    assert "'first_name'" in invalid[0].message


def test_lint_checks_the_example_against_the_pattern() -> None:
    report = lint(_with_spec(pattern=r"[A-Z][a-z]+", example="dana"))

    assert [v.code for v in report.errors] == ["PARAM_EXAMPLE_INVALID"]
    assert "does not match its pattern" in report.errors[0].message


def test_lint_of_many_parameters_with_adversarial_patterns_and_values_finishes() -> None:
    """The probe that froze the service for minutes: 1,000 parameters, each with a pattern that
    backtracks and a 1,024-character example that fails it."""
    keys = [f"p{n}" for n in range(1_000)]
    definition = replace(
        DEFINITION,
        components=Components(body="Hi " + " and ".join(f"{{{{{k}}}}}" for k in keys[:150]) + " today."),
        parameters=tuple(
            ParameterSpec(k, example="a" * 1_023 + "!", pattern=r"(?:a|aa)a{0,1000}[ab]*(?:a|aa)?A*")
            for k in keys
        ),
    )
    report = lint(definition)
    assert {v.code for v in report.errors} >= {"PARAM_EXAMPLE_INVALID", "PARAM_UNKNOWN"}


def _stored(**changes: object) -> TemplateDefinition:
    """A definition as stored (format resolved by lint), then given a pattern lint never saw."""
    report = lint(DEFINITION)
    assert report.valid, report.errors
    stored = replace(DEFINITION, parameters=report.parameters, parameter_format=report.parameter_format)
    return replace(stored, parameters=(replace(stored.parameters[0], **changes),))


def _render_violations(definition: TemplateDefinition, value: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidParameterValues) as caught:
        render_definition(definition, {"first_name": value})
    return [(v.code, v.message) for v in caught.value.violations]


def test_render_reports_a_stored_pattern_it_cannot_run() -> None:
    found = _render_violations(_stored(pattern=r"(?=a)a"), "Dana")

    assert found[0][0] == "VALUE_PATTERN_MISMATCH"
    assert "cannot be checked: pattern not allowed" in found[0][1]


def test_render_matches_values_of_any_length_in_linear_time() -> None:
    definition = _stored(pattern="(a+)+")

    assert render_definition(definition, {"first_name": "aaa"}).body_text == "Hi aaa, your order is ready."
    found = _render_violations(definition, "a" * 5_000 + "!")
    assert (
        "VALUE_PATTERN_MISMATCH",
        "value for parameter 'first_name' does not match the pattern '(a+)+'",
    ) in found
