"""Shared test data for the Graph adapter tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from adapters.meta_graph.client import GraphClient
from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    ParameterSpec,
    TemplateDefinition,
)
from domain.status import TemplateCategory

# Distinctive, so a leak anywhere is easy to find with `in`.
TOKEN = "EAAGtest-SECRET-token-4f9c2e71d0"
WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"

# The fact sheet's create-template request (meta-platform.md, section 3), verbatim.
FACT_SHEET_CREATE_NAMED: dict[str, Any] = json.loads(
    """
{"name":"order_ready","language":"en_US","category":"UTILITY","parameter_format":"NAMED",
 "components":[
  {"type":"HEADER","format":"TEXT","text":"Order {{order_id}} is ready",
   "example":{"header_text_named_params":[{"param_name":"order_id","example":"A-1042"}]}},
  {"type":"BODY","text":"Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
   "example":{"body_text_named_params":[{"param_name":"first_name","example":"Dana"},
                                         {"param_name":"order_id","example":"A-1042"},
                                         {"param_name":"store","example":"Main St"}]}},
  {"type":"FOOTER","text":"Reply STOP to opt out"},
  {"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Thanks"},
                                {"type":"URL","text":"Track","url":"https://example.com/t/{{1}}","example":["https://example.com/t/A-1042"]}]}]}
"""
)

NAMED_DEFINITION = TemplateDefinition(
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
        ParameterSpec("first_name", "Dana", max_length=30),
        ParameterSpec("order_id", "A-1042"),
        ParameterSpec("store", "Main St"),
        ParameterSpec("button.1", "A-1042"),
    ),
    parameter_format=ParameterFormat.NAMED,
)

POSITIONAL_DEFINITION = TemplateDefinition(
    display_name="ship_update",
    language_code="pt_BR",
    category=TemplateCategory.MARKETING,
    components=Components(
        header=Header(HeaderFormat.TEXT, "Pedido {{1}}"),
        body="Olá {{1}}, o seu pedido {{2}} foi enviado e chega amanhã.",
        buttons=(Button(ButtonType.PHONE_NUMBER, "Ligar", phone_number="+5511999999999"),),
    ),
    # Deliberately out of order: positional examples must still come out in 1..n order.
    parameters=(
        ParameterSpec("2", "860198-230332"),
        ParameterSpec("header.1", "860198"),
        ParameterSpec("1", "Pablo"),
    ),
    parameter_format=ParameterFormat.POSITIONAL,
)

# make_client(**GraphClient keyword overrides) -> GraphClient on the fake server.
ClientFactory = Callable[..., GraphClient]
