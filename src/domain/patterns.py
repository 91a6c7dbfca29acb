"""Which author-supplied parameter patterns are safe to run: a subset of Python `re` without ReDoS.

A TemplateParameter `pattern` is matched (fullmatch) against examples at lint and against values at
render, synchronously. Python's `re` is a backtracking engine: `(a+)+` against "a" * 30 + "!" tries
every way of splitting the a's and stalls the process for hours, and `a*a*a*a*!` is polynomial but
just as fatal on a 1,024-character value. `pattern_problem()` admits only patterns whose backtracking
is provably bounded, refusing (with a reason an author can act on):

* patterns over MAX_PATTERN_LENGTH characters, and patterns that do not compile;
* backreferences (\\1, (?P=name)) and conditionals ((?(1)a|b)): matching them is NP-hard in general;
* a repeated part (max > 1) that can match the empty string: (a*)*, (a?)+, (.*)*;
* a repeated part that can run into its own next repetition - nested repetition, "star height" > 1:
  (a+)+, (\\d{1,2})*, (a+){2,10}. Nesting is fine when every repetition starts with a character the
  part cannot otherwise end with, so the iterations cannot trade characters: [a-z]+(?:_[a-z]+)* is
  accepted because `_` cannot be matched by [a-z]+;
* inside a repeated part, alternatives that are not each one single character or class, or that
  overlap: (a|b)+ is fine, (a|ab)+, (a|a)* and (a|.)* are refused; and two variable-length pieces
  that can match the same characters one after another, like (?:_a*a*)+;
* lookarounds inside a repeated part. Lookarounds elsewhere are allowed: they run at a fixed point,
  Python makes them atomic (no backtracking into them) and their bodies pass the same checks; their
  cost multiplies with whatever backtracking surrounds them, which the estimate below includes;
* sequences whose estimated backtracking over a MAX_SUBJECT_LENGTH value exceeds MAX_BACKTRACKING:
  each variable-length piece multiplies the number of ways to split the text by its number of
  choices when an earlier piece that is still "open" can take the same characters (a*a* is about
  1,025² steps and accepted, a*a*a* about 1,025³ and refused), and alternatives that can match the
  same text (a|a) multiply everything after them. This estimate is a deliberately coarse upper
  bound, not a proof; fuzzing accepted patterns against adversarial 1,024-character values found
  none slower than about a tenth of a second.

The analysis walks the parse tree of the stdlib parser (`re._parser` on 3.11+, `sre_parse` before):
it is the exact tree the engine compiles, including its rewrites such as (a|b) -> [ab] and
(a|ab) -> a(?:|b), so no second regex grammar can disagree with the one that runs. It is a private
module, hence the import fallback and the refusal of any node type this module does not know.

Character sets are over-approximated (a set is only ever treated as larger than it is), so every
"cannot overlap" conclusion is sound; case-insensitive letters count as overlapping anything cased.
Pure stdlib; results are cached per pattern.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

try:  # Python 3.11+: the parser moved into the re package; sre_parse remains as a deprecated alias.
    _parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - Python < 3.11
    _parser = importlib.import_module("sre_parse")

MAX_PATTERN_LENGTH = 200
# Values longer than this are never matched against a pattern (see rendering and lint).
MAX_SUBJECT_LENGTH = 1_024
# The estimated worst-case number of backtracking steps a failing fullmatch over a
# MAX_SUBJECT_LENGTH value may take: twice two open repeats splitting the whole value (a*a*), or 21
# optional parts (a?a?...); a few milliseconds to a few tenths of a second.
MAX_BACKTRACKING = 2 * (MAX_SUBJECT_LENGTH + 1) ** 2

_MAXREPEAT: int = _parser.MAXREPEAT
_IGNORECASE: int = _parser.SRE_FLAG_IGNORECASE
_ASCII: int = _parser.SRE_FLAG_ASCII
_DOTALL: int = _parser.SRE_FLAG_DOTALL
# Beyond this many code points a range is not enumerated; it is assumed to overlap.
_ENUMERATION_LIMIT = 4_096
_MAX_CODE_POINT = 0x10FFFF

REASON_TOO_LONG = "it is {length} characters; at most {limit} are allowed"
REASON_INVALID = "it is not a valid regular expression ({error})"
REASON_BACKREFERENCE = "backreferences and conditionals such as \\1, (?P=name) or (?(1)a|b) are not allowed"
REASON_EMPTY_REPEAT = "a repeated part can match the empty string, as in (a*)* or (a?)+"
REASON_NESTED_REPEAT = (
    "a repeated part can run into its own next repetition, as in (a+)+ or (\\d{1,2})*; start each "
    "repetition with a character the part cannot otherwise match, as in [a-z]+(?:_[a-z]+)*"
)
REASON_ALTERNATION = (
    "alternatives inside a repeat must each be one distinct character or class, as in (a|b)+, "
    "not (a|ab)+ or (a|a)*"
)
REASON_AMBIGUOUS_REPEAT = (
    "inside a repeat, two variable-length parts can match the same characters one after the other, "
    "as in (?:_a*a*)+"
)
REASON_LOOKAROUND_IN_REPEAT = "lookarounds such as (?=...) are not allowed inside a repeat"
REASON_TOO_MANY_WAYS = (
    "too many ways to split a value between its repeats (as in a*a*a* or (a|a)(a|a)...): matching could "
    "take more than {limit:,} backtracking steps"
)
REASON_UNSUPPORTED = "it uses a construct that is not supported ({what})"
REASON_TOO_DEEP = "it is nested too deeply"


@functools.lru_cache(maxsize=1_024)
def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` may not be used as a parameter pattern, or None when it is safe to run."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return REASON_TOO_LONG.format(length=len(pattern), limit=MAX_PATTERN_LENGTH)
    try:
        re.compile(pattern)
        tree = _parser.parse(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        # Huge repeat counts raise OverflowError, absurd nesting RecursionError.
        return REASON_INVALID.format(error=error)
    try:
        _Walker().sequence(tree, [], int(tree.state.flags), in_repeat=False)
    except _Refused as refused:
        return refused.reason
    except RecursionError:  # pragma: no cover - the length cap keeps the nesting shallow
        return REASON_TOO_DEEP
    return None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- character sets ---------------------------------------------------------------------------

Ranges = tuple[tuple[int, int], ...]

# Category names: d/w/s and negations D/W/S (Unicode), the same prefixed "a" under re.ASCII, and
# "cased" - every character with a case mapping, added to sets that IGNORECASE may widen.
_CATEGORY_PATTERNS = {
    "d": (r"\d", 0),
    "D": (r"\D", 0),
    "w": (r"\w", 0),
    "W": (r"\W", 0),
    "s": (r"\s", 0),
    "S": (r"\S", 0),
    "ad": (r"\d", re.ASCII),
    "aD": (r"\D", re.ASCII),
    "aw": (r"\w", re.ASCII),
    "aW": (r"\W", re.ASCII),
    "as": (r"\s", re.ASCII),
    "aS": (r"\S", re.ASCII),
}
_CATEGORY_MATCHERS = {name: re.compile(regex, flags) for name, (regex, flags) in _CATEGORY_PATTERNS.items()}
# Pairs of categories that share no character (checked exhaustively by the unit tests).
DISJOINT_CATEGORIES = frozenset(
    frozenset(pair)
    for pair in [
        ("d", "D"), ("w", "W"), ("s", "S"), ("d", "s"), ("w", "s"), ("d", "W"),
        ("ad", "aD"), ("aw", "aW"), ("as", "aS"), ("ad", "as"), ("aw", "as"), ("ad", "aW"),
        ("ad", "D"), ("ad", "W"), ("ad", "s"), ("aw", "W"), ("aw", "s"), ("as", "S"), ("as", "d"),
        ("as", "w"), ("cased", "d"), ("cased", "s"), ("cased", "ad"), ("cased", "as"),
    ]
)  # fmt: skip
# (a, b): every character of category a is in category b (checked exhaustively by the unit tests).
CATEGORY_SUBSETS = frozenset([("d", "w"), ("ad", "d"), ("ad", "aw"), ("ad", "w"), ("aw", "w"), ("as", "s")])
_UNCASED_CATEGORIES = frozenset({"d", "s", "ad", "as"})


def category_contains(name: str, char: str) -> bool:
    if name == "cased":
        return char.lower() != char or char.upper() != char
    return _CATEGORY_MATCHERS[name].fullmatch(char) is not None


@dataclass(frozen=True, slots=True)
class CharSet:
    """Code points as inclusive ranges plus named categories; `negated` means everything else."""

    ranges: Ranges = ()
    categories: frozenset[str] = frozenset()
    negated: bool = False

    def union(self, other: CharSet) -> CharSet:
        if other.is_empty():
            return self
        if self.is_empty():
            return other
        if not self.negated and not other.negated:
            return CharSet(_merge(self.ranges + other.ranges), self.categories | other.categories)
        if not (self.categories or other.categories):
            if self.negated and other.negated:  # not-X or not-Y = not (X and Y)
                return CharSet(_intersect(self.ranges, other.ranges), negated=True)
            excluded, added = (self, other) if self.negated else (other, self)
            return CharSet(_subtract(excluded.ranges, added.ranges), negated=True)  # not (X minus P)
        return ANY_CHAR  # An over-approximation, which is always safe here.

    def is_empty(self) -> bool:
        return not (self.negated or self.ranges or self.categories)

    def contains(self, char: str) -> bool:
        code = ord(char)
        inside = any(lo <= code <= hi for lo, hi in self.ranges) or any(
            category_contains(name, char) for name in self.categories
        )
        return inside != self.negated


ANY_CHAR = CharSet(negated=True)
NO_CHAR = CharSet()


def overlaps(a: CharSet, b: CharSet) -> bool:
    """False only when no character can be in both (True when unsure)."""
    if a.negated and b.negated:
        return True
    if a.negated:
        return not _within(b, CharSet(a.ranges, a.categories))
    if b.negated:
        return not _within(a, CharSet(b.ranges, b.categories))
    if _ranges_meet(a.ranges, b.ranges):
        return True
    for name in a.categories:
        if _category_meets(name, b.ranges) or any(
            frozenset((name, other)) not in DISJOINT_CATEGORIES for other in b.categories
        ):
            return True
    return any(_category_meets(name, a.ranges) for name in b.categories)


def _within(inner: CharSet, outer: CharSet) -> bool:
    """Whether every character of positive set `inner` is in positive set `outer` (False when unsure)."""
    uncovered = [(lo, hi) for lo, hi in inner.ranges if not _range_covered(lo, hi, outer.ranges)]
    if _size(uncovered) > _ENUMERATION_LIMIT:
        return False
    if not all(outer.contains(chr(code)) for lo, hi in uncovered for code in range(lo, hi + 1)):
        return False
    return all(
        name in outer.categories or any((name, other) in CATEGORY_SUBSETS for other in outer.categories)
        for name in inner.categories
    )


def _category_meets(name: str, ranges: Ranges) -> bool:
    if _size(ranges) > _ENUMERATION_LIMIT:
        return True
    return any(category_contains(name, chr(code)) for lo, hi in ranges for code in range(lo, hi + 1))


def _ranges_meet(a: Ranges, b: Ranges) -> bool:
    return any(lo1 <= hi2 and lo2 <= hi1 for lo1, hi1 in a for lo2, hi2 in b)


def _range_covered(lo: int, hi: int, ranges: Ranges) -> bool:
    return any(outer_lo <= lo and hi <= outer_hi for outer_lo, outer_hi in ranges)


def _size(ranges: Iterable[tuple[int, int]]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    return _merge(
        (max(lo1, lo2), min(hi1, hi2)) for lo1, hi1 in a for lo2, hi2 in b if lo1 <= hi2 and lo2 <= hi1
    )


def _subtract(a: Ranges, b: Ranges) -> Ranges:
    """The code points of `a` that are not in `b`."""
    remaining = list(a)
    for cut_lo, cut_hi in b:
        pieces: list[tuple[int, int]] = []
        for lo, hi in remaining:
            if cut_hi < lo or hi < cut_lo:
                pieces.append((lo, hi))
                continue
            if lo < cut_lo:
                pieces.append((lo, cut_lo - 1))
            if cut_hi < hi:
                pieces.append((cut_hi + 1, hi))
        remaining = pieces
    return _merge(remaining)


def _is_cased(ranges: Ranges) -> bool:
    if _size(ranges) > _ENUMERATION_LIMIT:
        return True
    return any(category_contains("cased", chr(code)) for lo, hi in ranges for code in range(lo, hi + 1))


def _category_name(code: Any, flags: int) -> str:
    names = {
        _parser.CATEGORY_DIGIT: "d",
        _parser.CATEGORY_NOT_DIGIT: "D",
        _parser.CATEGORY_WORD: "w",
        _parser.CATEGORY_NOT_WORD: "W",
        _parser.CATEGORY_SPACE: "s",
        _parser.CATEGORY_NOT_SPACE: "S",
    }
    if code not in names:
        raise _Refused(REASON_UNSUPPORTED.format(what=str(code).lower()))
    return ("a" if flags & _ASCII else "") + names[code]


def _char_set(op: Any, av: Any, flags: int) -> CharSet:
    """The characters one single-character node (LITERAL, NOT_LITERAL, ANY, IN) can match."""
    if op == _parser.ANY:
        return ANY_CHAR if flags & _DOTALL else CharSet(((10, 10),), negated=True)
    if op == _parser.NOT_LITERAL:
        return CharSet(((av, av),), negated=True)
    if op == _parser.LITERAL:
        items: Sequence[tuple[Any, Any]] = [(op, av)]
    else:
        items = av
    ranges: list[tuple[int, int]] = []
    categories: set[str] = set()
    negated = False
    for item_op, item_av in items:
        if item_op == _parser.NEGATE:
            negated = True
        elif item_op == _parser.LITERAL:
            ranges.append((item_av, item_av))
        elif item_op == _parser.RANGE:
            ranges.append((item_av[0], item_av[1]))
        elif item_op == _parser.CATEGORY:
            categories.add(_category_name(item_av, flags))
        else:
            raise _Refused(REASON_UNSUPPORTED.format(what=str(item_op).lower()))
    merged = _merge(ranges)
    # IGNORECASE can only widen a positive set, and only by cased characters; a negated set can
    # only shrink (the complement of a case-closed set), so leaving it alone over-approximates.
    if flags & _IGNORECASE and not negated and (_is_cased(merged) or bool(categories - _UNCASED_CATEGORIES)):
        categories.add("cased")
    return CharSet(merged, frozenset(categories), negated)


# ---- the walk -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Open:
    """A variable-length piece that may still take more characters, and its cost so far."""

    chars: CharSet
    cost: int


@dataclass(slots=True)
class _Summary:
    """What a sequence of nodes can match, and how it backtracks."""

    chars: CharSet = NO_CHAR  # every character it may consume
    first: CharSet = NO_CHAR  # the characters it may start with
    min_width: int = 0
    max_width: int = 0  # capped at _MAXREPEAT
    cost: int = 1  # the largest estimated cost of any piece
    ambiguous: bool = False  # two pieces can split the same characters, or alternatives overlap
    open: list[_Open] = field(default_factory=list)  # pieces still open at its end


class _Walker:
    def __init__(self) -> None:
        # The product of the choices of alternatives that can match the same text: those multiply
        # everything matched after them, whatever it is.
        self.duplicates = 1

    def sequence(self, items: Any, open_in: list[_Open], flags: int, *, in_repeat: bool) -> _Summary:
        out = _Summary(open=list(open_in))
        for op, av in items:
            if op in (_parser.LITERAL, _parser.NOT_LITERAL, _parser.ANY, _parser.IN):
                chars = _char_set(op, av, flags)
                self._piece(out, chars, chars, 1, 1, variable=False, cost=1)
            elif op == _parser.AT:
                continue
            elif op == _parser.SUBPATTERN:
                _group, add_flags, del_flags, body = av
                self._inline(
                    out, self.sequence(body, out.open, (flags | add_flags) & ~del_flags, in_repeat=in_repeat)
                )
            elif op == _parser.ATOMIC_GROUP:
                self._inline(out, self.sequence(av, out.open, flags, in_repeat=in_repeat))
            elif op in (_parser.ASSERT, _parser.ASSERT_NOT):
                if in_repeat:
                    raise _Refused(REASON_LOOKAROUND_IN_REPEAT)
                body = self.sequence(av[1], [], flags, in_repeat=False)
                self._check(max((o.cost for o in out.open), default=1) * body.cost)
                out.cost = max(out.cost, body.cost)
            elif op in (_parser.GROUPREF, _parser.GROUPREF_EXISTS):
                raise _Refused(REASON_BACKREFERENCE)
            elif op == _parser.BRANCH:
                self._branch(out, av[1], flags, in_repeat=in_repeat)
            elif op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, getattr(_parser, "POSSESSIVE_REPEAT", None)):
                self._repeat(out, av, flags, in_repeat=in_repeat)
            else:
                raise _Refused(REASON_UNSUPPORTED.format(what=str(op).lower()))
        return out

    def _inline(self, out: _Summary, inner: _Summary) -> None:
        """Appends a group matched in place: its pieces chain with the ones around it."""
        out.chars = out.chars.union(inner.chars)
        if out.min_width == 0:
            out.first = out.first.union(inner.first)
        out.min_width += inner.min_width
        out.max_width = min(out.max_width + inner.max_width, _MAXREPEAT)
        out.cost = max(out.cost, inner.cost)
        out.ambiguous = out.ambiguous or inner.ambiguous
        out.open = inner.open

    def _piece(
        self,
        out: _Summary,
        chars: CharSet,
        first: CharSet,
        min_width: int,
        max_width: int,
        *,
        variable: bool,
        cost: int,
    ) -> None:
        """Appends one opaque piece: chains it with the open pieces that can take its first character."""
        if variable:
            before = max((o.cost for o in out.open if overlaps(o.chars, first)), default=1)
            if before > 1:
                out.ambiguous = True
            cost *= before
        self._check(cost)
        if min_width > 0:
            # It must start with one of `first`: open pieces that cannot take that character end here.
            out.open = [o for o in out.open if overlaps(o.chars, first)]
        if variable:
            out.open.append(_Open(chars, cost))
        out.chars = out.chars.union(chars)
        if out.min_width == 0:
            out.first = out.first.union(first)
        out.min_width += min_width
        out.max_width = min(out.max_width + max_width, _MAXREPEAT)
        out.cost = max(out.cost, cost)

    def _branch(self, out: _Summary, branches: Sequence[Any], flags: int, *, in_repeat: bool) -> None:
        summaries = [self.sequence(branch, [], flags, in_repeat=in_repeat) for branch in branches]
        overlapping = sum(s.min_width == 0 for s in summaries) > 1 or any(
            overlaps(a.first, b.first) for i, a in enumerate(summaries) for b in summaries[i + 1 :]
        )
        if in_repeat and (overlapping or not all(_single_character(branch) for branch in branches)):
            raise _Refused(REASON_ALTERNATION)
        if overlapping:
            out.ambiguous = True
            self.duplicates *= len(branches)
        chars, first = NO_CHAR, NO_CHAR
        for summary in summaries:
            chars, first = chars.union(summary.chars), first.union(summary.first)
            out.ambiguous = out.ambiguous or summary.ambiguous
        min_width = min(s.min_width for s in summaries)
        max_width = max(s.max_width for s in summaries)
        cost = max(s.cost for s in summaries)
        variable = min_width != max_width or cost > 1 or any(s.open for s in summaries)
        self._piece(out, chars, first, min_width, max_width, variable=variable, cost=cost)

    def _repeat(self, out: _Summary, av: Any, flags: int, *, in_repeat: bool) -> None:
        low, high, body_items = av
        if high == 0:
            return  # x{0} matches only the empty string.
        iterated = high > 1
        if not iterated and low == 1:
            self._inline(out, self.sequence(body_items, out.open, flags, in_repeat=in_repeat))
            return
        body = self.sequence(body_items, [], flags, in_repeat=in_repeat or iterated)
        if iterated:
            if body.min_width == 0:
                raise _Refused(REASON_EMPTY_REPEAT)
            if body.ambiguous:
                raise _Refused(REASON_AMBIGUOUS_REPEAT)
            if any(overlaps(o.chars, body.first) for o in body.open):
                raise _Refused(REASON_NESTED_REPEAT)
        elif body.min_width == 0:
            # x? where x can match the empty string: skipping and matching empty are two ways.
            out.ambiguous = True
            self.duplicates *= 2
        out.ambiguous = out.ambiguous or body.ambiguous
        choices = min(high, MAX_SUBJECT_LENGTH) - min(low, MAX_SUBJECT_LENGTH) + 1
        # Iterations cannot trade characters (checked above), so backtracking into one never re-splits
        # another: their costs add up rather than multiply. An optional part is tried or skipped.
        cost = choices + body.cost - 1 if iterated else choices * body.cost
        variable = low != high or body.min_width != body.max_width or body.cost > 1 or bool(body.open)
        self._piece(
            out,
            body.chars,
            body.first,
            low * body.min_width,
            min(high * body.max_width, _MAXREPEAT),
            variable=variable,
            cost=cost,
        )

    def _check(self, cost: int) -> None:
        if cost * self.duplicates > MAX_BACKTRACKING:
            raise _Refused(REASON_TOO_MANY_WAYS.format(limit=MAX_BACKTRACKING))


def _single_character(items: Any) -> bool:
    return len(items) == 1 and items[0][0] in (_parser.LITERAL, _parser.NOT_LITERAL, _parser.ANY, _parser.IN)
