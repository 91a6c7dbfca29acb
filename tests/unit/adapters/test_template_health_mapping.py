"""What the health API shows of Meta's raw documents always fits a default client's message."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from adapters.grpc.template_health_mapping import (
    MAX_DOCUMENT_JSON_BYTES,
    event_to_proto,
    inbox_change_to_proto,
)
from app.inbox import InboxChange
from app.ports import StoredTemplateEvent
from domain.events import TemplateEvent
from domain.observations import Aspect, ChangeSource, Outcome

NOW = datetime(2026, 12, 1, tzinfo=UTC)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def record(details: dict[str, object]) -> StoredTemplateEvent:
    event = TemplateEvent(
        id="e1",
        template_id="t1",
        org_id="o1",
        waba_id="301122334455667",
        template_name="order_ready.en_US",
        aspect=Aspect.STATUS,
        source=ChangeSource.WEBHOOK,
        outcome=Outcome.APPLIED,
        from_value="APPROVED",
        to_value="PAUSED",
        reason="",
        occurred_at=NOW,
        received_at=NOW,
        details=details,
    )
    return StoredTemplateEvent(1, event)


def change(value: Mapping[str, object]) -> InboxChange:
    return InboxChange("c1", "d1", "k1", "301122334455667", "messages", NOW, value, NOW)


@pytest.mark.parametrize(
    "document",
    [
        {"raw": {"other_info": {"title": "😀" * 700_000}}},  # 2.8 MB of 4-byte characters
        {"raw": {"a": [0] * 1_000_000}},  # compact JSON keeps it small, but it is still over the budget
        {"raw": {"ctl": "\x01" * 1_000_000}},  # each control character escapes to six bytes
    ],
    ids=["emoji", "many-items", "control-characters"],
)
def test_a_huge_document_is_shown_truncated_within_the_budget(document: dict[str, object]) -> None:
    for message, text in (
        (event := event_to_proto(record(document)), event.details_json),
        (shown := inbox_change_to_proto(change(document)), shown.value_json),
    ):
        assert message.ByteSize() < MAX_MESSAGE_BYTES
        assert len(text.encode()) <= MAX_DOCUMENT_JSON_BYTES
        assert json.loads(text)["_truncated"] is True


def test_a_document_within_the_budget_is_shown_whole_and_compact() -> None:
    document = {"event": "PAUSED", "other_info": {"title": "Paused", "description": "low quality"}}
    shown = json.loads(inbox_change_to_proto(change(document)).value_json)
    assert shown == document
    assert ", " not in inbox_change_to_proto(change(document)).value_json


def test_a_lone_surrogate_never_breaks_a_read() -> None:
    shown = inbox_change_to_proto(change({"text": "bad \ud800 text"}))
    assert "\\ud800" in shown.value_json
    assert shown.SerializeToString()
