"""Two `watemplates serve` processes on one database: a template that a webhook paused through one
stops being sendable through the other within a second, although the other serves sends from its
in-process cache (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from support.serving import WATEMPLATES, cli, free_port
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
GRAPH_SERVER = ROOT / "tests" / "fakes" / "graph_server.py"
WABA, PHONE, TOKEN, SECRET = "301122334455667", "109876543210987", "replica-token", "replica-secret"
META_ID = 918273645500199
# The cache re-reads the store's generation every 0.25 s; a second leaves ample room for the read.
STALE_AT_MOST_SECONDS = 1.0
SEED = [
    {
        "waba_id": WABA,
        "template_id": str(META_ID),
        "name": "order_update",
        "status": "APPROVED",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, your order is ready.",
                "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Dana"}]},
            }
        ],
    }
]


@pytest.fixture
def graph_url(tmp_path: Path) -> Iterator[str]:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    process = subprocess.Popen(
        [sys.executable, str(GRAPH_SERVER), "--token", TOKEN, "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, url = process.stdout.readline().strip().partition(" ")
        assert ready == "ready"
        yield url
    finally:
        process.terminate()
        process.wait(10)


def replica_env(database_url: str, graph_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "WATEMPLATES_DATABASE_URL": database_url,
        "WATEMPLATES_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_META_APP_SECRET": SECRET,
        "WATEMPLATES_META_ACCESS_TOKEN": TOKEN,
        "WATEMPLATES_META_GRAPH_URL": graph_url,
        "WATEMPLATES_LOG_FORMAT": "json",
        "WATEMPLATES_SHUTDOWN_GRACE_SECONDS": "1",
    }


@pytest.fixture
def replicas(database_url: str, graph_url: str, tmp_path: Path) -> Iterator[list[dict[str, str]]]:
    envs = [replica_env(database_url, graph_url) for _ in range(2)]
    cli(envs[0], "org", "create", "acme")
    cli(envs[0], "waba", "add", "--org", "acme", "--waba-id", WABA, "--phone-number-id", PHONE)
    cli(envs[0], "templates", "sync", "--org", "acme", "--waba", WABA)
    processes = []
    for index, env in enumerate(envs):
        log = (tmp_path / f"serve-{index}.log").open("w")
        processes.append(
            subprocess.Popen([WATEMPLATES, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log)
        )
    try:
        yield envs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)


async def serving(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 30
    while True:
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            pass
        assert time.monotonic() < deadline, "a replica did not become SERVING in 30 s"
        await asyncio.sleep(0.1)


def paused_webhook() -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA,
                    "time": int(time.time()),
                    "changes": [
                        {
                            "field": "message_template_status_update",
                            "value": {
                                "event": "PAUSED",
                                "message_template_id": META_ID,
                                "message_template_name": "order_update",
                                "message_template_language": "en_US",
                                "reason": "NONE",
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


async def test_a_pause_through_one_replica_stops_sends_through_the_other_within_a_second(
    replicas: list[dict[str, str]],
) -> None:
    first, second = replicas
    key = cli(first, "apikey", "create", "--org", "acme", "--role", "operator").strip()
    auth = (("authorization", f"Bearer {key}"),)
    name = f"wabas/{WABA}/templates/order_update.en_US"
    send = api.SendTemplateMessageRequest(name=name, to="+15551230000", values={"first_name": "Dana"})
    async with (
        grpc.aio.insecure_channel(first["WATEMPLATES_GRPC_ADDR"]) as first_channel,
        grpc.aio.insecure_channel(second["WATEMPLATES_GRPC_ADDR"]) as second_channel,
    ):
        await serving(first_channel)
        await serving(second_channel)
        on_first = templates_pb2_grpc.TemplateServiceStub(first_channel)
        on_second = templates_pb2_grpc.TemplateServiceStub(second_channel)
        # The second replica sends, and so holds the approved template in its cache.
        for _ in range(3):
            await on_second.SendTemplateMessage(send, metadata=auth, timeout=10)

        body = paused_webhook()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        async with aiohttp.ClientSession() as http:
            url = f"http://{first['WATEMPLATES_HTTP_ADDR']}/webhooks/meta"
            async with http.post(url, data=body, headers={"X-Hub-Signature-256": signature}) as response:
                assert response.status == 200
        # Applied (and committed) by the first replica's worker:
        deadline = time.monotonic() + 30
        while (
            await on_first.GetTemplate(api.GetTemplateRequest(name=name), metadata=auth)
        ).template.status != (pb.TEMPLATE_STATUS_PAUSED):
            assert time.monotonic() < deadline, "the pause was never applied"
            await asyncio.sleep(0.02)
        paused_at = time.monotonic()

        refused: grpc.StatusCode | None = None
        while refused is None:
            try:
                await on_second.SendTemplateMessage(send, metadata=auth, timeout=10)
            except grpc.aio.AioRpcError as exc:
                refused = exc.code()
            else:
                assert time.monotonic() - paused_at < STALE_AT_MOST_SECONDS, "the other replica still sends"
                await asyncio.sleep(0.02)
        assert refused is grpc.StatusCode.FAILED_PRECONDITION
