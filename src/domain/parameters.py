"""Placeholder detection: where the `{{...}}` of a template are, what they are called, which are broken.

Meta's rules split a token three ways, and this module keeps the split explicit because lint reports
each way under a different code:

* positional (`{{1}}`): digits only;
* named (`{{first_name}}`): an identifier. Meta wants lowercase (`^[a-z_][a-z0-9_]*$`); an identifier
  with uppercase (`{{FirstName}}`) is still read as a *named* placeholder, so the author gets the
  precise PARAM_NAME_INVALID rather than a vague "malformed";
* anything else (`{{first-name}}`, `{{#}}`, `{{}}`, `{{a b}}`) is malformed (V9).

Whitespace just inside the braces (`{{ first_name }}`) is malformed too, because Meta rejects it, but
the stripped token still counts as the parameter: one typo then yields one violation, not a cascade
of "missing example" or "not sequential" follow-ups.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from domain.components import (
    Button,
    ButtonType,
    Components,
    HeaderFormat,
    ParameterFormat,
    ParameterLocation,
)

POSITIONAL_TOKEN = re.compile(r"[0-9]+")
NAME_TOKEN = re.compile(r"[a-z_][a-z0-9_]*")
# An identifier in any case; the difference from NAME_TOKEN is the uppercase letters that Meta refuses.
IDENTIFIER_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_BRACE_RUN = re.compile(r"\{+|\}+")
# A single-brace pair only counts as a broken placeholder when it hugs a token ("{first_name}");
# prose such as "{ see below }", "{a, b}" or an emoticon is left alone.
_SINGLE_BRACE_TOKEN = re.compile(r"[A-Za-z0-9_]+")
_SNIPPET_MAX = 40


class TokenKind(StrEnum):
    POSITIONAL = "POSITIONAL"
    NAMED = "NAMED"
    INVALID = "INVALID"


def token_kind(token: str) -> TokenKind:
    if POSITIONAL_TOKEN.fullmatch(token):
        return TokenKind.POSITIONAL
    if IDENTIFIER_TOKEN.fullmatch(token):
        return TokenKind.NAMED
    return TokenKind.INVALID


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A `{{...}}` with exactly two braces on each side; `start`/`end` span the braces too."""

    token: str
    start: int
    end: int

    @property
    def kind(self) -> TokenKind:
        return token_kind(self.token)

    @property
    def format(self) -> ParameterFormat | None:
        kind = self.kind
        if kind is TokenKind.POSITIONAL:
            return ParameterFormat.POSITIONAL
        if kind is TokenKind.NAMED:
            return ParameterFormat.NAMED
        return None


def find_placeholders(text: str) -> list[Placeholder]:
    """Every `{{...}}` in text order, including ones whose token is malformed (see `kind`)."""
    return list(_scan_cached(text)[0])


def find_malformed(text: str) -> list[str]:
    """One human-readable sentence per brace problem (V9), in text order."""
    return list(_scan_cached(text)[1])


@functools.lru_cache(maxsize=4096)
def _scan_cached(text: str) -> tuple[tuple[Placeholder, ...], tuple[str, ...]]:
    # Lint and render look at the same few texts many times (per rule, per send); scanning once
    # per distinct text keeps both off the profile.
    placeholders, problems = _scan(text)
    return tuple(placeholders), tuple(problems)


def _snippet(text: str) -> str:
    if len(text) <= _SNIPPET_MAX:
        return text
    return text[: _SNIPPET_MAX - 1] + "…"


def _scan(text: str) -> tuple[list[Placeholder], list[str]]:
    # Pairs each run of "{" with the next run of "}"; the run lengths decide what the pair is. A
    # regex alone cannot tell "{{1}" (broken) from "{{1}}" followed by a stray "}" elsewhere.
    placeholders: list[Placeholder] = []
    problems: list[str] = []
    pending: re.Match[str] | None = None
    for run in _BRACE_RUN.finditer(text):
        if run.group().startswith("{"):
            if pending is not None:
                _unmatched_open(pending, problems)
            pending = run
            continue
        if pending is None:
            if len(run.group()) >= 2:
                problems.append(f"'{run.group()}' at position {run.start()} closes no '{{{{'")
            continue
        _pair(text, pending, run, placeholders, problems)
        pending = None
    if pending is not None:
        _unmatched_open(pending, problems)
    return placeholders, problems


def _unmatched_open(run: re.Match[str], problems: list[str]) -> None:
    # A lone "{" is ordinary punctuation; only a double (or longer) run reads as a placeholder.
    if len(run.group()) >= 2:
        problems.append(f"'{run.group()}' at position {run.start()} is never closed with '}}}}'")


def _pair(
    text: str,
    opening: re.Match[str],
    closing: re.Match[str],
    placeholders: list[Placeholder],
    problems: list[str],
) -> None:
    inner = text[opening.end() : closing.start()]
    whole = text[opening.start() : closing.end()]
    where = f"at position {opening.start()}"
    n_open, n_close = len(opening.group()), len(closing.group())
    if n_open == 1 and n_close == 1:
        if _SINGLE_BRACE_TOKEN.fullmatch(inner):
            problems.append(
                f"'{_snippet(whole)}' {where} uses single braces; placeholders are written '{{{{{inner}}}}}'"
            )
        return
    if n_open != 2 or n_close != 2:
        problems.append(
            f"'{_snippet(whole)}' {where} has mismatched braces; a placeholder is exactly "
            "two '{' and two '}'"
        )
        return
    token = inner.strip()
    placeholders.append(Placeholder(token=token, start=opening.start(), end=closing.end()))
    if not token:
        problems.append(f"'{_snippet(whole)}' {where} is an empty placeholder")
    elif token_kind(token) is TokenKind.INVALID:
        problems.append(
            f"'{_snippet(whole)}' {where} is not a valid placeholder: use a number such as "
            "{{1}} or a name of lowercase letters, digits and underscores"
        )
    elif token != inner:
        problems.append(f"'{_snippet(whole)}' {where} has spaces inside the braces; write '{{{{{token}}}}}'")


def _header_text(components: Components) -> str:
    # Text on a media header is itself a lint error; it never carries parameters.
    header = components.header
    if header is None or header.format is not HeaderFormat.TEXT:
        return ""
    return header.text


def card_prefix(card: int) -> str:
    """The start of every value key of carousel card `card` (0-based, Meta's card_index)."""
    return f"card.{card}."


def _text_placeholders(components: Components) -> list[tuple[ParameterLocation, Placeholder, str]]:
    """Every header, body and card body placeholder with its location and its key prefix.

    Meta writes the body of an authentication template (its one placeholder is the code, a value of
    its own: OTP_CODE_KEY), so that body has no parameters of the author's.
    """
    found = [(ParameterLocation.HEADER, p, "") for p in find_placeholders(_header_text(components))]
    if not components.is_authentication:
        found.extend((ParameterLocation.BODY, p, "") for p in find_placeholders(components.body))
    for index, card in enumerate(components.carousel or ()):
        prefix = card_prefix(index)
        found.extend((ParameterLocation.CARD_BODY, p, prefix) for p in find_placeholders(card.body))
    return found


def formats_used(components: Components) -> set[ParameterFormat]:
    """The formats of the header and body placeholders; URL buttons are always positional."""
    return {fmt for _, p, _ in _text_placeholders(components) if (fmt := p.format) is not None}


def detect_format(components: Components) -> ParameterFormat | None:
    """The majority format of header and body placeholders (ties: the first one's); None if none.

    Mixing is not an error here: lint reports it as PARAM_FORMAT_MIXED with the whole picture.
    """
    formats = [fmt for _, p, _ in _text_placeholders(components) if (fmt := p.format) is not None]
    if not formats:
        return None
    named = formats.count(ParameterFormat.NAMED)
    positional = len(formats) - named
    if named != positional:
        return ParameterFormat.NAMED if named > positional else ParameterFormat.POSITIONAL
    return formats[0]


def button_key(index: int) -> str:
    return f"button.{index}"


def header_key(token: str) -> str:
    return f"header.{token}"


def url_button_indexes(components: Components) -> list[int]:
    """Indexes (Meta's send `index`) of the URL buttons whose URL has a variable."""
    return url_variable_indexes(components.buttons)


def url_variable_indexes(buttons: tuple[Button, ...]) -> list[int]:
    return [
        i
        for i, button in enumerate(buttons)
        if button.type is ButtonType.URL and find_placeholders(button.url)
    ]


def placeholder_key(
    location: ParameterLocation, placeholder: Placeholder, fmt: ParameterFormat
) -> str | None:
    """The value key of a header/body placeholder, or None when it does not belong to `fmt`."""
    if placeholder.format is not fmt:
        return None
    if fmt is ParameterFormat.POSITIONAL and location is ParameterLocation.HEADER:
        return header_key(placeholder.token)
    return placeholder.token


def parameter_keys(components: Components, fmt: ParameterFormat) -> dict[str, tuple[ParameterLocation, ...]]:
    """Value keys in order of first appearance (header, body, then buttons) with their locations.

    NAMED: the name, shared by header and body. POSITIONAL: "n" for the body and "header.n" for the
    header. URL buttons with a variable: "button.<index>". Carousel cards: the same keys after
    "card.<card>." (e.g. "card.0.1", "card.1.button.0"). Placeholders of the other format (a mixed
    template) and malformed tokens yield no key.
    """
    keys: dict[str, tuple[ParameterLocation, ...]] = {}
    for location, placeholder, prefix in _text_placeholders(components):
        key = placeholder_key(location, placeholder, fmt)
        if key is None:
            continue
        key = prefix + key
        locations = keys.get(key, ())
        if location not in locations:
            keys[key] = (*locations, location)
    for index in url_button_indexes(components):
        keys[button_key(index)] = (ParameterLocation.BUTTON,)
    for card, content in enumerate(components.carousel or ()):
        for index in url_variable_indexes(content.buttons):
            keys[card_prefix(card) + button_key(index)] = (ParameterLocation.BUTTON,)
    return keys


def text_keys(text: str, location: ParameterLocation, fmt: ParameterFormat) -> list[str]:
    """Value keys of `text` in order of first appearance (placeholders of the other format skipped)."""
    keys: dict[str, None] = {}
    for p in find_placeholders(text):
        key = placeholder_key(location, p, fmt)
        if key is not None:
            keys.setdefault(key)
    return list(keys)
