"""The channels against real peers on loopback: an SMTP server (aiosmtpd) receives the email with
its plain and HTML parts; a Slack-like receiver gets blocks and a fallback text, and its 429 with
Retry-After and its 500s come back as retryable failures; a webhook receiver verifies the Standard
Webhooks signature."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook

from adapters.notify.senders import ChannelSenders
from app.notification_ports import DeliveryFailed
from app.settings import Settings
from domain.alerts import AlertKind, Severity
from domain.notifications import Channel, ChannelKind, Notification, NotificationContent, NotificationKind
from support.serving import free_port

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


def notification() -> Notification:
    content = NotificationContent(
        kind=NotificationKind.ALERT_OPENED,
        severity=Severity.CRITICAL,
        template="order_ready.en_US",
        waba_id="301122334455667",
        summary="PAUSED",
        reason="FIRST_PAUSE: quality is low",
        alert_kind=AlertKind.PAUSED,
        occurred_at=NOW,
    )
    return Notification("n1", "org", "ch1", "alert:a1:opened/ch1", content, NOW)


def channel(kind: ChannelKind, *targets: str) -> Channel:
    return Channel("ch1", "org", kind, "ops", tuple(targets), NOW, signing_secret=SECRET)


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


async def test_an_email_names_the_template_the_waba_what_happened_and_what_to_do(smtp: Any) -> None:
    mailbox, port = smtp
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="alerts@acme.test"
    )
    senders = ChannelSenders(settings)
    await senders.send(channel(ChannelKind.EMAIL, "ops@acme.test", "oncall@acme.test"), notification())
    await senders.close()
    [message] = mailbox.messages
    assert message["To"] == "ops@acme.test, oncall@acme.test"
    assert message["From"] == "alerts@acme.test"
    assert "order_ready.en_US" in message["Subject"]
    assert message["Message-ID"] == "<n1@watemplates>"  # the same on every attempt
    plain, rich = (
        part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()
    )
    for text in (plain, rich):
        assert "301122334455667" in text
        assert "FIRST_PAUSE" in text
        assert "What to do" in text


async def test_email_without_a_server_is_a_retryable_failure() -> None:
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none", smtp_timeout_seconds=2
    )
    with pytest.raises(DeliveryFailed) as failed:
        await ChannelSenders(settings).send(channel(ChannelKind.EMAIL, "ops@acme.test"), notification())
    assert not failed.value.permanent


@dataclass
class Receiver:
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    state = Receiver()

    async def hook(request: web.Request) -> web.Response:
        state.received.append((dict(request.headers), await request.read()))
        status, headers = state.answers.pop(0) if state.answers else (200, {})
        return web.Response(status=status, headers=headers, text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield state, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_slack_gets_blocks_with_a_plain_text_fallback(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    senders = ChannelSenders(Settings())
    await senders.send(channel(ChannelKind.SLACK, url), notification())
    await senders.close()
    [(_headers, body)] = state.received
    sent = json.loads(body)
    assert "order_ready.en_US" in sent["text"]
    assert [block["type"] for block in sent["blocks"]] == ["header", "section"]
    assert "FIRST_PAUSE" in sent["blocks"][1]["text"]["text"]


@pytest.mark.parametrize(
    ("status", "headers", "retry_after", "permanent"),
    [
        (429, {"Retry-After": "30"}, 30.0, False),
        (429, {"Retry-After": "inf"}, None, False),
        (429, {"Retry-After": "1e400"}, None, False),
        (429, {"Retry-After": "999999"}, 3600.0, False),
        (500, {}, None, False),
        (503, {}, None, False),
        (404, {}, None, True),
    ],
)
async def test_what_the_channel_answers_decides_how_the_dispatcher_retries(
    receiver: tuple[Receiver, str],
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
    permanent: bool,
) -> None:
    state, url = receiver
    state.answers.append((status, headers))
    senders = ChannelSenders(Settings())
    with pytest.raises(DeliveryFailed) as failed:
        await senders.send(channel(ChannelKind.SLACK, url), notification())
    await senders.close()
    assert (failed.value.retry_after, failed.value.permanent) == (retry_after, permanent)
    assert url not in str(failed.value)  # a Slack URL is a secret: never in an error


async def test_an_outbound_webhook_is_signed_so_the_receiver_can_verify_it(
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    senders = ChannelSenders(Settings())
    await senders.send(channel(ChannelKind.WEBHOOK, url), notification())
    await senders.close()
    [(headers, body)] = state.received
    payload = Webhook(SECRET).verify(body, headers)
    assert (payload["type"], payload["id"], payload["template"]) == (
        "watemplates.alert_opened",
        "n1",
        "order_ready.en_US",
    )
    assert headers["webhook-id"] == "n1"
    tampered = body.replace(b"order_ready", b"order_gone")
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(tampered, headers)
