"""The rules about a template's name, language, texts and placeholders (fact sheet V1-V12 where they
concern the header, body and footer)."""

from __future__ import annotations

import itertools
import re
from collections import Counter

from domain.components import (
    MEDIA_HEADERS,
    Components,
    Header,
    HeaderFormat,
    ParameterFormat,
    TemplateDefinition,
)
from domain.lint.report import (
    BODY,
    FOOTER,
    HEADER,
    Findings,
    braced,
    distinct,
    quoted,
    shorten,
    tokens,
)
from domain.meta_rules import BODY_MAX, FOOTER_MAX, HEADER_MAX, NAME_MAX
from domain.parameters import (
    NAME_TOKEN,
    Placeholder,
    TokenKind,
    find_malformed,
    find_placeholders,
    formats_used,
)

# V12: Meta publishes no ratio for "too many variables for its length" (subcode 2388293). The
# fact sheet's suggestion is about three words of fixed text per placeholder; it is only a warning.
MIN_WORDS_PER_PLACEHOLDER = 2
# The one positional token a header or a URL may use.
ONLY_VARIABLE = "1"

NAME_PATTERN = re.compile(r"[a-z0-9_]+")
# Liberal BCP-47-ish: Meta's codes look like "en", "en_US", "pt_BR", "zh_Hant_HK"; hyphens are
# accepted too because authors paste IETF tags.
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")
# Ideographs and kana are written without spaces, so each counts as a word for V12; other scripts
# (including Hangul, which uses spaces) are split on non-word characters.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")


def lint_identity(definition: TemplateDefinition, out: Findings) -> None:
    name = definition.display_name
    if not name.strip():
        out.error("NAME_REQUIRED", "template.display_name", "name is required")
    else:
        if not NAME_PATTERN.fullmatch(name):
            bad = distinct(ch for ch in name if not NAME_PATTERN.fullmatch(ch))
            out.error(
                "NAME_INVALID",
                "template.display_name",
                f"name {name!r} contains {quoted(bad)}; only lowercase letters, digits and "
                "underscores are allowed",
            )
        if len(name) > NAME_MAX:
            out.error(
                "NAME_TOO_LONG",
                "template.display_name",
                f"name is {len(name)} characters; Meta allows at most {NAME_MAX}",
            )
    language = definition.language_code
    if not language.strip():
        out.error("LANGUAGE_REQUIRED", "template.language_code", "language code is required")
    elif not LANGUAGE_PATTERN.fullmatch(language):
        out.error(
            "LANGUAGE_INVALID",
            "template.language_code",
            f"language code {language!r} is not a language code such as 'en', 'en_US' or 'pt_BR'",
        )
    if definition.category is None:
        out.error(
            "CATEGORY_REQUIRED",
            "template.category",
            "category is required: MARKETING, UTILITY or AUTHENTICATION",
        )


def lint_body(
    body: str, out: Findings, *, field: str = BODY, limit: int = BODY_MAX, where: str = "body"
) -> None:
    """The rules of a body: the template's, or a carousel card's (`field`, `limit` and `where` say
    which)."""
    if not body.strip():
        out.error("BODY_REQUIRED", field, f"{where} is required")
        return
    if len(body) > limit:
        code = "BODY_TOO_LONG" if field == BODY else "CARD_BODY_TOO_LONG"
        out.error(code, field, f"{where} is {len(body)} characters; Meta allows at most {limit}")
    placeholders = find_placeholders(body)
    _lint_text_placeholders(body, placeholders, where, field, out)
    _lint_positional_sequence(placeholders, out, field, where)
    _lint_body_edges(body, placeholders, out, field, where)
    _lint_ratio(body, placeholders, out, field, where)
    _lint_repeats(placeholders, out, field, where)


def lint_header(header: Header, out: Findings, field: str = HEADER) -> None:
    text_field = f"{field}.text"
    if header.format is not HeaderFormat.TEXT:
        if header.text:
            out.error(
                "HEADER_TEXT_NOT_ALLOWED",
                text_field,
                f"a {header.format} header has no text; remove {shorten(header.text)!r}",
            )
        # A location is given at send time, a product too (it is the catalog's).
        if header.format in MEDIA_HEADERS and not header.example_media_handles:
            out.error(
                "HEADER_EXAMPLE_REQUIRED",
                f"{field}.example_media_handles",
                f"a {header.format} header needs an example media handle for Meta's review",
            )
        return
    text = header.text
    if not text.strip():
        out.error("HEADER_TEXT_REQUIRED", text_field, "a TEXT header needs text")
        return
    if len(text) > HEADER_MAX:
        out.error(
            "HEADER_TOO_LONG",
            text_field,
            f"header is {len(text)} characters; Meta allows at most {HEADER_MAX}",
        )
    placeholders = find_placeholders(text)
    if len(placeholders) > 1:
        out.error(
            "HEADER_TOO_MANY_PARAMS",
            text_field,
            f"header has {len(placeholders)} placeholders ({tokens(placeholders)}); Meta allows at most 1",
        )
    _lint_text_placeholders(text, placeholders, "header", text_field, out)
    bad = distinct(
        f"{{{{{p.token}}}}}"
        for p in placeholders
        if p.kind is TokenKind.POSITIONAL and p.token != ONLY_VARIABLE
    )
    if bad:
        out.error(
            "POSITIONAL_NOT_SEQUENTIAL",
            text_field,
            f"header uses {', '.join(bad)}; the only positional header placeholder is {{{{1}}}}",
        )


def lint_footer(footer: str, out: Findings) -> None:
    if len(footer) > FOOTER_MAX:
        out.error(
            "FOOTER_TOO_LONG",
            FOOTER,
            f"footer is {len(footer)} characters; Meta allows at most {FOOTER_MAX}",
        )
    placeholders = find_placeholders(footer)
    if placeholders:
        out.error(
            "FOOTER_HAS_PARAMS",
            FOOTER,
            f"footer contains {tokens(placeholders)}; Meta allows no placeholders in the footer",
        )
    lint_malformed(footer, FOOTER, "footer", out)


def _lint_text_placeholders(
    text: str, placeholders: list[Placeholder], where: str, field: str, out: Findings
) -> None:
    """Rules shared by header and body: V6 names, V9 braces, V11 adjacency."""
    lint_malformed(text, field, where, out)
    named = distinct(p.token for p in placeholders if p.kind is TokenKind.NAMED)
    for name in named:
        if not NAME_TOKEN.fullmatch(name):
            out.error(
                "PARAM_NAME_INVALID",
                field,
                f"parameter name {name!r} in the {where} must use only lowercase letters, digits and "
                f"underscores, e.g. {{{{{_suggest_name(name)}}}}}",
            )
        if any(ch.isdigit() for ch in name):
            out.warning(
                "PARAM_NAME_HAS_DIGITS",
                field,
                f"parameter name {name!r} in the {where} contains digits; Meta documents only "
                "lowercase letters and underscores",
            )
    for left, right in itertools.pairwise(placeholders):
        if not text[left.end : right.start].strip():
            out.error(
                "PARAMS_ADJACENT",
                field,
                f"placeholders {{{{{left.token}}}}} and {{{{{right.token}}}}} in the {where} are next to "
                "each other; put words or punctuation between them",
            )


def lint_malformed(text: str, field: str, where: str, out: Findings) -> None:
    for problem in find_malformed(text):
        out.error("PLACEHOLDER_MALFORMED", field, f"{where}: {problem}")


def _lint_positional_sequence(placeholders: list[Placeholder], out: Findings, field: str, where: str) -> None:
    seen = distinct(p.token for p in placeholders if p.kind is TokenKind.POSITIONAL)
    expected = [str(n) for n in range(1, len(seen) + 1)]
    if seen != expected:
        out.error(
            "POSITIONAL_NOT_SEQUENTIAL",
            field,
            f"{where} placeholders appear as {braced(seen)}; they must be {braced(expected)} "
            "in order of first appearance",
        )


def _lint_body_edges(
    body: str, placeholders: list[Placeholder], out: Findings, field: str, where: str
) -> None:
    if not placeholders:
        return
    first, last = placeholders[0], placeholders[-1]
    if first.start == len(body) - len(body.lstrip()):
        out.error(
            "PARAM_AT_BODY_START",
            field,
            f"{where} starts with {{{{{first.token}}}}}; Meta rejects a placeholder at the very start",
        )
    if last.end == len(body.rstrip()):
        out.error(
            "PARAM_AT_BODY_END",
            field,
            f"{where} ends with {{{{{last.token}}}}}; Meta rejects a placeholder at the very end "
            "(end with text or punctuation)",
        )


def _lint_ratio(body: str, placeholders: list[Placeholder], out: Findings, field: str, where: str) -> None:
    if not placeholders:
        return
    static = body
    for p in reversed(placeholders):
        static = static[: p.start] + " " + static[p.end :]
    words = len(_WORD.findall(static))
    if words < MIN_WORDS_PER_PLACEHOLDER * len(placeholders):
        out.warning(
            "TOO_MANY_PARAMS_FOR_LENGTH",
            field,
            f"{where} has {len(placeholders)} placeholders but only {words} words of fixed text; Meta may "
            f"reject templates with too many variables for their length (aim for at least "
            f"{MIN_WORDS_PER_PLACEHOLDER} words per placeholder)",
        )


def _lint_repeats(placeholders: list[Placeholder], out: Findings, field: str, where: str) -> None:
    uses = Counter(p.token for p in placeholders if p.kind is not TokenKind.INVALID)
    for token, count in uses.items():
        if count > 1:
            out.warning(
                "PARAM_REPEATED",
                field,
                f"{{{{{token}}}}} is used {count} times in the {where}; each use shows the same value",
            )


def lint_format(components: Components, declared: ParameterFormat | None, out: Findings) -> None:
    used = formats_used(components)
    if len(used) > 1:
        out.error(
            "PARAM_FORMAT_MIXED",
            "template.components",
            "header and body mix named ({{name}}) and positional ({{1}}) placeholders; use one format",
        )
    if declared is not None and used and declared not in used:
        (actual,) = used
        out.error(
            "PARAM_FORMAT_MISMATCH",
            "template.parameter_format",
            f"parameter_format is {declared} but the placeholders are {actual}",
        )


def _suggest_name(name: str) -> str:
    # FirstName -> first_name: the fix an author most likely means.
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return snake
