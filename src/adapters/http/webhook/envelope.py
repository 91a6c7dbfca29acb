"""What a delivery must be before it is acknowledged: a whatsapp_business_account envelope with
entries, that every store can hold and the API can show (the door and the splitter share it)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from app.inbox import (
    MalformedDelivery,
)
from app.text import lone_surrogate_in

OBJECT = "whatsapp_business_account"

STATUS_FIELD = "message_template_status_update"
QUALITY_FIELD = "message_template_quality_update"
CATEGORY_FIELD = "template_category_update"
COMPONENTS_FIELD = "message_template_components_update"
MESSAGES_FIELD = "messages"
TEMPLATE_FIELDS = frozenset({STATUS_FIELD, QUALITY_FIELD, CATEGORY_FIELD, COMPONENTS_FIELD})

# Meta's payloads nest about eight levels deep (entry, changes, value, statuses, pricing...); far more
# than that is not a Meta payload, and deep enough to exhaust the recursion of JSON encoders.
MAX_DEPTH = 64

# The longest text a template event may carry where it becomes a column or is linted. Meta's own
# limits are far below (an id has about 15 digits, a name at most 512 characters, a body 1,024): a
# change over these is not Meta's, and is refused as DEAD at once.
WEBHOOK_TEXT_LIMITS = {"id": 64, "name": 512, "code": 128, "text": 4_096}
# Meta's clock and ours may disagree a little; an event dated further ahead than this cannot be
# trusted to order events (it would outrank every later one), so it is dated when it arrived.
MAX_FUTURE_SKEW = timedelta(hours=1)


def parse_envelope(body: bytes) -> Mapping[str, Any]:
    """The parsed body if it is a whatsapp_business_account envelope with entries that every store
    can hold; else MalformedDelivery. Shared with the HTTP handler, so a delivery the door accepts is
    one the worker can split and store and the API can show: no non-finite numbers (PostgreSQL's JSON
    has no NaN or Infinity, and 1e999 parses to infinity), nothing nested deeper than MAX_DEPTH, no
    lone surrogates."""
    try:
        envelope = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except NonFiniteNumber as exc:
        raise MalformedDelivery(str(exc)) from None
    except RecursionError:
        raise MalformedDelivery(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedDelivery(f"body is not JSON: {exc}"[:300]) from None
    if not isinstance(envelope, dict):
        raise MalformedDelivery(f"body must be a JSON object, got {type_name(envelope)}")
    kind = envelope.get("object")
    if kind != OBJECT:
        raise MalformedDelivery(f"'object' must be {OBJECT!r}, got {short(kind)}")
    # Both walks of the parsed document are skipped when the bytes rule them out (every delivery
    # Meta sends): nesting needs more brackets than the limit, and a lone surrogate a \uD800-\uDFFF
    # escape (strict UTF-8 cannot carry one).
    if (
        body.count(b"{") + body.count(b"[") > MAX_DEPTH
        and (depth := nesting_depth(envelope, MAX_DEPTH)) > MAX_DEPTH
    ):
        raise MalformedDelivery(f"the body is nested deeper than {MAX_DEPTH} levels ({depth} or more)")
    if _SURROGATE_ESCAPE.search(body) and lone_surrogate_in(envelope):
        # Valid JSON escapes, but not text: nothing could show or send it back as UTF-8.
        raise MalformedDelivery("the body holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
    entries = envelope.get("entry")
    if not isinstance(entries, list):
        raise MalformedDelivery("'entry' must be a list of entries")
    if not entries:
        raise MalformedDelivery("'entry' is empty: the delivery carries no changes")
    return envelope


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class NonFiniteNumber(ValueError):
    """A JSON number no database can store (NaN, Infinity, or one beyond a double's range)."""


def _refuse_constant(name: str) -> float:
    raise NonFiniteNumber(f"body holds {name}, which is not a JSON number and cannot be stored")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NonFiniteNumber(f"body holds the number {text[:40]}, beyond what can be stored")
    return number


def nesting_depth(document: object, limit: int) -> int:
    """How deeply objects and lists nest in `document` (a scalar is 0), counting no further than
    limit + 1. Iterative: the depth of attacker-controlled input must not be the stack's."""
    deepest = 0
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def short(value: object) -> str:
    """A value for an error message: its repr, cut short (it may be a whole nested object)."""
    if isinstance(value, dict | list):
        return type_name(value)
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's int-to-str digit limit
        return type_name(value)
    return text if len(text) <= 80 else text[:77] + "..."
