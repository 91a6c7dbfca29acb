"""Read side of campaigns: one with its audience's windows, lists and history (AIP-158 paging), and
the organization's campaign policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.auth import Principal
from app.campaign_ports import AudienceWindows, CampaignQuery, StoredTransition
from app.errors import NotFound
from app.listing import newest_first
from app.paging import Page, PageTokenCodec, SizeOf, effective_page_size, fingerprint, fit_page
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.resource_names import TemplateKey, campaign_name
from domain.campaigns import Campaign, CampaignPolicy
from domain.tenancy import Role


@dataclass(frozen=True, slots=True)
class CampaignView:
    campaign: Campaign
    audience: AudienceWindows


class CampaignQueries:
    def __init__(self, uow_factory: UnitOfWorkFactory, page_tokens: PageTokenCodec, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens
        self._clock = clock

    async def get(self, principal: Principal, campaign_id: str) -> CampaignView:
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            campaign = await uow.campaigns.get(principal.org_id, campaign_id)
            if campaign is None:
                raise NotFound("campaign", campaign_name(campaign_id))
            audience = await uow.campaigns.audience_windows(
                principal.org_id, campaign.phone_number_id, campaign.id, self._clock.now()
            )
        return CampaignView(campaign, audience)

    async def list(
        self,
        principal: Principal,
        query: CampaignQuery,
        template: TemplateKey | None,
        page_size: int,
        page_token: str,
        size_of: SizeOf[Campaign] | None = None,
    ) -> Page[Campaign]:
        principal.require(Role.VIEWER)

        async def read(uow: UnitOfWork, query: CampaignQuery) -> Sequence[Campaign]:
            return await uow.campaigns.list(query)

        return await newest_first(
            self._uow_factory,
            self._page_tokens,
            "campaigns",
            principal,
            query,
            read,
            template=template,
            page_size=page_size,
            page_token=page_token,
            size_of=size_of,
        )

    async def history(
        self, principal: Principal, campaign_id: str, page_size: int, page_token: str
    ) -> Page[StoredTransition]:
        principal.require(Role.VIEWER)
        limit = effective_page_size(page_size)
        query_id = fingerprint("campaign-history", principal.org_id, campaign_id)
        after = int(self._page_tokens.decode(page_token, query_id, size=1)[0]) if page_token else 0
        async with self._uow_factory(read_only=True) as uow:
            if await uow.campaigns.get(principal.org_id, campaign_id) is None:
                raise NotFound("campaign", campaign_name(campaign_id))
            found = list(
                await uow.campaigns.history(principal.org_id, campaign_id, after_seq=after, limit=limit + 1)
            )
        page, more = fit_page(found, limit)
        return Page(page, self._page_tokens.encode(query_id, [str(page[-1].seq)]) if more else "")

    async def policy(self, principal: Principal) -> CampaignPolicy:
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            return await uow.campaign_settings.get(principal.org_id)
