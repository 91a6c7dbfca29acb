"""The send guard end to end: the real `watemplates serve`, real-shaped signed `messages` webhooks
(inbound, statuses, a 131047 failure) posted to its HTTP port, then windows and message records read
back over gRPC as a client would."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from support.serving import WATEMPLATES, cli, process_env, wait_serving
from watemplates.v1 import conversations_pb2 as cv
from watemplates.v1 import conversations_pb2_grpc

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SECRET = "e2e-send-guard-app-secret"
WABA = "301122334455667"
PHONE = "109876543210987"
ROSA = "447700900123"  # sample 01: wrote at 1764151200
TOM = "4915112345678"  # sample 02: wrote at 1764151500 from an ad


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return process_env(database_url, WATEMPLATES_META_APP_SECRET=SECRET)


@pytest.fixture
def serving(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    cli(env, "org", "create", "acme")
    key = cli(env, "apikey", "create", "--org", "acme", "--role", "viewer").strip()
    cli(env, "waba", "add", "--org", "acme", "--waba-id", WABA, "--phone-number-id", PHONE)
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen([WATEMPLATES, "serve"], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        asyncio.run(wait_serving(env["WATEMPLATES_GRPC_ADDR"], process))
        yield key
    finally:
        process.kill()
        process.wait(10)
        log.close()


def at(seconds: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromSeconds(seconds)
    return stamp


def failed_131047() -> bytes:
    status = {
        "id": "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQjc5",
        "status": "failed",
        "timestamp": "1764158400",
        "recipient_id": ROSA,
        "errors": [{"code": 131047, "title": "Re-engagement message"}],
    }
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE}, "statuses": [status]}
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


async def post_all(http_addr: str, bodies: list[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for body in bodies:
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {"X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}
            async with session.post(
                f"http://{http_addr}/webhooks/meta", data=body, headers=headers
            ) as response:
                assert response.status == 200, await response.text()


async def eventually(check: Any, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "the worker did not apply the webhooks in time"
        await asyncio.sleep(0.2)


def test_webhooks_in_windows_and_records_out(env: dict[str, str], serving: str) -> None:
    asyncio.run(_scenario(env, serving))


async def _scenario(env: dict[str, str], key: str) -> None:
    samples = [
        (SAMPLES / name).read_bytes() for name in sorted(p.name for p in SAMPLES.glob("0[1-4]_*.json"))
    ]
    await post_all(env["WATEMPLATES_HTTP_ADDR"], samples)
    auth = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(env["WATEMPLATES_GRPC_ADDR"]) as channel:
        conversations = conversations_pb2_grpc.ConversationServiceStub(channel)
        messages = conversations_pb2_grpc.MessageServiceStub(channel)

        async def window(contact: str, when: int) -> cv.ConversationWindow:
            request = cv.CheckWindowRequest(phone_number_id=PHONE, contact=contact, at=at(when))
            response: cv.CheckWindowResponse = await conversations.CheckWindow(request, metadata=auth)
            return response.window

        async def listed() -> list[cv.Message]:
            response: cv.ListMessagesResponse = await messages.ListMessages(
                cv.ListMessagesRequest(), metadata=auth
            )
            return list(response.messages) if len(response.messages) == 2 else []

        rosa = await eventually(lambda: _open(window(ROSA, 1764151200 + 3600)))
        assert rosa.last_inbound_time.seconds == 1764151200
        assert (await window(ROSA, 1764151200 + 24 * 3600)).state == cv.WINDOW_STATE_CLOSED
        # Each sample is a delivery of its own: the worker may apply them in different rounds.
        tom = await eventually(lambda: _open(window(f"+{TOM}", 1764151500 + 60)))
        assert (tom.state, tom.free_entry_point) == (
            cv.WINDOW_STATE_OPEN,
            cv.FREE_ENTRY_POINT_STATE_AVAILABLE,
        )

        records = {m.message_id: m for m in await eventually(listed)}
        delivered = records["wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQjc4"]
        assert (delivered.status, delivered.outcome, delivered.pricing.type) == (
            cv.DELIVERY_STATUS_DELIVERED,
            cv.SEND_OUTCOME_OBSERVED,
            "free_customer_service",
        )
        capped = records["wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEkZG"]
        assert (capped.status, capped.error_code) == (cv.DELIVERY_STATUS_FAILED, 131049)

        # Meta says the window with Rosa is closed: from that status time until she writes again.
        await post_all(env["WATEMPLATES_HTTP_ADDR"], [failed_131047()])

        async def closed() -> cv.ConversationWindow | None:
            found = await window(ROSA, 1764158400 + 60)
            return found if found.state == cv.WINDOW_STATE_CLOSED else None

        assert (await eventually(closed)).closed_by_meta_time.seconds == 1764158400
        allowed: cv.ValidateMessageResponse = await conversations.ValidateMessage(
            cv.ValidateMessageRequest(
                phone_number_id=PHONE,
                contact=ROSA,
                at=at(1764158400 + 60),
                message=cv.MessageDraft(
                    free_form=cv.FreeFormMessage(type=cv.FREE_FORM_TYPE_TEXT, text="hello")
                ),
            ),
            metadata=auth,
        )
        assert [(d.reason, d.meta_error_code) for d in allowed.denials] == [
            ("CUSTOMER_SERVICE_WINDOW_CLOSED", 131047)
        ]


async def _open(pending: Any) -> cv.ConversationWindow | None:
    found: cv.ConversationWindow = await pending
    return found if found.state == cv.WINDOW_STATE_OPEN else None
