"""app.notification_ports.NotificationSender over every channel kind."""

from __future__ import annotations

from adapters.notify.email import EmailSender
from adapters.notify.http_channels import HttpChannels
from app.settings import Settings
from domain.notifications import Channel, ChannelKind, Notification


class ChannelSenders:
    def __init__(self, settings: Settings) -> None:
        self._email = EmailSender(settings)
        self._http = HttpChannels()

    async def send(self, channel: Channel, notification: Notification) -> None:
        match channel.kind:
            case ChannelKind.EMAIL:
                await self._email.send(channel, notification)
            case ChannelKind.SLACK:
                await self._http.slack(channel, notification)
            case ChannelKind.WEBHOOK:
                await self._http.webhook(channel, notification)

    async def close(self) -> None:
        await self._http.close()
