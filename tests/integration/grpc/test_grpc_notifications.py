"""NotificationService through the real gRPC server over the in-memory store: channels are an
admin's, their secrets are never shown back (the signing secret once, at creation), bad channels
are refused with the field named, and organizations never see each other's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from app.bootstrap import Services, build_services
from app.commands import CreateApiKey, CreateOrganization
from app.settings import Settings
from domain.tenancy import Role
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock
from integration.grpc.grpc_cases import fails
from watemplates.v1 import notifications_pb2 as np
from watemplates.v1 import notifications_pb2_grpc

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


@dataclass
class World:
    services: Services
    stub: notifications_pb2_grpc.NotificationServiceStub
    keys: dict[str, tuple[tuple[str, str], ...]]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    services = await build_services(
        Settings(page_token_secret=SecretStr("x" * 32), auth_cache_seconds=0),
        uow_factory=FakeUnitOfWorkFactory(),
        probe=FakeHealthProbe(),
        clock=FrozenClock(),
    )
    keys: dict[str, tuple[tuple[str, str], ...]] = {}
    for slug in ("acme", "globex"):
        await services.bus.handle(CreateOrganization(slug))
        for role in (Role.ADMIN, Role.VIEWER):
            secret = (await services.bus.handle(CreateApiKey(slug, role))).secret
            keys[f"{slug}-{role.name.lower()}"] = (("authorization", f"Bearer {secret}"),)
    server = GrpcServer(
        services.bus,
        services.queries,
        services.authenticator,
        "127.0.0.1:0",
        notification_queries=services.notification_queries,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield World(services, notifications_pb2_grpc.NotificationServiceStub(channel), keys)
    finally:
        await server.stop(0)
        await services.close()


async def create(world: World, channel: np.Channel, who: str = "acme-admin") -> np.Channel:
    response: np.CreateChannelResponse = await world.stub.CreateChannel(
        np.CreateChannelRequest(channel=channel), metadata=world.keys[who]
    )
    return response.channel


async def test_secrets_are_never_shown_back_and_the_signing_secret_once(world: World) -> None:
    slack = await create(world, np.Channel(kind=np.CHANNEL_KIND_SLACK, display_name="#ops", url=SLACK_URL))
    hook = await create(
        world,
        np.Channel(
            kind=np.CHANNEL_KIND_WEBHOOK,
            url="https://internal.example/hooks/wa",
            min_severity=np.NOTIFICATION_SEVERITY_HIGH,
            muted_alert_kinds=["quality_yellow"],
        ),
    )
    assert (slack.url, slack.signing_secret) == ("", "")
    assert hook.signing_secret.startswith("whsec_")
    assert (hook.min_severity, list(hook.muted_alert_kinds)) == (
        np.NOTIFICATION_SEVERITY_HIGH,
        ["QUALITY_YELLOW"],
    )
    listed: np.ListChannelsResponse = await world.stub.ListChannels(
        np.ListChannelsRequest(), metadata=world.keys["acme-admin"]
    )
    assert sorted(c.name for c in listed.channels) == sorted([slack.name, hook.name])
    assert all(c.url == "" and c.signing_secret == "" for c in listed.channels)
    assert SLACK_URL not in str(listed)


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        (np.Channel(kind=np.CHANNEL_KIND_EMAIL), "channel.email_recipients"),
        (
            np.Channel(kind=np.CHANNEL_KIND_EMAIL, email_recipients=["ops-at-acme"]),
            "channel.email_recipients[0]",
        ),
        (np.Channel(kind=np.CHANNEL_KIND_SLACK, url="http://hooks.slack.com/x"), "channel.url"),
        (np.Channel(kind=np.CHANNEL_KIND_WEBHOOK, url="ftp://x"), "channel.url"),
        (np.Channel(kind=np.CHANNEL_KIND_WEBHOOK, url="https://["), "channel.url"),
        (np.Channel(kind=np.CHANNEL_KIND_WEBHOOK, url="https://x:99999/h"), "channel.url"),
        (np.Channel(), "channel.kind"),
        (
            np.Channel(kind=np.CHANNEL_KIND_SLACK, url=SLACK_URL, muted_alert_kinds=["NOPE"]),
            "channel.muted_alert_kinds[0]",
        ),
    ],
)
async def test_a_bad_channel_is_refused_naming_the_field(
    world: World, channel: np.Channel, field: str
) -> None:
    refused = await fails(create(world, channel))
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert next(f for f, _ in refused.violations) == field


async def test_channels_are_an_admin_s_and_stay_in_their_organization(world: World) -> None:
    created = await create(world, np.Channel(kind=np.CHANNEL_KIND_EMAIL, email_recipients=["ops@acme.test"]))
    denied = await fails(
        create(world, np.Channel(kind=np.CHANNEL_KIND_EMAIL, email_recipients=["a@b.c"]), "acme-viewer")
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    other: np.ListChannelsResponse = await world.stub.ListChannels(
        np.ListChannelsRequest(), metadata=world.keys["globex-admin"]
    )
    assert list(other.channels) == []
    missing = await fails(
        world.stub.DeleteChannel(
            np.DeleteChannelRequest(name=created.name), metadata=world.keys["globex-admin"]
        )
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
    await world.stub.DeleteChannel(
        np.DeleteChannelRequest(name=created.name), metadata=world.keys["acme-admin"]
    )
    notifications: np.ListNotificationsResponse = await world.stub.ListNotifications(
        np.ListNotificationsRequest(), metadata=world.keys["acme-viewer"]
    )
    assert list(notifications.notifications) == []
    replay = await fails(
        world.stub.ReplayNotification(
            np.ReplayNotificationRequest(name="notifications/nope"), metadata=world.keys["acme-admin"]
        )
    )
    assert replay.code == grpc.StatusCode.NOT_FOUND
