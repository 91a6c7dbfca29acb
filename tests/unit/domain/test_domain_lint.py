from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from domain.lint import LintReport, Severity, Violation, lint
from domain.status import TemplateCategory
from support.template_fixtures import TYPE_CODES

QR = ButtonType.QUICK_REPLY
URL = ButtonType.URL
PHONE = ButtonType.PHONE_NUMBER
COPY = ButtonType.COPY_CODE

NAMED_BASE = TemplateDefinition(
    display_name="order_ready",
    language_code="en_US",
    category=TemplateCategory.UTILITY,
    components=Components(
        header=Header(HeaderFormat.TEXT, "Order {{order_id}} is ready"),
        body=(
            "Hello {{first_name}}, your order {{order_id}} is ready for pickup at our store on the "
            "main street today. Thank you for shopping with us."
        ),
        footer="Reply STOP to opt out",
        buttons=(
            Button(QR, "Thanks"),
            Button(QR, "Not now"),
            Button(URL, "Track", url="https://example.com/t/{{1}}"),
            Button(PHONE, "Call us", phone_number="+15551230000"),
        ),
    ),
    parameters=(
        ParameterSpec("first_name", example="Dana"),
        ParameterSpec("order_id", example="A-1042", max_length=12, pattern=r"[A-Z]-[0-9]+"),
        ParameterSpec("button.2", example="A-1042"),
    ),
    parameter_format=ParameterFormat.NAMED,
)

POSITIONAL_BASE = TemplateDefinition(
    display_name="order_ready_v2",
    language_code="pt_BR",
    category=TemplateCategory.MARKETING,
    components=Components(
        header=Header(HeaderFormat.TEXT, "Pedido {{1}} pronto"),
        body=(
            "Olá {{1}}, seu pedido {{2}} já está pronto para retirada na loja principal. "
            "Use o cupom abaixo na próxima compra. 🎉"
        ),
        buttons=(
            Button(URL, "Acompanhar", url="https://example.com/t/{{1}}"),
            Button(COPY, "", example="SAVE10"),
        ),
    ),
    parameters=(
        ParameterSpec("header.1", example="A-1042"),
        ParameterSpec("1", example="Dana"),
        ParameterSpec("2", example="A-1042"),
        ParameterSpec("button.0", example="A-1042"),
    ),
)


def named(**changes: Any) -> TemplateDefinition:
    return replace(NAMED_BASE, **changes)


def positional(**changes: Any) -> TemplateDefinition:
    return replace(POSITIONAL_BASE, **changes)


def comps(base: TemplateDefinition = NAMED_BASE, **changes: Any) -> TemplateDefinition:
    return replace(base, components=replace(base.components, **changes))


def body(text: str, base: TemplateDefinition = NAMED_BASE) -> TemplateDefinition:
    return comps(base, body=text)


def header(
    fmt: HeaderFormat, text: str = "", *handles: str, base: TemplateDefinition = NAMED_BASE
) -> TemplateDefinition:
    return comps(base, header=Header(fmt, text, tuple(handles)))


def buttons(*items: Button, base: TemplateDefinition = NAMED_BASE) -> TemplateDefinition:
    return comps(base, buttons=items)


def params(*specs: ParameterSpec, base: TemplateDefinition = NAMED_BASE) -> TemplateDefinition:
    return replace(base, parameters=specs)


def spec(key: str, example: str = "x", **changes: Any) -> ParameterSpec:
    return ParameterSpec(key, example=example, **changes)


def url_button(url: str, text: str = "Open") -> Button:
    return Button(URL, text, url=url)


def phone_button(number: str) -> Button:
    return Button(PHONE, "Call", phone_number=number)


def codes(report: LintReport) -> list[str]:
    return [v.code for v in report.violations]


# Long static text so that the ratio heuristic (V12) stays quiet in cases about other rules.
FILLER = "please read this message carefully because it explains everything you need to know"

WARNING_CODES = {"PARAM_NAME_HAS_DIGITS", "TOO_MANY_PARAMS_FOR_LENGTH", "PARAM_REPEATED"}
ALL_CODES = {
    "NAME_REQUIRED", "NAME_INVALID", "NAME_TOO_LONG", "LANGUAGE_REQUIRED", "LANGUAGE_INVALID",
    "CATEGORY_REQUIRED", "BODY_REQUIRED", "BODY_TOO_LONG", "HEADER_TEXT_REQUIRED", "HEADER_TOO_LONG",
    "HEADER_TOO_MANY_PARAMS", "HEADER_TEXT_NOT_ALLOWED", "HEADER_EXAMPLE_REQUIRED", "FOOTER_TOO_LONG",
    "FOOTER_HAS_PARAMS", "BUTTONS_TOO_MANY", "QUICK_REPLY_TOO_MANY", "URL_BUTTONS_TOO_MANY",
    "PHONE_BUTTONS_TOO_MANY", "COPY_CODE_BUTTONS_TOO_MANY", "BUTTONS_NOT_GROUPED", "BUTTON_TEXT_REQUIRED",
    "BUTTON_TEXT_TOO_LONG", "URL_REQUIRED", "URL_INVALID", "URL_TOO_LONG", "URL_TOO_MANY_VARIABLES",
    "URL_VARIABLE_NOT_AT_END", "URL_VARIABLE_INVALID", "PHONE_NUMBER_REQUIRED", "PHONE_NUMBER_TOO_LONG",
    "PHONE_NUMBER_INVALID", "COPY_CODE_EXAMPLE_REQUIRED", "COPY_CODE_EXAMPLE_TOO_LONG", "PARAM_NAME_INVALID",
    "PARAM_NAME_HAS_DIGITS", "PARAM_FORMAT_MIXED", "PARAM_FORMAT_MISMATCH", "POSITIONAL_NOT_SEQUENTIAL",
    "PLACEHOLDER_MALFORMED", "PARAM_AT_BODY_START", "PARAM_AT_BODY_END", "PARAMS_ADJACENT",
    "TOO_MANY_PARAMS_FOR_LENGTH", "PARAM_EXAMPLE_REQUIRED", "PARAM_UNKNOWN", "PARAM_DUPLICATE_DECLARATION",
    "PARAM_EXAMPLE_INVALID", "PARAM_PATTERN_INVALID", "PARAM_MAX_LENGTH_INVALID", "PARAM_DEFAULT_INVALID",
    "PARAM_REPEATED",
}  # fmt: skip

BODY_F = "template.components.body"
HEADER_F = "template.components.header.text"

# (code, field, definition): the definition must be reported with that code on that field.
POSITIVE = [
    # V1
    pytest.param("NAME_REQUIRED", "template.display_name", named(display_name=""), id="name-empty"),
    pytest.param("NAME_REQUIRED", "template.display_name", named(display_name="  "), id="name-blank"),
    pytest.param(
        "NAME_INVALID", "template.display_name", named(display_name="Order-Ready"), id="name-upper-dash"
    ),
    pytest.param("NAME_INVALID", "template.display_name", named(display_name="order ready"), id="name-space"),
    pytest.param("NAME_INVALID", "template.display_name", named(display_name="promoção"), id="name-accents"),
    pytest.param("NAME_INVALID", "template.display_name", named(display_name="注文"), id="name-cjk"),
    pytest.param("NAME_TOO_LONG", "template.display_name", named(display_name="a" * 513), id="name-513"),
    pytest.param("LANGUAGE_REQUIRED", "template.language_code", named(language_code=""), id="lang-empty"),
    pytest.param(
        "LANGUAGE_INVALID", "template.language_code", named(language_code="english"), id="lang-word"
    ),
    pytest.param("LANGUAGE_INVALID", "template.language_code", named(language_code="EN"), id="lang-upper"),
    pytest.param("LANGUAGE_INVALID", "template.language_code", named(language_code="en US"), id="lang-space"),
    pytest.param(
        "LANGUAGE_INVALID", "template.language_code", named(language_code="en_"), id="lang-dangling"
    ),
    pytest.param("CATEGORY_REQUIRED", "template.category", named(category=None), id="category-none"),
    # V2
    pytest.param("BODY_REQUIRED", BODY_F, body(""), id="body-empty"),
    pytest.param("BODY_REQUIRED", BODY_F, body(" \n\t "), id="body-blank"),
    pytest.param("BODY_TOO_LONG", BODY_F, body("x" * 1025), id="body-1025"),
    pytest.param("BODY_TOO_LONG", BODY_F, body("🎉" * 1025), id="body-1025-emoji"),
    pytest.param("BODY_TOO_LONG", BODY_F, body("日本語" * 342), id="body-1026-cjk"),
    # V3
    pytest.param("HEADER_TEXT_REQUIRED", HEADER_F, header(HeaderFormat.TEXT, ""), id="header-empty"),
    pytest.param("HEADER_TEXT_REQUIRED", HEADER_F, header(HeaderFormat.TEXT, "   "), id="header-blank"),
    pytest.param("HEADER_TOO_LONG", HEADER_F, header(HeaderFormat.TEXT, "h" * 61), id="header-61"),
    pytest.param("HEADER_TOO_LONG", HEADER_F, header(HeaderFormat.TEXT, "é" * 61), id="header-61-accents"),
    pytest.param(
        "HEADER_TOO_MANY_PARAMS",
        HEADER_F,
        header(HeaderFormat.TEXT, "{{order_id}} for {{first_name}}"),
        id="header-2",
    ),
    pytest.param(
        "HEADER_TEXT_NOT_ALLOWED", HEADER_F, header(HeaderFormat.IMAGE, "Hi", "h1"), id="image-with-text"
    ),
    pytest.param(
        "HEADER_TEXT_NOT_ALLOWED", HEADER_F, header(HeaderFormat.LOCATION, "Here"), id="location-with-text"
    ),
    *[
        pytest.param(
            "HEADER_EXAMPLE_REQUIRED",
            "template.components.header.example_media_handles",
            header(fmt),
            id=f"{fmt.lower()}-no-handle",
        )
        for fmt in (HeaderFormat.IMAGE, HeaderFormat.VIDEO, HeaderFormat.DOCUMENT)
    ],
    # V4
    pytest.param("FOOTER_TOO_LONG", "template.components.footer", comps(footer="f" * 61), id="footer-61"),
    pytest.param(
        "FOOTER_HAS_PARAMS",
        "template.components.footer",
        comps(footer="Bye {{first_name}}"),
        id="footer-named",
    ),
    pytest.param(
        "FOOTER_HAS_PARAMS", "template.components.footer", comps(footer="Bye {{1}}"), id="footer-positional"
    ),
    # V5
    pytest.param(
        "BUTTONS_TOO_MANY",
        "template.components.buttons",
        buttons(*[Button(QR, f"q{i}") for i in range(11)]),
        id="11-buttons",
    ),
    pytest.param(
        "QUICK_REPLY_TOO_MANY",
        "template.components.buttons",
        buttons(*[Button(QR, f"q{i}") for i in range(11)]),
        id="11-qr",
    ),
    pytest.param(
        "URL_BUTTONS_TOO_MANY",
        "template.components.buttons",
        buttons(*[url_button(f"https://e.com/{i}") for i in range(3)]),
        id="3-url",
    ),
    pytest.param(
        "PHONE_BUTTONS_TOO_MANY",
        "template.components.buttons",
        buttons(phone_button("+15551230000"), phone_button("+15551230001")),
        id="2-phone",
    ),
    pytest.param(
        "COPY_CODE_BUTTONS_TOO_MANY",
        "template.components.buttons",
        buttons(Button(COPY, "", example="A"), Button(COPY, "", example="B")),
        id="2-copy",
    ),
    pytest.param(
        "BUTTONS_NOT_GROUPED",
        "template.components.buttons",
        buttons(Button(QR, "Yes"), url_button("https://e.com"), Button(QR, "No")),
        id="qr-url-qr",
    ),
    pytest.param(
        "BUTTONS_NOT_GROUPED",
        "template.components.buttons",
        buttons(url_button("https://e.com"), Button(QR, "No"), phone_button("+15551230000")),
        id="url-qr-phone",
    ),
    pytest.param(
        "BUTTON_TEXT_REQUIRED",
        "template.components.buttons[0].text",
        buttons(Button(QR, "")),
        id="qr-no-text",
    ),
    pytest.param(
        "BUTTON_TEXT_REQUIRED",
        "template.components.buttons[1].text",
        buttons(Button(QR, "ok"), url_button("https://e.com", " ")),
        id="url-blank-text",
    ),
    pytest.param(
        "BUTTON_TEXT_TOO_LONG",
        "template.components.buttons[0].text",
        buttons(Button(QR, "b" * 26)),
        id="text-26",
    ),
    pytest.param(
        "BUTTON_TEXT_TOO_LONG",
        "template.components.buttons[0].text",
        buttons(Button(QR, "👍" * 26)),
        id="text-26-emoji",
    ),
    pytest.param(
        "URL_REQUIRED", "template.components.buttons[0].url", buttons(url_button("")), id="url-empty"
    ),
    pytest.param(
        "URL_INVALID", "template.components.buttons[0].url", buttons(url_button("ftp://e.com")), id="url-ftp"
    ),
    pytest.param(
        "URL_INVALID",
        "template.components.buttons[0].url",
        buttons(url_button("example.com/x")),
        id="url-no-scheme",
    ),
    pytest.param(
        "URL_TOO_LONG",
        "template.components.buttons[0].url",
        buttons(url_button("https://e.com/" + "a" * 1987)),
        id="url-2001",
    ),
    pytest.param(
        "URL_TOO_MANY_VARIABLES",
        "template.components.buttons[0].url",
        buttons(url_button("https://e.com/{{1}}?a={{1}}")),
        id="url-2-vars",
    ),
    pytest.param(
        "URL_VARIABLE_NOT_AT_END",
        "template.components.buttons[0].url",
        buttons(url_button("https://e.com/{{1}}/track")),
        id="url-var-middle",
    ),
    pytest.param(
        "URL_VARIABLE_INVALID",
        "template.components.buttons[0].url",
        buttons(url_button("https://e.com/{{order_id}}")),
        id="url-named-var",
    ),
    pytest.param(
        "URL_VARIABLE_INVALID",
        "template.components.buttons[0].url",
        buttons(url_button("https://e.com/{{2}}")),
        id="url-var-2",
    ),
    pytest.param(
        "PHONE_NUMBER_REQUIRED",
        "template.components.buttons[0].phone_number",
        buttons(phone_button("")),
        id="phone-empty",
    ),
    pytest.param(
        "PHONE_NUMBER_TOO_LONG",
        "template.components.buttons[0].phone_number",
        buttons(phone_button("+1 555 123 0000 00 01")),
        id="phone-21",
    ),
    pytest.param(
        "PHONE_NUMBER_INVALID",
        "template.components.buttons[0].phone_number",
        buttons(phone_button("call me")),
        id="phone-words",
    ),
    pytest.param(
        "PHONE_NUMBER_INVALID",
        "template.components.buttons[0].phone_number",
        buttons(phone_button("+12")),
        id="phone-short",
    ),
    pytest.param(
        "PHONE_NUMBER_INVALID",
        "template.components.buttons[0].phone_number",
        buttons(phone_button("++15551230000")),
        id="phone-double-plus",
    ),
    pytest.param(
        "COPY_CODE_EXAMPLE_REQUIRED",
        "template.components.buttons[0].example",
        buttons(Button(COPY, "")),
        id="copy-no-example",
    ),
    pytest.param(
        "COPY_CODE_EXAMPLE_TOO_LONG",
        "template.components.buttons[0].example",
        buttons(Button(COPY, "", example="C" * 16)),
        id="copy-16",
    ),
    # V6
    pytest.param("PARAM_NAME_INVALID", BODY_F, body(f"Hi {{{{FirstName}}}}, {FILLER}."), id="camel-body"),
    pytest.param(
        "PARAM_NAME_INVALID",
        HEADER_F,
        header(HeaderFormat.TEXT, "Order {{OrderId}} ready"),
        id="camel-header",
    ),
    pytest.param("PARAM_NAME_INVALID", BODY_F, body(f"Hi {{{{NAME}}}}, {FILLER}."), id="upper-body"),
    pytest.param(
        "PARAM_NAME_HAS_DIGITS", BODY_F, body(f"Ship to {{{{address2}}}}, {FILLER}."), id="digits-body"
    ),
    pytest.param(
        "PARAM_NAME_HAS_DIGITS",
        HEADER_F,
        header(HeaderFormat.TEXT, "Order {{id2}} ready"),
        id="digits-header",
    ),
    # V7
    pytest.param(
        "PARAM_FORMAT_MIXED",
        "template.components",
        body(f"Hi {{{{first_name}}}}, order {{{{1}}}}, {FILLER}."),
        id="mixed-body",
    ),
    pytest.param(
        "PARAM_FORMAT_MIXED",
        "template.components",
        header(HeaderFormat.TEXT, "Order {{1}}"),
        id="positional-header-named-body",
    ),
    pytest.param(
        "PARAM_FORMAT_MISMATCH",
        "template.parameter_format",
        positional(parameter_format=ParameterFormat.NAMED),
        id="declared-named",
    ),
    pytest.param(
        "PARAM_FORMAT_MISMATCH",
        "template.parameter_format",
        named(parameter_format=ParameterFormat.POSITIONAL),
        id="declared-positional",
    ),
    # V8
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL",
        BODY_F,
        body(f"Hi {{{{1}}}} and {{{{3}}}}, {FILLER}.", POSITIONAL_BASE),
        id="gap",
    ),
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL",
        BODY_F,
        body(f"Hi {{{{2}}}} and {{{{1}}}}, {FILLER}.", POSITIONAL_BASE),
        id="reversed",
    ),
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL", BODY_F, body(f"Hi {{{{0}}}}, {FILLER}.", POSITIONAL_BASE), id="zero"
    ),
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL",
        BODY_F,
        body(f"Hi {{{{01}}}}, {FILLER}.", POSITIONAL_BASE),
        id="leading-zero",
    ),
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL",
        BODY_F,
        body(f"Hi {{{{1}}}}, {{{{2}}}}, {{{{5}}}}, {{{{4}}}}: {FILLER} {FILLER}.", POSITIONAL_BASE),
        id="meta-example",
    ),
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL",
        HEADER_F,
        header(HeaderFormat.TEXT, "Order {{2}} ready", base=POSITIONAL_BASE),
        id="header-2",
    ),
    # V9
    *[
        pytest.param("PLACEHOLDER_MALFORMED", BODY_F, body(f"Hi {bad}, {FILLER}."), id=f"body-{bad}")
        for bad in (
            "{first_name}}",
            "{{first_name}",
            "{{}}",
            "{{ first_name }}",
            "{{#1}}",
            "{{$x}}",
            "{{%}}",
            "{{first-name}}",
            "{{{1}}}",
            "{first_name}",
        )
    ],
    pytest.param(
        "PLACEHOLDER_MALFORMED", HEADER_F, header(HeaderFormat.TEXT, "Order {{1} ready"), id="header-broken"
    ),
    pytest.param(
        "PLACEHOLDER_MALFORMED", "template.components.footer", comps(footer="Bye {{x"), id="footer-broken"
    ),
    pytest.param(
        "PLACEHOLDER_MALFORMED",
        "template.components.buttons[0].url",
        buttons(url_button("https://e.com/{{1}")),
        id="url-broken",
    ),
    # V10
    pytest.param("PARAM_AT_BODY_START", BODY_F, body(f"{{{{first_name}}}}, {FILLER}."), id="start"),
    pytest.param(
        "PARAM_AT_BODY_START", BODY_F, body(f"  \n{{{{first_name}}}}, {FILLER}."), id="start-after-whitespace"
    ),
    pytest.param("PARAM_AT_BODY_END", BODY_F, body(f"{FILLER}, {{{{first_name}}}}"), id="end"),
    pytest.param(
        "PARAM_AT_BODY_END", BODY_F, body(f"{FILLER}, {{{{first_name}}}}  \n"), id="end-before-whitespace"
    ),
    # V11
    pytest.param(
        "PARAMS_ADJACENT", BODY_F, body(f"Hi {{{{1}}}}{{{{2}}}}, {FILLER}.", POSITIONAL_BASE), id="adjacent"
    ),
    pytest.param("PARAMS_ADJACENT", BODY_F, body(f"Hi {{{{a}}}} {{{{b}}}}, {FILLER}."), id="space-separated"),
    pytest.param(
        "PARAMS_ADJACENT", HEADER_F, header(HeaderFormat.TEXT, "Hi {{a}}\n{{b}}!"), id="header-adjacent"
    ),
    # V12
    pytest.param(
        "TOO_MANY_PARAMS_FOR_LENGTH",
        BODY_F,
        body("Hi {{a}}, {{b}} and {{c}} ok.", POSITIONAL_BASE),
        id="ratio",
    ),
    pytest.param(
        "TOO_MANY_PARAMS_FOR_LENGTH", BODY_F, body("Olá {{1}} e {{2}}!", POSITIONAL_BASE), id="ratio-accents"
    ),
    pytest.param("TOO_MANY_PARAMS_FOR_LENGTH", BODY_F, body("注{{1}}。", POSITIONAL_BASE), id="ratio-cjk"),
    # V13
    pytest.param(
        "PARAM_EXAMPLE_REQUIRED",
        "template.parameters",
        params(spec("order_id"), spec("button.2")),
        id="undeclared",
    ),
    pytest.param(
        "PARAM_EXAMPLE_REQUIRED",
        "template.parameters[0].example",
        params(spec("first_name", ""), spec("order_id"), spec("button.2")),
        id="empty-example",
    ),
    pytest.param(
        "PARAM_EXAMPLE_REQUIRED",
        "template.parameters[0].example",
        params(spec("first_name", "  "), spec("order_id"), spec("button.2")),
        id="blank-example",
    ),
    pytest.param(
        "PARAM_EXAMPLE_REQUIRED",
        "template.parameters",
        params(spec("first_name"), spec("order_id")),
        id="url-button-example",
    ),
    pytest.param(
        "PARAM_EXAMPLE_REQUIRED",
        "template.parameters",
        positional(parameters=()),
        id="positional-none-declared",
    ),
    pytest.param(
        "PARAM_UNKNOWN",
        "template.parameters[3].key",
        params(*NAMED_BASE.parameters, spec("last_name")),
        id="unknown-name",
    ),
    pytest.param(
        "PARAM_UNKNOWN",
        "template.parameters[4].key",
        positional(parameters=(*POSITIONAL_BASE.parameters, spec("button.1"))),
        id="copy-code-key-is-not-declared",
    ),
    pytest.param(
        "PARAM_DUPLICATE_DECLARATION",
        "template.parameters[3].key",
        params(*NAMED_BASE.parameters, spec("first_name", "Ana")),
        id="duplicate",
    ),
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        "template.parameters[0].example",
        params(spec("first_name", "Dana Scully", max_length=4), spec("order_id"), spec("button.2")),
        id="example-too-long",
    ),
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        "template.parameters[0].example",
        params(spec("first_name", "dana", pattern="[A-Z][a-z]+"), spec("order_id"), spec("button.2")),
        id="example-pattern",
    ),
    *[
        pytest.param(
            "PARAM_EXAMPLE_INVALID",
            "template.parameters[0].example",
            params(spec("first_name", bad), spec("order_id"), spec("button.2")),
            id=f"example-whitespace-{i}",
        )
        for i, bad in enumerate(("Da\nna", "Da\tna", "Da\rna", "Da     na"))
    ],
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        "template.parameters[1].example",
        params(spec("first_name"), spec("order_id", "A" * 61), spec("button.2")),
        id="header-example-over-60",
    ),
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        "template.parameters[0].example",
        params(spec("first_name", "D" * 1025), spec("order_id"), spec("button.2")),
        id="body-example-longer-than-any-body",
    ),
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        "template.parameters[2].example",
        params(spec("first_name"), spec("order_id"), spec("button.2", "x" * 2001)),
        id="url-example-longer-than-any-url",
    ),
    pytest.param(
        "PARAM_PATTERN_INVALID",
        "template.parameters[0].pattern",
        params(spec("first_name", pattern="([a-z"), spec("order_id"), spec("button.2")),
        id="bad-pattern",
    ),
    pytest.param(
        "PARAM_PATTERN_INVALID",
        "template.parameters[0].pattern",
        params(spec("first_name", pattern="a{1001}"), spec("order_id"), spec("button.2")),
        id="huge-repeat",
    ),
    pytest.param(
        "PARAM_MAX_LENGTH_INVALID",
        "template.parameters[0].max_length",
        params(spec("first_name", max_length=-1), spec("order_id"), spec("button.2")),
        id="negative-max-length",
    ),
    pytest.param(
        "PARAM_DEFAULT_INVALID",
        "template.parameters[0].default_value",
        params(spec("first_name", optional=True), spec("order_id"), spec("button.2")),
        id="optional-no-default",
    ),
    pytest.param(
        "PARAM_DEFAULT_INVALID",
        "template.parameters[0].default_value",
        params(spec("first_name", optional=True, default_value=" "), spec("order_id"), spec("button.2")),
        id="optional-blank-default",
    ),
    pytest.param(
        "PARAM_DEFAULT_INVALID",
        "template.parameters[0].default_value",
        params(
            spec("first_name", "Ana", optional=True, default_value="customer", pattern="[A-Z].*"),
            spec("order_id"),
            spec("button.2"),
        ),
        id="default-fails-pattern",
    ),
    pytest.param(
        "PARAM_DEFAULT_INVALID",
        "template.parameters[0].default_value",
        params(
            spec("first_name", "Ana", optional=True, default_value="a\nb"), spec("order_id"), spec("button.2")
        ),
        id="default-newline",
    ),
    pytest.param(
        "PARAM_REPEATED",
        BODY_F,
        body(f"Hi {{{{first_name}}}}, {FILLER}, {{{{first_name}}}}."),
        id="repeated-named",
    ),
    pytest.param(
        "PARAM_REPEATED",
        BODY_F,
        body(f"Hi {{{{1}}}}, {FILLER}, {{{{1}}}}.", POSITIONAL_BASE),
        id="repeated-positional",
    ),
]


# (code, definition): a near miss that must NOT be reported with that code.
NEGATIVE = [
    pytest.param("NAME_REQUIRED", named(display_name="a"), id="name-one-char"),
    pytest.param("NAME_INVALID", named(display_name="order_ready_2"), id="name-digits-underscore"),
    pytest.param("NAME_INVALID", named(display_name=""), id="name-empty-is-required-not-invalid"),
    pytest.param("NAME_TOO_LONG", named(display_name="a" * 512), id="name-512"),
    *[
        pytest.param(code, named(language_code=lang), id=f"lang-{lang}")
        for code in ("LANGUAGE_REQUIRED", "LANGUAGE_INVALID")
        for lang in ("en", "en_US", "pt_BR", "zh_Hant_HK", "es_419", "fil", "sr-Latn")
    ],
    *[pytest.param("CATEGORY_REQUIRED", named(category=c), id=f"category-{c}") for c in TemplateCategory],
    pytest.param("BODY_REQUIRED", body("."), id="body-dot"),
    pytest.param("BODY_TOO_LONG", body("x" * 1024), id="body-1024"),
    pytest.param("BODY_TOO_LONG", body("🎉" * 1024), id="body-1024-emoji"),
    pytest.param("HEADER_TEXT_REQUIRED", comps(header=None), id="no-header"),
    pytest.param("HEADER_TEXT_REQUIRED", header(HeaderFormat.IMAGE, "", "h1"), id="image-needs-no-text"),
    pytest.param("HEADER_TOO_LONG", header(HeaderFormat.TEXT, "h" * 60), id="header-60"),
    pytest.param("HEADER_TOO_LONG", header(HeaderFormat.TEXT, "Café ☕ 日本語 " * 5), id="header-unicode-60"),
    pytest.param(
        "HEADER_TOO_MANY_PARAMS", header(HeaderFormat.TEXT, "Order {{order_id}}!"), id="header-1-param"
    ),
    pytest.param("HEADER_TEXT_NOT_ALLOWED", header(HeaderFormat.VIDEO, "", "h1"), id="video-no-text"),
    pytest.param("HEADER_TEXT_NOT_ALLOWED", header(HeaderFormat.TEXT, "Hi"), id="text-header-text"),
    pytest.param(
        "HEADER_EXAMPLE_REQUIRED", header(HeaderFormat.DOCUMENT, "", "h1"), id="document-with-handle"
    ),
    pytest.param("HEADER_EXAMPLE_REQUIRED", header(HeaderFormat.LOCATION), id="location-needs-none"),
    pytest.param("HEADER_EXAMPLE_REQUIRED", header(HeaderFormat.TEXT, "Hi"), id="text-needs-none"),
    pytest.param("FOOTER_TOO_LONG", comps(footer="f" * 60), id="footer-60"),
    pytest.param("FOOTER_TOO_LONG", comps(footer=""), id="no-footer"),
    pytest.param("FOOTER_HAS_PARAMS", comps(footer="Reply {STOP} to opt out"), id="footer-single-braces"),
    pytest.param("BUTTONS_TOO_MANY", buttons(*[Button(QR, f"q{i}") for i in range(10)]), id="10-buttons"),
    pytest.param("QUICK_REPLY_TOO_MANY", buttons(*[Button(QR, f"q{i}") for i in range(10)]), id="10-qr"),
    pytest.param(
        "URL_BUTTONS_TOO_MANY", buttons(url_button("https://a.com"), url_button("https://b.com")), id="2-url"
    ),
    pytest.param("PHONE_BUTTONS_TOO_MANY", buttons(phone_button("+15551230000")), id="1-phone"),
    pytest.param("COPY_CODE_BUTTONS_TOO_MANY", buttons(Button(COPY, "", example="A")), id="1-copy"),
    pytest.param("BUTTONS_NOT_GROUPED", NAMED_BASE, id="qr-first"),
    pytest.param(
        "BUTTONS_NOT_GROUPED",
        buttons(url_button("https://e.com"), phone_button("+15551230000"), Button(QR, "a"), Button(QR, "b")),
        id="qr-last",
    ),
    pytest.param("BUTTONS_NOT_GROUPED", buttons(Button(QR, "a"), Button(QR, "b")), id="only-qr"),
    pytest.param("BUTTONS_NOT_GROUPED", buttons(), id="no-buttons"),
    pytest.param(
        "BUTTON_TEXT_REQUIRED", buttons(Button(COPY, "", example="SAVE10")), id="copy-code-label-from-meta"
    ),
    pytest.param("BUTTON_TEXT_TOO_LONG", buttons(Button(QR, "b" * 25)), id="text-25"),
    pytest.param("BUTTON_TEXT_TOO_LONG", buttons(Button(QR, "Ver más ✅ 詳細")), id="text-unicode"),
    pytest.param("URL_REQUIRED", buttons(url_button("https://e.com")), id="url-given"),
    pytest.param("URL_REQUIRED", buttons(Button(QR, "ok")), id="qr-needs-no-url"),
    pytest.param("URL_INVALID", buttons(url_button("http://e.com")), id="url-http"),
    pytest.param("URL_INVALID", buttons(url_button("HTTPS://E.COM/x")), id="url-upper-scheme"),
    pytest.param("URL_TOO_LONG", buttons(url_button("https://e.com/" + "a" * 1986)), id="url-2000"),
    pytest.param("URL_TOO_MANY_VARIABLES", buttons(url_button("https://e.com/{{1}}")), id="url-1-var"),
    pytest.param(
        "URL_VARIABLE_NOT_AT_END", buttons(url_button("https://e.com/t/{{1}}")), id="url-var-at-end"
    ),
    pytest.param("URL_VARIABLE_NOT_AT_END", buttons(url_button("https://e.com/t")), id="url-no-var"),
    pytest.param("URL_VARIABLE_INVALID", NAMED_BASE, id="url-var-1-in-named-template"),
    pytest.param("PHONE_NUMBER_REQUIRED", buttons(phone_button("+15551230000")), id="phone-given"),
    pytest.param("PHONE_NUMBER_TOO_LONG", buttons(phone_button("+1 (555) 123-0000")), id="phone-formatted"),
    pytest.param("PHONE_NUMBER_TOO_LONG", buttons(phone_button("+1234567890123456789")), id="phone-20"),
    pytest.param("PHONE_NUMBER_INVALID", buttons(phone_button("+1 (555) 123-0000")), id="phone-separators"),
    pytest.param("PHONE_NUMBER_INVALID", buttons(phone_button("08001234")), id="phone-no-plus"),
    pytest.param(
        "COPY_CODE_EXAMPLE_REQUIRED", buttons(Button(COPY, "", example="SAVE10")), id="copy-example"
    ),
    pytest.param("COPY_CODE_EXAMPLE_TOO_LONG", buttons(Button(COPY, "", example="C" * 15)), id="copy-15"),
    pytest.param("PARAM_NAME_INVALID", body(f"Hi {{{{_private}}}}, {FILLER}."), id="leading-underscore"),
    pytest.param(
        "PARAM_NAME_INVALID", body(f"Hi {{{{address2}}}}, {FILLER}."), id="digits-are-only-a-warning"
    ),
    pytest.param("PARAM_NAME_INVALID", POSITIONAL_BASE, id="positional-numbers"),
    pytest.param("PARAM_NAME_HAS_DIGITS", NAMED_BASE, id="letters-only"),
    pytest.param("PARAM_NAME_HAS_DIGITS", POSITIONAL_BASE, id="positional-digits-are-fine"),
    pytest.param("PARAM_FORMAT_MIXED", NAMED_BASE, id="named-with-url-1"),
    pytest.param("PARAM_FORMAT_MIXED", POSITIONAL_BASE, id="positional"),
    pytest.param(
        "PARAM_FORMAT_MISMATCH",
        positional(parameter_format=ParameterFormat.POSITIONAL),
        id="declared-positional-ok",
    ),
    pytest.param("PARAM_FORMAT_MISMATCH", named(parameter_format=None), id="undeclared"),
    pytest.param(
        "PARAM_FORMAT_MISMATCH",
        replace(
            comps(header=None, body="Hello there, nothing to fill in.", buttons=()),
            parameters=(),
            parameter_format=ParameterFormat.NAMED,
        ),
        id="declared-named-without-placeholders",
    ),
    pytest.param(
        "POSITIONAL_NOT_SEQUENTIAL",
        body(f"Hi {{{{1}}}}, {FILLER} {{{{2}}}} and {{{{1}}}}.", POSITIONAL_BASE),
        id="repeat-ok",
    ),
    pytest.param("POSITIONAL_NOT_SEQUENTIAL", POSITIONAL_BASE, id="header-1-body-1-2"),
    pytest.param("POSITIONAL_NOT_SEQUENTIAL", NAMED_BASE, id="named"),
    pytest.param("PLACEHOLDER_MALFORMED", body(f"Use the {{ key }} and :-}} {FILLER}."), id="prose-braces"),
    pytest.param("PLACEHOLDER_MALFORMED", NAMED_BASE, id="named-base"),
    pytest.param("PLACEHOLDER_MALFORMED", POSITIONAL_BASE, id="positional-base"),
    pytest.param("PARAM_AT_BODY_START", body(f"Hi {{{{first_name}}}}, {FILLER}."), id="text-first"),
    pytest.param("PARAM_AT_BODY_START", body(f"¡{{{{first_name}}}}, {FILLER}!"), id="punctuation-first"),
    pytest.param("PARAM_AT_BODY_END", body(f"{FILLER}, {{{{first_name}}}}."), id="trailing-period"),
    pytest.param("PARAM_AT_BODY_END", body(f"{FILLER}, {{{{first_name}}}} 🎉"), id="trailing-emoji"),
    pytest.param("PARAMS_ADJACENT", body(f"Hi {{{{1}}}}, {{{{2}}}}: {FILLER}.", POSITIONAL_BASE), id="comma"),
    pytest.param("PARAMS_ADJACENT", body(f"Hi {{{{1}}}}/{{{{2}}}}: {FILLER}.", POSITIONAL_BASE), id="slash"),
    pytest.param("TOO_MANY_PARAMS_FOR_LENGTH", NAMED_BASE, id="named-base"),
    pytest.param(
        "TOO_MANY_PARAMS_FOR_LENGTH", body("Hello {{1}}, see you soon.", POSITIONAL_BASE), id="three-words"
    ),
    pytest.param(
        "TOO_MANY_PARAMS_FOR_LENGTH",
        body("ご注文{{1}}の準備ができました。", POSITIONAL_BASE),
        id="cjk-chars-are-words",
    ),
    pytest.param(
        "TOO_MANY_PARAMS_FOR_LENGTH", body("No placeholders.", POSITIONAL_BASE), id="no-placeholders"
    ),
    pytest.param("PARAM_EXAMPLE_REQUIRED", NAMED_BASE, id="named-all-examples"),
    pytest.param("PARAM_EXAMPLE_REQUIRED", POSITIONAL_BASE, id="positional-all-examples"),
    pytest.param("PARAM_UNKNOWN", NAMED_BASE, id="named-all-used"),
    pytest.param("PARAM_UNKNOWN", POSITIONAL_BASE, id="positional-all-used"),
    pytest.param("PARAM_DUPLICATE_DECLARATION", NAMED_BASE, id="unique"),
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        params(
            spec("first_name", "Dana", max_length=4, pattern="[A-Z][a-z]+"),
            spec("order_id", "A" * 60),
            spec("button.2"),
        ),
        id="example-at-limits",
    ),
    pytest.param(
        "PARAM_EXAMPLE_INVALID",
        params(spec("first_name", "José 😀 李    "), spec("order_id"), spec("button.2")),
        id="four-spaces",
    ),
    pytest.param(
        "PARAM_PATTERN_INVALID",
        params(spec("first_name", "A", pattern=r"\w+"), spec("order_id"), spec("button.2")),
        id="pattern-ok",
    ),
    pytest.param(
        "PARAM_MAX_LENGTH_INVALID",
        params(spec("first_name", max_length=0), spec("order_id"), spec("button.2")),
        id="max-length-0",
    ),
    pytest.param(
        "PARAM_DEFAULT_INVALID",
        params(
            spec("first_name", "Ana", optional=True, default_value="customer"),
            spec("order_id"),
            spec("button.2"),
        ),
        id="optional-with-default",
    ),
    pytest.param("PARAM_DEFAULT_INVALID", NAMED_BASE, id="required-no-default"),
    pytest.param("PARAM_REPEATED", NAMED_BASE, id="header-and-body-share-a-name"),
    pytest.param("PARAM_REPEATED", POSITIONAL_BASE, id="header-1-and-body-1"),
]


@pytest.mark.parametrize(("code", "field", "definition"), POSITIVE)
def test_reports_violation(code: str, field: str, definition: TemplateDefinition) -> None:
    report = lint(definition)
    found = [v for v in report.violations if v.code == code]
    assert found, f"expected {code}, got {report.violations}"
    assert field in {v.field for v in found}
    expected = Severity.WARNING if code in WARNING_CODES else Severity.ERROR
    assert all(v.severity is expected for v in found)
    assert all(v.message and v.message[-1] not in " ;" for v in found)


@pytest.mark.parametrize(("code", "definition"), NEGATIVE)
def test_does_not_report_violation(code: str, definition: TemplateDefinition) -> None:
    report = lint(definition)
    assert code not in codes(report), report.violations


def test_every_code_has_positive_and_negative_cases() -> None:
    positive = {case.values[0] for case in POSITIVE}
    negative = {case.values[0] for case in NEGATIVE}
    assert positive == ALL_CODES
    assert negative == ALL_CODES


@pytest.mark.parametrize("definition", [NAMED_BASE, POSITIONAL_BASE], ids=["named", "positional"])
def test_bases_are_clean(definition: TemplateDefinition) -> None:
    report = lint(definition)
    assert report.violations == ()
    assert report.valid


def test_reports_every_violation_at_once() -> None:
    definition = TemplateDefinition(
        display_name="Bad Name",
        language_code="",
        category=None,
        components=Components(
            header=Header(HeaderFormat.TEXT, "h" * 61),
            body="{{1}}{{3}}",
            footer="{{x}}",
            buttons=(Button(QR, ""), url_button("ftp://e.com/{{2}}/x"), Button(QR, "b" * 30)),
        ),
        parameters=(spec("9"), spec("9")),
    )
    found = set(codes(lint(definition)))
    assert {
        "NAME_INVALID",
        "LANGUAGE_REQUIRED",
        "CATEGORY_REQUIRED",
        "HEADER_TOO_LONG",
        "POSITIONAL_NOT_SEQUENTIAL",
        "PARAM_AT_BODY_START",
        "PARAM_AT_BODY_END",
        "PARAMS_ADJACENT",
        "TOO_MANY_PARAMS_FOR_LENGTH",
        "FOOTER_HAS_PARAMS",
        "BUTTONS_NOT_GROUPED",
        "BUTTON_TEXT_REQUIRED",
        "BUTTON_TEXT_TOO_LONG",
        "URL_INVALID",
        "URL_VARIABLE_INVALID",
        "URL_VARIABLE_NOT_AT_END",
        "PARAM_EXAMPLE_REQUIRED",
        "PARAM_UNKNOWN",
        "PARAM_DUPLICATE_DECLARATION",
    } <= found


@pytest.mark.parametrize(
    ("definition", "code", "message"),
    [
        pytest.param(
            body("x" * 1031), "BODY_TOO_LONG", "body is 1031 characters; Meta allows at most 1024", id="body"
        ),
        pytest.param(
            header(HeaderFormat.TEXT, "🎉" * 61),
            "HEADER_TOO_LONG",
            "header is 61 characters; Meta allows at most 60",
            id="header",
        ),
        pytest.param(
            named(display_name="Order-Ready"),
            "NAME_INVALID",
            "name 'Order-Ready' contains 'O', '-', 'R'; only lowercase letters, digits and underscores "
            "are allowed",
            id="name",
        ),
        pytest.param(
            body(f"Hi {{{{FirstName}}}}, {FILLER}."),
            "PARAM_NAME_INVALID",
            "parameter name 'FirstName' in the body must use only lowercase letters, digits and underscores, "
            "e.g. {{first_name}}",
            id="param-name",
        ),
        pytest.param(
            body(f"Hi {{{{1}}}} and {{{{3}}}}, {FILLER}.", POSITIONAL_BASE),
            "POSITIONAL_NOT_SEQUENTIAL",
            "body placeholders appear as {{1}}, {{3}}; they must be {{1}}, {{2}} in order of first "
            "appearance",
            id="sequence",
        ),
        pytest.param(
            positional(parameter_format=ParameterFormat.NAMED),
            "PARAM_FORMAT_MISMATCH",
            "parameter_format is NAMED but the placeholders are POSITIONAL",
            id="mismatch",
        ),
        pytest.param(
            body(f"Hi {{{{first_name}}}}, {FILLER}, {{{{first_name}}}}."),
            "PARAM_REPEATED",
            "{{first_name}} is used 2 times in the body; each use shows the same value",
            id="repeated",
        ),
    ],
)
def test_messages_quote_offending_values(definition: TemplateDefinition, code: str, message: str) -> None:
    messages = [v.message for v in lint(definition).violations if v.code == code]
    assert messages == [message]


def test_each_malformed_brace_is_its_own_violation() -> None:
    report = lint(body(f"Hi {{{{1}}, {{{{}}}} and {{x}}}}, {FILLER}."))
    malformed = [v for v in report.violations if v.code == "PLACEHOLDER_MALFORMED"]
    assert len(malformed) == 3
    assert all(v.field == BODY_F for v in malformed)


def test_each_adjacent_pair_is_reported() -> None:
    report = lint(body(f"Hi {{{{1}}}}{{{{2}}}} {{{{3}}}}, {FILLER} {FILLER}.", POSITIONAL_BASE))
    assert codes(report).count("PARAMS_ADJACENT") == 2


def test_mismatch_does_not_cascade_into_unknown_parameters() -> None:
    report = lint(positional(parameter_format=ParameterFormat.NAMED))
    assert [v.code for v in report.errors] == ["PARAM_FORMAT_MISMATCH"]
    assert report.parameter_format is ParameterFormat.NAMED


def test_report_merges_declared_specs_with_detected_locations() -> None:
    declared = (
        spec("button.2", "A-1042"),
        spec("order_id", "A-1042", max_length=12, pattern="[A-Z]-[0-9]+"),
        spec("first_name", "Dana", optional=True, default_value="there"),
    )
    report = lint(named(parameters=declared, parameter_format=None))
    assert report.parameter_format is ParameterFormat.NAMED
    assert report.parameters == (
        ParameterSpec(
            "order_id",
            example="A-1042",
            max_length=12,
            pattern="[A-Z]-[0-9]+",
            locations=(ParameterLocation.HEADER, ParameterLocation.BODY),
        ),
        ParameterSpec(
            "first_name",
            example="Dana",
            optional=True,
            default_value="there",
            locations=(ParameterLocation.BODY,),
        ),
        ParameterSpec("button.2", example="A-1042", locations=(ParameterLocation.BUTTON,)),
    )


def test_positional_report_keys() -> None:
    report = lint(positional(parameter_format=None))
    assert report.parameter_format is ParameterFormat.POSITIONAL
    assert [(p.key, p.locations) for p in report.parameters] == [
        ("header.1", (ParameterLocation.HEADER,)),
        ("1", (ParameterLocation.BODY,)),
        ("2", (ParameterLocation.BODY,)),
        ("button.0", (ParameterLocation.BUTTON,)),
    ]


def test_undeclared_parameters_are_still_reported_with_locations() -> None:
    report = lint(params())
    assert [p.key for p in report.parameters] == ["order_id", "first_name", "button.2"]
    assert all(p.example == "" for p in report.parameters)
    assert codes(report).count("PARAM_EXAMPLE_REQUIRED") == 3


@pytest.mark.parametrize(
    ("declared", "components", "expected"),
    [
        pytest.param(
            None, Components(body="Hello there, no placeholders."), ParameterFormat.POSITIONAL, id="default"
        ),
        pytest.param(
            ParameterFormat.NAMED, Components(body="Hello there."), ParameterFormat.NAMED, id="declared-wins"
        ),
        pytest.param(
            None, Components(body="Hi {{name}}, welcome aboard friend."), ParameterFormat.NAMED, id="detected"
        ),
        pytest.param(
            ParameterFormat.POSITIONAL,
            Components(body="Hi {{name}}, welcome aboard friend."),
            ParameterFormat.POSITIONAL,
            id="declared-even-if-mismatched",
        ),
    ],
)
def test_report_parameter_format(
    declared: ParameterFormat | None, components: Components, expected: ParameterFormat
) -> None:
    definition = TemplateDefinition("t", "en", TemplateCategory.UTILITY, components, (), declared)
    assert lint(definition).parameter_format is expected


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param(
            TemplateDefinition(
                "promo_verano",
                "es_MX",
                TemplateCategory.MARKETING,
                Components(
                    header=Header(HeaderFormat.TEXT, "¡Hola {{nombre}}! ☀️"),
                    body=(
                        "¡Hola {{nombre}}! Tu cupón de verano 🏖️ ya está disponible en nuestra tienda. "
                        "¡Disfrútalo!"
                    ),
                    footer="Responde BAJA para no recibir más",
                ),
                (spec("nombre", "José"),),
            ),
            id="spanish-emoji",
        ),
        pytest.param(
            TemplateDefinition(
                "order_ja",
                "ja",
                TemplateCategory.UTILITY,
                Components(
                    body="ご注文{{1}}の準備ができました。店舗でお受け取りください。",
                    footer="ありがとうございます",
                ),
                (spec("1", "A-1042"),),
            ),
            id="japanese",
        ),
        pytest.param(
            TemplateDefinition(
                "order_zh",
                "zh_Hant_HK",
                TemplateCategory.UTILITY,
                Components(
                    header=Header(HeaderFormat.TEXT, "訂單 {{1}}"),
                    body="您好 {{1}}，您的訂單已準備好，請到門市取貨。謝謝！",
                    buttons=(Button(QR, "好的 👍"),),
                ),
                (spec("header.1", "A-1042"), spec("1", "陳大文")),
            ),
            id="chinese",
        ),
    ],
)
def test_unicode_templates_are_valid(definition: TemplateDefinition) -> None:
    report = lint(definition)
    assert report.errors == ()
    assert report.warnings == ()


def test_report_properties_split_by_severity() -> None:
    error = Violation("BODY_REQUIRED", Severity.ERROR, BODY_F, "body is required")
    warning = Violation("PARAM_REPEATED", Severity.WARNING, BODY_F, "repeated")
    report = LintReport((warning, error), ParameterFormat.NAMED, ())
    assert report.errors == (error,)
    assert report.warnings == (warning,)
    assert not report.valid
    assert LintReport((warning,), ParameterFormat.NAMED, ()).valid


def test_warnings_alone_keep_a_template_valid() -> None:
    report = lint(body("Hi {{first_name}} and {{order_id}} ok.", NAMED_BASE))
    assert report.warnings
    assert report.valid


_TEXT = st.text(alphabet=st.sampled_from(list("{}{}ab_1 #\n$%")) | st.characters(), max_size=60)
_SPECS = st.lists(
    st.builds(
        ParameterSpec,
        key=st.sampled_from(["1", "2", "header.1", "button.0", "name", ""]) | _TEXT,
        example=_TEXT,
        max_length=st.integers(-5, 80),
        pattern=_TEXT,
        optional=st.booleans(),
        default_value=_TEXT,
    ),
    max_size=4,
)
_BUTTONS = st.lists(
    st.builds(
        Button, type=st.sampled_from(ButtonType), text=_TEXT, url=_TEXT, phone_number=_TEXT, example=_TEXT
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    name=_TEXT,
    language=_TEXT,
    category=st.none() | st.sampled_from(TemplateCategory),
    header=st.none() | st.builds(Header, format=st.sampled_from(HeaderFormat), text=_TEXT),
    body_text=_TEXT,
    footer=_TEXT,
    button_list=_BUTTONS,
    specs=_SPECS,
    declared=st.none() | st.sampled_from(ParameterFormat),
)
def test_lint_never_raises(
    name: str,
    language: str,
    category: TemplateCategory | None,
    header: Header | None,
    body_text: str,
    footer: str,
    button_list: list[Button],
    specs: list[ParameterSpec],
    declared: ParameterFormat | None,
) -> None:
    definition = TemplateDefinition(
        name,
        language,
        category,
        Components(body_text, header, footer, tuple(button_list)),
        tuple(specs),
        declared,
    )
    report = lint(definition)
    assert report.valid == (not report.errors)
    assert all(v.code in ALL_CODES | TYPE_CODES for v in report.violations)
    assert len({p.key for p in report.parameters}) == len(report.parameters)
