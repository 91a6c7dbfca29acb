"""Etags (AIP-154) as callers send them back, compared in one place.

The service writes a template's etag `"3"` and a campaign's `W/"3"`. Callers do not always hand them
back that way: a shell eats the quotes, JSON tooling escapes them or not, HTTP habits add or drop the
`W/`. The version is the value between the quotes, so that is what is compared; the quotes and the
weak marker are spelling.
"""

from __future__ import annotations

from app.errors import EtagMismatch

_WEAK = "W/"
_QUOTE = '"'


def etag_value(etag: str) -> str:
    """`W/"3"`, `"3"` and `3` -> `3`."""
    value = etag.strip().removeprefix(_WEAK)
    if len(value) >= 2 and value.startswith(_QUOTE) and value.endswith(_QUOTE):
        value = value[1:-1]
    return value


def same_etag(given: str, current: str) -> bool:
    return etag_value(given) == etag_value(current)


def spelled_like(given: str, current: str) -> str:
    """`given` written the way `current` is (its quotes, its `W/`): an error shows the two in one form,
    so a reader sees the versions differ, not the punctuation."""
    current = current.strip()
    weak = _WEAK if current.startswith(_WEAK) else ""
    quote = _QUOTE if current.removeprefix(_WEAK).startswith(_QUOTE) else ""
    return f"{weak}{quote}{etag_value(given)}{quote}"


def require_etag(name: str, given: str, current: str) -> None:
    """Nothing when `given` is empty (an unconditional write) or names the current version of the
    resource `name`; EtagMismatch otherwise."""
    if given and not same_etag(given, current):
        raise EtagMismatch(name, given=spelled_like(given, current), current=current)
