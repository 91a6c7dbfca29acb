"""The ports of campaigns and of the organization's campaign policy (part of the unit of work, see
app.ports.UnitOfWork)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.campaigns import Campaign, CampaignPolicy, CampaignState, CampaignTransition


@dataclass(frozen=True, slots=True)
class CampaignQuery:
    org_id: str
    states: frozenset[CampaignState] = frozenset()
    template_id: str = ""
    # Newest first: the page after (created_at, id).
    after: tuple[datetime, str] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class StoredTransition:
    seq: int
    transition: CampaignTransition


@dataclass(frozen=True, slots=True)
class AudienceWindows:
    """How a campaign's audience stands against the 24-hour window right now, from the windows."""

    total: int = 0
    # Open, and still open an hour from now.
    open: int = 0
    # Open now, closed within the hour.
    closing_soon: int = 0
    # Closed (or the contact never wrote).
    closed: int = 0


class CampaignRepository(Protocol):
    async def add(self, campaign: Campaign) -> bool:
        """Stores a new campaign and its first transition; False (nothing stored) when the
        organization already has one with its request_id."""
        ...

    async def get(self, org_id: str, campaign_id: str) -> Campaign | None: ...

    async def get_by_request(self, org_id: str, request_id: str) -> Campaign | None: ...

    async def lock(self, org_id: str, campaign_id: str) -> Campaign | None:
        """The campaign, locked for this transaction."""
        ...

    async def lock_active_for_templates(self, template_ids: Sequence[str]) -> Sequence[Campaign]:
        """The RUNNING and PAUSED campaigns of these templates (any organization), locked."""
        ...

    async def save_many(self, campaigns: Sequence[Campaign]) -> None:
        """Stores each campaign's state and appends its new transitions to its history."""
        ...

    async def list(self, query: CampaignQuery) -> Sequence[Campaign]:
        """Newest first (created_at, then id), at most query.limit."""
        ...

    async def history(
        self, org_id: str, campaign_id: str, *, after_seq: int = 0, limit: int = 50
    ) -> Sequence[StoredTransition]:
        """Oldest first."""
        ...

    async def add_audience(self, campaign_id: str, contacts: Sequence[str]) -> int:
        """Adds contacts (ids as windows know them); ones already there are skipped. Returns how
        many were new."""
        ...

    async def audience_size(self, campaign_id: str) -> int: ...

    async def audience_windows(
        self, org_id: str, phone_number_id: str, campaign_id: str, now: datetime
    ) -> AudienceWindows: ...


class CampaignSettingsRepository(Protocol):
    async def get(self, org_id: str) -> CampaignPolicy:
        """The organization's policy (the defaults until an admin changes it)."""
        ...

    async def save(self, org_id: str, policy: CampaignPolicy, now: datetime) -> None: ...
