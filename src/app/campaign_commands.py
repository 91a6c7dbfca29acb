"""Campaign and notification commands (the rest of the service's commands are in app.commands)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.auth import Principal
from app.commands import Command
from app.resource_names import TemplateKey
from domain.alerts import AlertKind, Severity
from domain.campaigns import Campaign, CampaignPolicy
from domain.notifications import Channel, ChannelKind, Notification


@dataclass(frozen=True, slots=True)
class CreateCampaign(Command[Campaign]):
    principal: Principal
    template: TemplateKey
    display_name: str
    # Empty: the WABA's first registered phone number.
    phone_number_id: str = ""
    # Set: the campaign is SCHEDULED for then (the caller still starts it; see StartCampaign).
    start_at: datetime | None = None
    request_id: str = ""


class CampaignMove(StrEnum):
    START = "START"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    COMPLETE = "COMPLETE"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class MoveCampaign(Command[Campaign]):
    """A person's transition: start, pause (MANUAL), resume, complete or cancel."""

    principal: Principal
    campaign_id: str
    move: CampaignMove
    # Optimistic concurrency (AIP-154): the campaign's etag as the caller last saw it, or "".
    etag: str = ""


@dataclass(frozen=True, slots=True)
class AddCampaignAudience(Command[int]):
    principal: Principal
    campaign_id: str
    contacts: Sequence[str]


@dataclass(frozen=True, slots=True)
class UpdateCampaignPolicy(Command[CampaignPolicy]):
    principal: Principal
    policy: CampaignPolicy


@dataclass(frozen=True, slots=True)
class CreateChannel(Command[Channel]):
    principal: Principal
    kind: ChannelKind
    display_name: str
    # EMAIL: the recipients; SLACK and WEBHOOK: the URL.
    targets: Sequence[str]
    min_severity: Severity = Severity.WARNING
    muted: frozenset[AlertKind] = frozenset()


@dataclass(frozen=True, slots=True)
class DeleteChannel(Command[None]):
    principal: Principal
    channel_id: str


@dataclass(frozen=True, slots=True)
class ReplayNotification(Command[Notification]):
    principal: Principal
    notification_id: str
