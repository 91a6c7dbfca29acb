"""Template definitions and values shared by the tests: the rendering tests of the domain and of the
Graph adapter (which turns a rendered message into Meta's send request), and a plain draft."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterSpec,
    TemplateDefinition,
)
from domain.lint import lint
from domain.status import TemplateCategory
from domain.templates import Template

# The send request of the fact sheet (meta-platform.md, section 5), verbatim.
FACT_SHEET_SEND = json.loads(
    """
{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15551230000","type":"template",
 "template":{"name":"order_ready","language":{"code":"en_US"},
  "components":[
   {"type":"header","parameters":[{"type":"text","parameter_name":"order_id","text":"A-1042"}]},
   {"type":"body","parameters":[
     {"type":"text","parameter_name":"first_name","text":"Dana"},
     {"type":"text","parameter_name":"order_id","text":"A-1042"},
     {"type":"text","parameter_name":"store","text":"Main St"}]},
   {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"A-1042"}]}]}}
"""
)


def resolved(definition: TemplateDefinition) -> TemplateDefinition:
    """What a stored template hands to render: format resolved, specs carrying locations."""
    report = lint(definition)
    assert report.valid, report.errors
    return replace(definition, parameters=report.parameters, parameter_format=report.parameter_format)


# The create request of the fact sheet (section 3).
NAMED = resolved(
    TemplateDefinition(
        display_name="order_ready",
        language_code="en_US",
        category=TemplateCategory.UTILITY,
        components=Components(
            header=Header(HeaderFormat.TEXT, "Order {{order_id}} is ready"),
            body="Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
            footer="Reply STOP to opt out",
            buttons=(
                Button(ButtonType.QUICK_REPLY, "Thanks"),
                Button(ButtonType.URL, "Track", url="https://example.com/t/{{1}}"),
            ),
        ),
        parameters=(
            ParameterSpec("first_name", example="Dana", max_length=20),
            ParameterSpec("order_id", example="A-1042", pattern=r"[A-Z]-[0-9]{4}"),
            ParameterSpec("store", example="Main St", optional=True, default_value="our store"),
            ParameterSpec("button.1", example="A-1042"),
        ),
    )
)
NAMED_VALUES = {"first_name": "Dana", "order_id": "A-1042", "store": "Main St", "button.1": "A-1042"}

POSITIONAL = resolved(
    TemplateDefinition(
        display_name="order_ready",
        language_code="en_US",
        category=TemplateCategory.UTILITY,
        components=Components(
            header=Header(HeaderFormat.TEXT, "Order {{1}} is ready"),
            body="Hi {{1}}, your order {{2}} can be collected from {{3}} today, {{1}}.",
            footer="Reply STOP to opt out",
            buttons=(
                Button(ButtonType.QUICK_REPLY, "Thanks"),
                Button(ButtonType.URL, "Track", url="https://example.com/t/{{1}}"),
                Button(ButtonType.PHONE_NUMBER, "Call", phone_number="+15551230000"),
                Button(ButtonType.COPY_CODE, "", example="SAVE10"),
            ),
        ),
        parameters=(
            ParameterSpec("header.1", example="A-1042"),
            ParameterSpec("1", example="Dana"),
            ParameterSpec("2", example="A-1042"),
            ParameterSpec("3", example="Main St"),
            ParameterSpec("button.1", example="A-1042"),
        ),
    )
)
POSITIONAL_VALUES = {
    "header.1": "A-1042",
    "1": "Dana",
    "2": "A-1042",
    "3": "Main St",
    "button.1": "A-1042",
    "button.3": "SAVE10",
}


def with_values(base: dict[str, str], **changes: Any) -> dict[str, str]:
    values = dict(base)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def draft_template(
    now: datetime, template_id: str = "t1", org_id: str = "o1", waba_id: str = "w1"
) -> Template:
    """A new UTILITY draft, `order_ready.en_US`, with one named parameter."""
    made, _ = Template.create(
        template_id=template_id,
        org_id=org_id,
        waba_id=waba_id,
        definition=TemplateDefinition(
            "order_ready",
            "en_US",
            TemplateCategory.UTILITY,
            Components(body="Hi {{first_name}}, your order is ready at the front desk today."),
            (ParameterSpec("first_name", "Dana"),),
        ),
        now=now,
    )
    return made
