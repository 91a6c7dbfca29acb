"""`make bench`: RenderTemplate and LintTemplate calls/s over gRPC on loopback next to a bare
grpc.aio echo server, and SendTemplateMessage end to end (gRPC -> render -> Graph API) next to the
fake Graph API's own capacity, all measured in the same run. The ratios are the figures; absolute
numbers vary by machine.

The service runs as the real `watemplates serve` process (SQLite in a temp dir); each server gets
its own process and the client drives it with a fixed number of concurrent callers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

HERE = Path(__file__).parent
WATEMPLATES = str(Path(sys.executable).with_name("watemplates"))
WABA = "301122334455667"
PHONE = "109876543210987"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(call: Callable[[], Awaitable[object]], seconds: float, concurrency: int) -> float:
    """Calls per second with `concurrency` callers looping for `seconds` (after a short warm-up)."""
    done = 0
    stop_at = 0.0

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await call()
            done += 1

    stop_at = time.perf_counter() + min(1.0, seconds / 4)
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    done = 0
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([WATEMPLATES, *args], env=env, capture_output=True, text=True, check=True).stdout


async def wait_serving(target: str) -> None:
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


GRAPH_SERVER = HERE.parent / "tests" / "fakes" / "graph_server.py"
META_TOKEN = "bench-token"
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


def bench(seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="watemplates-bench-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(json.dumps(SEED))
        graph = subprocess.Popen(
            [sys.executable, str(GRAPH_SERVER), "--token", META_TOKEN, "--seed", str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        echo_port = free_port()
        echo = subprocess.Popen(
            [sys.executable, str(HERE / "echo_server.py"), str(echo_port)], stdout=subprocess.PIPE, text=True
        )
        processes: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = [graph, echo]
        try:
            assert graph.stdout is not None
            ready, _, graph_url = graph.stdout.readline().strip().partition(" ")
            if ready != "ready" or echo.stdout is None or echo.stdout.readline().strip() != "ready":
                raise RuntimeError("a benchmark peer did not start")
            env = {
                **os.environ,
                "WATEMPLATES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
                "WATEMPLATES_GRPC_ADDR": f"127.0.0.1:{free_port()}",
                "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
                "WATEMPLATES_LOG_LEVEL": "WARNING",
                "WATEMPLATES_META_APP_SECRET": "bench-app-secret",
                "WATEMPLATES_META_ACCESS_TOKEN": META_TOKEN,
                "WATEMPLATES_META_GRAPH_URL": graph_url,
            }
            cli(env, "org", "create", "bench")
            key = cli(env, "apikey", "create", "--org", "bench", "--role", "operator").strip()
            cli(env, "waba", "add", "--org", "bench", "--waba-id", WABA, "--phone-number-id", PHONE)
            cli(env, "templates", "sync", "--org", "bench", "--waba", WABA)
            processes.append(subprocess.Popen([WATEMPLATES, "serve"], env=env, stdout=subprocess.DEVNULL))
            results = asyncio.run(
                _run(env["WATEMPLATES_GRPC_ADDR"], echo_port, graph_url, key, seconds, concurrency)
            )
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
    print(f"\n{concurrency} concurrent callers, {seconds:.0f} s per measurement, loopback, one process each")
    for title, baseline, rows in results:
        print(f"\n{title}")
        print(f"{'call':<44}{'calls/s':>12}{'ratio':>8}")
        for name, rate in rows.items():
            print(f"{name:<44}{rate:>12,.0f}{rate / rows[baseline]:>8.2f}")


Results = list[tuple[str, str, dict[str, float]]]


async def _run(
    target: str, echo_port: int, graph_url: str, key: str, seconds: float, concurrency: int
) -> Results:
    await wait_serving(target)
    auth = (("authorization", f"Bearer {key}"),)
    local: dict[str, float] = {}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{echo_port}") as echo_channel:
        echo_call = echo_channel.unary_unary("/bench.Echo/Echo")
        payload = api.RenderTemplateRequest(name="x" * 60, values={"a": "b"}).SerializeToString()
        local["bare grpc.aio echo"] = await measure(lambda: echo_call(payload), seconds, concurrency)
    sending: dict[str, float] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        stub = templates_pb2_grpc.TemplateServiceStub(channel)
        created = await stub.CreateTemplate(
            api.CreateTemplateRequest(parent=f"wabas/{WABA}", template=template()), metadata=auth
        )
        render = api.RenderTemplateRequest(
            name=created.template.name,
            values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St", "button.0": "A-1042"},
        )
        lint = api.LintTemplateRequest(template=template())
        local["RenderTemplate (reads the DB)"] = await measure(
            lambda: stub.RenderTemplate(render, metadata=auth), seconds, concurrency
        )
        local["LintTemplate (no storage)"] = await measure(
            lambda: stub.LintTemplate(lint, metadata=auth), seconds, concurrency
        )
        send = api.SendTemplateMessageRequest(
            name=f"wabas/{WABA}/templates/{SEND_TEMPLATE}.en_US",
            to="+15551230000",
            values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St"},
        )
        sending["SendTemplateMessage (gRPC -> render -> Graph)"] = await measure(
            lambda: stub.SendTemplateMessage(send, metadata=auth), seconds, concurrency
        )
    sending["fake Graph API alone (POST /messages)"] = await _graph_capacity(graph_url, seconds, concurrency)
    return [
        ("Templates (issue 2): our RPCs next to a bare grpc.aio echo server", "bare grpc.aio echo", local),
        (
            "Sending (issue 3): end to end next to the fake Graph API's own capacity",
            "fake Graph API alone (POST /messages)",
            sending,
        ),
    ]


async def _graph_capacity(graph_url: str, seconds: float, concurrency: int) -> float:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    options = parser.parse_args()
    bench(options.seconds, options.concurrency)
    # Meta webhooks: a fixed count of deliveries at concurrency 64 (its own defaults, not the above).
    from webhook_bench import bench as webhook_bench

    webhook_bench()
