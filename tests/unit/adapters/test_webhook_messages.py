"""The `messages` field -> MessagesChange: inbound messages (windows) and statuses (message records)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.http.webhook.translators import MetaWebhookTranslator
from app.inbox import IgnoredChange, InboundMessage, MessagesChange, UntranslatableChange
from domain.messages import DeliveryStatus, Pricing, StatusUpdate

SAMPLES_DIR = Path(__file__).parents[2] / "fixtures" / "samples"
WABA = "301122334455667"
PHONE = "109876543210987"
RECEIVED_AT = datetime(2025, 11, 26, 16, 0, tzinfo=UTC)
T = MetaWebhookTranslator()


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def translate_body(body: bytes) -> MessagesChange | IgnoredChange:
    [raw] = T.split(body)
    result = T.translate(raw, RECEIVED_AT)
    assert isinstance(result, MessagesChange | IgnoredChange)
    return result


def messages_value(**value: Any) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE},
                            **value,
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body).encode()


def translate(**value: Any) -> MessagesChange:
    result = translate_body(messages_value(**value))
    assert isinstance(result, MessagesChange)
    return result


def refused(**value: Any) -> str:
    with pytest.raises(UntranslatableChange) as info:
        translate_body(messages_value(**value))
    return info.value.reason


def test_sample_inbound_text() -> None:
    result = translate_body((SAMPLES_DIR / "01_inbound_text.json").read_bytes())
    assert result == MessagesChange(
        WABA,
        PHONE,
        inbound=(
            InboundMessage(
                "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0VCMEEx", at(1764151200), "447700900123", "", "text"
            ),
        ),
    )


def test_sample_click_to_whatsapp_referral_names_the_ad() -> None:
    result = translate_body((SAMPLES_DIR / "02_inbound_text_ctwa_referral.json").read_bytes())
    assert isinstance(result, MessagesChange)
    [message] = result.inbound
    assert (message.wa_id, message.referral_source_id, message.at) == (
        "4915112345678",
        "120200000000000001",
        at(1764151500),
    )


def test_sample_delivered_status_with_pricing_and_callback_data() -> None:
    result = translate_body((SAMPLES_DIR / "03_status_delivered.json").read_bytes())
    assert isinstance(result, MessagesChange)
    assert result.statuses == (
        StatusUpdate(
            wamid="wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQjc4",
            phone_number_id=PHONE,
            status=DeliveryStatus.DELIVERED,
            raw_status="delivered",
            at=at(1764151262),
            recipient_id="447700900123",
            pricing=Pricing(False, "PMP", "free_customer_service", "utility"),
            callback_data="campaign=spring26;row=42",
        ),
    )


def test_sample_failed_status_keeps_the_code_and_title() -> None:
    result = translate_body((SAMPLES_DIR / "04_status_failed_131049.json").read_bytes())
    assert isinstance(result, MessagesChange)
    [status] = result.statuses
    assert (status.status, status.error_code, status.error_title) == (
        DeliveryStatus.FAILED,
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
    )


def test_a_username_contact_is_known_by_its_user_id() -> None:
    result = translate(
        contacts=[{"profile": {"name": "Ana"}, "wa_id": "", "user_id": "US.1234567890"}],
        messages=[
            {
                "from": "",
                "from_user_id": "US.1234567890",
                "id": "wamid.U1",
                "timestamp": "1764151200",
                "type": "text",
            }
        ],
    )
    assert (result.inbound[0].wa_id, result.inbound[0].user_id) == ("", "US.1234567890")


def test_both_ids_are_kept_when_the_contacts_block_names_both() -> None:
    result = translate(
        contacts=[{"wa_id": "447700900123", "user_id": "GB.999"}],
        messages=[{"from": "447700900123", "id": "wamid.B1", "timestamp": 1764151200, "type": "image"}],
    )
    assert (result.inbound[0].wa_id, result.inbound[0].user_id) == ("447700900123", "GB.999")


def test_a_system_message_is_marked_as_such() -> None:
    result = translate(
        messages=[
            {
                "from": "447700900123",
                "id": "wamid.S1",
                "timestamp": "1764151200",
                "type": "system",
                "system": {
                    "body": "User changed number",
                    "type": "user_changed_number",
                    "wa_id": "447700900999",
                },
            }
        ]
    )
    [message] = result.inbound
    assert message.is_system
    assert (message.system_type, message.system_body) == ("user_changed_number", "User changed number")


def test_a_message_dated_far_ahead_is_dated_when_it_arrived() -> None:
    ahead = int((RECEIVED_AT + timedelta(hours=5)).timestamp())
    result = translate(messages=[{"from": "1", "id": "wamid.F", "timestamp": str(ahead), "type": "text"}])
    assert result.inbound[0].at == RECEIVED_AT


def test_statuses_this_version_does_not_know_are_left_alone() -> None:
    result = translate(
        statuses=[
            {"id": "wamid.1", "status": "sent", "timestamp": "1764151200", "recipient_id": "1"},
            {"id": "wamid.1", "status": "deleted", "timestamp": "1764151201", "recipient_id": "1"},
        ]
    )
    assert [s.status for s in result.statuses] == [DeliveryStatus.SENT]
    only_unknown = translate_body(
        messages_value(statuses=[{"id": "wamid.1", "status": "warning", "timestamp": "1764151201"}])
    )
    assert isinstance(only_unknown, IgnoredChange)


def test_a_system_error_notice_alone_is_skipped() -> None:
    assert isinstance(translate_body(messages_value(errors=[{"code": 131000, "title": "x"}])), IgnoredChange)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"metadata": None}, "'metadata' must be an object"),
        ({"metadata": {"phone_number_id": ""}}, "no metadata.phone_number_id"),
        ({"messages": {"id": "x"}}, "'messages' must be a list"),
        ({"messages": [{"from": "1", "timestamp": "1764151200"}]}, "messages[0] has no id"),
        ({"messages": [{"from": "1", "id": "w", "timestamp": "soon"}]}, "messages[0] timestamp must be Unix"),
        ({"messages": [{"from": "", "id": "w", "timestamp": "1"}]}, "names no contact"),
        ({"messages": [{"from": "1\x00", "id": "w", "timestamp": "1"}]}, "messages[0].from contains a NUL"),
        (
            {"messages": [{"from": "1" * 65, "id": "w", "timestamp": "1"}]},
            "messages[0].from is 65 characters",
        ),
        ({"statuses": [{"status": "sent", "timestamp": "1"}]}, "statuses[0] has no id"),
        ({"statuses": [{"id": "w", "status": "read", "timestamp": None}]}, "statuses[0] timestamp"),
        ({"statuses": [7]}, "statuses[0] must be an object"),
    ],
)
def test_what_cannot_be_applied_is_refused_with_the_reason(value: dict[str, Any], needle: str) -> None:
    if "metadata" in value:
        body = json.loads(messages_value())
        body["entry"][0]["changes"][0]["value"]["metadata"] = value["metadata"]
        with pytest.raises(UntranslatableChange) as info:
            translate_body(json.dumps(body).encode())
        assert needle in info.value.reason
        return
    assert needle in refused(**value)


def test_error_codes_sent_as_strings_are_read_and_garbage_codes_are_dropped() -> None:
    def code_of(raw: object) -> int | None:
        status = {"id": "w", "status": "failed", "timestamp": "1", "errors": [{"code": raw, "title": "t"}]}
        return translate(statuses=[status]).statuses[0].error_code

    assert code_of("131047") == 131047
    assert code_of("²") is None
    assert code_of(True) is None
    assert code_of(-1) is None
