"""domain.patterns: which author patterns are safe to run, and lint/render never running the others."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import patterns
from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.errors import InvalidParameterValues
from domain.lint import lint
from domain.patterns import (
    MAX_PATTERN_LENGTH,
    MAX_SUBJECT_LENGTH,
    REASON_ALTERNATION,
    REASON_AMBIGUOUS_REPEAT,
    REASON_BACKREFERENCE,
    REASON_EMPTY_REPEAT,
    REASON_LOOKAROUND_IN_REPEAT,
    REASON_NESTED_REPEAT,
    CharSet,
    overlaps,
    pattern_problem,
)
from domain.rendering import render_definition
from domain.status import TemplateCategory

ACCEPTED = [
    r"[A-Z]-[0-9]{1,8}",
    r"\d{4}-\d{2}-\d{2}",
    r"[A-Z][a-z]+",
    r"[A-Z]-[0-9]+",
    r"\w+",
    r"^[\w ]+$",
    r"[A-Z].*",
    r".*foo.*",
    r"\+?[0-9]{7,15}",
    r"-?\d+(?:\.\d{1,2})?",
    r"\d{1,3}(?:,\d{3})*(?:\.\d+)?",
    r"\d{5}(?:-\d{4})?",
    r"(?:[01]\d|2[0-3]):[0-5]\d",
    r"(?:Mr|Mrs|Ms)\. [A-Z][a-z]+",
    r"(?i)(?:order|invoice)-\d+",
    r"(?i)[a-z]+",
    r"[A-Z0-9]{6}",
    r'"[^"]*"',
    # Email-ish.
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"[^@\s]+@[^@\s]+\.[^@\s]+",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    r"https?://[^\s/]+(?:/[^\s]*)?",
    r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}",
    # Alternation of single, distinct characters or classes inside a repeat (the parser turns these
    # into one class).
    r"(a|b)+",
    r"(\w|\d)+",
    # A repeat inside a repeat is fine when each repetition starts with a character the inner repeat
    # cannot match: `_` is not in [a-z], so the iterations cannot trade characters.
    r"[a-z]+(?:_[a-z]+)*",
    r"(?:a+b)+",
    r"\w+(?:[.-]\w+)*@\w+(?:[.-]\w+)*\.\w{2,}",
    # Two open repeats over the same characters: about 1,025² steps at worst, accepted.
    r"a*a*",
    # Lookarounds outside repeats.
    r"(?=.*\d)[A-Za-z\d]{8,}",
    r"(?<=x)y",
    r"(?!0+$)\d{4}",
    "a" * MAX_PATTERN_LENGTH,
]

REFUSED = [
    pytest.param(r"(a+)+", REASON_NESTED_REPEAT, id="nested-plus"),
    pytest.param(r"(a*)*", REASON_EMPTY_REPEAT, id="nested-star"),
    pytest.param(r"(.*)*", REASON_EMPTY_REPEAT, id="dot-star-star"),
    pytest.param(r"(a?)+", REASON_EMPTY_REPEAT, id="optional-plus"),
    pytest.param(r"(a|a)*", REASON_ALTERNATION, id="same-alternatives"),
    pytest.param(r"(a|ab)+", REASON_ALTERNATION, id="prefix-alternatives"),
    pytest.param(r"(a|.)*", REASON_ALTERNATION, id="overlapping-alternatives"),
    pytest.param(r"(?:foo|bar)+", REASON_ALTERNATION, id="word-alternatives"),
    pytest.param(r"(\d{1,2})*", REASON_NESTED_REPEAT, id="bounded-nested"),
    pytest.param(r"(a+){2,10}", REASON_NESTED_REPEAT, id="nested-bounded-outer"),
    pytest.param(r"(?:a+b?)+", REASON_NESTED_REPEAT, id="optional-delimiter"),
    pytest.param(r"[a-z]+(?:[a-z_][a-z]+)*", REASON_NESTED_REPEAT, id="delimiter-in-inner-set"),
    pytest.param(r"(?:_a*a*)+", REASON_AMBIGUOUS_REPEAT, id="ambiguous-body"),
    pytest.param(r"(a)\1", REASON_BACKREFERENCE, id="backreference"),
    pytest.param(r"(?P<x>a)(?P=x)", REASON_BACKREFERENCE, id="named-backreference"),
    pytest.param(r"(a)?(?(1)b|c)", REASON_BACKREFERENCE, id="conditional"),
    pytest.param(r"(?:(?=a)\w)+", REASON_LOOKAROUND_IN_REPEAT, id="lookahead-in-repeat"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_everyday_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "reason"), REFUSED)
def test_dangerous_patterns_are_refused_with_their_reason(pattern: str, reason: str) -> None:
    assert pattern_problem(pattern) == reason


@pytest.mark.parametrize(
    "pattern",
    [
        r"a*a*a*",
        r".*a.*b.*c",
        r"\w*\d*\w*",
        "a?" * 30 + "a" * 30,
        "(?:a|a)" * 25,
        r"[a-z]*[a-z0-9]?[a-z]*[a-z]*",
    ],
)
def test_long_chains_of_overlapping_repeats_are_refused(pattern: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    assert problem.startswith("too many ways")


def test_an_open_group_reference_does_not_compile() -> None:
    problem = pattern_problem(r"(\1)")
    assert problem is not None
    assert problem.startswith("it is not a valid regular expression")


@pytest.mark.parametrize("pattern", ["([a-z", "a{99999999999}", "(?<=a+)b", "(" * 99 + ")" * 99 + "["])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None
    assert problem.startswith("it is not a valid regular expression")


def test_over_long_patterns_are_refused_before_compiling() -> None:
    assert pattern_problem("a" * (MAX_PATTERN_LENGTH + 1)) == "it is 201 characters; at most 200 are allowed"
    assert pattern_problem("(" * 1000 + ")" * 1000) == "it is 2000 characters; at most 200 are allowed"


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (r"[a-z]", r"_", False),
        (r"[a-z]", r"[A-Z]", False),
        (r"[a-z]", r"m", True),
        (r"\d", r"[a-z]", False),
        (r"\d", r"\w", True),
        (r"\d", r"\s", False),
        (r"\w", r"\W", False),
        (r"[^@\s]", r"@", False),
        (r"[^@\s]", r"\.", True),
        (r".", "\n", False),
        (r"(?s:.)", "\n", True),
        (r"(?i:[a-z])", r"[A-Z]", True),
        (r"(?i:[a-z])", r"_", False),
        (r"(?a:\d)", "\u0663", False),  # ARABIC-INDIC DIGIT THREE is a \d only without re.ASCII
        (r"\d", "\u0663", True),
    ],
)
def test_character_set_overlap(first: str, second: str, expected: bool) -> None:
    assert overlaps(_char_set(first), _char_set(second)) is expected


def _char_set(single: str) -> CharSet:
    """The CharSet of a pattern matching one character, as the module computes it."""
    tree = patterns._parser.parse(single)
    flags = int(tree.state.flags)
    ((op, av),) = tree.data
    while op == patterns._parser.SUBPATTERN:  # (?s:.) and the like: one group with local flags
        _group, add_flags, del_flags, body = av
        flags = (flags | add_flags) & ~del_flags
        ((op, av),) = body.data
    return patterns._char_set(op, av, flags)


@pytest.fixture(scope="module")
def category_masks() -> dict[str, int]:
    """Every category as a bit mask over all code points, computed by the regex engine itself."""
    everything = "".join(map(chr, range(patterns._MAX_CODE_POINT + 1)))
    masks = {}
    for name, (regex, flags) in patterns._CATEGORY_PATTERNS.items():
        mask = 0
        for match in re.finditer(f"(?:{regex})+", everything, flags):
            mask |= ((1 << (match.end() - match.start())) - 1) << match.start()
        masks[name] = mask
    cased = 0
    for code, char in enumerate(everything):
        if char.lower() != char or char.upper() != char:
            cased |= 1 << code
    masks["cased"] = cased
    return masks


def test_claimed_disjoint_categories_are_disjoint(category_masks: dict[str, int]) -> None:
    for pair in patterns.DISJOINT_CATEGORIES:
        first, second = sorted(pair)
        assert category_masks[first] & category_masks[second] == 0, pair


def test_claimed_category_subsets_are_subsets(category_masks: dict[str, int]) -> None:
    for inner, outer in patterns.CATEGORY_SUBSETS:
        assert category_masks[inner] & ~category_masks[outer] == 0, (inner, outer)


_CATEGORIES = [*sorted(patterns._CATEGORY_PATTERNS), "cased"]
_RANGES = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 40)).map(lambda t: (t[0], t[0] + t[1])), max_size=3
)
_SETS = st.builds(
    lambda ranges, categories, negated: CharSet(patterns._merge(ranges), frozenset(categories), negated),
    _RANGES,
    st.sets(st.sampled_from(_CATEGORIES), max_size=2),
    st.booleans(),
)
_PROBES = st.lists(st.characters(max_codepoint=400) | st.characters(), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(a=_SETS, b=_SETS, probes=_PROBES)
def test_overlap_and_union_over_approximate(a: CharSet, b: CharSet, probes: list[str]) -> None:
    union = a.union(b)
    for char in probes:
        if a.contains(char) and b.contains(char):
            assert overlaps(a, b), (a, b, char)
        if a.contains(char) or b.contains(char):
            assert union.contains(char), (a, b, char)


_PATTERN_PIECES = [*"ab_.()[]{}|*+?^$\\-:=!<>PdDwWs0123,x", "(?i)", "(?:", "(?=", "\\1"]


@pytest.mark.filterwarnings("ignore:Possible:FutureWarning")  # re's notes on "[[" and "--" in classes
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PATTERN_PIECES)).map("".join))
def test_any_input_gets_an_answer(pattern: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is None or problem


# ---- lint and render never run a refused pattern ------------------------------------------------

DEFINITION = TemplateDefinition(
    display_name="order_ready",
    language_code="en_US",
    category=TemplateCategory.UTILITY,
    components=Components(body="Hi {{first_name}}, your order is ready."),
    parameters=(ParameterSpec("first_name", example="Dana", pattern=r"[A-Z][a-z]+"),),
)
CATASTROPHIC = "a" * 40 + "!"


def _with_spec(**changes: object) -> TemplateDefinition:
    return replace(DEFINITION, parameters=(replace(DEFINITION.parameters[0], **changes),))


def test_lint_refuses_a_catastrophic_pattern_without_running_it() -> None:
    # Run against the example, (a+)+ would backtrack for hours: finishing at all is the assertion.
    report = lint(_with_spec(pattern="(a+)+", example=CATASTROPHIC, default_value=CATASTROPHIC))

    invalid = [v for v in report.errors if v.code == "PARAM_PATTERN_INVALID"]
    assert [v.field for v in invalid] == ["template.parameters[0].pattern"]
    assert REASON_NESTED_REPEAT in invalid[0].message
    assert "'first_name'" in invalid[0].message
    assert not [v for v in report.errors if "does not match" in v.message]


def test_lint_does_not_match_an_over_long_example() -> None:
    report = lint(_with_spec(pattern="a+", example="a" * (MAX_SUBJECT_LENGTH + 1)))

    (invalid,) = [v for v in report.errors if v.code == "PARAM_EXAMPLE_INVALID"]
    assert "can be checked against its pattern" in invalid.message


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


def test_render_never_runs_a_refused_pattern() -> None:
    found = _render_violations(_stored(pattern="(a+)+"), CATASTROPHIC)

    assert found == [
        (
            "VALUE_PATTERN_MISMATCH",
            "value for parameter 'first_name' cannot be checked: pattern not allowed: "
            + REASON_NESTED_REPEAT,
        )
    ]


def test_render_never_matches_a_value_over_the_subject_limit() -> None:
    # "a+" would match: the value is refused for its length, never run.
    found = _render_violations(_stored(pattern="a+"), "a" * (MAX_SUBJECT_LENGTH + 1))

    assert [code for code, _ in found] == ["VALUE_TOO_LONG"]
    assert "at most 1024 can be checked against its pattern" in found[0][1]


def test_render_reports_too_long_once_when_max_length_already_did() -> None:
    found = _render_violations(_stored(pattern="a+", max_length=10), "a" * (MAX_SUBJECT_LENGTH + 1))

    assert [code for code, _ in found] == ["VALUE_TOO_LONG"]
    assert "max_length" in found[0][1]


def test_render_still_matches_values_up_to_the_limit() -> None:
    definition = _stored(pattern="a+")

    assert render_definition(definition, {"first_name": "aaa"}).body_text == "Hi aaa, your order is ready."
    # A matching 1,024-character value passes the pattern; only the rendered body is then too long.
    found = _render_violations(definition, "a" * MAX_SUBJECT_LENGTH)
    assert [code for code, _ in found] == ["BODY_TOO_LONG_AFTER_RENDER"]
