from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.components import (
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterSpec,
    TemplateDefinition,
)
from domain.errors import InvalidParameterValues
from domain.rendering import (
    RenderedButton,
    RenderedMessage,
    ValueViolation,
    render_definition,
)
from domain.send_parameters import SendComponent, SendKind, SendParameter
from support.sample_templates import (
    NAMED,
    NAMED_VALUES,
    POSITIONAL,
    POSITIONAL_VALUES,
    resolved,
    with_values,
)

# The fact sheet's send, as typed parameters (tests/unit/adapters/test_meta_send_payloads.py checks
# that they spell exactly its JSON).
NAMED_PARAMETERS = (
    SendParameter(SendComponent.HEADER, "A-1042", name="order_id"),
    SendParameter(SendComponent.BODY, "Dana", name="first_name"),
    SendParameter(SendComponent.BODY, "A-1042", name="order_id"),
    SendParameter(SendComponent.BODY, "Main St", name="store"),
    SendParameter(SendComponent.BUTTON, "A-1042", button_index=1, button_type=ButtonType.URL),
)


def violations(definition: TemplateDefinition, values: dict[str, str]) -> tuple[ValueViolation, ...]:
    with pytest.raises(InvalidParameterValues) as caught:
        render_definition(definition, values)
    found = caught.value.violations
    assert all(isinstance(v, ValueViolation) for v in found)
    return found


def codes_of(definition: TemplateDefinition, values: dict[str, str]) -> list[str]:
    """The violation codes of a render; empty when it succeeds."""
    try:
        render_definition(definition, values)
    except InvalidParameterValues as error:
        found = [v.code for v in error.violations]
    else:
        return []
    assert found, "raised without violations"
    return found


def test_named_render_of_the_fact_sheet_template() -> None:
    message = render_definition(NAMED, NAMED_VALUES)
    assert message == RenderedMessage(
        header_text="Order A-1042 is ready",
        body_text="Hi Dana, your order A-1042 can be collected from Main St today.",
        footer_text="Reply STOP to opt out",
        buttons=(
            RenderedButton(ButtonType.QUICK_REPLY, "Thanks"),
            RenderedButton(ButtonType.URL, "Track", url="https://example.com/t/A-1042"),
        ),
        parameters=NAMED_PARAMETERS,
    )


def test_positional_render_binds_by_position_without_names() -> None:
    message = render_definition(POSITIONAL, with_values(POSITIONAL_VALUES, **{"button.3": "SUMMER25"}))
    assert message.parameters == (
        SendParameter(SendComponent.HEADER, "A-1042"),
        SendParameter(SendComponent.BODY, "Dana"),
        SendParameter(SendComponent.BODY, "A-1042"),
        SendParameter(SendComponent.BODY, "Main St"),
        SendParameter(SendComponent.BUTTON, "A-1042", button_index=1, button_type=ButtonType.URL),
        SendParameter(
            SendComponent.BUTTON,
            "SUMMER25",
            button_index=3,
            button_type=ButtonType.COPY_CODE,
            kind=SendKind.COUPON_CODE,
        ),
    )
    assert message.header_text == "Order A-1042 is ready"
    assert message.body_text == "Hi Dana, your order A-1042 can be collected from Main St today, Dana."
    assert message.buttons == (
        RenderedButton(ButtonType.QUICK_REPLY, "Thanks"),
        RenderedButton(ButtonType.URL, "Track", url="https://example.com/t/A-1042"),
        RenderedButton(ButtonType.PHONE_NUMBER, "Call", phone_number="+15551230000"),
        RenderedButton(ButtonType.COPY_CODE, ""),
    )


def test_copy_code_value_is_required() -> None:
    # Meta: the coupon code is required when the template has a copy-code button.
    found = violations(POSITIONAL, with_values(POSITIONAL_VALUES, **{"button.3": None}))

    assert [(v.code, v.key) for v in found] == [("VALUE_MISSING", "button.3")]


def test_optional_parameter_takes_its_default() -> None:
    message = render_definition(NAMED, with_values(NAMED_VALUES, store=None))
    assert message.body_text == "Hi Dana, your order A-1042 can be collected from our store today."
    assert SendParameter(SendComponent.BODY, "our store", name="store") in message.parameters


def test_given_value_overrides_the_default() -> None:
    message = render_definition(NAMED, NAMED_VALUES)
    assert "Main St" in message.body_text


def test_named_values_in_any_order() -> None:
    reordered = dict(reversed(list(NAMED_VALUES.items())))
    assert render_definition(NAMED, reordered) == render_definition(NAMED, NAMED_VALUES)


def test_positional_body_parameters_follow_the_numbers() -> None:
    definition = replace(
        POSITIONAL,
        components=Components(body="Second {{2}} then first {{1}} here."),
        parameters=(ParameterSpec("1", "a"), ParameterSpec("2", "b")),
    )
    message = render_definition(definition, {"1": "one", "2": "two"})
    assert message.parameters == (
        SendParameter(SendComponent.BODY, "one"),
        SendParameter(SendComponent.BODY, "two"),
    )
    assert message.body_text == "Second two then first one here."


def test_no_components_without_placeholders() -> None:
    definition = replace(
        NAMED,
        components=Components(body="Hello there!", header=Header(HeaderFormat.TEXT, "Welcome")),
        parameters=(),
    )
    message = render_definition(definition, {})
    assert message.parameters == ()
    assert (message.header_text, message.body_text) == ("Welcome", "Hello there!")


def with_header(fmt: HeaderFormat) -> TemplateDefinition:
    components = replace(NAMED.components, header=Header(fmt, "", ("handle",)))
    return replace(
        NAMED, components=components, parameters=resolved(replace(NAMED, components=components)).parameters
    )


@pytest.mark.parametrize(
    ("fmt", "values", "fields"),
    [
        (HeaderFormat.IMAGE, {"header.media": "https://cdn.example/a.jpg"}, (("format", "IMAGE"),)),
        (HeaderFormat.VIDEO, {"header.media": "1558081531584829"}, (("format", "VIDEO"),)),
        (
            HeaderFormat.DOCUMENT,
            {"header.media": "https://cdn.example/i.pdf", "header.filename": "invoice.pdf"},
            (("format", "DOCUMENT"), ("filename", "invoice.pdf")),
        ),
        (
            HeaderFormat.LOCATION,
            {"header.latitude": "37.4421", "header.longitude": "-122.1615", "header.name": "Philz"},
            (("latitude", "37.4421"), ("longitude", "-122.1615"), ("name", "Philz")),
        ),
    ],
)
def test_media_and_location_headers_take_their_send_values(
    fmt: HeaderFormat, values: dict[str, str], fields: tuple[tuple[str, str], ...]
) -> None:
    message = render_definition(with_header(fmt), {**NAMED_VALUES, **values})

    assert message.header_text == ""
    (header,) = [p for p in message.parameters if p.component is SendComponent.HEADER]
    assert header.fields == fields
    assert header.kind is (SendKind.LOCATION if fmt is HeaderFormat.LOCATION else SendKind.MEDIA)


@pytest.mark.parametrize(
    ("fmt", "values", "code", "key"),
    [
        (HeaderFormat.IMAGE, {}, "VALUE_MISSING", "header.media"),
        (HeaderFormat.IMAGE, {"header.media": "ftp://x/a.jpg"}, "VALUE_MEDIA_INVALID", "header.media"),
        (HeaderFormat.LOCATION, {"header.longitude": "1"}, "VALUE_MISSING", "header.latitude"),
        (
            HeaderFormat.LOCATION,
            {"header.latitude": "91", "header.longitude": "1"},
            "VALUE_NOT_A_COORDINATE",
            "header.latitude",
        ),
        (HeaderFormat.TEXT, {"header.media": "1"}, "VALUE_UNKNOWN", "header.media"),
    ],
)
def test_header_send_values_are_checked(
    fmt: HeaderFormat, values: dict[str, str], code: str, key: str
) -> None:
    definition = NAMED if fmt is HeaderFormat.TEXT else with_header(fmt)

    found = violations(definition, {**NAMED_VALUES, **values})

    assert (code, key) in {(v.code, v.key) for v in found}


def test_unicode_values() -> None:
    values = with_values(NAMED_VALUES, first_name="José 😀 李小龍", store="Café Zürich ☕")
    message = render_definition(NAMED, values)
    assert (
        message.body_text
        == "Hi José 😀 李小龍, your order A-1042 can be collected from Café Zürich ☕ today."
    )


# (code, key, values, definition)
VALUE_POSITIVE = [
    pytest.param(
        "VALUE_MISSING", "first_name", with_values(NAMED_VALUES, first_name=None), NAMED, id="missing-named"
    ),
    pytest.param(
        "VALUE_MISSING", "button.1", with_values(NAMED_VALUES, **{"button.1": None}), NAMED, id="missing-url"
    ),
    pytest.param(
        "VALUE_MISSING",
        "header.1",
        with_values(POSITIONAL_VALUES, **{"header.1": None}),
        POSITIONAL,
        id="missing-header",
    ),
    pytest.param(
        "VALUE_UNKNOWN", "last_name", with_values(NAMED_VALUES, last_name="Scully"), NAMED, id="unknown-name"
    ),
    pytest.param(
        "VALUE_UNKNOWN", "1", with_values(NAMED_VALUES, **{"1": "x"}), NAMED, id="positional-key-in-named"
    ),
    pytest.param(
        "VALUE_TOO_LONG",
        "button.0",
        with_values(NAMED_VALUES, **{"button.0": "p" * 513}),
        NAMED,
        id="quick-reply-payload",
    ),
    pytest.param(
        "VALUE_UNKNOWN",
        "header.1",
        with_values(NAMED_VALUES, **{"header.1": "x"}),
        NAMED,
        id="header-key-in-named",
    ),
    pytest.param("VALUE_EMPTY", "first_name", with_values(NAMED_VALUES, first_name=""), NAMED, id="empty"),
    pytest.param("VALUE_EMPTY", "first_name", with_values(NAMED_VALUES, first_name="   "), NAMED, id="blank"),
    pytest.param(
        "VALUE_EMPTY",
        "button.3",
        with_values(POSITIONAL_VALUES, **{"button.3": ""}),
        POSITIONAL,
        id="empty-coupon",
    ),
    *[
        pytest.param(
            "VALUE_FORBIDDEN_WHITESPACE",
            "first_name",
            with_values(NAMED_VALUES, first_name=bad),
            NAMED,
            id=f"ws-{i}",
        )
        for i, bad in enumerate(("Da\nna", "Da\r\nna", "Da\tna", "Da     na", "Dana\n"))
    ],
    pytest.param(
        "VALUE_FORBIDDEN_WHITESPACE",
        "button.3",
        with_values(POSITIONAL_VALUES, **{"button.3": "A\tB"}),
        POSITIONAL,
        id="ws-coupon",
    ),
    pytest.param(
        "VALUE_TOO_LONG",
        "first_name",
        with_values(NAMED_VALUES, first_name="D" * 21),
        NAMED,
        id="over-max-length",
    ),
    pytest.param(
        "VALUE_TOO_LONG",
        "first_name",
        with_values(NAMED_VALUES, first_name="😀" * 21),
        NAMED,
        id="over-max-length-emoji",
    ),
    pytest.param(
        "VALUE_TOO_LONG",
        "button.3",
        with_values(POSITIONAL_VALUES, **{"button.3": "C" * 16}),
        POSITIONAL,
        id="coupon-16",
    ),
    pytest.param(
        "VALUE_PATTERN_MISMATCH",
        "order_id",
        with_values(NAMED_VALUES, order_id="a-1042"),
        NAMED,
        id="pattern",
    ),
    pytest.param(
        "VALUE_PATTERN_MISMATCH",
        "order_id",
        with_values(NAMED_VALUES, order_id="A-10421"),
        NAMED,
        id="pattern-is-full-match",
    ),
    pytest.param(
        "HEADER_VALUE_TOO_LONG",
        "header.1",
        with_values(POSITIONAL_VALUES, **{"header.1": "h" * 61}),
        POSITIONAL,
        id="header-61",
    ),
    pytest.param(
        "HEADER_TOO_LONG_AFTER_RENDER",
        "",
        with_values(POSITIONAL_VALUES, **{"header.1": "h" * 60}),
        POSITIONAL,
        id="header-rendered-75",
    ),
    pytest.param(
        "BODY_TOO_LONG_AFTER_RENDER",
        "",
        with_values(POSITIONAL_VALUES, **{"3": "s" * 1000}),
        POSITIONAL,
        id="body-rendered",
    ),
]

VALUE_NEGATIVE = [
    pytest.param("VALUE_MISSING", NAMED_VALUES, NAMED, id="all-given"),
    pytest.param("VALUE_MISSING", with_values(NAMED_VALUES, store=None), NAMED, id="optional-left-out"),
    pytest.param(
        "VALUE_UNKNOWN", with_values(POSITIONAL_VALUES, **{"button.3": "SAVE10"}), POSITIONAL, id="coupon-key"
    ),
    pytest.param("VALUE_EMPTY", with_values(NAMED_VALUES, first_name="D"), NAMED, id="one-char"),
    pytest.param(
        "VALUE_FORBIDDEN_WHITESPACE",
        with_values(NAMED_VALUES, first_name="Da    na"),
        NAMED,
        id="four-spaces",
    ),
    pytest.param(
        "VALUE_FORBIDDEN_WHITESPACE",
        with_values(NAMED_VALUES, first_name="Dana Scully"),
        NAMED,
        id="one-space",
    ),
    pytest.param("VALUE_TOO_LONG", with_values(NAMED_VALUES, first_name="D" * 20), NAMED, id="at-max-length"),
    pytest.param("VALUE_TOO_LONG", with_values(NAMED_VALUES, store="s" * 200), NAMED, id="no-max-length"),
    pytest.param(
        "VALUE_TOO_LONG", with_values(POSITIONAL_VALUES, **{"button.3": "C" * 15}), POSITIONAL, id="coupon-15"
    ),
    pytest.param(
        "VALUE_PATTERN_MISMATCH", with_values(NAMED_VALUES, order_id="Z-0001"), NAMED, id="pattern-ok"
    ),
    pytest.param(
        "HEADER_VALUE_TOO_LONG",
        with_values(POSITIONAL_VALUES, **{"header.1": "h" * 40}),
        POSITIONAL,
        id="header-40",
    ),
    pytest.param(
        "HEADER_VALUE_TOO_LONG",
        with_values(POSITIONAL_VALUES, **{"1": "b" * 100}),
        POSITIONAL,
        id="body-value-long",
    ),
    pytest.param(
        "HEADER_TOO_LONG_AFTER_RENDER",
        with_values(POSITIONAL_VALUES, **{"header.1": "h" * 45}),
        POSITIONAL,
        id="header-60",
    ),
    pytest.param(
        "BODY_TOO_LONG_AFTER_RENDER",
        with_values(POSITIONAL_VALUES, **{"3": "s" * 900}),
        POSITIONAL,
        id="body-under",
    ),
]

VALUE_CODES = {
    "VALUE_MISSING",
    "VALUE_UNKNOWN",
    "VALUE_EMPTY",
    "VALUE_FORBIDDEN_WHITESPACE",
    "VALUE_TOO_LONG",
    "VALUE_PATTERN_MISMATCH",
    "HEADER_VALUE_TOO_LONG",
    "BODY_TOO_LONG_AFTER_RENDER",
    "HEADER_TOO_LONG_AFTER_RENDER",
}


@pytest.mark.parametrize(("code", "key", "values", "definition"), VALUE_POSITIVE)
def test_value_violation_reported(
    code: str, key: str, values: dict[str, str], definition: TemplateDefinition
) -> None:
    found = [v for v in violations(definition, values) if v.code == code]
    assert [v.key for v in found] == [key]
    if key:
        assert repr(key) in found[0].message


@pytest.mark.parametrize(("code", "values", "definition"), VALUE_NEGATIVE)
def test_value_violation_not_reported(
    code: str, values: dict[str, str], definition: TemplateDefinition
) -> None:
    assert code not in codes_of(definition, values)


def test_every_value_code_has_positive_and_negative_cases() -> None:
    assert {case.values[0] for case in VALUE_POSITIVE} == VALUE_CODES
    assert {case.values[0] for case in VALUE_NEGATIVE} == VALUE_CODES


def test_messages_name_the_key() -> None:
    (violation,) = violations(NAMED, with_values(NAMED_VALUES, first_name=None))
    assert violation == ValueViolation(
        "VALUE_MISSING", "first_name", "value for parameter 'first_name' is missing"
    )


def test_collects_every_value_violation() -> None:
    values = with_values(
        NAMED_VALUES, first_name="D\n" * 15, order_id=None, store="", **{"button.1": "x", "extra": "y"}
    )
    found = {(v.code, v.key) for v in violations(NAMED, values)}
    assert found == {
        ("VALUE_FORBIDDEN_WHITESPACE", "first_name"),
        ("VALUE_TOO_LONG", "first_name"),
        ("VALUE_MISSING", "order_id"),
        ("VALUE_EMPTY", "store"),
        ("VALUE_UNKNOWN", "extra"),
    }


def test_one_value_can_break_several_rules() -> None:
    found = violations(NAMED, with_values(NAMED_VALUES, order_id="a\n"))
    assert {v.code for v in found} == {"VALUE_PATTERN_MISMATCH", "VALUE_FORBIDDEN_WHITESPACE"}


def test_a_value_too_long_for_its_place_is_not_matched_against_its_pattern() -> None:
    # Its length already refuses it; not running the pattern keeps lint's bound on pattern work.
    found = violations(NAMED, with_values(NAMED_VALUES, order_id="a" * 61))
    assert {v.code for v in found} == {"HEADER_VALUE_TOO_LONG"}


def test_rendered_lengths_are_checked_only_once_values_are_valid() -> None:
    found = violations(POSITIONAL, with_values(POSITIONAL_VALUES, **{"3": "s" * 1000, "1": ""}))
    assert [v.code for v in found] == ["VALUE_EMPTY"]


def test_both_rendered_lengths_reported_together() -> None:
    values = with_values(POSITIONAL_VALUES, **{"header.1": "h" * 60, "3": "s" * 1000})
    found = violations(POSITIONAL, values)
    assert [v.code for v in found] == ["HEADER_TOO_LONG_AFTER_RENDER", "BODY_TOO_LONG_AFTER_RENDER"]
    assert "132005" in found[1].message


def test_rendered_body_length_counts_characters_not_bytes() -> None:
    # 1024 emoji are 4096 UTF-8 bytes but 1024 characters, which Meta allows.
    definition = replace(
        POSITIONAL, components=Components(body="x{{1}}y"), parameters=(ParameterSpec("1", "a"),)
    )
    render_definition(definition, {"1": "😀" * 1022})
    with pytest.raises(InvalidParameterValues):
        render_definition(definition, {"1": "😀" * 1023})


def test_definition_without_resolved_format_is_detected() -> None:
    message = render_definition(replace(NAMED, parameter_format=None), NAMED_VALUES)
    assert message.parameters == NAMED_PARAMETERS


def test_error_summary_lists_messages() -> None:
    with pytest.raises(InvalidParameterValues, match="value for parameter 'first_name' is missing"):
        render_definition(NAMED, with_values(NAMED_VALUES, first_name=None))


_SAFE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\t{}"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() != "" and "     " not in s)


@given(first_name=_SAFE.filter(lambda s: len(s) <= 20), store=_SAFE)
def test_valid_values_always_render(first_name: str, store: str) -> None:
    message = render_definition(NAMED, with_values(NAMED_VALUES, first_name=first_name, store=store))
    assert message.body_text == f"Hi {first_name}, your order A-1042 can be collected from {store} today."


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=6))
def test_render_never_raises_anything_but_invalid_values(values: dict[str, str]) -> None:
    found = codes_of(POSITIONAL, values)
    assert found == [] or all(code in VALUE_CODES for code in found)
