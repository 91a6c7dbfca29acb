"""The `messages` field: a contact's inbound messages and the statuses of our outbound ones.

Liberal in what it takes (ids as numbers or strings, a contact named by `wa_id`, by the username-era
`user_id` / `from_user_id`, or both; statuses Meta may add later are left for a later version), strict
about what it needs: every message has an id, Meta's timestamp and a contact, every status an id,
a status and a timestamp. A change missing those cannot be applied and is DEAD with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.http.webhook.envelope import MAX_FUTURE_SKEW, WEBHOOK_TEXT_LIMITS, short, type_name
from adapters.http.webhook.splitter import meta_time
from app.inbox import IgnoredChange, InboundMessage, MessagesChange, RawChange, UntranslatableChange
from app.text import text_problem
from domain.messages import Pricing, StatusUpdate, delivery_status

# wamids run to about 60 characters; Meta's other ids (phone numbers, user ids) are shorter.
_WAMID_CHARS = WEBHOOK_TEXT_LIMITS["name"]
_ID_CHARS = WEBHOOK_TEXT_LIMITS["id"]
_CODE_CHARS = WEBHOOK_TEXT_LIMITS["code"]
_TEXT_CHARS = WEBHOOK_TEXT_LIMITS["text"]


def translate_messages(change: RawChange, received_at: datetime) -> MessagesChange | IgnoredChange:
    value = change.value
    metadata = value.get("metadata")
    if not isinstance(metadata, Mapping):
        raise UntranslatableChange(f"messages change 'metadata' must be an object, got {type_name(metadata)}")
    phone_number_id = _text(metadata, "phone_number_id", _ID_CHARS, where="metadata")
    if not phone_number_id:
        raise UntranslatableChange("messages change has no metadata.phone_number_id")
    user_ids = _contact_user_ids(value.get("contacts"))
    inbound = tuple(
        _inbound(index, raw, user_ids, received_at) for index, raw in enumerate(_list(value, "messages"))
    )
    statuses = tuple(
        status
        for index, raw in enumerate(_list(value, "statuses"))
        if (status := _status(index, raw, phone_number_id, received_at)) is not None
    )
    if not inbound and not statuses:
        what = "system errors" if "errors" in value else "no messages and no statuses this version knows"
        return IgnoredChange(reason=f"messages change with {what}")
    return MessagesChange(change.waba_id, phone_number_id, inbound, statuses)


def _inbound(index: int, raw: object, user_ids: Mapping[str, str], received_at: datetime) -> InboundMessage:
    where = f"messages[{index}]"
    if not isinstance(raw, Mapping):
        raise UntranslatableChange(f"{where} must be an object, got {type_name(raw)}")
    message_id = _text(raw, "id", _WAMID_CHARS, where=where)
    if not message_id:
        raise UntranslatableChange(f"{where} has no id")
    at = _time(raw, where, received_at)
    wa_id = _text(raw, "from", _ID_CHARS, where=where)
    user_id = _text(raw, "from_user_id", _ID_CHARS, where=where) or user_ids.get(wa_id, "")
    if not wa_id and not user_id:
        raise UntranslatableChange(f"{where} names no contact ('from' and 'from_user_id' are empty)")
    kind = _text(raw, "type", _CODE_CHARS, where=where) or "unknown"
    referral = raw.get("referral")
    referral_source_id: str | None = None
    if isinstance(referral, Mapping):
        referral_source_id = _text(referral, "source_id", _ID_CHARS, where=f"{where}.referral")
    system_type = system_body = ""
    if kind == "system":
        system = raw.get("system")
        if isinstance(system, Mapping):
            system_type = _text(system, "type", _CODE_CHARS, where=f"{where}.system")
            system_body = _text(system, "body", _TEXT_CHARS, where=f"{where}.system")
    return InboundMessage(message_id, at, wa_id, user_id, kind, referral_source_id, system_type, system_body)


def _status(index: int, raw: object, phone_number_id: str, received_at: datetime) -> StatusUpdate | None:
    where = f"statuses[{index}]"
    if not isinstance(raw, Mapping):
        raise UntranslatableChange(f"{where} must be an object, got {type_name(raw)}")
    wamid = _text(raw, "id", _WAMID_CHARS, where=where)
    if not wamid:
        raise UntranslatableChange(f"{where} has no id")
    raw_status = _text(raw, "status", _CODE_CHARS, where=where)
    status = delivery_status(raw_status)
    if status is None:
        return None  # a status this version does not know: the change stays in the inbox as sent
    error_code, error_title = _first_error(raw.get("errors"), where)
    return StatusUpdate(
        wamid=wamid,
        phone_number_id=phone_number_id,
        status=status,
        raw_status=raw_status,
        at=_time(raw, where, received_at),
        recipient_id=_text(raw, "recipient_id", _ID_CHARS, where=where),
        recipient_user_id=_text(raw, "recipient_user_id", _ID_CHARS, where=where),
        error_code=error_code,
        error_title=error_title,
        pricing=_pricing(raw.get("pricing"), where),
        callback_data=_text(raw, "biz_opaque_callback_data", _TEXT_CHARS, where=where),
    )


def _contact_user_ids(raw: object) -> dict[str, str]:
    """wa_id -> user_id from `contacts[]`, so a message naming one finds both."""
    found: dict[str, str] = {}
    if not isinstance(raw, list):
        return found
    for index, contact in enumerate(raw):
        if isinstance(contact, Mapping):
            wa_id = _text(contact, "wa_id", _ID_CHARS, where=f"contacts[{index}]")
            user_id = _text(contact, "user_id", _ID_CHARS, where=f"contacts[{index}]")
            if wa_id and user_id:
                found[wa_id] = user_id
    return found


def _first_error(raw: object, where: str) -> tuple[int | None, str]:
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], Mapping):
        return None, ""
    error = raw[0]
    code = error.get("code")
    if isinstance(code, str) and code.strip().isdecimal() and code.strip().isascii():
        code = int(code.strip())
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code < 2**31:
        code = None
    title = _text(error, "title", _TEXT_CHARS, where=f"{where}.errors[0]") or _text(
        error, "message", _TEXT_CHARS, where=f"{where}.errors[0]"
    )
    return code, title


def _pricing(raw: object, where: str) -> Pricing | None:
    if not isinstance(raw, Mapping):
        return None
    billable = raw.get("billable")
    return Pricing(
        billable=billable if isinstance(billable, bool) else None,
        model=_text(raw, "pricing_model", _CODE_CHARS, where=f"{where}.pricing"),
        type=_text(raw, "type", _CODE_CHARS, where=f"{where}.pricing"),
        category=_text(raw, "category", _CODE_CHARS, where=f"{where}.pricing"),
    )


def _time(raw: Mapping[str, Any], where: str, received_at: datetime) -> datetime:
    at = meta_time(raw.get("timestamp"))
    if at is None:
        raise UntranslatableChange(
            f"{where} timestamp must be Unix seconds, got {short(raw.get('timestamp'))}"
        )
    # A message dated ahead of its arrival would hold a window open that Meta has closed.
    return received_at if at > received_at + MAX_FUTURE_SKEW else at


def _list(value: Mapping[str, Any], key: str) -> Sequence[object]:
    raw = value.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise UntranslatableChange(f"messages change {key!r} must be a list, got {type_name(raw)}")
    return raw


def _text(raw: Mapping[str, Any], key: str, limit: int, *, where: str) -> str:
    """A string (or an integer id, as Meta sometimes sends them) that can be stored; '' when absent."""
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise UntranslatableChange(f"{where}.{key} must be a string, got {short(value)}")
    value = value.strip()
    if problem := text_problem(value):
        raise UntranslatableChange(f"{where}.{key} {problem}")
    if len(value) > limit:
        raise UntranslatableChange(f"{where}.{key} is {len(value)} characters; Meta never sends over {limit}")
    return value
