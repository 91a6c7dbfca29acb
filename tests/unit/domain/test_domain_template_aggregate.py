from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

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
from domain.errors import InvalidParameterValues, InvalidTemplate
from domain.lint import Severity
from domain.rendering import render_definition
from domain.send_parameters import SendComponent
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template, TemplateRevision

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)

NAMED = TemplateDefinition(
    display_name="order_ready",
    language_code="en_US",
    category=TemplateCategory.UTILITY,
    components=Components(
        header=Header(HeaderFormat.TEXT, "Order {{order_id}} is ready"),
        body=(
            "Hello {{first_name}}, your order {{order_id}} is ready for pickup at our store on the "
            "main street today. Thank you!"
        ),
        footer="Reply STOP to opt out",
        buttons=(
            Button(ButtonType.QUICK_REPLY, "Thanks"),
            Button(ButtonType.URL, "Track", url="https://example.com/t/{{1}}"),
        ),
    ),
    parameters=(
        ParameterSpec("first_name", example="Dana"),
        ParameterSpec("order_id", example="A-1042"),
        ParameterSpec("button.1", example="A-1042"),
    ),
)

POSITIONAL = TemplateDefinition(
    display_name="pedido_pronto",
    language_code="pt_BR",
    category=TemplateCategory.UTILITY,
    components=Components(body="Olá {{1}}, seu pedido {{2}} está pronto para retirada na loja. Obrigado! 🎉"),
    parameters=(ParameterSpec("1", example="Ana"), ParameterSpec("2", example="B-7")),
)

NAMED_VALUES = {"first_name": "Dana", "order_id": "A-1042", "button.1": "A-1042"}


def create(definition: TemplateDefinition = NAMED) -> Template:
    template, _ = Template.create(
        template_id="t-1", org_id="o-1", waba_id="123", definition=definition, now=T0
    )
    return template


@pytest.mark.parametrize(
    ("definition", "fmt", "keys"),
    [
        pytest.param(NAMED, ParameterFormat.NAMED, ["order_id", "first_name", "button.1"], id="named"),
        pytest.param(POSITIONAL, ParameterFormat.POSITIONAL, ["1", "2"], id="positional"),
        pytest.param(
            replace(NAMED, parameter_format=ParameterFormat.NAMED),
            ParameterFormat.NAMED,
            ["order_id", "first_name", "button.1"],
            id="declared",
        ),
        pytest.param(
            replace(
                POSITIONAL, components=Components(body="Hello there, nothing to fill in."), parameters=()
            ),
            ParameterFormat.POSITIONAL,
            [],
            id="no-placeholders-defaults-to-positional",
        ),
    ],
)
def test_create_builds_a_draft(definition: TemplateDefinition, fmt: ParameterFormat, keys: list[str]) -> None:
    template, warnings = Template.create(
        template_id="t-1", org_id="o-1", waba_id="123", definition=definition, now=T0
    )
    assert warnings == ()
    assert template.status is TemplateStatus.DRAFT
    assert template.raw_status == "DRAFT"
    assert template.quality is TemplateQuality.UNKNOWN
    assert (template.id, template.org_id, template.waba_id) == ("t-1", "o-1", "123")
    assert (template.display_name, template.language_code) == (
        definition.display_name,
        definition.language_code,
    )
    assert template.created_at == template.updated_at == T0
    assert template.version == 1
    assert template.etag == '"1"'
    assert template.parameter_format is fmt
    assert [p.key for p in template.parameters] == keys
    assert all(p.locations for p in template.parameters)


def test_create_fills_in_locations() -> None:
    template = create()
    assert {p.key: p.locations for p in template.parameters} == {
        "order_id": (ParameterLocation.HEADER, ParameterLocation.BODY),
        "first_name": (ParameterLocation.BODY,),
        "button.1": (ParameterLocation.BUTTON,),
    }


def test_create_returns_warnings_without_failing() -> None:
    definition = replace(
        NAMED,
        components=replace(NAMED.components, body="Hi {{first_name}} and {{order_id}} ok, {{first_name}}."),
    )
    _, warnings = Template.create(template_id="t", org_id="o", waba_id="1", definition=definition, now=T0)
    assert {w.code for w in warnings} == {"TOO_MANY_PARAMS_FOR_LENGTH", "PARAM_REPEATED"}
    assert all(w.severity is Severity.WARNING for w in warnings)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param(replace(NAMED, display_name="Order Ready"), {"NAME_INVALID"}, id="name"),
        pytest.param(
            replace(NAMED, category=None, language_code=""),
            {"CATEGORY_REQUIRED", "LANGUAGE_REQUIRED"},
            id="two",
        ),
        pytest.param(
            replace(NAMED, parameters=()),
            {"PARAM_EXAMPLE_REQUIRED"},
            id="no-examples",
        ),
        pytest.param(
            replace(NAMED, components=replace(NAMED.components, body="{{first_name}}" + "x" * 1024)),
            {"BODY_TOO_LONG", "PARAM_AT_BODY_START"},
            id="body",
        ),
    ],
)
def test_create_raises_with_every_error(definition: TemplateDefinition, expected: set[str]) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        Template.create(template_id="t", org_id="o", waba_id="1", definition=definition, now=T0)
    violations = caught.value.violations
    assert {v.code for v in violations} == expected
    assert all(v.severity is Severity.ERROR for v in violations)
    assert all(code in str(caught.value) for code in expected)


def test_create_reports_errors_but_not_warnings() -> None:
    definition = replace(
        NAMED, category=None, components=replace(NAMED.components, body="Hi {{first_name}} {{order_id}}!")
    )
    with pytest.raises(InvalidTemplate) as caught:
        Template.create(template_id="t", org_id="o", waba_id="1", definition=definition, now=T0)
    codes = [v.code for v in caught.value.violations]
    assert "CATEGORY_REQUIRED" in codes
    assert "PARAMS_ADJACENT" in codes
    assert "TOO_MANY_PARAMS_FOR_LENGTH" not in codes


def test_definition_round_trips() -> None:
    template = create()
    definition = template.definition
    assert definition.components == NAMED.components
    assert definition.parameter_format is ParameterFormat.NAMED
    assert [p.key for p in definition.parameters] == ["order_id", "first_name", "button.1"]


NEW_COMPONENTS = Components(
    body="Hi {{first_name}}, your table at {{restaurant}} is booked for tonight. See you there!",
    buttons=(Button(ButtonType.QUICK_REPLY, "Great"),),
)
NEW_PARAMETERS = (
    ParameterSpec("first_name", example="Dana"),
    ParameterSpec("restaurant", example="Chez Léa 🍷"),
)


def test_revise_replaces_components_wholesale() -> None:
    template = create()
    warnings = template.revise(TemplateRevision(components=NEW_COMPONENTS, parameters=NEW_PARAMETERS), now=T1)
    assert warnings == ()
    assert template.components == NEW_COMPONENTS
    assert [(p.key, p.locations) for p in template.parameters] == [
        ("first_name", (ParameterLocation.BODY,)),
        ("restaurant", (ParameterLocation.BODY,)),
    ]
    assert template.updated_at == T1
    assert template.created_at == T0


def test_revise_category_only() -> None:
    template = create()
    template.revise(TemplateRevision(category=TemplateCategory.MARKETING), now=T1)
    assert template.category is TemplateCategory.MARKETING
    assert template.components == NAMED.components


def test_revise_parameters_only_keeps_components() -> None:
    template = create()
    template.revise(
        TemplateRevision(
            parameters=(*NAMED.parameters[:2], ParameterSpec("button.1", example="Z-9", max_length=8))
        ),
        now=T1,
    )
    assert template.parameters[-1] == ParameterSpec(
        "button.1", example="Z-9", max_length=8, locations=(ParameterLocation.BUTTON,)
    )


def test_revise_switches_format_when_components_and_parameters_change_together() -> None:
    template = create()
    template.revise(
        TemplateRevision(
            components=POSITIONAL.components,
            parameters=POSITIONAL.parameters,
            parameter_format=None,
            parameter_format_given=True,
        ),
        now=T1,
    )
    assert template.parameter_format is ParameterFormat.POSITIONAL
    assert [p.key for p in template.parameters] == ["1", "2"]


def test_revise_returns_warnings() -> None:
    template = create()
    components = replace(NEW_COMPONENTS, body="Hi {{first_name}}, {{restaurant}} ok.")
    warnings = template.revise(TemplateRevision(components=components, parameters=NEW_PARAMETERS), now=T1)
    assert [w.code for w in warnings] == ["TOO_MANY_PARAMS_FOR_LENGTH"]
    assert template.components == components


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        pytest.param(
            TemplateRevision(components=NEW_COMPONENTS),
            {"PARAM_EXAMPLE_REQUIRED", "PARAM_UNKNOWN"},
            id="components-without-parameters",
        ),
        pytest.param(TemplateRevision(parameters=()), {"PARAM_EXAMPLE_REQUIRED"}, id="parameters-dropped"),
        pytest.param(
            TemplateRevision(parameter_format=ParameterFormat.POSITIONAL, parameter_format_given=True),
            {"PARAM_FORMAT_MISMATCH"},
            id="format-mismatch",
        ),
        pytest.param(
            TemplateRevision(components=replace(NAMED.components, footer="Bye {{first_name}}")),
            {"FOOTER_HAS_PARAMS"},
            id="footer-param",
        ),
        pytest.param(
            TemplateRevision(
                category=TemplateCategory.MARKETING,
                components=replace(NAMED.components, body=""),
                parameters=(ParameterSpec("order_id", example="A-1042", pattern="("),),
            ),
            {"BODY_REQUIRED", "PARAM_PATTERN_INVALID", "PARAM_EXAMPLE_REQUIRED"},
            id="several",
        ),
    ],
)
def test_invalid_revision_leaves_the_aggregate_unchanged(
    revision: TemplateRevision, expected: set[str]
) -> None:
    template = create()
    before = copy.deepcopy(template)
    with pytest.raises(InvalidTemplate) as caught:
        template.revise(revision, now=T1)
    assert {v.code for v in caught.value.violations} == expected
    assert template == before
    assert template.updated_at == T0


def test_render_delegates_to_render_definition() -> None:
    template = create()
    message = template.render(NAMED_VALUES)
    assert message == render_definition(template.definition, NAMED_VALUES)
    assert message.header_text == "Order A-1042 is ready"
    assert [p.value for p in message.parameters] == ["A-1042", "Dana", "A-1042", "A-1042"]


def test_render_uses_the_revised_definition() -> None:
    template = create()
    template.revise(TemplateRevision(components=NEW_COMPONENTS, parameters=NEW_PARAMETERS), now=T1)
    message = template.render({"first_name": "Léa", "restaurant": "Chez Léa 🍷"})
    assert message.body_text == "Hi Léa, your table at Chez Léa 🍷 is booked for tonight. See you there!"


def test_render_positional_template() -> None:
    message = create(POSITIONAL).render({"1": "Ana", "2": "B-7"})
    assert message.body_text == "Olá Ana, seu pedido B-7 está pronto para retirada na loja. Obrigado! 🎉"
    assert [(p.component, p.value, p.name) for p in message.parameters] == [
        (SendComponent.BODY, "Ana", ""),
        (SendComponent.BODY, "B-7", ""),
    ]


def test_render_rejects_invalid_values() -> None:
    template = create()
    with pytest.raises(InvalidParameterValues) as caught:
        template.render({"first_name": "Da\nna", "button.1": "x"})
    assert {(v.code, v.key) for v in caught.value.violations} == {
        ("VALUE_FORBIDDEN_WHITESPACE", "first_name"),
        ("VALUE_MISSING", "order_id"),
    }
