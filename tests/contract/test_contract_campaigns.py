"""Campaigns, their history and audience, and the campaign policy behave alike on every store."""

from __future__ import annotations

from datetime import timedelta

from app.campaign_ports import AudienceWindows, CampaignQuery
from app.ports import UnitOfWorkFactory
from domain.campaigns import Campaign, CampaignPolicy, CampaignState, PauseReason
from domain.conversations import ConversationWindow
from support.store_samples import NOW, ORG_A, ORG_B, WABA_A1

PHONE = "109876543210987"


def campaign(
    campaign_id: str, minutes: int = 0, org_id: str = ORG_A, template_id: str = "tpl-1", **kw: str
) -> Campaign:
    return Campaign.create(
        campaign_id=campaign_id,
        org_id=org_id,
        waba_id=WABA_A1,
        phone_number_id=PHONE,
        template_id=template_id,
        template_name="order_ready",
        language_code="en_US",
        display_name=f"Campaign {campaign_id}",
        actor="apiKeys/abc",
        now=NOW + timedelta(minutes=minutes),
        **kw,
    )


async def test_a_campaign_round_trips_with_its_history(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.campaigns.add(campaign("c1", request_id="r-1", request_fingerprint="f"))
        assert not await uow.campaigns.add(campaign("c2", request_id="r-1"))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.campaigns.lock(ORG_A, "c1")
        assert found is not None
        assert (found.state, found.version, found.request_id) == (CampaignState.DRAFT, 0, "r-1")
        assert await uow.campaigns.get(ORG_B, "c1") is None
        assert await uow.campaigns.get(ORG_A, "c2") is None
        assert (await uow.campaigns.get_by_request(ORG_A, "r-1")) == found
        found.start("apiKeys/abc", NOW + timedelta(minutes=1))
        found.pause(PauseReason.TEMPLATE_PAUSED, "service", NOW + timedelta(minutes=2), "template paused")
        await uow.campaigns.save_many([found])
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.campaigns.get(ORG_A, "c1")
        assert stored is not None
        assert (stored.state, stored.pause_reason, stored.version) == (
            CampaignState.PAUSED,
            PauseReason.TEMPLATE_PAUSED,
            1,
        )
        history = await uow.campaigns.history(ORG_A, "c1")
        assert [(h.transition.to_state, h.transition.actor, h.transition.detail) for h in history] == [
            (CampaignState.DRAFT, "apiKeys/abc", ""),
            (CampaignState.RUNNING, "apiKeys/abc", ""),
            (CampaignState.PAUSED, "service", "template paused"),
        ]
        assert [
            h.seq for h in await uow.campaigns.history(ORG_A, "c1", after_seq=history[0].seq, limit=1)
        ] == [history[1].seq]
        assert await uow.campaigns.history(ORG_B, "c1") == []
        assert [c.id for c in await uow.campaigns.lock_active_for_templates(["tpl-1", "tpl-9"])] == ["c1"]


async def test_campaigns_list_newest_first_with_filters(uow_factory: UnitOfWorkFactory) -> None:
    running = campaign("c3", 3)
    running.start("apiKeys/abc", NOW)
    async with uow_factory() as uow:
        for c in (
            campaign("c1", 1),
            campaign("c2", 2, template_id="tpl-2"),
            running,
            campaign("c4", 4, ORG_B),
        ):
            await uow.campaigns.add(c)
        await uow.commit()
    async with uow_factory() as uow:

        async def ids(**kwargs: object) -> list[str]:
            return [c.id for c in await uow.campaigns.list(CampaignQuery(ORG_A, **kwargs))]  # type: ignore[arg-type]

        assert await ids() == ["c3", "c2", "c1"]
        assert await ids(limit=1, after=(NOW + timedelta(minutes=3), "c3")) == ["c2"]
        assert await ids(states=frozenset({CampaignState.RUNNING})) == ["c3"]
        assert await ids(template_id="tpl-2") == ["c2"]


async def test_the_audience_is_counted_against_the_windows(uow_factory: UnitOfWorkFactory) -> None:
    now = NOW + timedelta(days=1)
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign("c1"))
        assert await uow.campaigns.add_audience("c1", ["1", "2", "3", "US.4", "1"]) == 4
        assert await uow.campaigns.add_audience("c1", ["1", "5"]) == 1
        open_long = ConversationWindow("w1", ORG_A, PHONE, wa_id="1", updated_at=now)
        open_long.inbound("wamid.1", now - timedelta(hours=2))
        closing = ConversationWindow("w2", ORG_A, PHONE, wa_id="2", updated_at=now)
        closing.inbound("wamid.2", now - timedelta(hours=23, minutes=10))
        closed_early = ConversationWindow("w3", ORG_A, PHONE, wa_id="3", updated_at=now)
        closed_early.inbound("wamid.3", now - timedelta(hours=1))
        closed_early.closed_by_meta(now - timedelta(minutes=30))
        by_user = ConversationWindow("w4", ORG_A, PHONE, user_id="US.4", updated_at=now)
        by_user.inbound("wamid.4", now - timedelta(hours=1))
        elsewhere = ConversationWindow("w5", ORG_B, PHONE, wa_id="5", updated_at=now)
        elsewhere.inbound("wamid.5", now - timedelta(hours=1))
        await uow.windows.add_many([open_long, closing, closed_early, by_user, elsewhere])
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.campaigns.audience_size("c1") == 5
        assert await uow.campaigns.audience_windows(ORG_A, PHONE, "c1", now) == AudienceWindows(
            total=5, open=2, closing_soon=1, closed=2
        )


async def test_the_policy_has_defaults_until_saved(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.campaign_settings.get(ORG_A) == CampaignPolicy()
        await uow.campaign_settings.save(ORG_A, CampaignPolicy(False, True, False), NOW)
        await uow.campaign_settings.save(ORG_A, CampaignPolicy(False, True, True), NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.campaign_settings.get(ORG_A) == CampaignPolicy(False, True, True)
        assert await uow.campaign_settings.get(ORG_B) == CampaignPolicy()
