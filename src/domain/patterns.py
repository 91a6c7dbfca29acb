"""Author-supplied parameter patterns, run on RE2: a regular-expression engine whose matching time
is linear in the value, whatever the pattern.

A TemplateParameter `pattern` is matched (full match) against examples and default values at lint
and against every value at render, on the request's own thread. Python's `re` backtracks: `(a+)+`
against "a" * 30 + "!" runs for hours, and even patterns that only backtrack polynomially stall the
service when a template has hundreds of parameters. RE2 (google-re2, the engine behind Go's regexp
and Google's services) never backtracks, so no pattern can make a match slow; what it cannot run in
linear time it refuses to compile: backreferences (\\1), lookarounds ((?=...)), and repetition
counts over 1,000. Its syntax is Perl's and Python's for everything else ((?i), named groups,
classes, \\d \\w \\s, which match ASCII only, and \\p{L} for Unicode categories).

This is the one package outside the standard library the domain uses: it is a pure function of its
inputs, with no I/O, and writing a linear-time engine by hand is not the domain's business.
"""

from __future__ import annotations

import functools
from typing import Protocol, cast

import re2

MAX_PATTERN_LENGTH = 200
# RE2's own bound on the memory of one compiled pattern; a pattern that needs more is refused.
MAX_PATTERN_MEMORY = 1 << 20

REASON_TOO_LONG = "it is {length} characters; at most {limit} are allowed"
REASON_INVALID = "it is not a regular expression this service can run ({error})"


class _Engine(Protocol):
    def fullmatch(self, text: str) -> object | None: ...


class CompiledPattern:
    """A compiled author pattern; `fullmatch` runs in time linear in the value."""

    __slots__ = ("_engine",)

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine

    def fullmatch(self, text: str) -> bool:
        try:
            return self._engine.fullmatch(text) is not None
        except UnicodeEncodeError:  # a lone surrogate is not text, so it matches no pattern
            return False


def _options() -> object:
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    # Refusing a caller's pattern is an answer, not an error for the log (RE2 logs to stderr).
    options.log_errors = False
    return options


_OPTIONS = _options()


@functools.lru_cache(maxsize=1_024)
def compile_pattern(pattern: str) -> CompiledPattern:
    """The compiled pattern; raises PatternRefused with a reason an author can act on."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternRefused(REASON_TOO_LONG.format(length=len(pattern), limit=MAX_PATTERN_LENGTH))
    try:
        return CompiledPattern(cast(_Engine, re2.compile(pattern, _OPTIONS)))
    except re2.error as error:
        detail = error.args[0] if error.args else error
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise PatternRefused(REASON_INVALID.format(error=text)) from None
    except UnicodeEncodeError:
        raise PatternRefused(
            REASON_INVALID.format(error="it holds a lone surrogate, which is not text")
        ) from None


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` may not be used as a parameter pattern, or None when it can be run."""
    try:
        compile_pattern(pattern)
    except PatternRefused as refused:
        return refused.reason
    return None


class PatternRefused(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
