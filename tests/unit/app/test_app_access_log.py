"""The access log: one JSON line per call, every one of them (the root log's throttle does not apply),
with the call's fields and a request id when the caller gave none."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from app.access_log import ACCESS_LOGGER, configure_access_log, log_access, new_request_id
from app.log_throttle import LogThrottle


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.handlers[:], logger.propagate, logger.level)
    root = logging.getLogger()
    throttled = logging.StreamHandler(io.StringIO())
    throttled.addFilter(LogThrottle(burst=2))
    root.addHandler(throttled)
    try:
        configure_access_log(json_lines=True)
        stream = io.StringIO()
        logger.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logger.setLevel(logging.INFO)
        yield stream
    finally:
        root.removeHandler(throttled)
        logger.handlers, logger.propagate, logger.level = saved


def test_every_call_gets_its_line_with_its_fields(lines: io.StringIO) -> None:
    for n in range(50):
        log_access(
            f"rpc /m OK {n} ms",
            {"requestId": f"r{n}", "org": "o1", "method": "/m", "code": "OK", "durationMs": n},
        )

    written = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert len(written) == 50
    assert written[7]["requestId"] == "r7"
    assert {"asctime", "level", "name", "message", "org", "method", "code", "durationMs"} <= written[7].keys()
    assert written[7]["name"] == ACCESS_LOGGER


def test_request_ids_made_here_are_unique_and_uuid_sized() -> None:
    made = {new_request_id() for _ in range(1000)}

    assert len(made) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made)
