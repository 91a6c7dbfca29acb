"""How the CLI prints records: tab-separated lines for people (and cut/awk), or with --json one JSON
document on standard output. The JSON keys of each record are fixed, present even when empty (null,
"" or []), and enumerations are spelled in upper case as in the gRPC API. A list that comes out empty
says so on standard error in the human format (so `| wc -l` still counts records) and is `[]` in JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from app.paging import MAX_PAGE_SIZE, Page

T = TypeVar("T")
Record = Mapping[str, Any]


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on standard output (a list of objects for a list)",
    )


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def out(text: str) -> None:
    """A line on standard output: records and results."""
    sys.stdout.write(f"{text}\n")


def err(text: str) -> None:
    """A line on standard error: progress, summaries and advice, kept out of what a pipe reads."""
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


def print_json(document: object) -> None:
    out(json.dumps(document, indent=2, ensure_ascii=False))


def show(
    args: argparse.Namespace,
    items: Sequence[T],
    record: Callable[[T], Record],
    line: Callable[[T], str],
    empty: str,
) -> None:
    """`items` as JSON records (--json) or one line each; `empty` says what an empty list means."""
    if args.json:
        print_json([record(item) for item in items])
    elif not items:
        err(empty)
    else:
        for item in items:
            out(line(item))


def say(args: argparse.Namespace, document: Record, text: str) -> None:
    """One result: `document` with --json, else `text`."""
    if args.json:
        print_json(document)
    else:
        out(text)


async def collect(fetch: Callable[[int, str], Awaitable[Page[T]]], limit: int | None) -> tuple[list[T], bool]:
    """Pages through a list call until `limit` items (None: all of them). The flag says whether more
    were left."""
    items: list[T] = []
    token = ""
    while limit is None or len(items) < limit:
        size = MAX_PAGE_SIZE if limit is None else min(limit - len(items), MAX_PAGE_SIZE)
        page = await fetch(size, token)
        items.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    return items, bool(token)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
