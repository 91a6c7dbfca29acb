"""app.log_throttle: one kind of line cannot flood the log; what is held back is counted."""

from __future__ import annotations

import logging

from app.log_throttle import LogThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(message: str = "refused a request to %s: %s", level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("adapters.grpc", level, __file__, 1, message, ("GetTemplate", "bad"), None)


def test_each_kind_passes_a_burst_per_window_and_the_next_window_reports_the_rest() -> None:
    clock = Clock()
    throttle = LogThrottle(burst=3, window_seconds=10, clock=clock)

    passed = [throttle.filter(record()) for _ in range(10)]
    clock.now = 10.0
    first_of_next = record()

    assert passed == [True] * 3 + [False] * 7
    assert throttle.filter(first_of_next)
    assert first_of_next.getMessage() == (
        "refused a request to GetTemplate: bad [7 more like this held back in the previous 10 s]"
    )


def test_kinds_are_counted_apart() -> None:
    throttle = LogThrottle(burst=1, window_seconds=10, clock=Clock())

    assert throttle.filter(record("one %s %s"))
    assert throttle.filter(record("two %s %s"))
    assert throttle.filter(record("one %s %s", level=logging.WARNING))
    assert not throttle.filter(record("one %s %s"))
