"""Author-supplied parameter patterns: written in Python's syntax, run on RE2.

A TemplateParameter `pattern` is matched (full match) against examples and default values at lint
and against every value at render, on the request's own thread. Python's `re` backtracks: `(a+)+`
against "a" * 30 + "!" runs for hours. RE2 (google-re2, the engine behind Go's regexp) never
backtracks: its time is linear in the value, times the size of the compiled pattern at worst. So:

* a pattern must be valid Python syntax (the documented API) and is translated to RE2 where the two
  read the same text differently: \\d \\w \\s mean Unicode digits, word characters and spaces in
  Python and ASCII ones in RE2, so they become \\p{Nd}, [\\p{L}\\p{N}_] and Python's space set; \\Z
  becomes \\z, \\uXXXX and \\N{NAME} become \\x{...}, and {,n} (a repeat in Python, a literal in RE2)
  becomes {0,n};
* what RE2 cannot run in linear time is refused with the reason: backreferences, lookarounds,
  atomic groups and possessive repeats, verbose mode; so is anything the two engines would read
  differently that cannot be translated (\\W or \\S inside a class, \\b, [[:alpha:]]);
* a compiled pattern may hold at most MAX_PROGRAM_SIZE instructions (huge counted repeats), and the
  work a template's patterns may cost together is bounded by lint (see `pattern_work`).

google-re2 is the one package outside the standard library the domain uses: a pure function of its
inputs, with no I/O; writing a linear-time engine by hand is not the domain's business.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from typing import Protocol, cast

import re2

MAX_PATTERN_LENGTH = 200
# RE2 instructions in one compiled pattern: everyday patterns use tens, a Unicode class about 1,400.
MAX_PROGRAM_SIZE = 5_000
# What one template's patterns may cost together, in "value characters x pattern instructions", the
# bound of RE2's slowest path: about 50 ms on this project's machines when every value is as long as
# its place allows. Lint refuses templates over it, so no render can exceed it.
PATTERN_WORK_BUDGET = 16_000_000

REASON_TOO_LONG = "it is {length} characters; at most {limit} are allowed"
REASON_INVALID = "it is not a valid regular expression ({error})"
REASON_UNSUPPORTED = (
    "it cannot be matched in linear time ({error}); backreferences, lookarounds and repeat counts "
    "over 1,000 are not supported"
)
REASON_TOO_LARGE = (
    "it compiles to {size} instructions; at most {limit} are allowed (use smaller repeat counts)"
)

# Python's meaning of the class shorthands, in RE2 syntax: (outside a class, inside a class).
_SPACES = r"\s\v\p{Z}\x{1c}-\x{1f}\x{85}"
_SHORTHANDS = {
    "d": (r"\p{Nd}", r"\p{Nd}"),
    "D": (r"\P{Nd}", r"\P{Nd}"),
    "w": (r"[\p{L}\p{N}_]", r"\p{L}\p{N}_"),
    "W": (r"[^\p{L}\p{N}_]", None),
    "s": (f"[{_SPACES}]", _SPACES),
    "S": (f"[^{_SPACES}]", None),
}
_HEX = {"u": 4, "U": 8}


class _Engine(Protocol):
    def fullmatch(self, text: str) -> object | None: ...

    @property
    def programsize(self) -> int: ...


class CompiledPattern:
    """A compiled author pattern; `fullmatch` takes time linear in the value."""

    __slots__ = ("_engine", "size")

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine
        self.size = engine.programsize

    def fullmatch(self, text: str) -> bool:
        try:
            return self._engine.fullmatch(text) is not None
        except UnicodeEncodeError:  # a lone surrogate is not text, so it matches no pattern
            return False


class PatternRefused(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compile_pattern(pattern: str) -> CompiledPattern:
    """The compiled pattern; raises PatternRefused with a reason an author can act on."""
    compiled = _compile(pattern)
    if isinstance(compiled, str):
        raise PatternRefused(compiled)
    return compiled


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` may not be used as a parameter pattern, or None when it can be run."""
    compiled = _compile(pattern)
    return compiled if isinstance(compiled, str) else None


def pattern_work(pattern: CompiledPattern, longest_value: int) -> int:
    """The most matching `pattern` against a value of up to `longest_value` characters can cost."""
    return pattern.size * max(longest_value, 1)


def _options() -> object:
    options = re2.Options()
    # Only "does it match?" is asked: without capture groups RE2 stays on its fast engines.
    options.never_capture = True
    # Refusing a caller's pattern is an answer, not an error for the log (RE2 logs to stderr).
    options.log_errors = False
    return options


_OPTIONS = _options()


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> CompiledPattern | str:
    """The compiled pattern, or why it is refused (refusals are cached too: they cost a compile)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return REASON_TOO_LONG.format(length=len(pattern), limit=MAX_PATTERN_LENGTH)
    try:
        with warnings.catch_warnings():
            # re's notes on what a future Python may read differently ("[[", "--"): the caller's
            # pattern, not this service's code; RE2 reads those differently anyway, see to_re2.
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        return REASON_INVALID.format(error=error)
    try:
        translated = to_re2(pattern)
        engine = cast(_Engine, re2.compile(translated, _OPTIONS))
    except PatternRefused as refused:
        return refused.reason
    except re2.error as error:
        detail = error.args[0] if error.args else error
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        return REASON_UNSUPPORTED.format(error=text)
    except UnicodeEncodeError:
        return REASON_INVALID.format(error="it holds a lone surrogate, which is not text")
    if engine.programsize > MAX_PROGRAM_SIZE:
        return REASON_TOO_LARGE.format(size=engine.programsize, limit=MAX_PROGRAM_SIZE)
    return CompiledPattern(engine)


def to_re2(pattern: str) -> str:
    """`pattern` (valid Python syntax) in RE2 syntax with Python's meaning; PatternRefused where the
    two engines would read it differently and no translation exists."""
    out: list[str] = []
    index, in_class, class_start = 0, False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape, index = _escape(pattern, index, in_class)
            out.append(escape)
            continue
        if in_class:
            if char == "[" and pattern.startswith("[:", index):
                raise PatternRefused(
                    "a POSIX class such as [[:alpha:]] is read differently by Python and RE2; write the "
                    "characters out, e.g. [a-zA-Z]"
                )
            # A "]" right after "[" or "[^" is a literal in both engines, not the end of the class.
            if char == "]" and index > class_start:
                in_class = False
        elif char == "[":
            in_class = True
            class_start = index + 1
            if pattern.startswith("^", class_start):
                out.append("[^")
                index += 2
                class_start += 1
                continue
        elif char == "{" and pattern.startswith(",", index + 1):
            out.append("{0")  # Python reads {,n} as {0,n}; RE2 would read it literally
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _escape(pattern: str, index: int, in_class: bool) -> tuple[str, int]:
    """The RE2 form of the escape at `index` and the index after it."""
    letter = pattern[index + 1]
    if letter in _SHORTHANDS:
        outside, inside = _SHORTHANDS[letter]
        if in_class and inside is None:
            raise PatternRefused(
                f"\\{letter} inside [...] has no RE2 equivalent with Python's meaning; use a negated class"
            )
        return (inside if in_class else outside) or "", index + 2
    if letter == "b" and in_class:
        return r"\x{8}", index + 2  # a backspace inside a class, in Python
    if letter in "bB":
        raise PatternRefused(
            f"\\{letter} (a word boundary) is ASCII-only in RE2 but Unicode in Python; a full-match "
            "pattern rarely needs it"
        )
    if letter == "Z":
        return r"\z", index + 2
    if letter in _HEX:
        digits = pattern[index + 2 : index + 2 + _HEX[letter]]
        return f"\\x{{{digits}}}", index + 2 + _HEX[letter]
    if letter == "N" and pattern.startswith("{", index + 2):
        end = pattern.index("}", index + 3)  # Python accepted the pattern, so the name is closed
        return f"\\x{{{ord(unicodedata.lookup(pattern[index + 3 : end])):x}}}", end + 1
    return pattern[index : index + 2], index + 2
