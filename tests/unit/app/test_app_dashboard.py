"""The dashboard's use cases over the in-memory fakes: sign-in sessions and quality trends."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from app.auth import Authenticator, Principal
from app.bootstrap import build_bus
from app.commands import CreateApiKey, CreateOrganization, RevokeApiKey
from app.dashboard_sessions import DashboardSessions
from app.errors import Unauthenticated
from app.quality_trends import QualityTrends
from domain.events import TemplateEvent, template_event
from domain.observations import Aspect, ChangeSource, Outcome
from domain.status import TemplateQuality
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock
from support.store_samples import WABA_A1, add_organizations_and_wabas, new_template


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


async def sessions_with_key(
    clock: FrozenClock, role: Role = Role.VIEWER
) -> tuple[DashboardSessions, str, str, FakeUnitOfWorkFactory]:
    factory = FakeUnitOfWorkFactory()
    bus = build_bus(factory, clock)
    await bus.handle(CreateOrganization("acme"))
    issued = await bus.handle(CreateApiKey("acme", role))
    sessions = DashboardSessions(factory, Authenticator(factory, 0), clock, timedelta(hours=1))
    return sessions, issued.secret, issued.prefix, factory


async def test_a_session_resolves_to_its_keys_principal_until_it_expires(clock: FrozenClock) -> None:
    sessions, secret, _, factory = await sessions_with_key(clock)

    signed = await sessions.sign_in(secret)
    again = await sessions.resolve(signed.session_id)

    assert again is not None
    assert again.principal == signed.principal
    assert again.csrf_token == signed.csrf_token
    async with factory(read_only=True) as uow:
        stored = list(uow.sessions._tables.read.sessions.values())  # type: ignore[attr-defined]
    # Neither the session id nor the key is stored, only hashes.
    assert signed.session_id not in str(stored)
    assert secret not in str(stored)
    clock.advance(hours=1)
    assert await sessions.resolve(signed.session_id) is None


async def test_two_sign_ins_have_their_own_ids_and_csrf_tokens(clock: FrozenClock) -> None:
    sessions, secret, _, _ = await sessions_with_key(clock)

    one, two = await sessions.sign_in(secret), await sessions.sign_in(secret)

    assert one.session_id != two.session_id
    assert one.csrf_token != two.csrf_token


async def test_signing_out_or_revoking_the_key_ends_the_session(clock: FrozenClock) -> None:
    sessions, secret, prefix, factory = await sessions_with_key(clock)
    out, revoked = await sessions.sign_in(secret), await sessions.sign_in(secret)

    await sessions.sign_out(out.session_id)
    await build_bus(factory, clock).handle(RevokeApiKey(prefix))

    assert await sessions.resolve(out.session_id) is None
    assert await sessions.resolve(revoked.session_id) is None
    assert await sessions.resolve("") is None
    with pytest.raises(Unauthenticated):
        await sessions.sign_in(secret)


async def test_quality_trends_work_back_from_each_templates_history(clock: FrozenClock) -> None:
    factory = FakeUnitOfWorkFactory()
    await add_organizations_and_wabas(factory)
    now = clock.now()
    old = replace(new_template("t-old"), created_at=now - timedelta(days=40), quality=TemplateQuality.RED)
    young = replace(
        new_template("t-young", display_name="young"),
        created_at=now - timedelta(days=3),
        quality=TemplateQuality.GREEN,
    )
    async with factory() as uow:
        await uow.templates.add(old)
        await uow.templates.add(young)
        # GREEN until 10 days ago, YELLOW until 2 days ago, RED since.
        await uow.template_events.add(
            [
                quality_change(old.id, old.org_id, "GREEN", "YELLOW", now - timedelta(days=10)),
                quality_change(old.id, old.org_id, "YELLOW", "RED", now - timedelta(days=2)),
            ]
        )
        await uow.commit()
    principal = Principal(org_id=old.org_id, role=Role.VIEWER, key_id="k")

    [trend] = [t for t in await QualityTrends(factory, clock).trends(principal) if t.waba_id == WABA_A1]

    now_counts, week, month = (point.counts for point in trend.points)
    assert (now_counts[TemplateQuality.RED], now_counts[TemplateQuality.GREEN]) == (1, 1)
    assert (week[TemplateQuality.YELLOW], week[TemplateQuality.GREEN]) == (1, 0)  # young did not exist
    assert month[TemplateQuality.GREEN] == 1
    assert trend.change(TemplateQuality.RED, 7) == 1


def quality_change(template_id: str, org_id: str, before: str, after: str, at: datetime) -> TemplateEvent:
    return template_event(
        Aspect.QUALITY,
        id=uuid.uuid4().hex,
        template_id=template_id,
        org_id=org_id,
        waba_id=WABA_A1,
        template_name="order_ready.en_US",
        source=ChangeSource.WEBHOOK,
        outcome=Outcome.APPLIED,
        from_value=before,
        to_value=after,
        reason="",
        occurred_at=at,
        received_at=at,
        details={},
    )
