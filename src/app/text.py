"""What text every store and wire of this service can carry, checked the same way everywhere.

PostgreSQL refuses the NUL character in text ("invalid byte sequence for encoding UTF8: 0x00")
where SQLite keeps it, and a lone surrogate (legal in JSON's \\u escapes and in a Python str) cannot
be encoded as UTF-8 at all. Input is checked with `text_problem` at the edges (gRPC requests, webhook
fields that become columns), so both databases refuse the same inputs with the same clear error;
text this service writes about input (error notes) goes through `printable` first.
"""

from __future__ import annotations

NUL = "\x00"


def text_problem(text: str) -> str:
    """'' when `text` can be stored and sent as UTF-8 text, else why not (for an error message)."""
    if NUL in text:
        return "contains a NUL character (U+0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone UTF-16 surrogate, which is not a character"
    return ""


def printable(text: str) -> str:
    """`text` with NUL and lone surrogates escaped (\\x00, \\ud800), so it can always be stored."""
    if NUL in text:
        text = text.replace(NUL, "\\x00")
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def lone_surrogate_in(document: object) -> bool:
    """Whether any string or key of a parsed JSON document holds a lone surrogate. JSON's \\u escapes
    can spell one; no UTF-8 text (a gRPC string, a log line, a database text column) can carry it."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _has_surrogate(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
