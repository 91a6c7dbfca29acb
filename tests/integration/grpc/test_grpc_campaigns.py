"""CampaignService and OrganizationService through the real gRPC server over the in-memory store:
idempotent creation, transitions and their refusals, history, the audience's window display,
settings, and organizations and roles kept apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from app.bootstrap import Services, build_services
from app.commands import AddWaba, CreateApiKey, CreateOrganization
from app.settings import Settings
from domain.conversations import ConversationWindow
from domain.observations import Aspect, ChangeSource, Observation
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from integration.grpc.grpc_cases import fails, named_template
from watemplates.v1 import campaigns_pb2 as cp
from watemplates.v1 import campaigns_pb2_grpc, templates_pb2_grpc
from watemplates.v1 import templates_pb2 as api

WABA, PHONE = "301122334455667", "109876543210987"
TEMPLATE = f"wabas/{WABA}/templates/order_ready.en_US"


@dataclass
class World:
    services: Services
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    campaigns: campaigns_pb2_grpc.CampaignServiceStub
    settings: campaigns_pb2_grpc.OrganizationServiceStub
    templates: templates_pb2_grpc.TemplateServiceStub
    keys: dict[str, tuple[tuple[str, str], ...]]
    org_id: str

    async def create(
        self, request_id: str = "", name: str = "Spring sale", who: str = "operator"
    ) -> cp.Campaign:
        response: cp.CreateCampaignResponse = await self.campaigns.CreateCampaign(
            cp.CreateCampaignRequest(
                campaign=cp.Campaign(display_name=name, template=TEMPLATE), request_id=request_id
            ),
            metadata=self.keys[who],
        )
        return response.campaign

    async def set_template_status(self, status: str) -> None:
        async with self.services.uow_factory() as uow:
            template = await uow.templates.get_by_key(self.org_id, WABA, "order_ready", "en_US")
            assert template is not None
            template.observe(
                Observation(Aspect.STATUS, status, ChangeSource.WEBHOOK, self.clock.now()),
                received_at=self.clock.now(),
            )
            await uow.templates.update(template)
            await uow.commit()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    factory, clock = FakeUnitOfWorkFactory(), FrozenClock()
    services = await build_services(
        Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0),
        uow_factory=factory,
        probe=FakeHealthProbe(),
        clock=clock,
    )
    keys: dict[str, tuple[tuple[str, str], ...]] = {}
    org_id = ""
    for slug, waba, phone in (("acme", WABA, PHONE), ("globex", "301122334455999", "109876543210999")):
        created = await services.bus.handle(CreateOrganization(slug))
        org_id = org_id or created.org_id
        await services.bus.handle(AddWaba(slug, waba, phone_number_ids=(phone,)))
        for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
            secret = (await services.bus.handle(CreateApiKey(slug, role))).secret
            keys[f"{'' if slug == 'acme' else 'other-'}{role.name.lower()}"] = (
                ("authorization", f"Bearer {secret}"),
            )
    server = GrpcServer(
        services.bus,
        services.queries,
        services.authenticator,
        "127.0.0.1:0",
        campaign_queries=services.campaign_queries,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            templates = templates_pb2_grpc.TemplateServiceStub(channel)
            await templates.CreateTemplate(
                api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=named_template()),
                metadata=keys["admin"],
            )
            yield World(
                services,
                factory,
                clock,
                campaigns_pb2_grpc.CampaignServiceStub(channel),
                campaigns_pb2_grpc.OrganizationServiceStub(channel),
                templates,
                keys,
                org_id,
            )
    finally:
        await server.stop(0)
        await services.close()


async def test_create_is_idempotent_and_a_draft_template_cannot_start(world: World) -> None:
    first = await world.create("req-1")
    again = await world.create("req-1")
    assert first == again
    assert (first.state, first.phone_number_id, first.template) == (cp.CAMPAIGN_STATE_DRAFT, PHONE, TEMPLATE)
    changed = await fails(world.create("req-1", name="Other"))
    assert changed.reason == "REQUEST_ID_REUSED"
    refused = await fails(
        world.campaigns.StartCampaign(
            cp.StartCampaignRequest(name=first.name), metadata=world.keys["operator"]
        )
    )
    assert (refused.code, refused.reason, refused.metadata["status"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TEMPLATE_NOT_SENDABLE",
        "DRAFT",
    )


async def test_transitions_follow_the_state_machine_and_the_etag(world: World) -> None:
    await world.set_template_status("APPROVED")
    created = await world.create()
    operator = world.keys["operator"]
    started: cp.StartCampaignResponse = await world.campaigns.StartCampaign(
        cp.StartCampaignRequest(name=created.name, etag=created.etag), metadata=operator
    )
    assert started.campaign.state == cp.CAMPAIGN_STATE_RUNNING
    stale = await fails(
        world.campaigns.PauseCampaign(
            cp.PauseCampaignRequest(name=created.name, etag=created.etag), metadata=operator
        )
    )
    assert stale.reason == "ETAG_MISMATCH"
    paused: cp.PauseCampaignResponse = await world.campaigns.PauseCampaign(
        cp.PauseCampaignRequest(name=created.name), metadata=operator
    )
    assert (paused.campaign.state, paused.campaign.pause_reason) == (
        cp.CAMPAIGN_STATE_PAUSED,
        cp.PAUSE_REASON_MANUAL,
    )
    await world.campaigns.CancelCampaign(cp.CancelCampaignRequest(name=created.name), metadata=operator)
    refused = await fails(
        world.campaigns.ResumeCampaign(cp.ResumeCampaignRequest(name=created.name), metadata=operator)
    )
    assert (refused.code, refused.reason, refused.metadata["state"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CAMPAIGN_TRANSITION_REFUSED",
        "CANCELLED",
    )
    history: cp.ListCampaignHistoryResponse = await world.campaigns.ListCampaignHistory(
        cp.ListCampaignHistoryRequest(name=created.name, page_size=2), metadata=world.keys["viewer"]
    )
    assert [t.to_state for t in history.transitions] == [cp.CAMPAIGN_STATE_DRAFT, cp.CAMPAIGN_STATE_RUNNING]
    rest: cp.ListCampaignHistoryResponse = await world.campaigns.ListCampaignHistory(
        cp.ListCampaignHistoryRequest(name=created.name, page_token=history.next_page_token, page_size=2),
        metadata=world.keys["viewer"],
    )
    assert [t.to_state for t in rest.transitions] == [cp.CAMPAIGN_STATE_PAUSED, cp.CAMPAIGN_STATE_CANCELLED]


async def test_the_audience_shows_how_it_stands_against_the_window(world: World) -> None:
    created = await world.create()
    added: cp.AddCampaignContactsResponse = await world.campaigns.AddCampaignContacts(
        cp.AddCampaignContactsRequest(
            name=created.name, contacts=["+44 7700 900001", "447700900002", "447700900003", "447700900001"]
        ),
        metadata=world.keys["operator"],
    )
    assert added.added == 3
    now = world.clock.now()
    async with world.factory() as uow:
        fresh = ConversationWindow("w1", world.org_id, PHONE, wa_id="447700900001", updated_at=now)
        fresh.inbound("wamid.1", now - timedelta(hours=1))
        closing = ConversationWindow("w2", world.org_id, PHONE, wa_id="447700900002", updated_at=now)
        closing.inbound("wamid.2", now - timedelta(hours=23, minutes=30))
        await uow.windows.add_many([fresh, closing])
        await uow.commit()
    got: cp.GetCampaignResponse = await world.campaigns.GetCampaign(
        cp.GetCampaignRequest(name=created.name), metadata=world.keys["viewer"]
    )
    audience = got.campaign.audience
    assert (audience.total, audience.open, audience.closing_soon, audience.closed) == (3, 1, 1, 1)


async def test_organizations_and_roles_are_kept_apart(world: World) -> None:
    created = await world.create()
    for call in (
        world.campaigns.GetCampaign(
            cp.GetCampaignRequest(name=created.name), metadata=world.keys["other-admin"]
        ),
        world.campaigns.CancelCampaign(
            cp.CancelCampaignRequest(name=created.name), metadata=world.keys["other-admin"]
        ),
    ):
        assert (await fails(call)).code == grpc.StatusCode.NOT_FOUND
    listed: cp.ListCampaignsResponse = await world.campaigns.ListCampaigns(
        cp.ListCampaignsRequest(), metadata=world.keys["other-viewer"]
    )
    assert list(listed.campaigns) == []
    assert (await fails(world.create(who="viewer"))).code == grpc.StatusCode.PERMISSION_DENIED
    mine: cp.ListCampaignsResponse = await world.campaigns.ListCampaigns(
        cp.ListCampaignsRequest(states=[cp.CAMPAIGN_STATE_DRAFT], template=TEMPLATE),
        metadata=world.keys["viewer"],
    )
    assert [c.name for c in mine.campaigns] == [created.name]


async def test_settings_are_read_by_anyone_and_changed_by_admins(world: World) -> None:
    got: cp.GetOrganizationSettingsResponse = await world.settings.GetOrganizationSettings(
        cp.GetOrganizationSettingsRequest(), metadata=world.keys["viewer"]
    )
    assert (
        got.settings.pause_on_quality_red,
        got.settings.pause_on_marketing_category,
        got.settings.auto_resume,
    ) == (
        True,
        False,
        True,
    )
    change = cp.UpdateOrganizationSettingsRequest(
        settings=cp.OrganizationSettings(auto_resume=False), update_mask=FieldMask(paths=["auto_resume"])
    )
    denied = await fails(world.settings.UpdateOrganizationSettings(change, metadata=world.keys["operator"]))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    updated: cp.UpdateOrganizationSettingsResponse = await world.settings.UpdateOrganizationSettings(
        change, metadata=world.keys["admin"]
    )
    assert (updated.settings.pause_on_quality_red, updated.settings.auto_resume) == (True, False)
    other: cp.GetOrganizationSettingsResponse = await world.settings.GetOrganizationSettings(
        cp.GetOrganizationSettingsRequest(), metadata=world.keys["other-viewer"]
    )
    assert other.settings.auto_resume is True


async def test_deleting_the_template_pauses_its_running_campaign(world: World) -> None:
    await world.set_template_status("APPROVED")
    created = await world.create()
    await world.campaigns.StartCampaign(
        cp.StartCampaignRequest(name=created.name), metadata=world.keys["operator"]
    )
    await world.templates.DeleteTemplate(
        api.DeleteTemplateRequest(name=TEMPLATE), metadata=world.keys["admin"]
    )
    got: cp.GetCampaignResponse = await world.campaigns.GetCampaign(
        cp.GetCampaignRequest(name=created.name), metadata=world.keys["viewer"]
    )
    assert (got.campaign.state, got.campaign.pause_reason) == (
        cp.CAMPAIGN_STATE_PAUSED,
        cp.PAUSE_REASON_TEMPLATE_DELETED,
    )
