"""Campaigns and the organization's settings <-> watemplates.v1 campaigns messages."""

from __future__ import annotations

from adapters.grpc.mapping import timestamp
from app.campaign_ports import AudienceWindows, StoredTransition
from app.handlers.campaigns import campaign_etag
from app.resource_names import campaign_name, template_name
from domain.campaigns import Campaign, CampaignPolicy, CampaignState, PauseReason
from watemplates.v1 import campaigns_pb2 as cp

STATE = {s: getattr(cp, f"CAMPAIGN_STATE_{s.value}") for s in CampaignState}
STATE_FROM_PROTO = {number: state for state, number in STATE.items()}
PAUSE_REASON = {r: getattr(cp, f"PAUSE_REASON_{r.value}") for r in PauseReason}


def campaign_to_proto(campaign: Campaign, audience: AudienceWindows | None = None) -> cp.Campaign:
    message = cp.Campaign(
        name=campaign_name(campaign.id),
        display_name=campaign.display_name,
        template=template_name(campaign.waba_id, campaign.template_name, campaign.language_code),
        phone_number_id=campaign.phone_number_id,
        state=STATE[campaign.state],
        pause_reason=PAUSE_REASON[campaign.pause_reason]
        if campaign.pause_reason
        else cp.PAUSE_REASON_UNSPECIFIED,
        create_time=timestamp(campaign.created_at),
        update_time=timestamp(campaign.updated_at or campaign.created_at),
        creator=campaign.created_by,
        etag=campaign_etag(campaign),
    )
    if campaign.scheduled_at is not None:
        message.start_time.CopyFrom(timestamp(campaign.scheduled_at))
    if audience is not None:
        message.audience.CopyFrom(
            cp.AudienceWindows(
                total=audience.total,
                open=audience.open,
                closing_soon=audience.closing_soon,
                closed=audience.closed,
            )
        )
    return message


def transition_to_proto(stored: StoredTransition) -> cp.CampaignTransition:
    t = stored.transition
    return cp.CampaignTransition(
        from_state=STATE[t.from_state] if t.from_state is not None else cp.CAMPAIGN_STATE_UNSPECIFIED,
        to_state=STATE[t.to_state],
        pause_reason=PAUSE_REASON[t.reason] if t.reason is not None else cp.PAUSE_REASON_UNSPECIFIED,
        actor=t.actor,
        time=timestamp(t.at),
        detail=t.detail,
    )


def settings_to_proto(policy: CampaignPolicy) -> cp.OrganizationSettings:
    return cp.OrganizationSettings(
        pause_on_quality_red=policy.pause_on_quality_red,
        pause_on_marketing_category=policy.pause_on_marketing_category,
        auto_resume=policy.auto_resume,
    )
