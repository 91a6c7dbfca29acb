"""Conversation windows and outbound message records behave alike on every store: found by either
contact id, unique per organization, paged newest first, counted per template."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.message_ports import ContactRef, DeliveryCounts, MessageQuery
from app.ports import UnitOfWorkFactory
from domain.conversations import ConversationWindow
from domain.messages import DeliveryStatus, MessageKind, OutboundMessage, Pricing, SendOutcome
from support.store_samples import NOW, ORG_A, ORG_B, WABA_A1

PHONE = "109876543210987"


def window(window_id: str, org_id: str = ORG_A, **kwargs: object) -> ConversationWindow:
    return ConversationWindow(window_id, org_id, PHONE, updated_at=NOW, **kwargs)  # type: ignore[arg-type]


def message(message_id: str, minutes: int = 0, org_id: str = ORG_A, **kwargs: object) -> OutboundMessage:
    values: dict[str, object] = {
        "template_id": "tpl-1",
        "template_name": "order_ready",
        "language_code": "en_US",
        "category": "UTILITY",
        "values": {"first_name": "Dana"},
    }
    values.update(kwargs)
    to = str(values.pop("to", "447700900123"))
    return OutboundMessage(
        message_id,
        org_id,
        WABA_A1,
        PHONE,
        to,
        MessageKind.TEMPLATE,
        NOW + timedelta(minutes=minutes),
        **values,  # type: ignore[arg-type]
    )


async def test_a_window_is_found_by_either_id_and_only_in_its_organization(
    uow_factory: UnitOfWorkFactory,
) -> None:
    both = window(
        "w1", wa_id="447700900123", user_id="GB.1", last_inbound_at=NOW, last_inbound_message_id="wamid.1"
    )
    phone_only, user_only = window("w2", wa_id="15550001111"), window("w3", user_id="US.9")
    async with uow_factory() as uow:
        await uow.windows.add_many([both, phone_only, user_only, window("w4", ORG_B, wa_id="447700900123")])
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.windows.find(ORG_A, PHONE, "447700900123") == both
        assert await uow.windows.find(ORG_A, PHONE, "GB.1") == both
        assert await uow.windows.find(ORG_A, PHONE, "US.9") == user_only
        assert await uow.windows.find(ORG_A, "other-phone", "447700900123") is None
        found = await uow.windows.lock_for_contacts(
            [
                ContactRef(ORG_A, PHONE, "GB.1"),
                ContactRef(ORG_A, PHONE, "15550001111"),
                ContactRef(ORG_A, PHONE, ""),
            ]
        )
        assert sorted(w.id for w in found) == ["w1", "w2"]
        # Merging: the window known by user id goes, the other takes the id over.
        await uow.windows.delete_many(["w3"])
        await uow.windows.save_many(
            [replace(phone_only, user_id="US.9", updated_at=NOW + timedelta(hours=1))]
        )
        await uow.commit()
    async with uow_factory() as uow:
        merged = await uow.windows.find(ORG_A, PHONE, "US.9")
        assert merged is not None
        assert (merged.id, merged.wa_id, merged.updated_at) == ("w2", "15550001111", NOW + timedelta(hours=1))


async def test_two_windows_cannot_share_a_contact_id(
    uow_factory: UnitOfWorkFactory, integrity_error: type[Exception]
) -> None:
    async with uow_factory() as uow:
        await uow.windows.add_many([window("w1", wa_id="1")])
        with pytest.raises(integrity_error):
            await uow.windows.add_many([window("w2", wa_id="1")])


async def test_a_message_round_trips_and_a_request_id_is_used_once(uow_factory: UnitOfWorkFactory) -> None:
    first = message("m1", request_id="req-1", request_fingerprint="f1")
    async with uow_factory() as uow:
        assert await uow.messages.add(first)
        assert not await uow.messages.add(message("m2", request_id="req-1"))
        assert await uow.messages.add(message("m3", org_id=ORG_B, request_id="req-1"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.messages.get(ORG_A, "m1") == first
        assert await uow.messages.get(ORG_B, "m1") is None
        assert await uow.messages.get(ORG_A, "m2") is None
        assert await uow.messages.get_by_request(ORG_A, "req-1") == first
        stored = await uow.messages.get(ORG_A, "m1")
        assert stored is not None
        stored.accepted("wamid.1", "447700900123", "accepted", NOW)
        stored.pricing = Pricing(True, "PMP", "regular", "utility")
        stored.text = "ignored: what the caller asked for never changes"
        await uow.messages.save(stored)
        await uow.commit()
    async with uow_factory() as uow:
        saved = await uow.messages.get_by_wamid(ORG_A, "wamid.1")
        assert saved is not None
        assert (saved.outcome, saved.wamid, saved.pricing, saved.text) == (
            SendOutcome.ACCEPTED,
            "wamid.1",
            Pricing(True, "PMP", "regular", "utility"),
            "",
        )
        assert await uow.messages.get_by_wamid(ORG_B, "wamid.1") is None
        assert [m.id for m in await uow.messages.lock_by_wamids(ORG_A, ["wamid.1", "wamid.none"])] == ["m1"]
        await uow.messages.delete(ORG_B, "m1")
        assert await uow.messages.get(ORG_A, "m1") is not None
        await uow.messages.delete(ORG_A, "m1")
        assert await uow.messages.get(ORG_A, "m1") is None


async def test_messages_list_newest_first_with_filters_and_keyset_pages(
    uow_factory: UnitOfWorkFactory,
) -> None:
    rows = [
        message("m1", 1, status=DeliveryStatus.READ, read_at=NOW, sent_at=NOW),
        message("m2", 2, status=DeliveryStatus.FAILED, failed_at=NOW, outcome=SendOutcome.REJECTED),
        message("m3", 3, template_id="tpl-2"),
        message(
            "m4", 4, to="15550001111", wa_id="15550001111", status=DeliveryStatus.DELIVERED, delivered_at=NOW
        ),
        message("m5", 5, org_id=ORG_B),
    ]
    async with uow_factory() as uow:
        await uow.messages.add_many(rows)
        await uow.commit()
    async with uow_factory() as uow:

        async def ids(**kwargs: object) -> list[str]:
            query = MessageQuery(ORG_A, **kwargs)  # type: ignore[arg-type]
            return [m.id for m in await uow.messages.list(query)]

        assert await ids() == ["m4", "m3", "m2", "m1"]
        assert await ids(limit=2) == ["m4", "m3"]
        assert await ids(limit=2, after=(NOW + timedelta(minutes=3), "m3")) == ["m2", "m1"]
        assert await ids(contact="+15550001111") == ["m4"]
        assert await ids(template_id="tpl-2") == ["m3"]
        assert await ids(statuses=frozenset({DeliveryStatus.READ, DeliveryStatus.FAILED})) == ["m2", "m1"]
        assert await ids(
            created_from=NOW + timedelta(minutes=2), created_before=NOW + timedelta(minutes=4)
        ) == [
            "m3",
            "m2",
        ]
        assert await ids(outcomes=frozenset({SendOutcome.REJECTED})) == ["m2"]
        assert await ids(phone_number_id="another") == []
        counts = await uow.messages.delivery_counts(ORG_A, "tpl-1", None, None)
        # m4 was delivered without a `sent` webhook: it counts as sent too.
        assert counts == DeliveryCounts(total=3, sent=2, delivered=2, read=1, failed=1, rejected=1)
        assert await uow.messages.delivery_counts(ORG_B, "tpl-2", None, None) == DeliveryCounts()


async def test_only_sends_still_sending_and_old_enough_expire(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.messages.add_many(
            [
                message("old", 0, request_id="r-old"),
                message("recent", 10),
                message("answered", 0, outcome=SendOutcome.ACCEPTED, wamid="wamid.a"),
                message("other-org", 0, org_id=ORG_B),
            ]
        )
        await uow.commit()
    later = NOW + timedelta(minutes=5)
    async with uow_factory() as uow:
        assert await uow.messages.expire_sending(later, later, "lost", org_id=ORG_A, request_id="nope") == 0
        assert await uow.messages.expire_sending(later, later, "lost", org_id=ORG_A) == 1
        assert await uow.messages.expire_sending(later, later, "lost") == 1  # the other organization's
        await uow.commit()
    async with uow_factory() as uow:
        outcomes = {m: (await uow.messages.get(ORG_A, m)) for m in ("old", "recent", "answered")}
        assert {m: (r.outcome if r else None) for m, r in outcomes.items()} == {
            "old": SendOutcome.UNKNOWN,
            "recent": SendOutcome.SENDING,
            "answered": SendOutcome.ACCEPTED,
        }
        old = outcomes["old"]
        assert old is not None
        assert (old.error_title, old.updated_at) == ("lost", later)
