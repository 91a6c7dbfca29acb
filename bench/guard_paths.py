"""The send guard's paths of `make bench`: CheckWindow and ValidateMessage (a template message with
its values, the call a sender makes before every send) at 1, 16 and 64 concurrent callers, next to
the bare grpc.aio echo server at the same concurrency.

The windows come the way they do in production: one signed `messages` webhook with an inbound
message from each of CONTACTS contacts, applied by the service's worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time

import aiohttp
import grpc
from grpc_paths import SEND_TEMPLATE
from harness import APP_SECRET, PHONE, WABA, Figure, Measured, Service, measure

from watemplates.v1 import conversations_pb2 as cv
from watemplates.v1 import conversations_pb2_grpc

CONCURRENCIES = (1, 16, 64)
CONTACTS = 200
TARGET = ">= 0.7, p99 <= 2x bare"


def contact(number: int) -> str:
    return f"4477009{number:05d}"


async def seed_windows(service: Service) -> None:
    now = int(time.time())
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": PHONE},
        "contacts": [{"wa_id": contact(n)} for n in range(CONTACTS)],
        "messages": [
            {"from": contact(n), "id": f"wamid.bench{n}", "timestamp": str(now - 60), "type": "text"}
            for n in range(CONTACTS)
        ],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA, "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as session:
        url = f"http://{service.http_addr}/webhooks/meta"
        async with session.post(url, data=body, headers={"X-Hub-Signature-256": signature}) as response:
            response.raise_for_status()


async def guard_figures(
    service: Service, backend: str, key: str, seconds: float, echo: dict[int, Measured]
) -> list[Figure]:
    await seed_windows(service)
    auth = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(service.grpc_addr) as channel:
        stub = conversations_pb2_grpc.ConversationServiceStub(channel)
        last = cv.CheckWindowRequest(phone_number_id=PHONE, contact=contact(CONTACTS - 1))
        for _ in range(300):  # until the worker applied the webhook
            reply: cv.CheckWindowResponse = await stub.CheckWindow(last, metadata=auth)
            if reply.window.state == cv.WINDOW_STATE_OPEN:
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the seeded windows never opened")
        checks = itertools.cycle(
            [cv.CheckWindowRequest(phone_number_id=PHONE, contact=contact(n)) for n in range(CONTACTS)]
        )
        template = cv.TemplateMessage(
            template=f"wabas/{WABA}/templates/{SEND_TEMPLATE}.en_US",
            values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St"},
        )
        validations = itertools.cycle(
            [
                cv.ValidateMessageRequest(
                    phone_number_id=PHONE, contact=contact(n), message=cv.MessageDraft(template=template)
                )
                for n in range(CONTACTS)
            ]
        )
        allowed: cv.ValidateMessageResponse = await stub.ValidateMessage(next(validations), metadata=auth)
        if allowed.verdict != cv.VERDICT_ALLOWED:
            raise RuntimeError(f"the benchmark's message is not allowed: {allowed.denials}")
        figures = []
        for path, call in (
            ("CheckWindow", lambda: stub.CheckWindow(next(checks), metadata=auth)),
            ("ValidateMessage (template)", lambda: stub.ValidateMessage(next(validations), metadata=auth)),
        ):
            for concurrency in CONCURRENCIES:
                measured = await measure(call, seconds, concurrency)
                figures.append(
                    Figure(
                        f"{path}, {concurrency} caller{'s' if concurrency > 1 else ''}",
                        backend,
                        f"grpc.aio client, {concurrency} callers",
                        measured,
                        "bare grpc.aio echo",
                        echo[concurrency],
                        TARGET,
                    )
                )
    return figures
