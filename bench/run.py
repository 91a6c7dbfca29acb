"""`make bench`: RenderTemplate and LintTemplate calls/s over gRPC on loopback, next to a bare
grpc.aio echo server measured in the same run. The ratio is the figure; absolute numbers vary by machine.

The service runs as the real `watemplates serve` process (SQLite in a temp dir); each server gets
its own process and the client drives it with a fixed number of concurrent callers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

HERE = Path(__file__).parent
WATEMPLATES = str(Path(sys.executable).with_name("watemplates"))
WABA = "301122334455667"


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


def bench(seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="watemplates-bench-") as tmp:
        env = {
            **os.environ,
            "WATEMPLATES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "WATEMPLATES_GRPC_ADDR": f"127.0.0.1:{free_port()}",
            "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
            "WATEMPLATES_LOG_LEVEL": "WARNING",
        }
        cli(env, "org", "create", "bench")
        key = cli(env, "apikey", "create", "--org", "bench", "--role", "operator").strip()
        cli(env, "waba", "add", "--org", "bench", "--waba-id", WABA)
        echo_port = free_port()
        echo = subprocess.Popen(
            [sys.executable, str(HERE / "echo_server.py"), str(echo_port)], stdout=subprocess.PIPE, text=True
        )
        service = subprocess.Popen([WATEMPLATES, "serve"], env=env, stdout=subprocess.DEVNULL)
        try:
            if echo.stdout is None or echo.stdout.readline().strip() != "ready":
                raise RuntimeError("the echo server did not start")
            results = asyncio.run(_run(env["WATEMPLATES_GRPC_ADDR"], echo_port, key, seconds, concurrency))
        finally:
            for process in (echo, service):
                process.terminate()
                process.wait(10)
    baseline = results["bare grpc.aio echo"]
    print(f"\n{concurrency} concurrent callers, {seconds:.0f} s per measurement, loopback, one process each")
    print(f"{'call':<34}{'calls/s':>12}{'vs echo':>10}")
    for name, rate in results.items():
        print(f"{name:<34}{rate:>12,.0f}{rate / baseline:>10.2f}")


async def _run(target: str, echo_port: int, key: str, seconds: float, concurrency: int) -> dict[str, float]:
    await wait_serving(target)
    auth = (("authorization", f"Bearer {key}"),)
    results: dict[str, float] = {}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{echo_port}") as echo_channel:
        echo_call = echo_channel.unary_unary("/bench.Echo/Echo")
        payload = api.RenderTemplateRequest(name="x" * 60, values={"a": "b"}).SerializeToString()
        results["bare grpc.aio echo"] = await measure(lambda: echo_call(payload), seconds, concurrency)
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
        results["RenderTemplate (reads the DB)"] = await measure(
            lambda: stub.RenderTemplate(render, metadata=auth), seconds, concurrency
        )
        results["LintTemplate (no storage)"] = await measure(
            lambda: stub.LintTemplate(lint, metadata=auth), seconds, concurrency
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    options = parser.parse_args()
    bench(options.seconds, options.concurrency)
