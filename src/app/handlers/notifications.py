"""An admin's notification use cases: channels (create, delete) and replaying what failed."""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import urlsplit

from app.campaign_commands import CreateChannel, DeleteChannel, ReplayNotification
from app.errors import FieldViolation, InvalidArgument, NotFound
from app.ports import Clock, UnitOfWorkFactory
from app.resource_names import channel_name, notification_name
from domain.errors import TemplateLifecycleError
from domain.notifications import Channel, ChannelKind, Notification, NotificationState
from domain.tenancy import Role

MAX_RECIPIENTS = 50
# Enough to catch a typo; the SMTP server is the judge of the rest.
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


async def create_channel(command: CreateChannel, uow_factory: UnitOfWorkFactory, clock: Clock) -> Channel:
    command.principal.require(Role.ADMIN)
    targets = tuple(t.strip() for t in command.targets if t.strip())
    _check_targets(command.kind, targets)
    channel = Channel(
        id=secrets.token_hex(12),
        org_id=command.principal.org_id,
        kind=command.kind,
        display_name=command.display_name.strip() or command.kind.value.lower(),
        targets=targets,
        created_at=clock.now(),
        min_severity=command.min_severity,
        muted=command.muted,
        # Standard Webhooks' secret format: "whsec_" and base64 of 24 random bytes.
        signing_secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        if command.kind is ChannelKind.WEBHOOK
        else "",
    )
    async with uow_factory() as uow:
        await uow.channels.add(channel)
        await uow.commit()
    return channel


async def delete_channel(command: DeleteChannel, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
    command.principal.require(Role.ADMIN)
    async with uow_factory() as uow:
        if not await uow.channels.delete(command.principal.org_id, command.channel_id):
            raise NotFound("channel", channel_name(command.channel_id))
        await uow.commit()


async def replay_notification(
    command: ReplayNotification, uow_factory: UnitOfWorkFactory, clock: Clock
) -> Notification:
    command.principal.require(Role.ADMIN)
    async with uow_factory() as uow:
        notification = await uow.notifications.get(command.principal.org_id, command.notification_id)
        if notification is None:
            raise NotFound("notification", notification_name(command.notification_id))
        if notification.state is not NotificationState.FAILED:
            raise TemplateLifecycleError(
                "NOTIFICATION_NOT_REPLAYABLE",
                f"notification {notification.id} is {notification.state.value}; only FAILED ones replay",
            )
        notification.replay(clock.now())
        await uow.notifications.save_many([notification])
        await uow.commit()
    return notification


def _check_targets(kind: ChannelKind, targets: tuple[str, ...]) -> None:
    problems: list[FieldViolation] = []
    if kind is ChannelKind.EMAIL:
        if not targets:
            problems.append(
                FieldViolation("channel.email_recipients", "at least one address", "RECIPIENTS_REQUIRED")
            )
        if len(targets) > MAX_RECIPIENTS:
            problems.append(
                FieldViolation("channel.email_recipients", f"at most {MAX_RECIPIENTS}", "TOO_MANY_RECIPIENTS")
            )
        problems += [
            FieldViolation(
                f"channel.email_recipients[{i}]", f"{t!r} is not an email address", "INVALID_EMAIL"
            )
            for i, t in enumerate(targets)
            if not EMAIL.fullmatch(t)
        ]
    else:
        url = targets[0] if len(targets) == 1 else ""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - parses the port: "https://x:99999" is refused here, not at send time
        except ValueError:
            parts = urlsplit("")
        # Slack's URLs are https (the URL is the secret); an internal service may listen on plain
        # http inside the network, and so may a relay on this host.
        loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
        schemes = ("https",) if kind is ChannelKind.SLACK and not loopback else ("https", "http")
        if parts.scheme not in schemes or not parts.hostname:
            problems.append(
                FieldViolation("channel.url", f"one {' or '.join(schemes)} URL is required", "INVALID_URL")
            )
    if problems:
        raise InvalidArgument(
            problems[0].description, problems, reason=problems[0].reason or "INVALID_CHANNEL"
        )
