"""Slack incoming webhooks and signed outbound webhooks (Standard Webhooks: webhook-id,
webhook-timestamp, webhook-signature), over one aiohttp session."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook

from adapters.notify.texts import document, plain_text
from app.notification_ports import DeliveryFailed
from domain.notifications import Channel, Notification

_TIMEOUT = aiohttp.ClientTimeout(total=15)


class HttpChannels:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def slack(self, channel: Channel, notification: Notification) -> None:
        content = notification.content
        text = plain_text(notification)
        body = {
            # The fallback for notifications and clients without blocks.
            "text": _mrkdwn(content.subject),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": content.subject[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(text)[:3000]}},
            ],
        }
        await self._post(channel.targets[0], json.dumps(body).encode(), {"Content-Type": "application/json"})

    async def webhook(self, channel: Channel, notification: Notification) -> None:
        body = json.dumps(document(notification), separators=(",", ":")).encode()
        # The notification's id is the webhook-id: a receiver drops a repeat by it.
        when = datetime.fromtimestamp(int(time.time()), UTC)
        signature = Webhook(channel.signing_secret).sign(notification.id, when, body.decode())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": notification.id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature,
        }
        await self._post(channel.targets[0], body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        session = self._ensure_session()
        try:
            async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                await response.read()
                status, retry_after = response.status, response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Never the URL: a Slack webhook URL is itself the secret.
            raise DeliveryFailed(f"the channel could not be reached: {type(exc).__name__}") from None
        if 200 <= status < 300:
            return
        if status == 429:
            raise DeliveryFailed("the channel asked to slow down (429)", retry_after=_seconds(retry_after))
        # 4xx other than 408/429: the receiver refuses this message for good (a revoked Slack URL).
        permanent = 400 <= status < 500 and status != 408
        raise DeliveryFailed(f"the channel answered HTTP {status}", permanent=permanent)

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session


def _seconds(raw: str | None) -> float | None:
    """Retry-After in seconds, within an hour (a receiver's "inf" or "1e400" is not a plan)."""
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), 3600.0)


def _mrkdwn(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
