"""watemplates.v1.CampaignService and OrganizationService: proto in -> command/query -> proto out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.campaign_mapping import (
    STATE_FROM_PROTO,
    campaign_to_proto,
    settings_to_proto,
    transition_to_proto,
)
from adapters.grpc.conversation_mapping import time_from_proto
from adapters.grpc.errors import mapped_errors
from adapters.grpc.paging import ProtoPage
from adapters.grpc.proto_values import enum_in, invalid
from app.campaign_commands import (
    AddCampaignAudience,
    CampaignMove,
    CreateCampaign,
    MoveCampaign,
    UpdateCampaignPolicy,
)
from app.campaign_ports import CampaignQuery
from app.campaign_queries import CampaignQueries
from app.messagebus import MessageBus
from app.resource_names import parse_campaign_name, parse_template_name
from domain.campaigns import Campaign
from watemplates.v1 import campaigns_pb2 as cp
from watemplates.v1 import campaigns_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
SETTINGS_FIELDS = ("pause_on_quality_red", "pause_on_marketing_category", "auto_resume")


class CampaignServicer(campaigns_pb2_grpc.CampaignServiceServicer):
    def __init__(self, bus: MessageBus, queries: CampaignQueries) -> None:
        self._bus = bus
        self._queries = queries

    @mapped_errors
    async def CreateCampaign(
        self, request: cp.CreateCampaignRequest, context: Context
    ) -> cp.CreateCampaignResponse:
        campaign = request.campaign
        if not campaign.template:
            raise invalid("campaign.template", "the template the campaign sends is required")
        created = await self._bus.handle(
            CreateCampaign(
                principal=current_principal(),
                template=parse_template_name(campaign.template, "campaign.template"),
                display_name=campaign.display_name,
                phone_number_id=campaign.phone_number_id,
                start_at=time_from_proto(campaign.start_time, "campaign.start_time")
                if campaign.HasField("start_time")
                else None,
                request_id=request.request_id,
            )
        )
        return cp.CreateCampaignResponse(campaign=campaign_to_proto(created))

    @mapped_errors
    async def GetCampaign(self, request: cp.GetCampaignRequest, context: Context) -> cp.GetCampaignResponse:
        view = await self._queries.get(current_principal(), parse_campaign_name(request.name))
        return cp.GetCampaignResponse(campaign=campaign_to_proto(view.campaign, view.audience))

    @mapped_errors
    async def ListCampaigns(
        self, request: cp.ListCampaignsRequest, context: Context
    ) -> cp.ListCampaignsResponse:
        if request.page_size < 0:
            raise invalid("page_size", "must not be negative")
        query = CampaignQuery(
            org_id="",
            states=frozenset(
                enum_in(STATE_FROM_PROTO, s, f"states[{i}]") for i, s in enumerate(request.states)
            ),
        )
        template = parse_template_name(request.template, "template") if request.template else None
        convert = ProtoPage(campaign_to_proto)
        page = await self._queries.list(
            current_principal(), query, template, request.page_size, request.page_token, convert.size_of
        )
        return cp.ListCampaignsResponse(
            campaigns=[convert(c) for c in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def StartCampaign(
        self, request: cp.StartCampaignRequest, context: Context
    ) -> cp.StartCampaignResponse:
        return cp.StartCampaignResponse(
            campaign=await self._move(request.name, request.etag, CampaignMove.START)
        )

    @mapped_errors
    async def PauseCampaign(
        self, request: cp.PauseCampaignRequest, context: Context
    ) -> cp.PauseCampaignResponse:
        return cp.PauseCampaignResponse(
            campaign=await self._move(request.name, request.etag, CampaignMove.PAUSE)
        )

    @mapped_errors
    async def ResumeCampaign(
        self, request: cp.ResumeCampaignRequest, context: Context
    ) -> cp.ResumeCampaignResponse:
        return cp.ResumeCampaignResponse(
            campaign=await self._move(request.name, request.etag, CampaignMove.RESUME)
        )

    @mapped_errors
    async def CompleteCampaign(
        self, request: cp.CompleteCampaignRequest, context: Context
    ) -> cp.CompleteCampaignResponse:
        return cp.CompleteCampaignResponse(
            campaign=await self._move(request.name, request.etag, CampaignMove.COMPLETE)
        )

    @mapped_errors
    async def CancelCampaign(
        self, request: cp.CancelCampaignRequest, context: Context
    ) -> cp.CancelCampaignResponse:
        return cp.CancelCampaignResponse(
            campaign=await self._move(request.name, request.etag, CampaignMove.CANCEL)
        )

    @mapped_errors
    async def ListCampaignHistory(
        self, request: cp.ListCampaignHistoryRequest, context: Context
    ) -> cp.ListCampaignHistoryResponse:
        if request.page_size < 0:
            raise invalid("page_size", "must not be negative")
        page = await self._queries.history(
            current_principal(), parse_campaign_name(request.name), request.page_size, request.page_token
        )
        return cp.ListCampaignHistoryResponse(
            transitions=[transition_to_proto(t) for t in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def AddCampaignContacts(
        self, request: cp.AddCampaignContactsRequest, context: Context
    ) -> cp.AddCampaignContactsResponse:
        added = await self._bus.handle(
            AddCampaignAudience(
                current_principal(), parse_campaign_name(request.name), list(request.contacts)
            )
        )
        return cp.AddCampaignContactsResponse(added=added)

    async def _move(self, name: str, etag: str, move: CampaignMove) -> cp.Campaign:
        moved: Campaign = await self._bus.handle(
            MoveCampaign(current_principal(), parse_campaign_name(name), move, etag=etag)
        )
        return campaign_to_proto(moved)


class OrganizationServicer(campaigns_pb2_grpc.OrganizationServiceServicer):
    def __init__(self, bus: MessageBus, queries: CampaignQueries) -> None:
        self._bus = bus
        self._queries = queries

    @mapped_errors
    async def GetOrganizationSettings(
        self, request: cp.GetOrganizationSettingsRequest, context: Context
    ) -> cp.GetOrganizationSettingsResponse:
        return cp.GetOrganizationSettingsResponse(
            settings=settings_to_proto(await self._queries.policy(current_principal()))
        )

    @mapped_errors
    async def UpdateOrganizationSettings(
        self, request: cp.UpdateOrganizationSettingsRequest, context: Context
    ) -> cp.UpdateOrganizationSettingsResponse:
        principal = current_principal()
        paths = {p.removeprefix("settings.") for p in request.update_mask.paths}
        if not paths or "*" in paths:
            paths = set(SETTINGS_FIELDS)
        if unknown := sorted(paths - set(SETTINGS_FIELDS)):
            raise invalid(
                "update_mask",
                f"unknown field(s) {', '.join(unknown)}; settable: {', '.join(SETTINGS_FIELDS)}",
            )
        current = await self._queries.policy(principal)
        wanted = replace(current, **{field: getattr(request.settings, field) for field in sorted(paths)})
        saved = await self._bus.handle(UpdateCampaignPolicy(principal, wanted))
        return cp.UpdateOrganizationSettingsResponse(settings=settings_to_proto(saved))
