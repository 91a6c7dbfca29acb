"""One delivery -> one RawChange per `entry[].changes[]` element, over every entry and every change
(popular SDKs read only `entry[0].changes[0]` and lose the rest of a batch).

Tolerant: nothing is dropped or refused here. An entry or change that is not shaped like one still
becomes a RawChange (field "", value `{"_raw": <what arrived>, "_problem": <why>}`), so translation
parks it as DEAD with a reason where an operator can see and replay it."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime

from adapters.http.webhook.envelope import WEBHOOK_TEXT_LIMITS, parse_envelope
from app.inbox import (
    RawChange,
)
from app.text import text_problem


def split(body: bytes) -> list[RawChange]:
    """Every change of every entry, with its idempotency key; MalformedDelivery when the body is not
    a deliverable envelope (see envelope.parse_envelope)."""
    entries = parse_envelope(body)["entry"]
    changes: list[RawChange] = []
    for index, entry in enumerate(entries):
        changes.extend(_split_entry(index, entry))
    return changes


def idempotency_key(waba_id: str, field: str, time: object, value: object) -> str:
    """The same change delivered twice hashes the same. Template webhooks carry no event id, so
    the whole change plus Meta's entry time identifies it; a `messages` change contains its wamid
    and status, which makes its hash unique the same way."""
    canonical = json.dumps(
        {"waba": waba_id, "field": field, "time": time, "value": value},
        sort_keys=True,
        separators=(",", ":"),
        # ASCII output keeps lone surrogates (valid in JSON escapes) encodable.
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def meta_time(raw: object) -> datetime | None:
    """Unix seconds (number or numeric string) -> aware UTC datetime; None when absent or garbage."""
    if isinstance(raw, bool):
        return None
    seconds: float
    if isinstance(raw, int | float):
        seconds = raw
    elif isinstance(raw, str):
        try:
            seconds = int(raw.strip())
        except ValueError:
            try:
                seconds = float(raw.strip())
            except ValueError:
                return None
    else:
        return None
    try:
        if not math.isfinite(seconds) or seconds <= 0:
            return None
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a datetime (or a float) can hold
        return None


def _split_entry(index: int, entry: object) -> list[RawChange]:
    if not isinstance(entry, dict):
        return [_unusable("", "", None, entry, f"entry[{index}] is not an object")]
    waba_id = _waba_id(entry.get("id"))
    raw_time = entry.get("time")
    entry_time = meta_time(raw_time)
    if problem := text_problem(waba_id) or _too_long(waba_id, WEBHOOK_TEXT_LIMITS["id"]):
        return [_unusable("", raw_time, entry_time, entry, f"entry[{index}].id {problem}")]
    changes = entry.get("changes")
    if not isinstance(changes, list):
        return [_unusable(waba_id, raw_time, entry_time, entry, f"entry[{index}] has no 'changes' list")]
    if not changes:
        # Meta never sends this; keeping it visible costs little and explains an empty delivery.
        return [_unusable(waba_id, raw_time, entry_time, entry, f"entry[{index}] has an empty 'changes'")]
    result: list[RawChange] = []
    for c_index, change in enumerate(changes):
        where = f"entry[{index}].changes[{c_index}]"
        if not isinstance(change, dict):
            result.append(_unusable(waba_id, raw_time, entry_time, change, f"{where} is not an object"))
            continue
        field = change.get("field")
        value = change.get("value")
        if not isinstance(field, str) or not field:
            result.append(_unusable(waba_id, raw_time, entry_time, change, f"{where} has no 'field'"))
        elif problem := text_problem(field) or _too_long(field, WEBHOOK_TEXT_LIMITS["code"]):
            result.append(_unusable(waba_id, raw_time, entry_time, change, f"{where}.field {problem}"))
        elif not isinstance(value, dict):
            problem = f"{where} ({field}) has no 'value' object"
            result.append(_unusable(waba_id, raw_time, entry_time, change, problem))
        else:
            key = idempotency_key(waba_id, field, raw_time, value)
            result.append(RawChange(key, waba_id, field, entry_time, value))
    return result


def _too_long(text: str, limit: int) -> str:
    return f"is {len(text)} characters; a Meta webhook never sends over {limit}" if len(text) > limit else ""


def _unusable(
    waba_id: str, raw_time: object, entry_time: datetime | None, raw: object, problem: str
) -> RawChange:
    value = {"_raw": raw, "_problem": problem}
    return RawChange(idempotency_key(waba_id, "", raw_time, value), waba_id, "", entry_time, value)


def _waba_id(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    # Missing or odd: translate() refuses template changes without a WABA.
    return ""
