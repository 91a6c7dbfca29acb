"""error_from_response on its own: the edges a live server seldom shows (no server needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from adapters.meta_graph.errors import error_from_response
from app.errors import MetaRateLimited, MetaRequestRejected, MetaUnavailable, MetaWindowClosed

WINDOW_CLOSED = {
    "error": {
        "message": "(#131047) Re-engagement message",
        "type": "OAuthException",
        "code": 131047,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Message failed to send because more than 24 hours have passed",
        },
        "fbtrace_id": "AbCdEf123",
    }
}


def test_metas_words_code_details_and_trace_id_are_all_in_the_message() -> None:
    error = error_from_response(400, json.dumps(WINDOW_CLOSED).encode())

    assert isinstance(error, MetaWindowClosed)
    assert str(error) == (
        "Meta refused the request: (#131047) Re-engagement message - Message failed to send because more "
        "than 24 hours have passed (code 131047, HTTP 400, fbtrace_id AbCdEf123)"
    )
    assert (error.code, error.subcode, error.fbtrace_id, error.http_status) == (131047, 0, "AbCdEf123", 400)
    assert error.details == "Message failed to send because more than 24 hours have passed"


def test_an_already_parsed_body_is_accepted() -> None:
    assert isinstance(error_from_response(400, WINDOW_CLOSED), MetaWindowClosed)


def test_a_body_that_is_not_json_is_unavailable() -> None:
    error = error_from_response(502, b"<html><h1>502 Bad Gateway</h1></html>")

    assert isinstance(error, MetaUnavailable)
    assert str(error) == "Meta answered HTTP 502 with a body that is not JSON"
    assert error.details == "<html><h1>502 Bad Gateway</h1></html>"
    assert error.retryable is True


def test_creation_errors_carry_metas_user_title_and_message_as_details() -> None:
    body = {
        "error": {
            "message": "Invalid parameter",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 2388024,
            "error_user_title": "Content in this language already exists",
            "error_user_msg": "There is already English (US) content for this template.",
            "fbtrace_id": "Axyz",
        }
    }
    error = error_from_response(400, body)

    assert isinstance(error, MetaRequestRejected)
    assert error.subcode == 2388024
    assert error.details == (
        "Content in this language already exists: There is already English (US) content for this template."
    )
    assert "subcode 2388024" in str(error)


def test_error_data_given_as_a_json_string_is_read() -> None:
    body = {
        "error": {"message": "(#100) Invalid parameter", "code": 100, "error_data": '{"details": "bad name"}'}
    }
    assert error_from_response(400, body).details == "bad name"


def test_a_string_code_is_still_a_code() -> None:
    assert isinstance(error_from_response(400, {"error": {"code": "131047"}}), MetaWindowClosed)


def test_an_unknown_code_on_http_429_is_a_rate_limit() -> None:
    error = error_from_response(429, {"error": {"message": "slow down", "code": 999}})
    assert isinstance(error, MetaRateLimited)
    assert error.retry_after_seconds == 60.0


def test_a_missing_code_is_not_mistaken_for_code_0() -> None:
    # Code 0 means "AuthException"; a missing code on a 400 is just a refusal.
    assert type(error_from_response(400, {"error": {"message": "nope"}})) is MetaRequestRejected


@pytest.mark.parametrize(("code", "seconds"), [(130429, 1.0), (80007, 60.0), (4, 60.0), (131056, 6.0)])
def test_rate_limit_waits_default_per_code(code: int, seconds: float) -> None:
    error = error_from_response(400, {"error": {"code": code}})
    assert isinstance(error, MetaRateLimited)
    assert error.retry_after_seconds == seconds
    assert error.retryable is (code != 131056)


def test_retry_after_may_be_an_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    error = error_from_response(
        429, {"error": {"code": 130429}}, headers={"retry-after": format_datetime(when, usegmt=True)}
    )
    assert isinstance(error, MetaRateLimited)
    assert 85 <= error.retry_after_seconds <= 91


def test_an_unreadable_retry_after_falls_back_to_the_default() -> None:
    error = error_from_response(429, {"error": {"code": 130429}}, headers={"Retry-After": "soon"})
    assert isinstance(error, MetaRateLimited)
    assert error.retry_after_seconds == 1.0


def test_a_hostile_error_body_is_quoted_short_and_printable() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "x" * 100_000 + "\x00",
                "code": 131000,
                "fbtrace_id": "y" * 100_000,
                "error_data": {"details": "bad \x00 \ud800 text"},
            }
        }
    ).encode()

    error = error_from_response(400, body)

    for text in (str(error), error.fbtrace_id, error.details):
        assert len(text) <= 1_200
        assert "\x00" not in text
        assert text.encode("utf-8")  # no lone surrogate left: it must travel in gRPC trailers
