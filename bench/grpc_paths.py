"""The gRPC paths of `make bench`: RenderTemplate and LintTemplate next to a bare grpc.aio echo server,
SendTemplateMessage end to end (gRPC -> render -> the fake Graph API) next to the fake Graph API's
own rate. The client is this process (grpc.aio on uvloop), with a fixed number of concurrent callers;
its CPU use is reported, so a client at its limit shows."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import HERE, META_TOKEN, PHONE, ROOT, WABA, Figure, Measured, Service, measure

from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

GRAPH_SERVER = ROOT / "tests" / "fakes" / "graph_server.py"
ECHO_SERVER = HERE / "echo_server.py"


def template() -> pb.Template:
    return pb.Template(
        display_name="order_ready",
        language_code="en_US",
        category=pb.TEMPLATE_CATEGORY_UTILITY,
        components=pb.TemplateComponents(
            header=pb.TemplateHeader(format=pb.HEADER_FORMAT_TEXT, text="Order {{order_id}} is ready"),
            body="Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
            footer="Reply STOP to opt out",
            buttons=[
                pb.TemplateButton(type=pb.BUTTON_TYPE_URL, text="Track", url="https://example.com/t/{{1}}")
            ],
        ),
        parameters=[
            pb.TemplateParameter(key="first_name", example="Dana"),
            pb.TemplateParameter(key="order_id", example="A-1042"),
            pb.TemplateParameter(key="store", example="Main St"),
            pb.TemplateParameter(key="button.0", example="A-1042"),
        ],
    )


SEND_TEMPLATE = "order_update"
SEED = [
    {
        "waba_id": WABA,
        "name": SEND_TEMPLATE,
        "status": "APPROVED",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Dana"},
                        {"param_name": "order_id", "example": "A-1042"},
                        {"param_name": "store", "example": "Main St"},
                    ]
                },
            }
        ],
    }
]


def write_seed(directory: Path) -> Path:
    seed = directory / "graph-seed.json"
    seed.write_text(json.dumps(SEED))
    return seed


def graph_argv(seed: Path) -> list[str]:
    return [sys.executable, str(GRAPH_SERVER), "--token", META_TOKEN, "--seed", str(seed)]


def echo_argv(port: int) -> list[str]:
    return [sys.executable, str(ECHO_SERVER), str(port)]


async def echo_baseline(port: int, seconds: float, concurrency: int) -> Measured:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary("/bench.Echo/Echo")
        payload = api.RenderTemplateRequest(name="x" * 60, values={"a": "b"}).SerializeToString()
        return await measure(lambda: echo(payload), seconds, concurrency)


async def graph_baseline(graph_url: str, seconds: float, concurrency: int) -> Measured:
    """POST /messages straight to the fake Graph API: the ceiling for a send through the service."""
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551230000",
        "type": "template",
        "template": {"name": SEND_TEMPLATE, "language": {"code": "en_US"}, "components": []},
    }
    url = f"{graph_url}/v24.0/{PHONE}/messages"
    headers = {"Authorization": f"Bearer {META_TOKEN}"}
    async with aiohttp.ClientSession() as session:

        async def post() -> None:
            async with session.post(url, json=body, headers=headers) as response:
                response.raise_for_status()
                await response.read()

        return await measure(post, seconds, concurrency)


def prepare(service: Service) -> str:
    """An organization, an operator key, the WABA and its templates synced from the fake Graph API."""
    service.cli("org", "create", "bench")
    key = service.cli("apikey", "create", "--org", "bench", "--role", "operator").strip()
    service.cli("waba", "add", "--org", "bench", "--waba-id", WABA, "--phone-number-id", PHONE)
    service.cli("templates", "sync", "--org", "bench", "--waba", WABA)
    return key


async def grpc_figures(
    service: Service,
    backend: str,
    key: str,
    seconds: float,
    concurrency: int,
    echo: Measured,
    graph: Measured,
) -> list[Figure]:
    await _wait_serving(service.grpc_addr)
    auth = (("authorization", f"Bearer {key}"),)
    generator = f"grpc.aio client, {concurrency} callers"
    async with grpc.aio.insecure_channel(service.grpc_addr) as channel:
        stub = templates_pb2_grpc.TemplateServiceStub(channel)
        created = await stub.CreateTemplate(
            api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=template()), metadata=auth
        )
        render = api.RenderTemplateRequest(
            name=created.template.name,
            values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St", "button.0": "A-1042"},
        )
        lint = api.LintTemplateRequest(template=template())
        send = api.SendTemplateMessageRequest(
            name=f"wabas/{WABA}/templates/{SEND_TEMPLATE}.en_US",
            to="+15551230000",
            values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St"},
        )
        figures = []
        for path, call, baseline_name, baseline, target in (
            (
                "RenderTemplate",
                lambda: stub.RenderTemplate(render, metadata=auth),
                "bare grpc.aio echo",
                echo,
                ">= 0.7, p99 <= 2x bare",
            ),
            (
                "LintTemplate",
                lambda: stub.LintTemplate(lint, metadata=auth),
                "bare grpc.aio echo",
                echo,
                ">= 0.8",
            ),
            (
                "SendTemplateMessage",
                lambda: stub.SendTemplateMessage(send, metadata=auth),
                "fake Graph API alone",
                graph,
                ">= 0.5",
            ),
        ):
            cpu = time.process_time()
            measured = await measure(call, seconds, concurrency)
            client_cpu = (time.process_time() - cpu) / (seconds + min(1.0, seconds / 4))
            figures.append(
                Figure(
                    path,
                    backend,
                    generator,
                    measured,
                    baseline_name,
                    baseline,
                    target,
                    [f"client CPU {client_cpu:.0%}"],
                )
            )
    return figures


async def _wait_serving(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(300):
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("watemplates did not become SERVING")
