from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
)
from domain.parameters import (
    Placeholder,
    TokenKind,
    detect_format,
    find_malformed,
    find_placeholders,
    formats_used,
    parameter_keys,
    token_kind,
)

HEADER = ParameterLocation.HEADER
BODY = ParameterLocation.BODY
BUTTON = ParameterLocation.BUTTON
NAMED = ParameterFormat.NAMED
POSITIONAL = ParameterFormat.POSITIONAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("no placeholders at all", [], id="plain"),
        pytest.param("Hi {{1}}!", [Placeholder("1", 3, 8)], id="positional"),
        pytest.param("Hi {{first_name}}.", [Placeholder("first_name", 3, 17)], id="named"),
        pytest.param(
            "{{1}} and {{2}} and {{1}}",
            [Placeholder("1", 0, 5), Placeholder("2", 10, 15), Placeholder("1", 20, 25)],
            id="repeated-in-order",
        ),
        pytest.param("{{ first_name }}", [Placeholder("first_name", 0, 16)], id="inner-spaces-stripped"),
        pytest.param("{{}}", [Placeholder("", 0, 4)], id="empty-token"),
        pytest.param("{{#x}}", [Placeholder("#x", 0, 6)], id="invalid-token-kept"),
        pytest.param("{{1}}{{2}}", [Placeholder("1", 0, 5), Placeholder("2", 5, 10)], id="adjacent"),
        pytest.param("Olá 🎉 {{nome}} 日本", [Placeholder("nome", 6, 14)], id="unicode-offsets"),
        pytest.param("{{1}", [], id="broken-close-is-not-a-placeholder"),
        pytest.param("{first_name}}", [], id="broken-open-is-not-a-placeholder"),
        pytest.param("{{{1}}}", [], id="triple-braces"),
        pytest.param("{single}", [], id="single-braces"),
        pytest.param("{{1} then {{2}}", [Placeholder("2", 10, 15)], id="recovers-after-broken"),
    ],
)
def test_find_placeholders(text: str, expected: list[Placeholder]) -> None:
    assert find_placeholders(text) == expected


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("1", TokenKind.POSITIONAL),
        ("12", TokenKind.POSITIONAL),
        ("01", TokenKind.POSITIONAL),
        ("first_name", TokenKind.NAMED),
        ("_x", TokenKind.NAMED),
        ("address2", TokenKind.NAMED),
        ("FirstName", TokenKind.NAMED),
        ("", TokenKind.INVALID),
        ("first-name", TokenKind.INVALID),
        ("first name", TokenKind.INVALID),
        ("#1", TokenKind.INVALID),
        ("$amount", TokenKind.INVALID),
        ("50%", TokenKind.INVALID),
        ("1abc", TokenKind.INVALID),
        ("nómbre", TokenKind.INVALID),
        ("名前", TokenKind.INVALID),
    ],
)
def test_token_kind(token: str, kind: TokenKind) -> None:
    assert token_kind(token) is kind


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param(
            "Hi {first_name}}, welcome",
            "'{first_name}}' at position 3 has mismatched braces",
            id="missing-open",
        ),
        pytest.param("Order {{1} is ready", "'{{1}' at position 6 has mismatched braces", id="missing-close"),
        pytest.param("Order {{1 is ready", "'{{' at position 6 is never closed", id="unclosed"),
        pytest.param("Order 1}} is ready", "'}}' at position 7 closes no '{{'", id="unopened"),
        pytest.param("Hi {{}} there", "is an empty placeholder", id="empty"),
        pytest.param("Hi {{  }} there", "is an empty placeholder", id="blank"),
        pytest.param(
            "Hi {{ first_name }} there", "has spaces inside the braces; write '{{first_name}}'", id="spaces"
        ),
        pytest.param("Hi {{1 }} there", "has spaces inside the braces; write '{{1}}'", id="trailing-space"),
        pytest.param("Hi {{first name}} there", "is not a valid placeholder", id="inner-space"),
        pytest.param(
            "Pay {{$amount}} now", "'{{$amount}}' at position 4 is not a valid placeholder", id="dollar"
        ),
        pytest.param("Item {{#1}} shipped", "is not a valid placeholder", id="hash"),
        pytest.param("Save {{%}} today", "is not a valid placeholder", id="percent"),
        pytest.param("Hi {{first-name}} there", "is not a valid placeholder", id="hyphen"),
        pytest.param("Hi {{nómbre}} there", "is not a valid placeholder", id="accent"),
        pytest.param("Hi {{{1}}} there", "'{{{1}}}' at position 3 has mismatched braces", id="triple"),
        pytest.param(
            "Hi {first_name} there",
            "uses single braces; placeholders are written '{{first_name}}'",
            id="single",
        ),
        pytest.param("Hi {1} there", "'{1}' at position 3 uses single braces", id="single-positional"),
    ],
)
def test_find_malformed_reports(text: str, fragment: str) -> None:
    problems = find_malformed(text)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("Hello {{first_name}}, order {{order_id}} is ready.", id="named"),
        pytest.param("Hello {{1}}, order {{2}} is ready.", id="positional"),
        pytest.param("Hello {{FirstName}}, hi.", id="uppercase-name-is-not-malformed"),
        pytest.param("Hello {{1}}{{2}} there.", id="adjacent-is-not-malformed"),
        pytest.param("Use the { key } on the left.", id="prose-in-single-braces"),
        pytest.param("Smile :-} or :-{ whatever", id="emoticons"),
        pytest.param("Set {a, b} is fine", id="set-notation"),
        pytest.param("Café ☕ {{1}} 日本語 🎉", id="unicode"),
    ],
)
def test_find_malformed_accepts(text: str) -> None:
    assert find_malformed(text) == []


def test_find_malformed_reports_every_problem_in_order() -> None:
    problems = find_malformed("A {{1} B {{}} C {x} D {{ok}} E }}")
    assert len(problems) == 4
    assert "position 2" in problems[0]
    assert "empty" in problems[1]
    assert "single braces" in problems[2]
    assert "closes no" in problems[3]


def test_find_malformed_shortens_long_snippets() -> None:
    text = "{{" + "x" * 100 + " y}}"
    (problem,) = find_malformed(text)
    assert "…" in problem
    assert len(problem) < 200


def _components(
    body: str, header: str | None = None, urls: tuple[str, ...] = (), footer: str = ""
) -> Components:
    return Components(
        body=body,
        header=Header(HeaderFormat.TEXT, header) if header is not None else None,
        footer=footer,
        buttons=tuple(Button(ButtonType.URL, "Open", url=url) for url in urls),
    )


@pytest.mark.parametrize(
    ("components", "detected", "used"),
    [
        pytest.param(_components("Hello there."), None, set(), id="none"),
        pytest.param(_components("Hi {{name}}, bye."), NAMED, {NAMED}, id="named"),
        pytest.param(_components("Hi {{1}}, bye."), POSITIONAL, {POSITIONAL}, id="positional"),
        pytest.param(_components("Hi {{name}}.", header="Order {{id}}"), NAMED, {NAMED}, id="named-header"),
        pytest.param(
            _components("Hi {{1}}, {{2}}, {{name}}."), POSITIONAL, {NAMED, POSITIONAL}, id="mixed-majority"
        ),
        pytest.param(
            _components("Hi {{name}} and {{1}}."), NAMED, {NAMED, POSITIONAL}, id="mixed-tie-first-wins"
        ),
        pytest.param(
            _components("Hi {{name}}.", header="No {{1}}"),
            POSITIONAL,
            {NAMED, POSITIONAL},
            id="tie-header-first",
        ),
        pytest.param(
            _components("Hi {{name}}.", urls=("https://e.com/{{1}}",)),
            NAMED,
            {NAMED},
            id="url-variable-ignored",
        ),
        pytest.param(
            _components("Hello.", urls=("https://e.com/{{1}}",)), None, set(), id="only-url-variable"
        ),
        pytest.param(_components("Hi {{#}} and {{}}."), None, set(), id="malformed-ignored"),
        pytest.param(_components("Hi {{Name}}."), NAMED, {NAMED}, id="uppercase-counts-as-named"),
        pytest.param(_components("Hi.", footer="Bye {{1}}"), None, set(), id="footer-ignored"),
        pytest.param(
            Components(body="Hi {{name}}.", header=Header(HeaderFormat.IMAGE, "{{1}}")),
            NAMED,
            {NAMED},
            id="media-header-text-ignored",
        ),
    ],
)
def test_detect_format_and_formats_used(
    components: Components, detected: ParameterFormat | None, used: set[ParameterFormat]
) -> None:
    assert detect_format(components) == detected
    assert formats_used(components) == used


@pytest.mark.parametrize(
    ("components", "fmt", "expected"),
    [
        pytest.param(_components("Hello."), NAMED, {}, id="none"),
        pytest.param(
            _components(
                "Hi {{first_name}}, order {{order_id}} for {{first_name}}.", header="Order {{order_id}}"
            ),
            NAMED,
            {"order_id": (HEADER, BODY), "first_name": (BODY,)},
            id="named-shared-namespace",
        ),
        pytest.param(
            _components("Hi {{1}}, order {{2}} is ready, {{1}}.", header="Order {{1}}"),
            POSITIONAL,
            {"header.1": (HEADER,), "1": (BODY,), "2": (BODY,)},
            id="positional-header-separate",
        ),
        pytest.param(
            Components(
                body="Hi {{name}}.",
                buttons=(
                    Button(ButtonType.QUICK_REPLY, "Thanks"),
                    Button(ButtonType.URL, "Site", url="https://e.com/"),
                    Button(ButtonType.URL, "Track", url="https://e.com/t/{{1}}"),
                ),
            ),
            NAMED,
            {"name": (BODY,), "button.2": (BUTTON,)},
            id="url-button-index-counts-all-buttons",
        ),
        pytest.param(
            _components("Hi {{1}}.", urls=("https://e.com/{{1}}", "https://f.com/{{1}}")),
            POSITIONAL,
            {"1": (BODY,), "button.0": (BUTTON,), "button.1": (BUTTON,)},
            id="two-url-buttons",
        ),
        pytest.param(
            _components("Hi {{name}} and {{1}}."), NAMED, {"name": (BODY,)}, id="mixed-keeps-requested-format"
        ),
        pytest.param(
            _components("Hi {{name}} and {{1}}."), POSITIONAL, {"1": (BODY,)}, id="mixed-other-format"
        ),
        pytest.param(_components("Hi {{ name }}."), NAMED, {"name": (BODY,)}, id="spaced-token-still-a-key"),
        pytest.param(_components("Hi {{#}}."), NAMED, {}, id="malformed-no-key"),
        pytest.param(
            _components("こんにちは{{名前}}さん、{{1}}"),
            POSITIONAL,
            {"1": (BODY,)},
            id="cjk-name-is-malformed",
        ),
    ],
)
def test_parameter_keys(
    components: Components, fmt: ParameterFormat, expected: dict[str, tuple[ParameterLocation, ...]]
) -> None:
    keys = parameter_keys(components, fmt)
    assert keys == expected
    assert list(keys) == list(expected)


def test_copy_code_buttons_have_no_declared_key() -> None:
    components = Components(body="Hi {{1}}.", buttons=(Button(ButtonType.COPY_CODE, "", example="SAVE10"),))
    assert parameter_keys(components, POSITIONAL) == {"1": (BODY,)}


_BRACEY = st.text(alphabet=st.sampled_from(list("{}{}{}ab_1 #\n")) | st.characters(), max_size=80)


@given(_BRACEY)
def test_scanning_never_raises_and_spans_are_consistent(text: str) -> None:
    placeholders = find_placeholders(text)
    assert all(isinstance(p, str) for p in find_malformed(text))
    previous_end = 0
    for p in placeholders:
        assert previous_end <= p.start < p.end <= len(text)
        assert text[p.start : p.start + 2] == "{{"
        assert text[p.end - 2 : p.end] == "}}"
        assert text[p.start + 2 : p.end - 2].strip() == p.token
        previous_end = p.end


@given(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), min_size=1, max_size=5))
def test_well_formed_named_text_is_never_malformed(names: list[str]) -> None:
    text = "Hi " + ", then ".join(f"{{{{{n}}}}}" for n in names) + "."
    assert find_malformed(text) == []
    assert [p.token for p in find_placeholders(text)] == names
