"""The real process: `watemplates serve` as a subprocess, set up with the CLI, driven over gRPC."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from support.serving import WATEMPLATES, cli, free_port, wait_serving
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

pytestmark = pytest.mark.e2e
WABA = "301122334455667"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WATEMPLATES_DATABASE_URL": database_url,
        "WATEMPLATES_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_LOG_FORMAT": "json",
        "WATEMPLATES_SHUTDOWN_GRACE_SECONDS": "2",
    }


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen([WATEMPLATES, "serve"], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


def order_ready() -> pb.Template:
    return pb.Template(
        display_name="order_ready",
        language_code="en_US",
        category=pb.TEMPLATE_CATEGORY_UTILITY,
        components=pb.TemplateComponents(
            header=pb.TemplateHeader(format=pb.HEADER_FORMAT_TEXT, text="Order {{order_id}} is ready"),
            body="Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
            footer="Reply STOP to opt out",
        ),
        parameters=[
            pb.TemplateParameter(key="first_name", example="Dana"),
            pb.TemplateParameter(key="order_id", example="A-1042", max_length=12),
            pb.TemplateParameter(key="store", example="Main St"),
        ],
    )


async def test_serve_end_to_end(env: dict[str, str], server: subprocess.Popen[str]) -> None:
    # Admin set-up with the CLI against the same database the server uses.
    cli(env, "org", "create", "acme")
    key = cli(env, "apikey", "create", "--org", "acme", "--role", "operator").strip()
    viewer_key = cli(env, "apikey", "create", "--org", "acme", "--role", "viewer").strip()
    cli(env, "waba", "add", "--org", "acme", "--waba-id", WABA, "--phone-number-id", "109876543210987")

    target = env["WATEMPLATES_GRPC_ADDR"]
    await wait_serving(target, server)
    auth = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = templates_pb2_grpc.TemplateServiceStub(channel)
        created = await stub.CreateTemplate(
            api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=order_ready(), request_id="e2e-1"),
            metadata=auth,
        )
        name = created.template.name
        assert name == f"wabas/{WABA}/templates/order_ready.en_US"
        assert created.template.status == pb.TEMPLATE_STATUS_DRAFT
        assert created.template.parameter_format == pb.PARAMETER_FORMAT_NAMED

        fetched = await stub.GetTemplate(api.GetTemplateRequest(name=name), metadata=auth)
        assert fetched.template == created.template

        listed = await stub.ListTemplates(api.ListTemplatesRequest(parent="wabas/-"), metadata=auth)
        assert [t.name for t in listed.templates] == [name]

        rendered = await stub.RenderTemplate(
            api.RenderTemplateRequest(
                name=name, values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St"}
            ),
            metadata=(("authorization", f"Bearer {viewer_key}"),),
        )
        assert rendered.body_text == "Hi Dana, your order A-1042 can be collected from Main St today."
        assert json.loads(rendered.meta_components_json)[0] == {
            "type": "header",
            "parameters": [{"type": "text", "parameter_name": "order_id", "text": "A-1042"}],
        }

        revised = order_ready()
        revised.name = name
        revised.components.footer = "Reply HELP for support"
        updated = await stub.UpdateTemplate(
            api.UpdateTemplateRequest(template=revised, etag=created.template.etag), metadata=auth
        )
        assert updated.template.components.footer == "Reply HELP for support"
        assert updated.template.etag != created.template.etag

        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await stub.DeleteTemplate(
                api.DeleteTemplateRequest(name=name, etag=created.template.etag), metadata=auth
            )
        assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.DeleteTemplate(
                api.DeleteTemplateRequest(name=name), metadata=(("authorization", f"Bearer {viewer_key}"),)
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

        await stub.DeleteTemplate(
            api.DeleteTemplateRequest(name=name, etag=updated.template.etag), metadata=auth
        )
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await stub.GetTemplate(api.GetTemplateRequest(name=name), metadata=auth)
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND

    # SIGTERM: health goes NOT_SERVING, in-flight calls finish, the process exits 0.
    server.send_signal(signal.SIGTERM)
    assert server.wait(20) == 0
    assert server.stdout is not None
    assert "watemplates is serving" in server.stdout.read()


async def test_readiness_endpoints(env: dict[str, str], server: subprocess.Popen[str]) -> None:
    await wait_serving(env["WATEMPLATES_GRPC_ADDR"], server)
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for path, expected in (("/healthz", "ok"), ("/readyz", "ready")):
            async with session.get(f"http://{env['WATEMPLATES_HTTP_ADDR']}{path}") as response:
                assert response.status == 200
                assert (await response.json())["status"] == expected
    server.send_signal(signal.SIGINT)
    assert server.wait(20) == 0


GRAPH_SERVER = Path(__file__).parents[1] / "fakes" / "graph_server.py"
META_TOKEN = "EAAG-e2e-token-91c4"
SEEDED = [
    {
        "waba_id": WABA,
        "name": "order_ready",
        "status": "APPROVED",
        "quality": "GREEN",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, your order {{order_id}} can be collected from the desk today.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Dana"},
                        {"param_name": "order_id", "example": "A-1042"},
                    ]
                },
            }
        ],
    }
]


@pytest.fixture
def fake_graph(tmp_path: Path) -> Iterator[str]:
    """The fake Graph API as its own process, seeded with one approved template; yields its URL."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEEDED))
    process = subprocess.Popen(
        [sys.executable, str(GRAPH_SERVER), "--token", META_TOKEN, "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, url = process.stdout.readline().strip().partition(" ")
        assert ready == "ready", "the fake Graph API did not start"
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def meta_env(env: dict[str, str], fake_graph: str) -> dict[str, str]:
    return {**env, "WATEMPLATES_META_ACCESS_TOKEN": META_TOKEN, "WATEMPLATES_META_GRAPH_URL": fake_graph}


@pytest.fixture
def meta_server(
    meta_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Callable[[], subprocess.Popen[str]], Path]]:
    """`watemplates serve` with Meta configured, started after the test's CLI set-up (lazily)."""
    log_path = tmp_path / "meta-serve.log"
    processes: list[subprocess.Popen[str]] = []
    with log_path.open("w") as log:

        def start() -> subprocess.Popen[str]:
            process = subprocess.Popen(
                [WATEMPLATES, "serve"], env=meta_env, stdout=subprocess.DEVNULL, stderr=log, text=True
            )
            processes.append(process)
            return process

        yield start, log_path
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


async def test_serve_with_meta_sync_send_and_submit(meta_env: dict[str, str], meta_server: Any) -> None:
    env = meta_env
    start_server, log_path = meta_server
    cli(env, "org", "create", "acme")
    key = cli(env, "apikey", "create", "--org", "acme", "--role", "operator").strip()
    cli(env, "waba", "add", "--org", "acme", "--waba-id", WABA, "--phone-number-id", "109876543210987")
    # Templates made in WhatsApp Manager arrive with a sync from the CLI.
    synced = cli(env, "templates", "sync", "--org", "acme", "--waba", WABA)
    assert f"created\twabas/{WABA}/templates/order_ready.en_US" in synced

    server = start_server()
    await wait_serving(env["WATEMPLATES_GRPC_ADDR"], server)
    auth = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(env["WATEMPLATES_GRPC_ADDR"]) as channel:
        stub = templates_pb2_grpc.TemplateServiceStub(channel)
        sent = await stub.SendTemplateMessage(
            api.SendTemplateMessageRequest(
                name=f"wabas/{WABA}/templates/order_ready.en_US",
                to="+15551230000",
                values={"first_name": "Dana", "order_id": "A-1042"},
            ),
            metadata=auth,
        )
        assert sent.message_id.startswith("wamid.")
        assert sent.message_status == api.MESSAGE_STATUS_ACCEPTED

        draft = order_ready()
        draft.display_name = "pickup_reminder"
        await stub.CreateTemplate(
            api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=draft), metadata=auth
        )
        submitted = await stub.SubmitTemplate(
            api.SubmitTemplateRequest(name=f"wabas/{WABA}/templates/pickup_reminder.en_US"), metadata=auth
        )
        assert submitted.template.meta_template_id
        assert submitted.template.status == pb.TEMPLATE_STATUS_PENDING
    server.send_signal(signal.SIGTERM)
    assert server.wait(20) == 0
    # The access token never reaches the logs.
    assert META_TOKEN not in log_path.read_text()


async def test_a_half_sent_webhook_does_not_hold_shutdown_past_the_grace(
    env: dict[str, str], server: subprocess.Popen[str]
) -> None:
    """An HTTP request whose body never finishes used to hold the process for aiohttp's own 60 s
    before the gRPC side even began to stop; now both get the grace period (2 s here), together."""
    await wait_serving(env["WATEMPLATES_GRPC_ADDR"], server)
    host, port = env["WATEMPLATES_HTTP_ADDR"].split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")
    await writer.drain()

    server.send_signal(signal.SIGTERM)

    # Bounded well below aiohttp's default 60 s, well above the 2 s grace on a busy machine.
    assert server.wait(20) == 0
    writer.close()
