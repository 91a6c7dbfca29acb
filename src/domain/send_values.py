"""The values a send needs besides the placeholders: what each template type asks for at send time
(a media header's file, a location, a product, the one-time password, a limited-time offer's
expiry, a quick reply's payload, a catalog's thumbnail, a multi-product message's sections, a Flow
button's token and data, a call button's options), each with the rules Meta gives for it.

Keys follow the placeholders' ("header.", "button.<index>", "card.<card>." prefixes):

- header.media (IMAGE/VIDEO/DOCUMENT: Meta's media id or an https link), header.filename (DOCUMENT);
- header.latitude, header.longitude, header.name, header.address (LOCATION);
- header.product_retailer_id, header.catalog_id (PRODUCT);
- code (the one-time password of an authentication template: body and button);
- offer.expiration_time_ms (a limited-time offer with a countdown: Unix time in milliseconds);
- button.<i> (COPY_CODE: the coupon code; QUICK_REPLY: the payload sent back when tapped);
- button.<i>.thumbnail_product_retailer_id (CATALOG, MPM), button.<i>.sections (MPM: JSON, see
  parse_sections);
- button.<i>.flow_token, button.<i>.flow_action_data (FLOW: a JSON object);
- button.<i>.ttl_minutes, button.<i>.payload (VOICE_CALL);
- card.<c>.header.media / card.<c>.header.product_retailer_id / card.<c>.header.catalog_id and
  card.<c>.button.<i> (a carousel card's header and quick-reply payloads).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from domain.components import MEDIA_HEADERS, Button, ButtonType, Components, Header, HeaderFormat
from domain.meta_rules import COUPON_CODE_MAX, OTP_CODE_MAX, ValueProblem, forbidden_whitespace
from domain.parameters import button_key, card_prefix

# Meta: a coupon code and a one-time password both have at most 15 characters.
CODE_MAX = min(COUPON_CODE_MAX, OTP_CODE_MAX)

OTP_CODE_KEY = "code"
OFFER_EXPIRATION_KEY = "offer.expiration_time_ms"
MPM_SECTIONS_MAX = 10
MPM_PRODUCTS_MAX = 30
MPM_SECTION_TITLE_MAX = 24
PAYLOAD_MAX = 512
VOICE_CALL_TTL_MINUTES = range(1, 43_201)
_MEDIA_ID = re.compile(r"[0-9]{1,30}")
# ASCII digits only: str.isdigit() also takes superscripts, which int() refuses.
_DIGITS = re.compile(r"[0-9]{1,15}")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,20})?")


class ValueKind(StrEnum):
    MEDIA = "MEDIA"
    FILENAME = "FILENAME"
    LATITUDE = "LATITUDE"
    LONGITUDE = "LONGITUDE"
    TEXT = "TEXT"
    IDENTIFIER = "IDENTIFIER"
    OTP_CODE = "OTP_CODE"
    COUPON_CODE = "COUPON_CODE"
    PAYLOAD = "PAYLOAD"
    EXPIRATION_TIME_MS = "EXPIRATION_TIME_MS"
    SECTIONS = "SECTIONS"
    JSON_OBJECT = "JSON_OBJECT"
    TTL_MINUTES = "TTL_MINUTES"


@dataclass(frozen=True, slots=True)
class SendValue:
    """One value a send of this template takes besides its placeholders."""

    key: str
    kind: ValueKind
    required: bool


def send_values(components: Components) -> list[SendValue]:
    """Every such value of `components`, in send order."""
    found = list(_header_values(components.header, ""))
    if components.is_authentication:
        found.append(SendValue(OTP_CODE_KEY, ValueKind.OTP_CODE, required=True))
    offer = components.limited_time_offer
    if offer is not None and offer.has_expiration:
        found.append(SendValue(OFFER_EXPIRATION_KEY, ValueKind.EXPIRATION_TIME_MS, required=True))
    for index, button in enumerate(components.buttons):
        found.extend(_button_values(button, button_key(index)))
    for card, content in enumerate(components.carousel or ()):
        prefix = card_prefix(card)
        found.extend(_header_values(content.header, prefix))
        for index, button in enumerate(content.buttons):
            found.extend(_button_values(button, prefix + button_key(index)))
    return found


def _header_values(header: Header | None, prefix: str) -> Iterator[SendValue]:
    if header is None:
        return
    key = f"{prefix}header."
    if header.format in MEDIA_HEADERS:
        yield SendValue(key + "media", ValueKind.MEDIA, required=True)
        if header.format is HeaderFormat.DOCUMENT:
            yield SendValue(key + "filename", ValueKind.FILENAME, required=False)
    elif header.format is HeaderFormat.LOCATION:
        yield SendValue(key + "latitude", ValueKind.LATITUDE, required=True)
        yield SendValue(key + "longitude", ValueKind.LONGITUDE, required=True)
        yield SendValue(key + "name", ValueKind.TEXT, required=False)
        yield SendValue(key + "address", ValueKind.TEXT, required=False)
    elif header.format is HeaderFormat.PRODUCT:
        yield SendValue(key + "product_retailer_id", ValueKind.IDENTIFIER, required=True)
        yield SendValue(key + "catalog_id", ValueKind.IDENTIFIER, required=True)


def _button_values(button: Button, key: str) -> Iterator[SendValue]:
    match button.type:
        case ButtonType.COPY_CODE:
            # Meta: the coupon code is "required if the template uses a copy code button".
            yield SendValue(key, ValueKind.COUPON_CODE, required=True)
        case ButtonType.QUICK_REPLY:
            yield SendValue(key, ValueKind.PAYLOAD, required=False)
        case ButtonType.CATALOG:
            yield SendValue(f"{key}.thumbnail_product_retailer_id", ValueKind.IDENTIFIER, required=False)
        case ButtonType.MPM:
            yield SendValue(f"{key}.thumbnail_product_retailer_id", ValueKind.IDENTIFIER, required=True)
            yield SendValue(f"{key}.sections", ValueKind.SECTIONS, required=True)
        case ButtonType.FLOW:
            yield SendValue(f"{key}.flow_token", ValueKind.PAYLOAD, required=False)
            yield SendValue(f"{key}.flow_action_data", ValueKind.JSON_OBJECT, required=False)
        case ButtonType.VOICE_CALL:
            yield SendValue(f"{key}.ttl_minutes", ValueKind.TTL_MINUTES, required=False)
            yield SendValue(f"{key}.payload", ValueKind.PAYLOAD, required=False)
        case _:
            return


def send_value_problems(value: str, kind: ValueKind) -> list[ValueProblem]:
    """Why Meta would refuse `value` as a value of `kind` (the end of a sentence about it)."""
    if not value.strip():
        return [ValueProblem("VALUE_EMPTY", "is empty")]
    if kind in (ValueKind.SECTIONS, ValueKind.JSON_OBJECT):
        return _json_problems(value, kind)
    if forbidden_whitespace(value):
        return [
            ValueProblem(
                "VALUE_FORBIDDEN_WHITESPACE",
                "contains a newline, a tab or more than 4 consecutive spaces, which Meta refuses",
            )
        ]
    match kind:
        case ValueKind.MEDIA if not (_MEDIA_ID.fullmatch(value) or _LINK.fullmatch(value)):
            return [
                ValueProblem("VALUE_MEDIA_INVALID", "is neither a Meta media id (digits) nor an http(s) link")
            ]
        case ValueKind.LATITUDE | ValueKind.LONGITUDE:
            return _coordinate_problems(value, 90 if kind is ValueKind.LATITUDE else 180)
        case ValueKind.OTP_CODE | ValueKind.COUPON_CODE if len(value) > CODE_MAX:
            return [
                ValueProblem("VALUE_TOO_LONG", f"is {len(value)} characters; a code has at most {CODE_MAX}")
            ]
        case ValueKind.PAYLOAD if len(value) > PAYLOAD_MAX:
            return [
                ValueProblem(
                    "VALUE_TOO_LONG", f"is {len(value)} characters; Meta allows at most {PAYLOAD_MAX}"
                )
            ]
        case ValueKind.EXPIRATION_TIME_MS if not _DIGITS.fullmatch(value) or len(value) > 15:
            return [
                ValueProblem("VALUE_NOT_A_TIME", "is not a Unix time in milliseconds, such as 1767225600000")
            ]
        case ValueKind.TTL_MINUTES if (
            not _DIGITS.fullmatch(value) or int(value) not in VOICE_CALL_TTL_MINUTES
        ):
            return [ValueProblem("VALUE_OUT_OF_RANGE", "is not a whole number of minutes from 1 to 43200")]
    return []


def _coordinate_problems(value: str, limit: int) -> list[ValueProblem]:
    if not _DECIMAL.fullmatch(value) or abs(float(value)) > limit:
        return [ValueProblem("VALUE_NOT_A_COORDINATE", f"is not a decimal number from -{limit} to {limit}")]
    return []


def _json_problems(value: str, kind: ValueKind) -> list[ValueProblem]:
    try:
        document = json.loads(value, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return [ValueProblem("VALUE_NOT_JSON", "is not JSON")]
    if kind is ValueKind.JSON_OBJECT:
        return [] if isinstance(document, dict) else [ValueProblem("VALUE_NOT_JSON", "is not a JSON object")]
    sections = _sections(document)
    return [ValueProblem("VALUE_SECTIONS_INVALID", sections)] if isinstance(sections, str) else []


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_sections(value: str) -> list[tuple[str, list[str]]]:
    """A multi-product message's sections, given as JSON:
    `[{"title": "Popular", "product_retailer_ids": ["sku-1", "sku-2"]}, ...]` (Meta's own
    `product_items` objects are accepted too). Call after send_value_problems found none."""
    sections = _sections(json.loads(value))
    if isinstance(sections, str):
        raise ValueError(sections)
    return sections


def _sections(document: object) -> list[tuple[str, list[str]]] | str:
    """The sections, or why they are not sections (the end of a sentence about the value)."""
    if not isinstance(document, list) or not document:
        return (
            'is not a non-empty JSON list of sections such as [{"title": "Popular", '
            '"product_retailer_ids": ["sku-1"]}]'
        )
    if len(document) > MPM_SECTIONS_MAX:
        return f"has {len(document)} sections; Meta allows at most {MPM_SECTIONS_MAX}"
    sections: list[tuple[str, list[str]]] = []
    for index, section in enumerate(document):
        title = section.get("title") if isinstance(section, dict) else None
        if not isinstance(title, str) or not title.strip():
            return f"section {index} needs a title"
        if len(title) > MPM_SECTION_TITLE_MAX:
            return f"section {index} title is longer than {MPM_SECTION_TITLE_MAX} characters"
        items = section.get("product_retailer_ids", section.get("product_items"))
        if not isinstance(items, list) or not items:
            return f"section {index} needs product_retailer_ids"
        ids = [_retailer_id(item) for item in items]
        if any(i is None for i in ids):
            return f"section {index} has a product that is not a product_retailer_id (a text)"
        sections.append((title, [i for i in ids if i is not None]))
    products = sum(len(ids) for _, ids in sections)
    if products > MPM_PRODUCTS_MAX:
        return f"names {products} products; Meta allows at most {MPM_PRODUCTS_MAX}"
    return sections


def _retailer_id(item: object) -> str | None:
    """A product's retailer id: a text (or a number), alone or as Meta's {"product_retailer_id": ...}."""
    if isinstance(item, dict):
        item = item.get("product_retailer_id")
    if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
        return None
    return str(item)
