"""Starting the real `watemplates` process in end-to-end tests: free ports, the CLI, readiness."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

WATEMPLATES = str(Path(sys.executable).with_name("watemplates"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `watemplates` process on `database_url`, on free ports, logging JSON."""
    return {
        **os.environ,
        "WATEMPLATES_DATABASE_URL": database_url,
        "WATEMPLATES_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_LOG_FORMAT": "json",
        "WATEMPLATES_SHUTDOWN_GRACE_SECONDS": "1",
        **extra,
    }


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [WATEMPLATES, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"watemplates {' '.join(args)} failed: {done.stderr}"
    return done.stdout


async def wait_serving(target: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert process.poll() is None, "the server exited during start-up"
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            assert time.monotonic() < deadline, "the server did not become SERVING in 30 s"
            await asyncio.sleep(0.2)
