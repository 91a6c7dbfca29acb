"""watemplates.v1.NotificationService: channels and notifications."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.errors import mapped_errors
from adapters.grpc.mapping import timestamp
from adapters.grpc.proto_values import enum_in, invalid
from app.campaign_commands import CreateChannel, DeleteChannel, ReplayNotification
from app.messagebus import MessageBus
from app.notification_ports import NotificationQuery
from app.notification_queries import NotificationQueries
from app.resource_names import channel_name, notification_name, parse_simple_name
from domain.alerts import AlertKind, Severity
from domain.notifications import Channel, ChannelKind, Notification, NotificationState
from watemplates.v1 import notifications_pb2 as np
from watemplates.v1 import notifications_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
KIND = {k: getattr(np, f"CHANNEL_KIND_{k.value}") for k in ChannelKind}
KIND_FROM_PROTO = {number: kind for kind, number in KIND.items()}
SEVERITY = {s: getattr(np, f"NOTIFICATION_SEVERITY_{s.name}") for s in Severity}
SEVERITY_FROM_PROTO = {number: severity for severity, number in SEVERITY.items()}
SEVERITY_FROM_PROTO[np.NOTIFICATION_SEVERITY_UNSPECIFIED] = Severity.WARNING
STATE = {s: getattr(np, f"NOTIFICATION_STATE_{s.value}") for s in NotificationState}
STATE_FROM_PROTO = {number: state for state, number in STATE.items()}


class NotificationServicer(notifications_pb2_grpc.NotificationServiceServicer):
    def __init__(self, bus: MessageBus, queries: NotificationQueries) -> None:
        self._bus = bus
        self._queries = queries

    @mapped_errors
    async def CreateChannel(
        self, request: np.CreateChannelRequest, context: Context
    ) -> np.CreateChannelResponse:
        wanted = request.channel
        if wanted.kind == np.CHANNEL_KIND_UNSPECIFIED:
            raise invalid("channel.kind", "EMAIL, SLACK or WEBHOOK is required")
        kind = enum_in(KIND_FROM_PROTO, wanted.kind, "channel.kind")
        muted = set()
        for i, raw in enumerate(wanted.muted_alert_kinds):
            try:
                muted.add(AlertKind(raw.strip().upper()))
            except ValueError:
                kinds = ", ".join(k.value for k in AlertKind)
                raise invalid(f"channel.muted_alert_kinds[{i}]", f"{raw!r} is not one of {kinds}") from None
        created = await self._bus.handle(
            CreateChannel(
                principal=current_principal(),
                kind=kind,
                display_name=wanted.display_name,
                targets=list(wanted.email_recipients) if kind is ChannelKind.EMAIL else [wanted.url],
                min_severity=enum_in(SEVERITY_FROM_PROTO, wanted.min_severity, "channel.min_severity"),
                muted=frozenset(muted),
            )
        )
        # The signing secret is shown this once; the URL never.
        return np.CreateChannelResponse(channel=channel_to_proto(created, with_secret=True))

    @mapped_errors
    async def ListChannels(
        self, request: np.ListChannelsRequest, context: Context
    ) -> np.ListChannelsResponse:
        channels = await self._queries.channels(current_principal())
        return np.ListChannelsResponse(channels=[channel_to_proto(c) for c in channels])

    @mapped_errors
    async def DeleteChannel(
        self, request: np.DeleteChannelRequest, context: Context
    ) -> np.DeleteChannelResponse:
        await self._bus.handle(
            DeleteChannel(current_principal(), parse_simple_name(request.name, "channels"))
        )
        return np.DeleteChannelResponse()

    @mapped_errors
    async def ListNotifications(
        self, request: np.ListNotificationsRequest, context: Context
    ) -> np.ListNotificationsResponse:
        if request.page_size < 0:
            raise invalid("page_size", "must not be negative")
        query = NotificationQuery(
            org_id="",
            states=frozenset(
                enum_in(STATE_FROM_PROTO, s, f"states[{i}]") for i, s in enumerate(request.states)
            ),
        )
        page = await self._queries.notifications(
            current_principal(), query, request.page_size, request.page_token
        )
        return np.ListNotificationsResponse(
            notifications=[notification_to_proto(n) for n in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def ReplayNotification(
        self, request: np.ReplayNotificationRequest, context: Context
    ) -> np.ReplayNotificationResponse:
        replayed = await self._bus.handle(
            ReplayNotification(current_principal(), parse_simple_name(request.name, "notifications"))
        )
        return np.ReplayNotificationResponse(notification=notification_to_proto(replayed))


def channel_to_proto(channel: Channel, *, with_secret: bool = False) -> np.Channel:
    return np.Channel(
        name=channel_name(channel.id),
        kind=KIND[channel.kind],
        display_name=channel.display_name,
        email_recipients=list(channel.targets) if channel.kind is ChannelKind.EMAIL else [],
        min_severity=SEVERITY[channel.min_severity],
        muted_alert_kinds=sorted(k.value for k in channel.muted),
        signing_secret=channel.signing_secret if with_secret else "",
        create_time=timestamp(channel.created_at),
    )


def notification_to_proto(notification: Notification) -> np.Notification:
    message = np.Notification(
        name=notification_name(notification.id),
        channel=channel_name(notification.channel_id),
        kind=notification.content.kind.value,
        severity=SEVERITY[notification.content.severity],
        subject=notification.content.subject,
        state=STATE[notification.state],
        attempts=notification.attempts,
        last_error=notification.last_error,
        create_time=timestamp(notification.created_at),
    )
    if notification.sent_at is not None:
        message.send_time.CopyFrom(timestamp(notification.sent_at))
    if notification.next_attempt_at is not None and notification.state is NotificationState.PENDING:
        message.next_attempt_time.CopyFrom(timestamp(notification.next_attempt_at))
    return message
