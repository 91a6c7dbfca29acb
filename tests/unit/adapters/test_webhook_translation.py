"""Meta webhook JSON -> RawChange -> TemplateChange/IgnoredChange (adapters.http.webhook); the
`messages` field has its own module (test_webhook_messages).

The sample payloads (tests/fixtures/samples, real-shaped Meta deliveries) are read at test time; the
variants below cover what the fact sheet lists for every template field, and hypothesis feeds both
steps arbitrary JSON to prove nothing but MalformedDelivery/UntranslatableChange ever escapes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.http.webhook.envelope import nesting_depth
from adapters.http.webhook.splitter import idempotency_key, meta_time
from adapters.http.webhook.translators import MetaWebhookTranslator
from app.inbox import (
    IgnoredChange,
    ImpendingCategory,
    MalformedDelivery,
    RawChange,
    TemplateChange,
    UntranslatableChange,
)
from app.meta_ports import WebhookTranslator
from domain.components import Button, ButtonType, Components, Header, HeaderFormat
from domain.observations import PARTIAL_COMPONENTS, Aspect, ChangeSource, Observation
from domain.status import TemplateCategory

SAMPLES_DIR = Path(__file__).parents[2] / "fixtures" / "samples"
WABA = "301122334455667"
ENTRY_TIME = 1764153000
RECEIVED_AT = datetime(2025, 11, 26, 16, 0, tzinfo=UTC)  # after every entry time used below
T = MetaWebhookTranslator()
_TRANSLATOR: WebhookTranslator = T  # the adapter satisfies the port (checked by a type checker)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def load_sample(name: str) -> bytes:
    return (SAMPLES_DIR / name).read_bytes()


def envelope(*entries: Any, **extra: Any) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": list(entries), **extra}).encode()


def entry(*changes: Any, waba: Any = WABA, time: Any = ENTRY_TIME, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"id": waba, "changes": list(changes), **extra}
    if time is not None:
        result["time"] = time
    return result


def change(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "value": value}


def status_value(event: str = "APPROVED", **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": 918273645500112,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not ABSENT}


ABSENT: Any = object()


def split_one(body: bytes) -> RawChange:
    changes = T.split(body)
    assert len(changes) == 1
    return changes[0]


def translate_one(field: str, value: Any, *, time: Any = ENTRY_TIME, waba: Any = WABA) -> TemplateChange:
    result = T.translate(split_one(envelope(entry(change(field, value), time=time, waba=waba))), RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    return result


def only_observation(result: TemplateChange) -> Observation:
    assert len(result.observations) == 1
    return result.observations[0]


def untranslatable(field: str, value: Any, **kwargs: Any) -> str:
    with pytest.raises(UntranslatableChange) as info:
        translate_one(field, value, **kwargs)
    assert info.value.reason
    return info.value.reason


# ---- the sample payloads -----------------------------------------------------------------------


def test_sample_approved() -> None:
    raw = split_one(load_sample("05_template_approved.json"))
    assert (raw.waba_id, raw.field, raw.entry_time) == (
        WABA,
        "message_template_status_update",
        at(1764153000),
    )
    result = T.translate(raw, RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    assert (result.waba_id, result.meta_template_id, result.display_name, result.language_code) == (
        WABA,
        "918273645500112",
        "order_ready",
        "en_US",
    )
    assert result.category == "UTILITY"
    assert result.impending_category is None
    observation = only_observation(result)
    assert observation == Observation(
        Aspect.STATUS,
        "APPROVED",
        ChangeSource.WEBHOOK,
        at(1764153000),
        reason="",  # Meta's placeholder NONE explains nothing
        details={"raw": raw.value},
    )


def test_sample_rejected_keeps_rejection_info() -> None:
    result = T.translate(split_one(load_sample("06_template_rejected_invalid_format.json")), RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    observation = only_observation(result)
    assert (observation.value, observation.reason, result.category) == (
        "REJECTED",
        "INVALID_FORMAT",
        "MARKETING",
    )
    assert observation.described == (
        "INVALID_FORMAT: Two variables appear side by side with nothing between them. "
        "Recommendation: Put descriptive words or punctuation between each variable."
    )
    assert observation.details["rejection_info"] == {
        "reason": "Two variables appear side by side with nothing between them.",
        "recommendation": "Put descriptive words or punctuation between each variable.",
    }
    assert result.meta_template_id == "918273645500113"


def test_sample_paused_keeps_other_info() -> None:
    result = T.translate(split_one(load_sample("07_template_paused_first_pause.json")), RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    observation = only_observation(result)
    assert observation.value == "PAUSED"
    assert observation.occurred_at == at(1764160000)
    # Its `reason` is Meta's placeholder NONE: what an alert says comes from other_info.
    assert observation.reason == ""
    assert observation.described == (
        "FIRST_PAUSE: Your template was paused because of low quality feedback from recipients."
    )
    assert observation.details["other_info"] == {
        "title": "FIRST_PAUSE",
        "description": "Your template was paused because of low quality feedback from recipients.",
    }


def test_sample_disabled_keeps_disable_and_other_info() -> None:
    result = T.translate(split_one(load_sample("08_template_disabled.json")), RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    observation = only_observation(result)
    assert observation.value == "DISABLED"
    assert observation.details["disable_info"] == {"disable_date": 1764200000}
    assert observation.details["other_info"]["title"] == "DISABLED"  # type: ignore[index]


def test_sample_quality_green_to_red() -> None:
    raw = split_one(load_sample("09_quality_green_to_red.json"))
    result = T.translate(raw, RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    assert result.meta_template_id == "918273645500114"
    assert only_observation(result) == Observation(
        Aspect.QUALITY,
        "RED",
        ChangeSource.WEBHOOK,
        at(1764159000),
        details={"previous": "GREEN", "raw": raw.value},
        previous="GREEN",
    )


def test_sample_batched_category_and_components_are_both_split_and_translated() -> None:
    first, second = T.split(load_sample("10_batched_category_and_components.json"))
    assert (first.field, second.field) == ("template_category_update", "message_template_components_update")
    assert first.entry_time == second.entry_time == at(1764170000)
    assert first.key != second.key

    impending = T.translate(first, RECEIVED_AT)
    assert isinstance(impending, TemplateChange)
    assert impending.observations == ()
    assert impending.meta_template_id == "918273645500112"
    assert impending.impending_category == ImpendingCategory(
        current=TemplateCategory.UTILITY,
        upcoming=TemplateCategory.MARKETING,
        raw_upcoming="MARKETING",
        effective_at=at(1764256400),
    )

    edited = T.translate(second, RECEIVED_AT)
    assert isinstance(edited, TemplateChange)
    assert (edited.meta_template_id, edited.display_name) == ("918273645500115", "pickup_reminder")
    observation = only_observation(edited)
    assert observation.aspect is Aspect.COMPONENTS
    assert observation.occurred_at == at(1764170000)
    assert observation.components == Components(
        body="Hi {{1}}, your pickup window closes at {{2}} today.",
        header=Header(HeaderFormat.TEXT, "Pickup reminder"),
        footer="Reply HELP for support",
        buttons=(
            Button(ButtonType.URL, "Manage pickup", url="https://example.com/p/{{1}}"),
            Button(ButtonType.PHONE_NUMBER, "Call store", phone_number="+15550002222"),
        ),
    )
    assert observation.value == "header TEXT, body 51 chars, footer, 2 buttons"
    assert "skipped_buttons" not in observation.details


# ---- status updates ---------------------------------------------------------------------------

EVENTS = [
    "APPROVED",
    "REJECTED",
    "PENDING",
    "PAUSED",
    "DISABLED",
    "FLAGGED",
    "REINSTATED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "LIMIT_EXCEEDED",
    "LOCKED",
    "ARCHIVED",
    "UNARCHIVED",
    "SOMETHING_META_INVENTS_NEXT_YEAR",
]


@pytest.mark.parametrize("event", EVENTS)
def test_every_status_event_is_observed_verbatim(event: str) -> None:
    result = translate_one("message_template_status_update", status_value(event))
    observation = only_observation(result)
    assert (observation.aspect, observation.value, observation.source) == (
        Aspect.STATUS,
        event,
        ChangeSource.WEBHOOK,
    )
    assert observation.occurred_at == at(ENTRY_TIME)
    assert (result.meta_template_id, result.display_name, result.language_code) == (
        "918273645500112",
        "order_ready",
        "en_US",
    )
    assert observation.details["raw"] == status_value(event)


def test_status_event_is_uppercased() -> None:
    assert only_observation(
        translate_one("message_template_status_update", status_value(" approved "))
    ).value == ("APPROVED")


@pytest.mark.parametrize(
    ("event", "extra_key", "extra"),
    [
        (
            "REJECTED",
            "rejection_info",
            {"reason": "Variables are next to each other.", "recommendation": "Add words between them."},
        ),
        ("PAUSED", "other_info", {"title": "SECOND_PAUSE", "description": "Paused again for 6 hours."}),
        ("APPROVED", "other_info", {"title": "UNPAUSE", "description": "Your template has been unpaused."}),
        ("DISABLED", "disable_info", {"disable_date": 1764200000}),
    ],
)
def test_status_extra_info_is_kept_in_details(event: str, extra_key: str, extra: dict[str, Any]) -> None:
    observation = only_observation(
        translate_one("message_template_status_update", status_value(event, **{extra_key: extra}))
    )
    assert observation.details[extra_key] == extra
    assert {"other_info", "rejection_info", "disable_info"} & set(observation.details) == {extra_key}


@pytest.mark.parametrize(
    ("reason", "expected"), [(None, ""), (ABSENT, ""), ("NONE", ""), ("none", ""), ("SCAM", "SCAM")]
)
def test_status_reason_null_absent_or_text(reason: Any, expected: str) -> None:
    observation = only_observation(
        translate_one("message_template_status_update", status_value(reason=reason))
    )
    assert observation.reason == expected


def test_status_category_is_optional() -> None:
    result = translate_one("message_template_status_update", status_value(message_template_category=ABSENT))
    assert result.category == ""


@pytest.mark.parametrize(
    ("raw_id", "expected"),
    [
        (918273645500112, "918273645500112"),
        ("918273645500112", "918273645500112"),
        (" 918273645500112 ", "918273645500112"),
        (918273645500112.0, "918273645500112"),
    ],
)
def test_template_id_number_or_string(raw_id: Any, expected: str) -> None:
    result = translate_one("message_template_status_update", status_value(message_template_id=raw_id))
    assert result.meta_template_id == expected


@pytest.mark.parametrize(
    "raw_id",
    [True, False, 1.5, [1], {"id": 1}, -3, float(2**60), pytest.param(10**5000, id="int-beyond-str-limit")],
)
def test_template_id_of_another_type_is_untranslatable(raw_id: Any) -> None:
    value = status_value(message_template_id=raw_id)
    raw = RawChange("k", WABA, "message_template_status_update", None, value)  # 10**5000 cannot be JSON
    with pytest.raises(UntranslatableChange, match="message_template_id"):
        T.translate(raw, RECEIVED_AT)


def test_name_and_language_identify_a_template_without_an_id() -> None:
    result = translate_one("message_template_status_update", status_value(message_template_id=ABSENT))
    assert (result.meta_template_id, result.display_name, result.language_code) == (
        "",
        "order_ready",
        "en_US",
    )


@pytest.mark.parametrize(
    "missing",
    [
        {"message_template_id": ABSENT, "message_template_name": ABSENT},
        {"message_template_id": ABSENT, "message_template_language": ABSENT},
        {"message_template_id": None, "message_template_name": "", "message_template_language": ""},
        {"message_template_id": "", "message_template_name": ABSENT, "message_template_language": ABSENT},
    ],
)
def test_unidentifiable_template_is_untranslatable(missing: dict[str, Any]) -> None:
    reason = untranslatable("message_template_status_update", status_value(**missing))
    assert "missing message_template_id" in reason


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"event": ""}, "event"),
        ({"event": None}, "event"),
        ({"event": 3}, "event"),
        ({"reason": 7}, "reason"),
        ({"reason": {"text": "x"}}, "reason"),
        ({"message_template_name": 12, "message_template_id": ABSENT}, "message_template_name"),
        ({"message_template_language": ["en"]}, "message_template_language"),
    ],
)
def test_status_update_with_wrong_types_is_untranslatable(overrides: dict[str, Any], needle: str) -> None:
    assert needle in untranslatable("message_template_status_update", status_value(**overrides))


def test_status_field_without_event_is_untranslatable() -> None:
    reason = untranslatable("message_template_status_update", {"message_template_id": 1})
    assert reason == "message_template_status_update without 'event'"


def test_entry_without_a_waba_id_cannot_be_a_template_change() -> None:
    for waba in (None, {"id": 1}, True, ""):
        assert "WABA" in untranslatable("message_template_status_update", status_value(), waba=waba)


def test_numeric_waba_id_becomes_a_string() -> None:
    assert (
        translate_one("message_template_status_update", status_value(), waba=301122334455667).waba_id == WABA
    )


def test_unknown_extra_fields_are_tolerated_everywhere() -> None:
    value = status_value(brand_new_key={"nested": [1, 2]}, another=None)
    body = envelope(
        entry({**change("message_template_status_update", value), "extra_change_key": 1}, entry_extra="x"),
        envelope_extra={"a": 1},
    )
    result = T.translate(split_one(body), RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    assert only_observation(result).details["raw"] == value


# ---- entry time -------------------------------------------------------------------------------


def test_absent_entry_time_falls_back_to_received_at() -> None:
    raw = split_one(envelope(entry(change("message_template_status_update", status_value()), time=None)))
    assert raw.entry_time is None
    result = T.translate(raw, RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    assert only_observation(result).occurred_at == RECEIVED_AT


@pytest.mark.parametrize(
    ("raw_time", "expected"),
    [
        (1764153000, at(1764153000)),
        (1764153000.5, at(1764153000) + timedelta(milliseconds=500)),
        ("1764153000", at(1764153000)),
        (" 1764153000.25 ", at(1764153000) + timedelta(milliseconds=250)),
        ("soon", None),
        ("", None),
        (True, None),
        (None, None),
        ([1764153000], None),
        (0, None),
        (-5, None),
        (10**30, None),
        pytest.param(10**400, None, id="int-beyond-float"),
        ("nan", None),
        ("inf", None),
        (math.inf, None),
    ],
)
def test_meta_time(raw_time: Any, expected: datetime | None) -> None:
    parsed = meta_time(raw_time)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_garbage_entry_time_is_none_and_observation_uses_received_at() -> None:
    raw = split_one(
        envelope(entry(change("message_template_status_update", status_value()), time="yesterday"))
    )
    assert raw.entry_time is None
    result = T.translate(raw, RECEIVED_AT)
    assert isinstance(result, TemplateChange)
    assert only_observation(result).occurred_at == RECEIVED_AT


# ---- quality updates --------------------------------------------------------------------------


def quality_value(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "previous_quality_score": "GREEN",
        "new_quality_score": "YELLOW",
        "message_template_id": 918273645500114,
        "message_template_name": "weekly_digest",
        "message_template_language": "en_US",
    }
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not ABSENT}


@pytest.mark.parametrize("field", ["message_template_quality_update", "message_template_status_update"])
def test_quality_update_is_recognised_by_shape_even_when_mislabelled(field: str) -> None:
    observation = only_observation(translate_one(field, quality_value()))
    assert (observation.aspect, observation.value) == (Aspect.QUALITY, "YELLOW")
    assert observation.details == {"previous": "GREEN", "raw": quality_value()}


def test_quality_unknown_score_is_kept_verbatim() -> None:
    observation = only_observation(
        translate_one("message_template_quality_update", quality_value(new_quality_score="UNKNOWN"))
    )
    assert observation.value == "UNKNOWN"


@pytest.mark.parametrize("score", [None, "", 3, ["RED"]])
def test_quality_update_without_a_usable_score_is_untranslatable(score: Any) -> None:
    assert "new_quality_score" in untranslatable(
        "message_template_quality_update", quality_value(new_quality_score=score)
    )


def test_quality_field_without_score_is_untranslatable() -> None:
    reason = untranslatable("message_template_quality_update", {"message_template_id": 1})
    assert "new_quality_score" in reason


# ---- category updates -------------------------------------------------------------------------


def test_completed_category_change_is_an_observation() -> None:
    value = {
        "message_template_id": 918273645500112,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "previous_category": "UTILITY",
        "new_category": "MARKETING",
    }
    result = translate_one("template_category_update", value)
    assert result.impending_category is None
    assert result.category == "MARKETING"
    assert only_observation(result) == Observation(
        Aspect.CATEGORY,
        "MARKETING",
        ChangeSource.WEBHOOK,
        at(ENTRY_TIME),
        details={"previous": "UTILITY", "raw": value},
        previous="UTILITY",
    )


def test_a_category_update_naming_only_the_new_category_is_a_completed_change() -> None:
    value = {
        "message_template_id": 918273645500112,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "new_category": "MARKETING",
    }
    result = translate_one("template_category_update", value)
    assert result.impending_category is None
    observation = only_observation(result)
    assert (observation.aspect, observation.value, observation.previous) == (Aspect.CATEGORY, "MARKETING", "")


def test_impending_category_change_is_a_warning_not_an_observation() -> None:
    value = {
        "message_template_id": "918273645500112",
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "new_category": "UTILITY",
        "correct_category": "MARKETING",
        "category_update_timestamp": 1764256400,
    }
    result = translate_one("template_category_update", value)
    assert result.observations == ()
    assert result.category == "UTILITY"
    assert result.impending_category == ImpendingCategory(
        TemplateCategory.UTILITY, TemplateCategory.MARKETING, "MARKETING", at(1764256400)
    )


def test_impending_category_is_parsed_liberally() -> None:
    value = {
        "message_template_id": 1,
        "new_category": "utility",
        "correct_category": "MARKETING_LITE",
        "category_update_timestamp": "not a time",
    }
    result = translate_one("template_category_update", value)
    assert result.impending_category == ImpendingCategory(
        TemplateCategory.UTILITY, None, "MARKETING_LITE", None
    )


def test_impending_category_without_current_category() -> None:
    result = translate_one(
        "template_category_update", {"message_template_id": 1, "correct_category": "MARKETING"}
    )
    assert result.impending_category == ImpendingCategory(None, TemplateCategory.MARKETING, "MARKETING", None)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"message_template_id": 1}, "new_category"),
        ({"message_template_id": 1, "previous_category": "UTILITY"}, "new_category"),
        ({"message_template_id": 1, "previous_category": "UTILITY", "new_category": ""}, "new_category"),
        ({"message_template_id": 1, "previous_category": "UTILITY", "new_category": 5}, "new_category"),
        ({"message_template_id": 1, "correct_category": None}, "correct_category"),
        ({"message_template_id": 1, "correct_category": ["MARKETING"]}, "correct_category"),
    ],
)
def test_unusable_category_update_is_untranslatable(value: dict[str, Any], needle: str) -> None:
    assert needle in untranslatable("template_category_update", value)


# ---- components updates -----------------------------------------------------------------------


def components_value(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "message_template_id": 918273645500115,
        "message_template_name": "pickup_reminder",
        "message_template_language": "en_US",
        "message_template_element": "Your pickup is ready.",
    }
    value.update(overrides)
    return value


def test_components_body_only() -> None:
    observation = only_observation(translate_one("message_template_components_update", components_value()))
    assert observation.components == Components(body="Your pickup is ready.")
    assert observation.value == "body 21 chars"
    assert observation.details == {"raw": components_value(), PARTIAL_COMPONENTS: True}


def test_components_with_header_and_footer_without_buttons() -> None:
    value = components_value(message_template_title="Pickup", message_template_footer="Reply STOP")
    observation = only_observation(translate_one("message_template_components_update", value))
    assert observation.components == Components(
        body="Your pickup is ready.", header=Header(HeaderFormat.TEXT, "Pickup"), footer="Reply STOP"
    )


def test_components_buttons_best_effort() -> None:
    buttons = [
        {"message_template_button_type": "url", "message_template_button_text": "Open",
         "message_template_button_url": "https://example.com"},
        {"message_template_button_type": "PHONE_NUMBER", "message_template_button_text": "Call",
         "message_template_button_phone_number": "+15550002222"},
        {"message_template_button_type": "QUICK_REPLY", "message_template_button_text": "Thanks"},
        {"message_template_button_type": "FLOW", "message_template_button_text": "Book"},
        {"message_template_button_type": "URL", "message_template_button_text": "No link"},
        {"message_template_button_type": "PHONE_NUMBER", "message_template_button_text": "No number"},
        "not a button",
        {"message_template_button_type": 3, "message_template_button_text": "x"},
    ]  # fmt: skip
    observation = only_observation(
        translate_one(
            "message_template_components_update", components_value(message_template_buttons=buttons)
        )
    )
    assert observation.components is not None
    assert observation.components.buttons == (
        Button(ButtonType.URL, "Open", url="https://example.com"),
        Button(ButtonType.PHONE_NUMBER, "Call", phone_number="+15550002222"),
        Button(ButtonType.QUICK_REPLY, "Thanks"),
    )
    skipped = observation.details["skipped_buttons"]
    assert isinstance(skipped, list)
    assert len(skipped) == 5
    assert any("'FLOW'" in note for note in skipped)
    assert any("URL button without a URL" in note for note in skipped)
    assert observation.value == "body 21 chars, 3 buttons"


def test_components_recognised_by_shape_under_the_status_field_name() -> None:
    observation = only_observation(translate_one("message_template_status_update", components_value()))
    assert observation.aspect is Aspect.COMPONENTS


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"message_template_element": None}, "message_template_element"),
        ({"message_template_element": 5}, "message_template_element"),
        ({"message_template_title": {"text": "x"}}, "message_template_title"),
        ({"message_template_footer": 3}, "message_template_footer"),
        ({"message_template_buttons": {"a": 1}}, "message_template_buttons"),
    ],
)
def test_unreadable_components_are_untranslatable(overrides: dict[str, Any], needle: str) -> None:
    assert needle in untranslatable("message_template_components_update", components_value(**overrides))


def test_components_field_without_body_is_untranslatable() -> None:
    reason = untranslatable("message_template_components_update", {"message_template_id": 1})
    assert "message_template_element" in reason


# ---- fields this version does not act on ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_update", {"phone_number": "15550001111", "event": "VERIFIED_ACCOUNT"}),
        ("phone_number_quality_update", {"display_phone_number": "15550001111", "event": "FLAGGED"}),
        ("brand_new_field", {"message_template_id": 1, "new_quality_score": "RED"}),
    ],
)
def test_other_fields_are_ignored_even_when_they_look_like_template_events(field: str, value: Any) -> None:
    raw = split_one(envelope(entry(change(field, value))))
    assert T.translate(raw, RECEIVED_AT) == IgnoredChange(f"field {field!r} is not handled by this version")


def test_ignored_needs_no_waba() -> None:
    raw = split_one(envelope(entry(change("account_update", {"x": 1}), waba=None, time=None)))
    assert isinstance(T.translate(raw, RECEIVED_AT), IgnoredChange)


# ---- splitting --------------------------------------------------------------------------------


def test_every_entry_and_every_change_is_split() -> None:
    body = envelope(
        entry(
            change("message_template_status_update", status_value("APPROVED")),
            change("message_template_quality_update", quality_value()),
            waba="111",
            time=1764153000,
        ),
        entry(
            change("message_template_status_update", status_value("PAUSED")),
            change("account_update", {"event": "VERIFIED_ACCOUNT"}),
            waba="222",
            time=1764153060,
        ),
    )
    changes = T.split(body)
    assert [(c.waba_id, c.field, c.entry_time) for c in changes] == [
        ("111", "message_template_status_update", at(1764153000)),
        ("111", "message_template_quality_update", at(1764153000)),
        ("222", "message_template_status_update", at(1764153060)),
        ("222", "account_update", at(1764153060)),
    ]
    assert len({c.key for c in changes}) == 4
    results = [T.translate(c, RECEIVED_AT) for c in changes]
    assert [type(r) for r in results] == [TemplateChange, TemplateChange, TemplateChange, IgnoredChange]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"whatsapp_business_account"', "must be a JSON object"),
        (b'{"object": "page", "entry": []}', "'object' must be"),
        (b'{"entry": []}', "'object' must be"),
        (b'{"object": "whatsapp_business_account"}', "'entry' must be a list"),
        (b'{"object": "whatsapp_business_account", "entry": {"id": "1"}}', "'entry' must be a list"),
        (b'{"object": "whatsapp_business_account", "entry": []}', "'entry' is empty"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
        (b'{"object": "whatsapp_business_account", "entry": [], "x": NaN}', "NaN"),
        (b'{"object": "whatsapp_business_account", "entry": [], "x": Infinity}', "Infinity"),
        (b'{"object": "whatsapp_business_account", "entry": [], "x": 1e400}', "1e400"),
        (b'{"object": "whatsapp_business_account", "entry": [{"id": "\\ud800"}]}', "lone UTF-16 surrogate"),
        (b'{"object": "whatsapp_business_account", "entry": [{"\\udfff": 1}]}', "lone UTF-16 surrogate"),
        (
            b'{"object": "whatsapp_business_account", "entry": [], "x": ' + b"[" * 64 + b"]" * 64 + b"}",
            "deeper",
        ),
    ],
)
def test_malformed_deliveries(body: bytes, needle: str) -> None:
    with pytest.raises(MalformedDelivery, match=needle):
        T.split(body)


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        (["just a string"], "entry[0] is not an object"),
        ([None], "entry[0] is not an object"),
        ([{"id": WABA, "time": 1}], "entry[0] has no 'changes' list"),
        ([{"id": WABA, "changes": {"field": "x"}}], "entry[0] has no 'changes' list"),
        ([{"id": WABA, "changes": []}], "entry[0] has an empty 'changes'"),
        ([{"id": WABA, "changes": [7]}], "entry[0].changes[0] is not an object"),
        ([{"id": WABA, "changes": [{"value": {"event": "APPROVED"}}]}], "entry[0].changes[0] has no 'field'"),
        ([{"id": WABA, "changes": [{"field": 3, "value": {}}]}], "entry[0].changes[0] has no 'field'"),
        (
            [{"id": WABA, "changes": [{"field": "message_template_status_update"}]}],
            "(message_template_status_update) has no 'value' object",
        ),
        (
            [{"id": WABA, "changes": [{"field": "messages", "value": [1]}]}],
            "(messages) has no 'value' object",
        ),
    ],
)
def test_unusable_entries_and_changes_are_kept_and_parked_with_a_reason(
    entries: list[Any], needle: str
) -> None:
    raw = split_one(envelope(*entries))
    assert raw.field == ""
    assert "_raw" in raw.value
    with pytest.raises(UntranslatableChange) as info:
        T.translate(raw, RECEIVED_AT)
    assert needle in info.value.reason


def test_a_bad_change_does_not_hide_its_good_neighbours() -> None:
    body = envelope(
        "garbage",
        entry(7, change("message_template_status_update", status_value()), {"field": "x"}),
    )
    changes = T.split(body)
    assert [c.field for c in changes] == ["", "", "message_template_status_update", ""]
    assert isinstance(T.translate(changes[2], RECEIVED_AT), TemplateChange)


# ---- idempotency keys -------------------------------------------------------------------------


def test_the_same_change_has_the_same_key_whatever_the_batching_and_formatting() -> None:
    value = status_value()
    alone = split_one(envelope(entry(change("message_template_status_update", value))))
    batched = T.split(
        envelope(
            entry(change("messages", {"x": 1})),
            entry(
                change("message_template_quality_update", quality_value()),
                change("message_template_status_update", value),
            ),
        )
    )[2]
    reordered = split_one(
        json.dumps(
            {
                "entry": [
                    {
                        "changes": [
                            {
                                "value": dict(reversed(list(value.items()))),
                                "field": "message_template_status_update",
                            }
                        ],
                        "time": ENTRY_TIME,
                        "id": WABA,
                    }
                ],
                "object": "whatsapp_business_account",
            },
            indent=2,
        ).encode()
    )
    assert alone.key == batched.key == reordered.key
    assert len(alone.key) == 64
    assert int(alone.key, 16) >= 0


def test_duplicate_delivery_gives_the_same_keys() -> None:
    body = load_sample("10_batched_category_and_components.json")
    assert [c.key for c in T.split(body)] == [c.key for c in T.split(body)]


@pytest.mark.parametrize(
    "variant",
    [
        {"time": ENTRY_TIME + 1},
        {"time": None},
        {"waba": "999"},
        {"field": "message_template_quality_update"},
        {"value": status_value("PAUSED")},
        {"value": status_value(reason="SCAM")},
    ],
)
def test_different_changes_have_different_keys(variant: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "waba": WABA,
        "time": ENTRY_TIME,
        "field": "message_template_status_update",
        "value": status_value(),
    }
    other: dict[str, Any] = {**base, **variant}
    key_of = [
        split_one(envelope(entry(change(p["field"], p["value"]), waba=p["waba"], time=p["time"]))).key
        for p in (base, other)
    ]
    assert key_of[0] != key_of[1]


def test_messages_keys_differ_by_wamid_and_status() -> None:
    def status_change(wamid: str, status: str) -> RawChange:
        value = {
            "messaging_product": "whatsapp",
            "statuses": [{"id": wamid, "status": status, "timestamp": "1"}],
        }
        return split_one(envelope(entry(change("messages", value), time=None)))

    keys = {
        status_change("wamid.A", "sent").key,
        status_change("wamid.A", "read").key,
        status_change("wamid.B", "sent").key,
    }
    assert len(keys) == 3
    assert status_change("wamid.A", "sent").key == status_change("wamid.A", "sent").key


def test_key_is_the_hash_of_the_canonical_change() -> None:
    value = status_value()
    raw = split_one(envelope(entry(change("message_template_status_update", value))))
    assert raw.key == idempotency_key(
        WABA, "message_template_status_update", ENTRY_TIME, copy.deepcopy(value)
    )


# ---- nothing but the documented errors escapes, for any input ---------------------------------

FIELDS = [
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "message_template_components_update",
    "messages",
    "account_update",
    "",
]
VALUE_KEYS = [
    "event",
    "reason",
    "message_template_id",
    "message_template_name",
    "message_template_language",
    "message_template_category",
    "other_info",
    "rejection_info",
    "disable_info",
    "previous_quality_score",
    "new_quality_score",
    "previous_category",
    "new_category",
    "correct_category",
    "category_update_timestamp",
    "message_template_element",
    "message_template_title",
    "message_template_footer",
    "message_template_buttons",
    "message_template_button_type",
    "message_template_button_text",
    "message_template_button_url",
    "message_template_button_phone_number",
    "_raw",
    "_problem",
]
PLAUSIBLE = st.sampled_from(
    [
        "APPROVED",
        "REJECTED",
        "NONE",
        "UTILITY",
        "MARKETING",
        "RED",
        "URL",
        "PHONE_NUMBER",
        "QUICK_REPLY",
        "en_US",
        "1",
        "",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | PLAUSIBLE
    | st.integers(min_value=0, max_value=2**53)
)
keys = st.sampled_from(VALUE_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=25,
)
BUTTON_KEYS = [k for k in VALUE_KEYS if k.startswith("message_template_button_")]
buttons = st.lists(
    st.dictionaries(st.sampled_from(BUTTON_KEYS), PLAUSIBLE | json_values, max_size=4) | json_values,
    max_size=4,
)
# Valid values of every template shape, to be mutated: random values alone almost never reach a
# TemplateChange, and the interesting cases are the ones that are nearly right.
VALID_VALUES = [
    status_value("APPROVED"),
    status_value("REJECTED", rejection_info={"reason": "x", "recommendation": "y"}),
    status_value("DISABLED", disable_info={"disable_date": 1764200000}, reason=None),
    quality_value(),
    {"message_template_id": 1, "previous_category": "UTILITY", "new_category": "MARKETING"},
    {
        "message_template_id": 1,
        "new_category": "UTILITY",
        "correct_category": "MARKETING",
        "category_update_timestamp": 1,
    },
    components_value(
        message_template_title="t",
        message_template_footer="f",
        message_template_buttons=[
            {
                "message_template_button_type": "URL",
                "message_template_button_text": "a",
                "message_template_button_url": "u",
            }
        ],
    ),
]


def mutated(base: dict[str, Any], changes: dict[str, Any], removed: set[str]) -> dict[str, Any]:
    return {k: v for k, v in {**base, **changes}.items() if k not in removed}


near_valid = st.builds(
    mutated,
    st.sampled_from(VALID_VALUES),
    st.dictionaries(st.sampled_from(VALUE_KEYS), PLAUSIBLE | json_values, max_size=3)
    | st.fixed_dictionaries({"message_template_buttons": buttons}),
    st.sets(st.sampled_from(VALUE_KEYS), max_size=2),
)
template_values = (
    near_valid | st.dictionaries(st.sampled_from(VALUE_KEYS), json_values, max_size=10) | json_values
)
times = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([ENTRY_TIME, str(ENTRY_TIME)])
    | json_values
)
changes_ = (
    st.fixed_dictionaries({"field": st.sampled_from(FIELDS[:-1]), "value": near_valid})
    | st.fixed_dictionaries(
        {}, optional={"field": st.sampled_from(FIELDS) | json_values, "value": template_values}
    )
    | json_values
)
entries = (
    st.fixed_dictionaries(
        {"id": st.sampled_from([WABA, 301122334455667]), "changes": st.lists(changes_, max_size=4)},
        optional={"time": times},
    )
    | st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from([WABA, 301122334455667]) | json_values,
            "time": times,
            "changes": st.lists(changes_, max_size=4) | json_values,
        },
    )
    | json_values
)
envelopes = (
    st.fixed_dictionaries(
        {"object": st.just("whatsapp_business_account"), "entry": st.lists(entries, min_size=1, max_size=3)}
    )
    | st.fixed_dictionaries(
        {
            "object": st.just("whatsapp_business_account") | json_values,
            "entry": st.lists(entries, max_size=4) | json_values,
        }
    )
    | json_values
)


def check_translation(raw: RawChange) -> None:
    assert isinstance(raw, RawChange)
    assert len(raw.key) == 64
    reason: str | None
    try:
        result = T.translate(raw, RECEIVED_AT)
    except UntranslatableChange as exc:
        reason = exc.reason
    else:
        reason = None
    if reason is not None:
        assert reason, "an untranslatable change must say why"
        event("UntranslatableChange")
        return
    assert isinstance(result, TemplateChange | IgnoredChange)
    event(type(result).__name__)
    if isinstance(result, TemplateChange):
        assert result.waba_id
        assert result.meta_template_id or (result.display_name and result.language_code)
        for observation in result.observations:
            assert observation.occurred_at.tzinfo is not None
            json.dumps(observation.details)  # storable as JSON


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=envelopes)
def test_fuzz_random_envelopes(document: Any) -> None:
    problem: str | None
    try:
        changes = T.split(json.dumps(document).encode())
    except MalformedDelivery as exc:
        problem = str(exc)
    else:
        problem = None
    if problem is not None:
        assert problem, "a malformed delivery must say why"
        return
    for raw in changes:
        check_translation(raw)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_fuzz_random_bytes(body: bytes) -> None:
    try:
        changes = T.split(body)
    except MalformedDelivery:
        return
    for raw in changes:
        check_translation(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(FIELDS[:4]) | st.sampled_from(FIELDS) | st.text(max_size=10),
    value=template_values,
    waba=st.sampled_from([WABA, ""]),
    entry_time=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_fuzz_translate_any_raw_change(
    field: str, value: Any, waba: str, entry_time: datetime | None
) -> None:
    # translate() is also called on changes read back from the inbox, not only on split()'s output.
    check_translation(RawChange("0" * 64, waba, field, entry_time, value))


@pytest.mark.parametrize("value", [{}, {"_problem": ""}, {"_problem": 3}, {"event": "APPROVED"}])
def test_change_without_field_always_has_a_reason(value: dict[str, Any]) -> None:
    with pytest.raises(UntranslatableChange, match="change has no 'field'"):
        T.translate(RawChange("k", WABA, "", None, value), RECEIVED_AT)


def test_value_that_is_not_an_object_is_untranslatable() -> None:
    with pytest.raises(UntranslatableChange, match="must be an object, got a list"):
        T.translate(RawChange("k", WABA, "message_template_status_update", None, [1]), RECEIVED_AT)  # type: ignore[arg-type]


# ---- texts that become columns must be storable on every database --------------------------------


def test_nesting_depth_counts_objects_and_lists() -> None:
    assert nesting_depth(7, 64) == 0
    assert nesting_depth({"a": [1, {"b": []}]}, 64) == 4
    assert nesting_depth([[[[]]]], 2) == 3  # counts no further than the limit + 1


def test_a_waba_id_no_database_can_store_makes_the_entry_unusable() -> None:
    body = envelope(entry(change("message_template_status_update", status_value()))).replace(
        WABA.encode(), rb"3011\u0000"
    )
    raw = split_one(body)

    assert (raw.waba_id, raw.field) == ("", "")
    with pytest.raises(UntranslatableChange, match=r"entry\[0\]\.id contains"):
        T.translate(raw, RECEIVED_AT)


def test_a_field_no_database_can_store_makes_the_change_unusable() -> None:
    body = envelope(entry(change("messages", {})))
    raw = split_one(body.replace(b'"messages"', b'"mess\\u0000ages"'))

    assert raw.field == ""
    assert "changes[0].field contains a NUL" in str(raw.value["_problem"])


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"message_template_name": "order\x00ready"}, "message_template_name contains a NUL"),
        ({"event": "APPROVED\x00"}, "the status value contains a NUL"),
        ({"reason": "bad\x00reason"}, "the status reason contains a NUL"),
        ({"message_template_id": "91\x00"}, "message_template_id contains a NUL"),
    ],
)
def test_column_texts_that_cannot_be_stored_are_untranslatable_at_once(
    overrides: dict[str, Any], needle: str
) -> None:
    assert needle in untranslatable("message_template_status_update", status_value(**overrides))


def test_nul_inside_documents_is_kept_verbatim() -> None:
    # JSON documents escape it (\u0000), which both databases store: nothing is lost.
    result = translate_one("message_template_status_update", status_value(other_info={"title": "a\x00b"}))
    observation = only_observation(result)
    assert observation.details["other_info"] == {"title": "a\x00b"}
    assert observation.explanation == ""  # a column cannot hold it: left out of the explanation


# ---- what a Meta webhook never sends is refused before it can stall or bloat anything -------------


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        (
            "message_template_status_update",
            status_value(message_template_name="n" * 513),
            "message_template_name is 513 characters",
        ),
        (
            "message_template_status_update",
            status_value(message_template_id="9" * 65),
            "message_template_id is 65",
        ),
        (
            "message_template_status_update",
            status_value(event="E" * 129),
            "the status value is 129 characters",
        ),
        ("message_template_status_update", status_value(reason="r" * 4097), "the status reason is 4097"),
        (
            "message_template_components_update",
            {
                "message_template_id": 1,
                "message_template_name": "order_ready",
                "message_template_language": "en_US",
                "message_template_element": "{{1}} " * 700,
            },
            "message_template_element is 4200 characters",
        ),
    ],
)
def test_texts_longer_than_meta_ever_sends_are_untranslatable(
    field: str, value: dict[str, Any], needle: str
) -> None:
    assert needle in untranslatable(field, value)


def test_an_entry_id_longer_than_any_waba_id_makes_the_entry_unusable() -> None:
    raw = split_one(envelope(entry(change("messages", {}), waba="3" * 65)))
    assert (raw.waba_id, raw.field) == ("", "")
    assert "entry[0].id is 65 characters" in str(raw.value["_problem"])


@pytest.mark.parametrize(("ahead", "trusted"), [(timedelta(minutes=30), True), (timedelta(hours=2), False)])
def test_an_event_dated_far_in_the_future_is_dated_when_it_arrived(ahead: timedelta, trusted: bool) -> None:
    entry_time = int((RECEIVED_AT + ahead).timestamp())
    result = translate_one("message_template_status_update", status_value("DISABLED"), time=entry_time)
    expected = RECEIVED_AT + ahead if trusted else RECEIVED_AT
    assert only_observation(result).occurred_at == expected


@pytest.mark.parametrize("previous", ["x" * 200, "a\x00b", 7])
def test_a_previous_value_no_webhook_would_send_is_left_out_not_fatal(previous: object) -> None:
    value = {
        "message_template_id": 1,
        "message_template_name": "n",
        "message_template_language": "en",
        "previous_quality_score": previous,
        "new_quality_score": "RED",
    }
    observation = only_observation(translate_one("message_template_quality_update", value))
    assert (observation.value, observation.previous) == ("RED", "")
    assert observation.details["previous"] == previous  # kept as sent


def test_an_untranslatable_change_passes_through_context_managers() -> None:
    @contextlib.contextmanager
    def around() -> Iterator[None]:
        yield

    with pytest.raises(UntranslatableChange, match="nope"), around():
        raise UntranslatableChange("nope")
