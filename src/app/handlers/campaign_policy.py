"""What the service does to campaigns by itself when their template changes: pause the running ones
the organization's policy says must stop, resume the ones it paused once the template is sendable
again.

Registered with the unit of work's EventDispatcher beside the history and the alert policy, so it
runs in the transaction that changed the template, whatever changed it (a webhook, a sync, a send
Meta refused, a failed status). It looks at the template as it stands after the change, not at the
events' order: the template already applied Meta's time order (an older event is SUPERSEDED and
changed nothing), so duplicated and out-of-order webhooks leave campaigns where Meta's order says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.notification_outbox import Occurrence, notify
from app.ports import UnitOfWork
from domain.alerts import Severity
from domain.campaigns import Campaign, CampaignPolicy, CampaignState, TemplateCondition
from domain.events import DomainEvent, TemplateEvent
from domain.notifications import NotificationContent, NotificationKind
from domain.observations import Aspect, Outcome
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus

# The aspects that can make a template unsendable, or sendable again.
_WATCHED = frozenset({Aspect.STATUS, Aspect.QUALITY, Aspect.CATEGORY})


async def apply_campaign_policy(events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
    by_template: dict[str, list[TemplateEvent]] = {}
    for event in events:
        if isinstance(event, TemplateEvent) and event.outcome is Outcome.APPLIED and event.aspect in _WATCHED:
            by_template.setdefault(event.template_id, []).append(event)
    if not by_template:
        return
    # One read for the whole batch; most templates have no running campaign, and cost nothing more.
    campaigns = await uow.campaigns.lock_active_for_templates(sorted(by_template))
    if not campaigns:
        return
    policies: dict[str, CampaignPolicy] = {}
    moved: list[Campaign] = []
    for template_id in sorted({c.template_id for c in campaigns}):
        applied = by_template[template_id]
        org_id = applied[0].org_id
        template = await uow.templates.get(org_id, template_id)
        if org_id not in policies:
            policies[org_id] = await uow.campaign_settings.get(org_id)
        became_marketing = any(
            e.aspect is Aspect.CATEGORY
            and e.to_value == TemplateCategory.MARKETING.value
            and e.from_value != TemplateCategory.MARKETING.value
            for e in applied
        )
        if template is not None:
            condition = TemplateCondition(
                template.status, template.quality, template.category, became_marketing
            )
        elif any(e.aspect is Aspect.STATUS and e.to_value == TemplateStatus.DELETED.value for e in applied):
            # Deleted here (the row is gone by commit): what its deletion event says is all there is.
            condition = TemplateCondition(
                TemplateStatus.DELETED, TemplateQuality.UNKNOWN, None, became_marketing
            )
        else:
            continue
        last = applied[-1]
        why = (
            f"template {last.template_name}: {last.aspect.value} {last.from_value or '-'} -> {last.to_value}"
        )
        if last.reason:
            why += f" ({last.reason})"
        why += f", from {last.source.value}"
        policy = policies[org_id]
        moved.extend(
            campaign
            for campaign in campaigns
            if campaign.template_id == template_id
            and campaign.protect(condition, policy, last.received_at, why)
        )
    # Keyed by the version each move makes: one notification per move, however often it is retried.
    occurrences = [_told(campaign) for campaign in moved]
    await uow.campaigns.save_many(moved)
    await notify(
        uow, occurrences, max((c.updated_at for c in moved if c.updated_at), default=None) or _now(events)
    )


def _now(events: Sequence[DomainEvent]) -> datetime:
    return max(e.received_at for e in events if isinstance(e, TemplateEvent))


def _told(campaign: Campaign) -> Occurrence:
    paused = campaign.state is CampaignState.PAUSED
    transition = campaign.new_transitions[-1]
    return Occurrence(
        campaign.org_id,
        f"campaign:{campaign.id}:{campaign.version + 1}",
        NotificationContent(
            kind=NotificationKind.CAMPAIGN_PAUSED if paused else NotificationKind.CAMPAIGN_RESUMED,
            # A paused campaign stops sending: urgent; one resumed only informs.
            severity=Severity.HIGH if paused else Severity.WARNING,
            template=f"{campaign.template_name}.{campaign.language_code}",
            waba_id=campaign.waba_id,
            summary=(
                f"campaign {campaign.display_name!r} paused: {campaign.pause_reason.value}"
                if paused and campaign.pause_reason is not None
                else f"campaign {campaign.display_name!r} resumed"
            ),
            reason=transition.detail,
            campaign_id=campaign.id,
            campaign_name=campaign.display_name,
            occurred_at=transition.at,
        ),
    )
