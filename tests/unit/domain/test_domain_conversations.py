"""The 24-hour customer service window and the message records' status order, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.conversations import ConversationWindow, FreeEntryState, WindowState, window_status
from domain.messages import DeliveryStatus, MessageKind, OutboundMessage, Pricing, StatusUpdate

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = timedelta(seconds=1)


def window(**kwargs: object) -> ConversationWindow:
    return ConversationWindow("w1", "org", "phone", wa_id="447700900123", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("inbound", "at", "state"),
    [
        ([T0], T0, WindowState.OPEN),
        ([T0], T0 + 23 * H + 59 * 60 * S + 59 * S, WindowState.OPEN),
        ([T0], T0 + 24 * H, WindowState.CLOSED),  # open means now < last + 24 h
        ([T0], T0 + 24 * H + S, WindowState.CLOSED),
        ([T0, T0 + 10 * H], T0 + 30 * H, WindowState.OPEN),  # a later message resets it
        ([T0 + 10 * H, T0], T0 + 30 * H, WindowState.OPEN),  # a late, older one never shortens it
        ([T0, T0, T0], T0 + 24 * H, WindowState.CLOSED),  # duplicates are no-ops
        ([], T0, WindowState.CLOSED),  # never wrote
    ],
)
def test_the_window_is_open_for_24_hours_after_the_latest_inbound_message(
    inbound: list[datetime], at: datetime, state: WindowState
) -> None:
    w = window()
    for n, sent_at in enumerate(inbound):
        w.inbound(f"wamid.{n}", sent_at)
    status = w.status(at)
    assert status.state is state
    if inbound:
        assert status.last_inbound_at == max(inbound)
        assert status.closes_at == max(inbound) + 24 * H


def test_duplicates_and_older_messages_change_nothing() -> None:
    w = window()
    assert w.inbound("wamid.new", T0 + H)
    assert not w.inbound("wamid.new", T0 + H)
    assert not w.inbound("wamid.old", T0)
    assert (w.last_inbound_at, w.last_inbound_message_id) == (T0 + H, "wamid.new")


def test_an_unknown_contact_has_a_closed_window() -> None:
    status = window_status(None, T0)
    assert (status.state, status.last_inbound_at, status.closes_at) == (WindowState.CLOSED, None, None)


@pytest.mark.parametrize(
    ("closed_at", "later_inbound", "at", "state"),
    [
        (T0 + 2 * H, None, T0 + H, WindowState.OPEN),  # before Meta's word
        (T0 + 2 * H, None, T0 + 2 * H, WindowState.CLOSED),  # from that status time
        (T0 + 2 * H, None, T0 + 5 * H, WindowState.CLOSED),
        (T0 + 2 * H, T0 + 3 * H, T0 + 5 * H, WindowState.OPEN),  # until a newer inbound message
        (T0 - H, None, T0 + H, WindowState.OPEN),  # evidence older than the last message is spent
    ],
)
def test_a_131047_failure_closes_the_window_until_the_contact_writes_again(
    closed_at: datetime, later_inbound: datetime | None, at: datetime, state: WindowState
) -> None:
    w = window()
    w.inbound("wamid.1", T0)
    w.closed_by_meta(closed_at)
    if later_inbound is not None:
        w.inbound("wamid.2", later_inbound)
    assert w.status(at).state is state


def test_a_closing_131047_moves_the_closing_time_forward() -> None:
    w = window()
    w.inbound("wamid.1", T0)
    w.closed_by_meta(T0 + 2 * H)
    assert w.status(T0 + H).closes_at == T0 + 2 * H


@pytest.mark.parametrize(
    ("opened", "at", "expected"),
    [
        (None, T0 + H, (FreeEntryState.AVAILABLE, T0 + 24 * H)),  # reply within 24 h to open one
        (None, T0 + 24 * H, (FreeEntryState.NONE, None)),
        (T0 + 2 * H, T0 + 3 * H, (FreeEntryState.ACTIVE, T0 + 74 * H)),  # 72 h from the reply
        (T0 + 2 * H, T0 + 74 * H, (FreeEntryState.NONE, None)),
    ],
)
def test_a_click_to_whatsapp_referral_offers_a_free_entry_point(
    opened: datetime | None, at: datetime, expected: tuple[FreeEntryState, datetime | None]
) -> None:
    w = window()
    w.inbound("wamid.ad", T0, referral_source_id="120200000000000001")
    if opened is not None:
        w.free_entry_opened(opened)
    status = w.status(at)
    assert (status.free_entry, status.free_entry_until) == expected


def test_a_free_entry_point_never_opens_the_service_window() -> None:
    w = window()
    w.inbound("wamid.ad", T0, referral_source_id="")
    w.free_entry_opened(T0 + 2 * H)
    status = w.status(T0 + 30 * H)
    assert (status.state, status.free_entry) == (WindowState.CLOSED, FreeEntryState.ACTIVE)


def test_system_messages_are_recorded_and_never_open_the_window() -> None:
    w = window()
    assert w.system_message(T0, "user_changed_number", "User changed number")
    assert not w.system_message(T0 - H, "user_changed_number", "older")
    assert (w.last_system_type, w.last_system_body) == ("user_changed_number", "User changed number")
    assert w.status(T0).state is WindowState.CLOSED


def test_a_window_absorbs_what_another_knew_about_the_same_contact() -> None:
    by_phone = window()
    by_phone.inbound("wamid.1", T0)
    by_user = ConversationWindow("w2", "org", "phone", user_id="GB.1")
    by_user.inbound("wamid.2", T0 + H)
    by_phone.absorb(by_user)
    assert (by_phone.wa_id, by_phone.user_id, by_phone.last_inbound_at) == ("447700900123", "GB.1", T0 + H)


# ---- message records --------------------------------------------------------------------------


def record() -> OutboundMessage:
    return OutboundMessage("m1", "org", "waba", "phone", "447700900123", MessageKind.TEMPLATE, T0)


def update(status: DeliveryStatus, at: datetime, **kwargs: object) -> StatusUpdate:
    return StatusUpdate("wamid.1", "phone", status, status.value.lower(), at, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order", "final"),
    [
        ([DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ], DeliveryStatus.READ),
        ([DeliveryStatus.READ, DeliveryStatus.SENT, DeliveryStatus.DELIVERED], DeliveryStatus.READ),
        ([DeliveryStatus.SENT, DeliveryStatus.FAILED], DeliveryStatus.FAILED),
        ([DeliveryStatus.FAILED, DeliveryStatus.SENT], DeliveryStatus.FAILED),
        ([DeliveryStatus.SENT, DeliveryStatus.SENT], DeliveryStatus.SENT),
    ],
)
def test_a_record_shows_the_furthest_status_whatever_the_order(
    order: list[DeliveryStatus], final: DeliveryStatus
) -> None:
    message = record()
    times = {
        DeliveryStatus.SENT: T0,
        DeliveryStatus.DELIVERED: T0 + S,
        DeliveryStatus.READ: T0 + 2 * S,
        DeliveryStatus.FAILED: T0 + 3 * S,
    }
    for status in order:
        message.apply_status(update(status, times[status]), T0)
    assert message.status is final
    assert message.sent_at == T0


def test_a_repeated_status_is_a_no_op_and_failures_keep_meta_s_code() -> None:
    message = record()
    assert message.apply_status(
        update(DeliveryStatus.SENT, T0, pricing=Pricing(True, "PMP", "regular", "utility")), T0
    )
    assert not message.apply_status(
        update(DeliveryStatus.SENT, T0, pricing=Pricing(True, "PMP", "regular", "utility")), T0
    )
    assert message.apply_status(
        update(DeliveryStatus.FAILED, T0 + S, error_code=131047, error_title="Re-engagement"), T0
    )
    assert (message.error_code, message.error_title) == (131047, "Re-engagement")
    assert message.pricing == Pricing(True, "PMP", "regular", "utility")


def test_a_free_entry_window_runs_72_hours_from_its_first_priced_message() -> None:
    w = window()
    w.inbound("wamid.ad", T0, referral_source_id="1")
    assert w.free_entry_opened(T0 + H)
    # Every later message inside the window is priced as a free entry point too: it does not slide.
    assert not w.free_entry_opened(T0 + 71 * H)
    assert w.status(T0 + 73 * H).free_entry is FreeEntryState.NONE
    # A late webhook about an earlier message of the same window moves its start back.
    assert w.free_entry_opened(T0 + H - 60 * S)
    # A status from after the window ended starts a new one.
    assert w.free_entry_opened(T0 + 80 * H)
    assert w.status(T0 + 81 * H).free_entry is FreeEntryState.ACTIVE


def test_a_moment_before_the_latest_inbound_message_is_not_known_to_be_open() -> None:
    w = window()
    w.inbound("wamid.1", T0)
    assert w.status(T0 - H).state is WindowState.CLOSED
    assert w.status(T0).state is WindowState.OPEN
