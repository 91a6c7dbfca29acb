"""Graph API error answers -> app.errors.MetaError subclasses.

Classified by Meta's `error.code`, never by HTTP status: Meta's own guidance is to build error handling
around `code`, and the same HTTP 400 carries a closed window, a paused template and a bad parameter.
The HTTP status only decides what a body without a usable code means (5xx: Meta is unwell; 429: slow
down).

`MetaError.retryable` says whether repeating the *same* request right away, within one call, can help.
It is set per instance where the class alone does not decide it: a 131056 (business/consumer pair rate
limit) is a MetaRateLimited but is *not* retryable, because the limit is per recipient (about one
message per 6 s) and an immediate retry only burns the pair's quota further; the caller reschedules
that one message instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from app.errors import (
    MetaCredentialsExpired,
    MetaError,
    MetaParameterMismatch,
    MetaPermissionDenied,
    MetaRateLimited,
    MetaRequestRejected,
    MetaTemplateDisabled,
    MetaTemplateNotFound,
    MetaTemplatePaused,
    MetaUnavailable,
    MetaWindowClosed,
)
from app.text import printable

# Business errors with a dedicated class.
_BY_CODE: dict[int, type[MetaError]] = {
    132015: MetaTemplatePaused,
    132016: MetaTemplateDisabled,
    132001: MetaTemplateNotFound,
    132000: MetaParameterMismatch,
    132012: MetaParameterMismatch,
    131047: MetaWindowClosed,
    190: MetaCredentialsExpired,
    # 102 is Graph's older "API session" code for an expired or invalid login/token.
    102: MetaCredentialsExpired,
    0: MetaPermissionDenied,
    3: MetaPermissionDenied,
    10: MetaPermissionDenied,
    **dict.fromkeys(range(200, 300), MetaPermissionDenied),
}

# Rate limits -> the wait used when Meta says nothing about when to come back. Cloud API throughput
# (130429) is per second, so a short pause is enough; the Graph/BUC limits (80007, 4, 613, 17, 32)
# are counted over an hour, so a minute is the least that makes sense (it usually exceeds the
# retry budget, so the call gives up and the caller reschedules); a pair limit is ~1 message per 6 s.
RATE_LIMIT_DEFAULT_SECONDS: dict[int, float] = {
    130429: 1.0,
    80007: 60.0,
    4: 60.0,
    613: 60.0,
    17: 60.0,
    32: 60.0,
    131056: 6.0,
}
# Repeating the same request after the wait can succeed; for 131056 it cannot (see module docstring).
RETRYABLE_RATE_LIMIT_CODES = frozenset({130429, 80007, 4, 613, 17, 32})
# Meta's "something went wrong / try again": 131000 unknown, 131016 service unavailable, 131057
# account in maintenance (up to a minute), 1 unknown Graph error, 2 Graph service unavailable.
TRANSIENT_CODES = frozenset({131000, 131016, 131057, 1, 2})

_SNIPPET_MAX = 120
_MESSAGE_MAX = 1_000
_TRACE_ID_MAX = 100


def _quoted(text: str, limit: int) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_from_response(
    http_status: int, body: bytes | object, *, headers: Mapping[str, str] | None = None
) -> MetaError:
    """The MetaError for a failed Graph call.

    `body` is the raw bytes (or text, or the already parsed JSON) of the answer. `headers` (optional)
    supply Retry-After and X-Business-Use-Case-Usage for rate limits. The caller must have removed the
    access token from `body` already: this function quotes Meta's message verbatim.
    """
    parsed: object = body
    if isinstance(body, bytes | bytearray | str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return MetaUnavailable(
                f"Meta answered HTTP {http_status} with a body that is not JSON",
                http_status=http_status,
                details=_snippet(body),
            )
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    if not isinstance(error, Mapping):
        return MetaUnavailable(
            f"Meta answered HTTP {http_status} without an error object",
            http_status=http_status,
            details=_snippet(json.dumps(parsed, default=str)),
        )

    raw_code = _int(error.get("code"))
    code = raw_code if raw_code is not None else 0
    subcode = _int(error.get("error_subcode")) or 0
    # Meta's words are quoted to callers and logs: printable and short, whatever came back.
    meta_message = _quoted(str(error.get("message") or "").strip(), _MESSAGE_MAX)
    fbtrace_id = _quoted(str(error.get("fbtrace_id") or ""), _TRACE_ID_MAX)
    details = _quoted(_details(error), _MESSAGE_MAX)
    fields: dict[str, Any] = {
        "code": code,
        "subcode": subcode,
        "fbtrace_id": fbtrace_id,
        "http_status": http_status,
        "details": details,
    }
    message = _describe(meta_message, code, subcode, details, http_status, fbtrace_id)

    if raw_code is not None and raw_code in RATE_LIMIT_DEFAULT_SECONDS:
        limited = MetaRateLimited(
            f"Meta rate limit: {message}",
            retry_after_seconds=_retry_after(headers, RATE_LIMIT_DEFAULT_SECONDS[raw_code]),
            **fields,
        )
        limited.retryable = raw_code in RETRYABLE_RATE_LIMIT_CODES
        return limited
    if raw_code is not None and raw_code in _BY_CODE:
        return _BY_CODE[raw_code](f"Meta refused the request: {message}", **fields)
    if (raw_code is not None and raw_code in TRANSIENT_CODES) or http_status >= 500:
        return MetaUnavailable(f"Meta is unavailable: {message}", **fields)
    if http_status == 429:
        # An unknown code with "Too Many Requests" is still a request to slow down.
        return MetaRateLimited(
            f"Meta rate limit: {message}", retry_after_seconds=_retry_after(headers, 60.0), **fields
        )
    return MetaRequestRejected(f"Meta refused the request: {message}", **fields)


def _describe(
    meta_message: str, code: int, subcode: int, details: str, http_status: int, fbtrace_id: str
) -> str:
    # Meta's message usually starts with "(#code)"; quote it as is and add what it leaves out.
    parts = [meta_message or "(no message)"]
    if details and details not in meta_message:
        parts.append(f"- {details}")
    facts = [f"code {code}"]
    if subcode:
        facts.append(f"subcode {subcode}")
    facts.append(f"HTTP {http_status}")
    if fbtrace_id:
        facts.append(f"fbtrace_id {fbtrace_id}")
    parts.append(f"({', '.join(facts)})")
    return " ".join(parts)


def _details(error: Mapping[str, Any]) -> str:
    """error_data.details, else the user-facing title/message Meta adds to creation errors."""
    error_data = error.get("error_data")
    if isinstance(error_data, Mapping) and error_data.get("details"):
        return str(error_data["details"])
    if isinstance(error_data, str) and error_data.strip():
        # Some Graph errors carry error_data as a JSON string rather than an object.
        try:
            decoded = json.loads(error_data)
        except ValueError:
            return error_data.strip()
        if isinstance(decoded, Mapping) and decoded.get("details"):
            return str(decoded["details"])
    title = str(error.get("error_user_title") or "").strip()
    user_message = str(error.get("error_user_msg") or "").strip()
    return ": ".join(part for part in (title, user_message) if part)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _retry_after(headers: Mapping[str, str] | None, default: float) -> float:
    """Seconds to wait: Retry-After, else Meta's BUC estimate, else the per-code default."""
    if not headers:
        return default
    header = _header(headers, "Retry-After")
    if header:
        seconds = _parse_retry_after(header)
        if seconds is not None:
            return seconds
    usage = _header(headers, "X-Business-Use-Case-Usage")
    if usage:
        minutes = _regain_access_minutes(usage)
        if minutes:
            return minutes * 60.0
    return default


def _header(headers: Mapping[str, str], name: str) -> str:
    # aiohttp's CIMultiDictProxy is case-insensitive; a plain dict from a test may not be.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return (value or "").strip()


def _parse_retry_after(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _regain_access_minutes(raw: str) -> float:
    """X-Business-Use-Case-Usage: {"<id>": [{"type": ..., "estimated_time_to_regain_access": min}]}."""
    try:
        usage = json.loads(raw)
    except ValueError:
        return 0.0
    if not isinstance(usage, Mapping):
        return 0.0
    minutes = [
        float(entry["estimated_time_to_regain_access"])
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, Mapping)
        and isinstance(entry.get("estimated_time_to_regain_access"), int | float)
        and not isinstance(entry.get("estimated_time_to_regain_access"), bool)
    ]
    return max(minutes, default=0.0)


def _snippet(body: object) -> str:
    if isinstance(body, bytes | bytearray):
        text = bytes(body[: _SNIPPET_MAX * 4]).decode("utf-8", "replace")
    else:
        text = str(body)
    return _quoted(" ".join(text.split()), _SNIPPET_MAX)
