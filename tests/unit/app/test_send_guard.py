"""The send guard over the in-memory store: one way to read a contact, per-message denials in a
batch, and only what is known about a window (in-memory fakes; gRPC in test_grpc_conversations)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth import Principal
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateOrganization
from app.errors import NotFound
from app.send_guard import FreeFormDraft, FreeFormType, SendGuard, ValidationRequest, contact_key
from app.template_cache import TemplateCache
from app.window_cache import WindowCache
from domain.conversations import ConversationWindow
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock

WABA, PHONE = "301122334455667", "109876543210987"
TEXT = FreeFormDraft(FreeFormType.TEXT, "hello")


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("+1 (415) 555-0100", "14155550100"),
        ("1.415.555.0100", "14155550100"),
        ("14155550100", "14155550100"),
        (" US.1234567890 ", "US.1234567890"),
        ("+١٤١٥", "+١٤١٥"),  # not ASCII digits: taken as a user id, never as a number
    ],
)
def test_a_contact_is_read_the_same_way_everywhere(written: str, key: str) -> None:
    assert contact_key(written) == key


async def guard() -> tuple[SendGuard, Principal, FrozenClock, FakeUnitOfWorkFactory]:
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    bus = build_bus(factory, clock)
    org = await bus.handle(CreateOrganization("acme"))
    await bus.handle(AddWaba("acme", WABA, phone_number_ids=(PHONE,)))
    async with factory() as uow:
        window = ConversationWindow("w", org.org_id, PHONE, wa_id="14155550100", updated_at=clock.now())
        window.inbound("wamid.1", clock.now() - timedelta(hours=1))
        await uow.windows.add_many([window])
        await uow.commit()
    return (
        SendGuard(clock, TemplateCache(factory), WindowCache(factory)),
        Principal(org.org_id, Role.VIEWER, "k"),
        clock,
        factory,
    )


async def test_an_unregistered_number_denies_only_its_own_message_in_a_batch() -> None:
    send_guard, principal, _, _ = await guard()
    results = await send_guard.validate_many(
        principal,
        [ValidationRequest(PHONE, "+1 (415) 555-0100", TEXT), ValidationRequest("999", "14155550100", TEXT)],
    )
    assert [r.allowed for r in results] == [True, False]
    assert [d.reason for d in results[1].denials] == ["PHONE_NUMBER_NOT_FOUND"]
    with pytest.raises(NotFound):
        await send_guard.validate(principal, ValidationRequest("999", "14155550100", TEXT))


async def test_a_moment_before_the_contact_s_latest_message_is_not_said_to_be_open() -> None:
    send_guard, principal, clock, _ = await guard()
    past = await send_guard.check_window(principal, PHONE, "14155550100", clock.now() - timedelta(days=365))
    assert not past.status.open
    assert (await send_guard.check_window(principal, PHONE, "14155550100")).status.open
