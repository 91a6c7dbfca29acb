"""The access log's own output: one line per RPC and per HTTP request, never throttled (LogThrottle
keeps peers from flooding the log with one kind of line; the access log is one line per call by
design), formatted by a lean JSON formatter because it runs on every call of the hot paths."""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import sys
import time

ACCESS_LOGGER = "watemplates.access"
# What the access lines carry besides the message (see adapters.grpc.call_log, adapters.http.access).
FIELDS = ("requestId", "org", "method", "path", "code", "durationMs")


class AccessJsonFormatter(logging.Formatter):
    """The same keys the service's other JSON lines have (asctime, level, name, message), plus the
    call's fields; about a quarter of python-json-logger's cost per line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "asctime": self.formatTime(record),
            "level": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                document[name] = value
        return json.dumps(document, ensure_ascii=False, default=str)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        seconds = time.gmtime(record.created)
        return f"{time.strftime('%Y-%m-%dT%H:%M:%S', seconds)}.{int(record.msecs):03d}Z"


_logger = logging.getLogger(ACCESS_LOGGER)
# A request id made here: this process's random prefix and a counter, 32 hex digits (unique like a
# UUID, at a tenth of uuid4's cost, which every call without an id of its own pays).
_PREFIX = secrets.token_hex(8)
_NEXT = itertools.count(1)


# A UUID or a trace id fits; longer is not a request id.
MAX_REQUEST_ID = 128


def usable_request_id(given: str) -> str:
    """A caller's request id, or "" when it cannot be one: it goes back to the caller in a header or
    in gRPC trailers, which take printable ASCII only (a non-ASCII one failed the call after it ran)."""
    text = given.strip()
    return text if len(text) <= MAX_REQUEST_ID and text.isascii() and text.isprintable() else ""


def new_request_id() -> str:
    return f"{_PREFIX}{next(_NEXT):016x}"


def log_access(message: str, fields: dict[str, object]) -> None:
    """One access line. The record is made here rather than by logger.info, which walks the stack
    to find the caller's file and line on every call: this runs on every call of the hot paths, and
    the access lines do not show where in the code they were written."""
    if _logger.isEnabledFor(logging.INFO):
        # The message is whole already: no arguments to format in.
        _logger.handle(
            _logger.makeRecord(ACCESS_LOGGER, logging.INFO, "", 0, message, (), None, extra=fields)
        )


def configure_access_log(json_lines: bool) -> None:
    """Its own handler on standard error, not the root's (whose filter throttles)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        AccessJsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s [%(requestId)s]")
    )
    logger.handlers = [handler]
    logger.propagate = False
