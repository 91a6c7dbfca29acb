"""A person's campaign use cases: create (idempotent), move (start, pause, resume, complete,
cancel), add an audience, and the organization's campaign policy. What the service does to
campaigns by itself is in handlers.campaign_policy."""

from __future__ import annotations

import hashlib
import secrets

from app.auth import Principal
from app.campaign_commands import (
    AddCampaignAudience,
    CampaignMove,
    CreateCampaign,
    MoveCampaign,
    UpdateCampaignPolicy,
)
from app.errors import (
    CampaignTemplateNotSendable,
    FieldViolation,
    InvalidArgument,
    NotFound,
    RequestIdReused,
)
from app.etags import require_etag
from app.handlers.templates import load_template
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.resource_names import campaign_name
from app.send_guard import contact_key
from domain.campaigns import Campaign, CampaignPolicy, PauseReason, TemplateCondition, pause_reason_for
from domain.tenancy import Role

MAX_AUDIENCE = 100_000


async def create_campaign(command: CreateCampaign, uow_factory: UnitOfWorkFactory, clock: Clock) -> Campaign:
    principal = command.principal
    principal.require(Role.OPERATOR)
    if not command.display_name.strip():
        raise InvalidArgument(
            "a campaign needs a display name",
            [FieldViolation("campaign.display_name", "required", "DISPLAY_NAME_REQUIRED")],
            reason="DISPLAY_NAME_REQUIRED",
        )
    fingerprint = hashlib.sha256(
        repr((command.template, command.display_name, command.phone_number_id, command.start_at)).encode()
    ).hexdigest()
    now = clock.now()
    async with uow_factory() as uow:
        if replayed := await _replay(uow, principal, command.request_id, fingerprint):
            return replayed
        template = await load_template(uow, principal, command.template)
        waba = await uow.wabas.get(template.waba_id)
        registered = waba.phone_number_ids if waba is not None else ()
        phone_number_id = command.phone_number_id or (registered[0] if registered else "")
        if phone_number_id not in registered:
            if command.phone_number_id:
                raise NotFound("phone number", command.phone_number_id)
            raise InvalidArgument(
                f"WABA {template.waba_id} has no registered phone number to send from",
                [FieldViolation("campaign.phone_number_id", "register one with `watemplates waba add`")],
                reason="NO_PHONE_NUMBER",
            )
        campaign = Campaign.create(
            campaign_id=secrets.token_hex(16),
            org_id=principal.org_id,
            waba_id=template.waba_id,
            phone_number_id=phone_number_id,
            template_id=template.id,
            template_name=template.display_name,
            language_code=template.language_code,
            display_name=command.display_name.strip(),
            actor=principal.label,
            now=now,
            request_id=command.request_id,
            request_fingerprint=fingerprint,
        )
        if command.start_at is not None:
            campaign.schedule(command.start_at, principal.label, now)
        if not await uow.campaigns.add(campaign):
            # A concurrent request with this request_id got there first.
            await uow.rollback()
            replayed = await _replay(uow, principal, command.request_id, fingerprint)
            if replayed is None:  # pragma: no cover - the unique index said it exists
                raise RequestIdReused(command.request_id)
            return replayed
        await uow.commit()
    return campaign


async def move_campaign(command: MoveCampaign, uow_factory: UnitOfWorkFactory, clock: Clock) -> Campaign:
    principal = command.principal
    principal.require(Role.OPERATOR)
    now = clock.now()
    async with uow_factory() as uow:
        if command.move in (CampaignMove.START, CampaignMove.RESUME):
            # Template writers take this lock first too: a template paused while this campaign
            # starts is seen either here (refused) or by the policy after (paused again).
            await uow.template_events.reserve()
        campaign = await uow.campaigns.lock(principal.org_id, command.campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_name(command.campaign_id))
        require_etag(campaign_name(campaign.id), command.etag, campaign_etag(campaign))
        actor = principal.label
        match command.move:
            case CampaignMove.START | CampaignMove.RESUME:
                await _require_sendable(uow, principal, campaign)
                if command.move is CampaignMove.START:
                    campaign.start(actor, now)
                else:
                    campaign.resume(actor, now)
            case CampaignMove.PAUSE:
                campaign.pause(PauseReason.MANUAL, actor, now)
            case CampaignMove.COMPLETE:
                campaign.complete(actor, now)
            case CampaignMove.CANCEL:
                campaign.cancel(actor, now)
        await uow.campaigns.save_many([campaign])
        await uow.commit()
    return campaign


async def add_campaign_audience(
    command: AddCampaignAudience, uow_factory: UnitOfWorkFactory, clock: Clock
) -> int:
    command.principal.require(Role.OPERATOR)
    contacts = [contact_key(c) for c in command.contacts]
    if bad := [i for i, c in enumerate(contacts) if not c]:
        raise InvalidArgument(
            f"{len(bad)} contact(s) are empty",
            [
                FieldViolation(f"contacts[{i}]", "a phone number or user id", "CONTACT_EMPTY")
                for i in bad[:20]
            ],
            reason="CONTACT_EMPTY",
        )
    async with uow_factory() as uow:
        campaign = await uow.campaigns.lock(command.principal.org_id, command.campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_name(command.campaign_id))
        size = await uow.campaigns.audience_size(campaign.id)
        if size + len(set(contacts)) > MAX_AUDIENCE:
            # Counting what is new exactly would cost a read of the whole audience; the bound is
            # checked on what could be new, so an audience never passes the limit.
            raise InvalidArgument(
                f"a campaign's audience holds at most {MAX_AUDIENCE:,} contacts; it has {size:,}",
                [FieldViolation("contacts", f"at most {MAX_AUDIENCE - size:,} more", "AUDIENCE_TOO_LARGE")],
                reason="AUDIENCE_TOO_LARGE",
            )
        added = await uow.campaigns.add_audience(campaign.id, contacts)
        await uow.commit()
    return added


async def update_campaign_policy(
    command: UpdateCampaignPolicy, uow_factory: UnitOfWorkFactory, clock: Clock
) -> CampaignPolicy:
    command.principal.require(Role.ADMIN)
    async with uow_factory() as uow:
        await uow.campaign_settings.save(command.principal.org_id, command.policy, clock.now())
        await uow.commit()
    return command.policy


def campaign_etag(campaign: Campaign) -> str:
    return f'W/"{campaign.version}"'


async def _require_sendable(uow: UnitOfWork, principal: Principal, campaign: Campaign) -> None:
    template = await uow.templates.get(principal.org_id, campaign.template_id)
    if template is None:
        raise CampaignTemplateNotSendable(
            campaign.id, f"{campaign.template_name}.{campaign.language_code}", "DELETED", ""
        )
    policy = await uow.campaign_settings.get(principal.org_id)
    condition = TemplateCondition(template.status, template.quality, template.category)
    if pause_reason_for(condition, policy) is not None or not template.sendable:
        raise CampaignTemplateNotSendable(
            campaign.id, template.name, template.raw_status or template.status.value, template.quality.value
        )


async def _replay(
    uow: UnitOfWork, principal: Principal, request_id: str, fingerprint: str
) -> Campaign | None:
    existing = await uow.campaigns.get_by_request(principal.org_id, request_id)
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise RequestIdReused(request_id)
    return existing
