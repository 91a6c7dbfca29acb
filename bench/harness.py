"""What every section of `make bench` shares: free ports, timed concurrent calls, the service as a
real `watemplates serve` process, and the figures the report prints."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WATEMPLATES = str(Path(sys.executable).with_name("watemplates"))
WABA = "301122334455667"
PHONE = "109876543210987"
APP_SECRET = "bench-app-secret"
META_TOKEN = "bench-token"
START_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Measured:
    """Calls per second and latency percentiles (ms) of one measurement."""

    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None


def percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def measure(call: Callable[[], Awaitable[object]], seconds: float, concurrency: int) -> Measured:
    """`concurrency` callers loop on `call` for `seconds` after a short warm-up; every call timed."""
    latencies: list[float] = []
    stop_at = 0.0

    async def caller(record: bool) -> None:
        while (started := time.perf_counter()) < stop_at:
            await call()
            if record:
                latencies.append(time.perf_counter() - started)

    stop_at = time.perf_counter() + min(1.0, seconds / 4)
    await asyncio.gather(*(caller(False) for _ in range(concurrency)))
    began = time.perf_counter()
    stop_at = began + seconds
    await asyncio.gather(*(caller(True) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return Measured(len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99))


@dataclass
class Figure:
    """One row of the report: a path on a backend, next to its bare baseline when it has one."""

    path: str
    backend: str
    generator: str
    measured: Measured
    baseline_name: str = ""
    baseline: Measured | None = None
    target: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.rate:
            return None
        return self.measured.rate / self.baseline.rate


class Service:
    """`watemplates serve` (all roles, as `make run` starts it) on a database of its own; CLI
    commands run against the same environment."""

    def __init__(self, database_url: str, log: Path, extra_env: dict[str, str] | None = None) -> None:
        self.grpc_addr = f"127.0.0.1:{free_port()}"
        self.http_addr = f"127.0.0.1:{free_port()}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WATEMPLATES_")},
            "WATEMPLATES_DATABASE_URL": database_url,
            "WATEMPLATES_GRPC_ADDR": self.grpc_addr,
            "WATEMPLATES_HTTP_ADDR": self.http_addr,
            "WATEMPLATES_LOG_LEVEL": "WARNING",
            "WATEMPLATES_LOG_FORMAT": "text",
            "WATEMPLATES_META_APP_SECRET": APP_SECRET,
            **(extra_env or {}),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [WATEMPLATES, *args], env=self.env, capture_output=True, text=True, check=True
        ).stdout

    @contextlib.contextmanager
    def running(self) -> Iterator[Service]:
        self.cli("migrate")
        with self.log.open("wb") as log_file:
            self.process = subprocess.Popen(
                [WATEMPLATES, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=log_file
            )
        try:
            self._wait_ready()
            yield self
        finally:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://{self.http_addr}/readyz", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"watemplates serve did not become ready:\n{tail}")

    def log_problems(self) -> list[str]:
        """WARNING and worse records in the server's log."""
        return [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if " WARNING " in line or " ERROR " in line or " CRITICAL " in line
        ]


@contextlib.contextmanager
def peer(argv: list[str]) -> Iterator[str]:
    """A helper process that prints one line when it is ready; yields that line."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(10)
