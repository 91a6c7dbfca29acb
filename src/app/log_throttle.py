"""A logging filter that keeps any one kind of line from flooding the log.

Peers the service does not trust can make it log: a malformed HTTP request, a refused webhook, an
unreadable gRPC request, a call while the database is away. Each is worth one line, but not a
million. The filter lets `burst` records of each kind (logger, level and message template) through
per `window` seconds and counts the rest; the first record of the next window says how many were
held back. Nothing is lost from view: the count is there, and one example of each kind a window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

# Kinds of line remembered at once; past this the oldest windows are forgotten (their held-back
# counts are then not reported: only possible when something logs unboundedly many templates).
MAX_KINDS = 1_000


@dataclass(slots=True)
class _Window:
    start: float
    passed: int = 0
    held: int = 0


class LogThrottle(logging.Filter):
    def __init__(
        self, burst: int = 20, window_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._burst = burst
        self._window = window_seconds
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.start >= self._window:
            held = window.held if window else 0
            self._windows.pop(key, None)
            if len(self._windows) >= MAX_KINDS:
                del self._windows[next(iter(self._windows))]
            self._windows[key] = _Window(now, passed=1)
            if held:
                # Appended to the template, so it is formatted with the record's own arguments.
                record.msg = (
                    f"{record.msg} [{held} more like this held back in the previous {self._window:g} s]"
                )
            return True
        if window.passed < self._burst:
            window.passed += 1
            return True
        window.held += 1
        return False
