"""Campaigns, their history and audience, and the organizations' campaign policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from app.campaign_ports import AudienceWindows, CampaignQuery, StoredTransition
from domain.campaigns import Campaign, CampaignPolicy, CampaignState
from domain.conversations import window_status
from fakes.repositories.tables import Tables, clone, require_new_id

_ACTIVE = (CampaignState.RUNNING, CampaignState.PAUSED)


class FakeCampaignRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, campaign: Campaign) -> bool:
        if (
            campaign.request_id
            and await self.get_by_request(campaign.org_id, campaign.request_id) is not None
        ):
            return False
        rows = self._tables.write().campaigns
        require_new_id(rows, campaign.id, "campaign")
        rows[campaign.id] = _stored(campaign)
        self._append_history([campaign])
        return True

    async def get(self, org_id: str, campaign_id: str) -> Campaign | None:
        stored = self._tables.read.campaigns.get(campaign_id)
        return clone(stored) if stored is not None and stored.org_id == org_id else None

    async def get_by_request(self, org_id: str, request_id: str) -> Campaign | None:
        for campaign in self._tables.read.campaigns.values():
            if request_id and campaign.org_id == org_id and campaign.request_id == request_id:
                return clone(campaign)
        return None

    async def lock(self, org_id: str, campaign_id: str) -> Campaign | None:
        return await self.get(org_id, campaign_id)

    async def lock_active_for_templates(self, template_ids: Sequence[str]) -> Sequence[Campaign]:
        wanted = set(template_ids)
        found = [
            c for c in self._tables.read.campaigns.values() if c.template_id in wanted and c.state in _ACTIVE
        ]
        return [clone(c) for c in sorted(found, key=lambda c: c.id)]

    async def save_many(self, campaigns: Sequence[Campaign]) -> None:
        rows = self._tables.write().campaigns
        for campaign in campaigns:
            stored = rows.get(campaign.id)
            if stored is None or stored.org_id != campaign.org_id:
                continue
            rows[campaign.id] = replace(
                stored,
                state=campaign.state,
                pause_reason=campaign.pause_reason,
                scheduled_at=campaign.scheduled_at,
                updated_at=campaign.updated_at,
                version=stored.version + 1,
                new_transitions=[],
            )
        self._append_history(campaigns)
        for campaign in campaigns:
            campaign.version += 1

    async def list(self, query: CampaignQuery) -> Sequence[Campaign]:
        found = [
            c
            for c in self._tables.read.campaigns.values()
            if c.org_id == query.org_id
            and (not query.states or c.state in query.states)
            and (not query.template_id or c.template_id == query.template_id)
            and (query.after is None or (c.created_at, c.id) < query.after)
        ]
        found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return [clone(c) for c in found[: query.limit]]

    async def history(
        self, org_id: str, campaign_id: str, *, after_seq: int = 0, limit: int = 50
    ) -> Sequence[StoredTransition]:
        campaign = self._tables.read.campaigns.get(campaign_id)
        if campaign is None or campaign.org_id != org_id:
            return []
        found = [
            stored
            for seq, stored in sorted(self._tables.read.campaign_transitions.items())
            if seq > after_seq and stored.transition.campaign_id == campaign_id
        ]
        return found[:limit]

    async def add_audience(self, campaign_id: str, contacts: Sequence[str]) -> int:
        audience = self._tables.write().campaign_audience
        added = 0
        for contact in sorted(set(contacts)):
            if (campaign_id, contact) not in audience:
                audience[(campaign_id, contact)] = None
                added += 1
        return added

    async def audience_size(self, campaign_id: str) -> int:
        return sum(1 for c_id, _ in self._tables.read.campaign_audience if c_id == campaign_id)

    async def audience_windows(
        self, org_id: str, phone_number_id: str, campaign_id: str, now: datetime
    ) -> AudienceWindows:
        contacts = [contact for (c_id, contact) in self._tables.read.campaign_audience if c_id == campaign_id]
        open_now = closing = 0
        for contact in contacts:
            window = next(
                (
                    w
                    for w in self._tables.read.windows.values()
                    if (w.org_id, w.phone_number_id) == (org_id, phone_number_id)
                    and contact in (w.wa_id, w.user_id)
                ),
                None,
            )
            status = window_status(window, now)
            if status.open and status.closes_at is not None:
                if status.closes_at - now <= timedelta(hours=1):
                    closing += 1
                else:
                    open_now += 1
        return AudienceWindows(len(contacts), open_now, closing, len(contacts) - open_now - closing)

    def _append_history(self, campaigns: Sequence[Campaign]) -> None:
        history = self._tables.write().campaign_transitions
        for campaign in campaigns:
            for transition in campaign.new_transitions:
                seq = max(history, default=0) + 1
                history[seq] = StoredTransition(seq, transition)
            campaign.new_transitions.clear()


class FakeCampaignSettingsRepository:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, org_id: str) -> CampaignPolicy:
        return self._tables.read.campaign_settings.get(org_id, CampaignPolicy())

    async def save(self, org_id: str, policy: CampaignPolicy, now: datetime) -> None:
        self._tables.write().campaign_settings[org_id] = policy


def _stored(campaign: Campaign) -> Campaign:
    stored = clone(campaign)
    stored.new_transitions = []
    return stored
