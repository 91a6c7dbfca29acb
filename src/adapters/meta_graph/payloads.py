"""Meta's template JSON -> TemplateDefinition: the body of POST /{waba_id}/message_templates (a file
an author lints) and what Meta lists (a sync).

Liberal in what it accepts: lowercase enum values, missing examples, component and button types this
version does not know (kept verbatim). The components JSON itself is kept too (Components.meta_json),
so that a template is submitted back to Meta exactly as Meta gave it. The way out is
creation_payload.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.meta_graph.button_json import ButtonShapeError, button_from_meta, flag
from app.meta_ports import MetaTemplateState
from domain.components import (
    Button,
    ButtonType,
    CarouselCard,
    Components,
    Header,
    HeaderFormat,
    LimitedTimeOffer,
    ParameterFormat,
    ParameterSpec,
    TemplateDefinition,
    UnknownComponent,
)
from domain.parameters import button_key, card_prefix, find_placeholders
from domain.status import TemplateCategory


class PayloadError(ValueError):
    """The JSON is not shaped like a Meta template at all (lint reports rule violations separately)."""


def definition_from_meta(payload: Mapping[str, Any], *, lenient: bool = False) -> TemplateDefinition:
    """The definition in Meta's JSON; PayloadError when it is not shaped like a template. With
    `lenient` (what Meta lists), a part that cannot be read is kept verbatim instead."""
    if not isinstance(payload, Mapping):
        raise PayloadError("a template must be a JSON object")
    components = payload.get("components")
    if not isinstance(components, list):
        raise PayloadError("'components' must be a list of component objects (HEADER, BODY, BUTTONS, ...)")
    parts = _Parts(lenient=lenient)
    parts.read_all(components, "components")
    category = payload.get("category")
    return TemplateDefinition(
        display_name=str(payload.get("name", "")),
        language_code=str(payload.get("language", "")),
        category=_category(category) if category else None,
        components=parts.components(_compact(components)),
        parameters=tuple(ParameterSpec(key=k, example=v) for k, v in parts.examples.items()),
        parameter_format=_parameter_format(payload.get("parameter_format")),
    )


class _Parts:
    """The components read so far. A second component of a kind already read, or one of a kind this
    version does not know, is kept verbatim (UnknownComponent) rather than lost."""

    def __init__(self, prefix: str = "", *, lenient: bool) -> None:
        self.prefix = prefix
        self.lenient = lenient
        self.header: Header | None = None
        self.body: str | None = None
        self.footer: str | None = None
        self.buttons: tuple[Button, ...] | None = None
        self.security_recommendation = False
        self.code_expiration: int | None = None
        self.carousel: tuple[CarouselCard, ...] | None = None
        self.offer: LimitedTimeOffer | None = None
        self.call_permission = False
        self.unknown: list[UnknownComponent] = []
        self.examples: dict[str, str] = {}

    def read_all(self, components: list[Any], where: str) -> None:
        for index, component in enumerate(components):
            try:
                if not isinstance(component, Mapping):
                    raise PayloadError(f"{where}[{index}] must be an object")
                self.read(component, index, f"{where}[{index}]")
            except PayloadError:
                if not self.lenient:
                    raise
                self.unknown.append(UnknownComponent(index, _compact(component)))

    def read(self, component: Mapping[str, Any], index: int, where: str) -> None:
        kind = _text(component.get("type")).strip().upper()
        raw_example = component.get("example")
        example: Mapping[str, Any] = raw_example if isinstance(raw_example, Mapping) else {}
        if kind == "HEADER" and self.header is None and _known_header(component):
            self._read_header(component, example, where)
        elif kind == "BODY" and self.body is None:
            self.body = _text(component.get("text"))
            self.security_recommendation = flag(component.get("add_security_recommendation"))
            self._read_text_examples(example, "body_text_named_params")
            # Positional examples follow the order of first appearance, which lint requires to be 1..n.
            self.examples.update(
                {f"{self.prefix}{i}": value for i, value in enumerate(_example_row(example), start=1)}
            )
        elif kind == "FOOTER" and self.footer is None:
            # Read first: a footer whose expiry cannot be read is kept whole, not half read.
            self.code_expiration = _minutes(component.get("code_expiration_minutes"), f"{where}")
            self.footer = _text(component.get("text"))
        elif kind == "BUTTONS" and self.buttons is None:
            self.buttons = self._read_buttons(component.get("buttons"), where)
        elif kind == "CAROUSEL" and self.carousel is None and not self.prefix:
            self.carousel = self._cards(component.get("cards"), where)
        elif kind == "CALL_PERMISSION_REQUEST" and not self.call_permission and not self.prefix:
            self.call_permission = True
        elif kind == "LIMITED_TIME_OFFER" and self.offer is None and not self.prefix:
            offer = component.get("limited_time_offer")
            offer = offer if isinstance(offer, Mapping) else {}
            self.offer = LimitedTimeOffer(_text(offer.get("text")), flag(offer.get("has_expiration")))
        else:
            self.unknown.append(UnknownComponent(index, _compact(component)))

    def _read_header(self, component: Mapping[str, Any], example: Mapping[str, Any], where: str) -> None:
        handles = example.get("header_handle")
        self.header = Header(
            HeaderFormat(_text(component.get("format", "TEXT")).strip().upper() or "TEXT"),
            _text(component.get("text")),
            tuple(map(_text, handles)) if isinstance(handles, list) else (),
        )
        self._read_text_examples(example, "header_text_named_params")
        positional = example.get("header_text")
        if isinstance(positional, list) and positional:
            self.examples[f"{self.prefix}header.1"] = _text(positional[0])

    def _read_text_examples(self, example: Mapping[str, Any], key: str) -> None:
        self.examples.update({self.prefix + k: v for k, v in _named_examples(example.get(key)).items()})

    def _read_buttons(self, raw_buttons: object, where: str) -> tuple[Button, ...]:
        if raw_buttons is not None and not isinstance(raw_buttons, list):
            raise PayloadError(f"{where}.buttons must be a list")
        buttons: list[Button] = []
        for b_index, raw in enumerate(raw_buttons or []):
            try:
                button, example_url = button_from_meta(raw, f"{where}.buttons[{b_index}]")
            except ButtonShapeError as error:
                if not self.lenient:
                    raise PayloadError(str(error)) from None
                button, example_url = Button(ButtonType.OTHER, "", extra=_compact(raw)), ""
            if example_url:
                value = _url_variable_example(button.url, example_url)
                if value:
                    self.examples[f"{self.prefix}{button_key(b_index)}"] = value
            buttons.append(button)
        return tuple(buttons)

    def _cards(self, raw_cards: object, where: str) -> tuple[CarouselCard, ...]:
        if not isinstance(raw_cards, list):
            raise PayloadError(f"{where}.cards must be a list of cards")
        cards: list[CarouselCard] = []
        for card_index, raw in enumerate(raw_cards):
            card_where = f"{where}.cards[{card_index}]"
            components = raw.get("components") if isinstance(raw, Mapping) else None
            if not isinstance(components, list):
                raise PayloadError(f"{card_where} must be an object with a 'components' list")
            card = _Parts(card_prefix(card_index), lenient=self.lenient)
            card.read_all(components, f"{card_where}.components")
            self.examples.update(card.examples)
            cards.append(
                CarouselCard(
                    header=card.header,
                    body=card.body or "",
                    buttons=card.buttons or (),
                    unknown=tuple(card.unknown),
                )
            )
        return tuple(cards)

    def components(self, meta_json: str) -> Components:
        return Components(
            body=self.body or "",
            header=self.header,
            footer=self.footer or "",
            buttons=self.buttons or (),
            add_security_recommendation=self.security_recommendation,
            code_expiration_minutes=self.code_expiration,
            carousel=self.carousel,
            limited_time_offer=self.offer,
            call_permission_request=self.call_permission,
            unknown=tuple(self.unknown),
            meta_json=meta_json,
        )


def _example_row(example: Mapping[str, Any]) -> list[str]:
    """Meta's body_text is a list holding one list of values; some of its own examples give the
    values as a flat list, or a lone value as a string."""
    rows = example.get("body_text")
    if isinstance(rows, str):
        return [rows]
    if not isinstance(rows, list) or not rows:
        return []
    row = rows[0] if isinstance(rows[0], list) else rows
    return [_text(value) for value in row]


def _known_header(component: Mapping[str, Any]) -> bool:
    header_format = _text(component.get("format", "TEXT")).strip().upper()
    return not header_format or header_format in HeaderFormat.__members__


def _minutes(raw: object, where: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise PayloadError(f"{where}.code_expiration_minutes must be a whole number of minutes")
    try:
        minutes = int(raw)
    except ValueError:
        raise PayloadError(f"{where}.code_expiration_minutes {raw!r} is not a whole number") from None
    # Lint says what Meta allows (1-90); beyond what the API can carry it is not a number of minutes.
    if not _INT32.start <= minutes < _INT32.stop:
        raise PayloadError(f"{where}.code_expiration_minutes {raw!r} is out of range")
    return minutes


_INT32 = range(-(2**31), 2**31)


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _named_examples(raw: object) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    return {
        _text(item["param_name"]): _text(item.get("example"))
        for item in raw
        if isinstance(item, Mapping) and "param_name" in item
    }


def _url_variable_example(url: str, example_url: str) -> str:
    """Meta's URL example is the whole URL; the parameter's example is the part the variable fills."""
    placeholders = find_placeholders(url)
    if not placeholders:
        return ""
    prefix = url[: placeholders[0].start]
    return example_url[len(prefix) :] if example_url.startswith(prefix) else example_url


def _parameter_format(raw: object) -> ParameterFormat:
    if raw is None or raw == "":
        # Meta reads an absent parameter_format as POSITIONAL, so a named template without it would
        # be rejected; linting it as POSITIONAL surfaces that before submission.
        return ParameterFormat.POSITIONAL
    try:
        return ParameterFormat(str(raw).upper())
    except ValueError:
        raise PayloadError(f"parameter_format {raw!r} is not NAMED or POSITIONAL") from None


def _category(raw: object) -> TemplateCategory:
    try:
        return TemplateCategory.from_meta(str(raw))
    except ValueError:
        raise PayloadError(f"category {raw!r} is not one of {', '.join(TemplateCategory)}") from None


# ---- inbound: one listed template -> MetaTemplateState ---------------------------------------------

_COMPONENT_TYPES = frozenset({"HEADER", "BODY", "FOOTER", "BUTTONS"})


def state_from_meta(item: Mapping[str, Any]) -> MetaTemplateState:
    """One element of GET /{waba_id}/message_templates `data`; never raises for a JSON object.

    A sync must not fail (or, worse, lose a template) because Meta lists something this service does
    not model yet: unknown components and buttons are kept verbatim, an unknown category leaves
    `definition.category` unset, and missing fields read as "". Status, category and quality stay
    Meta's verbatim strings.
    """
    quality_score = item.get("quality_score")
    if isinstance(quality_score, Mapping):
        quality = _text(quality_score.get("score"))
    else:
        # Older API versions and some SDK fixtures give the bare score.
        quality = _text(quality_score)
    return MetaTemplateState(
        meta_template_id=_text(item.get("id")),
        definition=definition_from_meta(_sanitized(item), lenient=True),
        status=_text(item.get("status")),
        category=_text(item.get("category")),
        quality=quality,
        rejected_reason=_text(item.get("rejected_reason")),
    )


def _text(value: object) -> str:
    return "" if value is None or isinstance(value, Mapping | list) else str(value)


def _sanitized(item: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `item` that definition_from_meta accepts: an unknown category or parameter format
    is left out (Meta's strings stay in the state), parts it cannot read at all are dropped."""
    out: dict[str, Any] = {"name": _text(item.get("name")), "language": _text(item.get("language"))}
    category = _text(item.get("category"))
    if TemplateCategory.parse(category) is not None:
        out["category"] = category
    fmt = _text(item.get("parameter_format"))
    if fmt.strip().upper() in ParameterFormat.__members__:
        out["parameter_format"] = fmt.strip()
    raw_components = item.get("components")
    out["components"] = raw_components if isinstance(raw_components, list) else []
    return out
