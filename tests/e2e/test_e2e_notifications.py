"""Campaign protection and notifications end to end, on the real processes: `watemplates serve`
(API, webhook, inbox worker) and `watemplates serve --role dispatcher` beside it, a real SMTP server
and a Slack-like receiver on loopback. A webhook pauses a template (delivered three times): its
running campaign is PAUSED with reason TEMPLATE_PAUSED, and although the dispatcher is killed while
the SMTP server holds the alert's email, exactly one email per event and one Slack message per event
arrive. The APPROVED webhook then resumes the campaign."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from support.serving import WATEMPLATES, cli, free_port, process_env, wait_serving
from watemplates.v1 import campaigns_pb2 as cp
from watemplates.v1 import campaigns_pb2_grpc, notifications_pb2_grpc, templates_pb2_grpc
from watemplates.v1 import notifications_pb2 as np
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api

SECRET = "e2e-notifications-app-secret"
WABA, PHONE = "301122334455667", "109876543210987"
TEMPLATE = f"wabas/{WABA}/templates/order_ready.en_US"
T0 = 1764150000


@dataclass
class Mailbox:
    """An MTA that delivers a message only once its DATA was acknowledged to a live client."""

    messages: list[Message] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    hold_first: bool = True
    aborted: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold_first:
            self.hold_first = False
            self.holding.set()
            # The test kills the dispatcher now, before the 250: aiosmtpd sees the client go and
            # cancels this transaction, which then delivers nothing.
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.aborted += 1
                raise
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class Slack:
    received: list[dict[str, Any]] = field(default_factory=list)


def status_change(event: str, at: int) -> bytes:
    value = {
        "event": event,
        "message_template_id": 918273645500114,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": WABA, "time": at, "changes": [{"field": "message_template_status_update", "value": value}]}
        ],
    }
    return json.dumps(body).encode()


async def post(http_addr: str, body: bytes) -> None:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}
    url = f"http://{http_addr}/webhooks/meta"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        assert response.status == 200


async def until(check: Any, what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def start(env: dict[str, str], tmp_path: Path, name: str, *roles: str) -> subprocess.Popen[str]:
    if roles == ("dispatcher",):
        # Every process serves its own health endpoints: a port of its own.
        env = {**env, "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}"}
    log = (tmp_path / f"{name}.log").open("w")
    args = [WATEMPLATES, "serve"] + [arg for role in roles for arg in ("--role", role)]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)


def test_a_paused_template_pauses_its_campaign_and_tells_people_once(
    database_url: str, tmp_path: Path, smtp: tuple[Mailbox, int], processes: list[subprocess.Popen[str]]
) -> None:
    mailbox, smtp_port = smtp
    env = process_env(
        database_url,
        WATEMPLATES_META_APP_SECRET=SECRET,
        WATEMPLATES_SMTP_HOST="127.0.0.1",
        WATEMPLATES_SMTP_PORT=str(smtp_port),
        WATEMPLATES_SMTP_SECURITY="none",
        WATEMPLATES_NOTIFICATION_LEASE_SECONDS="2",
    )
    cli(env, "org", "create", "acme")
    key = cli(env, "apikey", "create", "--org", "acme", "--role", "admin").strip()
    cli(env, "waba", "add", "--org", "acme", "--waba-id", WABA, "--phone-number-id", PHONE)
    asyncio.run(_scenario(env, tmp_path, key, mailbox, processes))


async def _scenario(
    env: dict[str, str], tmp_path: Path, key: str, mailbox: Mailbox, processes: list[subprocess.Popen[str]]
) -> None:
    slack = Slack()

    async def receive(request: web.Request) -> web.Response:
        slack.received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/slack", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    slack_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", slack_port).start()
    try:
        main = start(env, tmp_path, "serve", "grpc", "webhook", "worker")
        processes.append(main)
        await wait_serving(env["WATEMPLATES_GRPC_ADDR"], main)
        auth = (("authorization", f"Bearer {key}"),)
        async with grpc.aio.insecure_channel(env["WATEMPLATES_GRPC_ADDR"]) as channel:
            templates = templates_pb2_grpc.TemplateServiceStub(channel)
            campaigns = campaigns_pb2_grpc.CampaignServiceStub(channel)
            notifications = notifications_pb2_grpc.NotificationServiceStub(channel)
            await templates.CreateTemplate(
                api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=_template()), metadata=auth
            )
            await post(env["WATEMPLATES_HTTP_ADDR"], status_change("APPROVED", T0))

            async def approved() -> bool:
                got: api.GetTemplateResponse = await templates.GetTemplate(
                    api.GetTemplateRequest(name=TEMPLATE), metadata=auth
                )
                return got.template.status == pb.TEMPLATE_STATUS_APPROVED

            await until(approved, "the template to be approved")
            for wanted in (
                np.Channel(
                    kind=np.CHANNEL_KIND_EMAIL, display_name="ops", email_recipients=["ops@acme.test"]
                ),
                np.Channel(
                    kind=np.CHANNEL_KIND_SLACK,
                    display_name="#ops",
                    url=f"http://127.0.0.1:{slack_port}/slack",
                ),
            ):
                await notifications.CreateChannel(np.CreateChannelRequest(channel=wanted), metadata=auth)
            created: cp.CreateCampaignResponse = await campaigns.CreateCampaign(
                cp.CreateCampaignRequest(
                    campaign=cp.Campaign(display_name="Order updates", template=TEMPLATE)
                ),
                metadata=auth,
            )
            name = created.campaign.name
            await campaigns.StartCampaign(cp.StartCampaignRequest(name=name), metadata=auth)

            dispatcher = start(env, tmp_path, "dispatcher-1", "dispatcher")
            processes.append(dispatcher)
            paused = status_change("PAUSED", T0 + 60)
            for _ in range(3):  # Meta delivers it three times
                await post(env["WATEMPLATES_HTTP_ADDR"], paused)

            async def campaign_state() -> cp.Campaign:
                got: cp.GetCampaignResponse = await campaigns.GetCampaign(
                    cp.GetCampaignRequest(name=name), metadata=auth
                )
                return got.campaign

            async def is_paused() -> bool:
                return (await campaign_state()).state == cp.CAMPAIGN_STATE_PAUSED

            await until(is_paused, "the campaign to be paused")
            assert (await campaign_state()).pause_reason == cp.PAUSE_REASON_TEMPLATE_PAUSED

            # The dispatcher dies while the SMTP server holds an email, before acknowledging it, once
            # it has recorded the others (one killed between a channel's acknowledgement and its
            # record would send that one again: the at-least-once window, not what this proves).
            await until(lambda: _set(mailbox.holding), "the first email to reach the SMTP server")

            async def all_but_the_held_one_sent() -> bool:
                listed: np.ListNotificationsResponse = await notifications.ListNotifications(
                    np.ListNotificationsRequest(), metadata=auth
                )
                return sum(n.state == np.NOTIFICATION_STATE_SENT for n in listed.notifications) == 3

            await until(all_but_the_held_one_sent, "the other notifications to be recorded")
            dispatcher.send_signal(signal.SIGKILL)
            dispatcher.wait(10)
            restarted = start(env, tmp_path, "dispatcher-2", "dispatcher")
            processes.append(restarted)

            async def all_sent() -> bool:
                listed: np.ListNotificationsResponse = await notifications.ListNotifications(
                    np.ListNotificationsRequest(), metadata=auth
                )
                states = [n.state for n in listed.notifications]
                return len(states) == 4 and all(s == np.NOTIFICATION_STATE_SENT for s in states)

            await until(all_sent, "every notification to be sent")
            assert mailbox.aborted == 1  # the email in flight when the dispatcher died was not delivered
            # The alert and the campaign's pause: one email and one Slack message each, no more.
            subjects = sorted(str(message["Subject"]) for message in mailbox.messages)
            assert len(subjects) == 2, subjects
            assert any("alert" in s and "order_ready.en_US" in s for s in subjects)
            assert any("campaign paused" in s for s in subjects)
            assert len({str(m["Message-ID"]) for m in mailbox.messages}) == 2
            assert len(slack.received) == 2

            await post(env["WATEMPLATES_HTTP_ADDR"], status_change("APPROVED", T0 + 120))

            async def resumed() -> bool:
                return (await campaign_state()).state == cp.CAMPAIGN_STATE_RUNNING

            await until(resumed, "the campaign to be resumed")
            history: cp.ListCampaignHistoryResponse = await campaigns.ListCampaignHistory(
                cp.ListCampaignHistoryRequest(name=name), metadata=auth
            )
            assert [t.actor for t in history.transitions][-2:] == ["service", "service"]
    finally:
        await runner.cleanup()


async def _set(event: threading.Event) -> bool:
    return event.is_set()


def _template() -> pb.Template:
    return pb.Template(
        display_name="order_ready",
        language_code="en_US",
        category=pb.TEMPLATE_CATEGORY_UTILITY,
        components=pb.TemplateComponents(body="Hi {{first_name}}, your order is ready for pickup today."),
        parameters=[pb.TemplateParameter(key="first_name", example="Dana")],
    )
