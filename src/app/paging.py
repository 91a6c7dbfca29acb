"""AIP-158 page tokens: opaque, signed, and bound to the query that produced them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# A page stays under gRPC's default 4 MiB message limit whatever page_size asks for: large items
# (templates with long examples, inbox changes with big values) make shorter pages.
PAGE_BUDGET_BYTES = 3 * 1024 * 1024

T = TypeVar("T")
SizeOf = Callable[[T], int]


def effective_page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative",
            [FieldViolation("page_size", f"page_size is {requested}; use 0 for the default or 1..500")],
            reason="INVALID_PAGE_SIZE",
        )
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list call (AIP-158): its items and the token of the next page ("" at the end)."""

    items: Sequence[T]
    next_page_token: str


def fit_page(items: Sequence[T], limit: int, size_of: SizeOf[T] | None = None) -> tuple[list[T], bool]:
    """The first of `items` that make a page: at most `limit` of them and, when `size_of` measures
    them, at most PAGE_BUDGET_BYTES together (always at least one). The flag says whether any of
    `items` were left out, i.e. whether there is a next page."""
    if size_of is None:
        return list(items[:limit]), len(items) > limit
    page: list[T] = []
    total = 0
    for item in items[:limit]:
        total += size_of(item)
        if page and total > PAGE_BUDGET_BYTES:
            break
        page.append(item)
    return page, len(items) > len(page)


class PageTokenCodec:
    """Signs `(query fingerprint, position)`; a forged, corrupted or re-targeted token is refused."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, query_fingerprint: str, position: Sequence[str]) -> str:
        payload = json.dumps({"q": query_fingerprint, "p": list(position)}, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=")
        return (body + b"." + self._sign(body)).decode()

    def decode(self, token: str, query_fingerprint: str, size: int) -> list[str]:
        body, _, signature = token.encode().partition(b".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            raise _bad_token("the page_token is not one this service issued")
        try:
            data = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise _bad_token("the page_token is corrupt") from exc
        if data.get("q") != query_fingerprint:
            raise _bad_token("the page_token belongs to a list call with other parameters")
        position = data.get("p")
        if (
            not isinstance(position, list)
            or len(position) != size
            or not all(isinstance(part, str) for part in position)
        ):
            raise _bad_token("the page_token is corrupt")
        return position

    def _sign(self, body: bytes) -> bytes:
        digest = hmac.new(self._secret, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18])


def fingerprint(*parts: object) -> str:
    """A stable digest of the list parameters other than page_size and page_token."""
    canonical = json.dumps(parts, sort_keys=True, default=_canonical, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _canonical(value: object) -> object:
    if isinstance(value, frozenset | set):
        return sorted(str(item) for item in value)
    return str(value)


def _bad_token(description: str) -> InvalidArgument:
    return InvalidArgument(
        description, [FieldViolation("page_token", description)], reason="INVALID_PAGE_TOKEN"
    )
