"""The webhook paths of `make bench`: Meta deliveries acknowledged per second (with p50/p99) next to a
bare aiohttp + HMAC receiver, and the inbox worker's rate: changes settled while deliveries keep
arriving, then the backlog drained alone.

Load: `wrk` (Debian package) with pre-signed distinct deliveries when it is installed, otherwise an
aiohttp client in this process (named in the report, since it may limit the rate). The deliveries
come from the ten sample payloads in tests/fixtures/samples (messages, statuses and template events;
1.1 changes each), with ids, times and templates varied over ~500 templates so none is a duplicate.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from harness import APP_SECRET, HERE, ROOT, WABA, Figure, Measured, Service, percentile

from app.main import ROLES
from app.settings import Settings
from app.worker_process import wants_worker_process

SAMPLES = ROOT / "tests" / "fixtures" / "samples"
HMAC_BASELINE = HERE / "hmac_baseline.py"
PATH = "/webhooks/meta"
MEASURED_T0 = 1_790_000_000
WARMUP_T0 = 1_780_000_000
TEMPLATE_BASES = 4  # distinct templates in the samples
LUA_CHUNK = 10_000  # payloads per Lua function: LuaJIT allows 65,536 constants in one
DRAIN_CAP_SECONDS = 90.0
POLL_SECONDS = 0.05
CONNECTIONS = 64

PENDING_SQL = (
    "SELECT 'deliveries', state, count(*) FROM webhook_deliveries GROUP BY state "
    "UNION ALL SELECT 'changes', state, count(*) FROM webhook_changes GROUP BY state"
)


@dataclass(frozen=True)
class Payload:
    body: bytes
    signature: str
    changes: int


def payloads(count: int, first_time: int, namespace: str, templates: int = 500) -> list[Payload]:
    """`count` distinct signed deliveries: payload i is sample i % 10 with its ids and times varied."""
    samples = [json.loads(p.read_text()) for p in sorted(SAMPLES.glob("*.json"))]
    variants = max(templates // TEMPLATE_BASES, 1)
    made = []
    for index in range(count):
        document = copy.deepcopy(samples[index % len(samples)])
        moment = first_time + index
        spread = int.from_bytes(hashlib.blake2b(f"{namespace}:{index}".encode(), digest_size=8).digest())
        variant, phone = spread % variants, f"4477009{(spread >> 20) % 1000:05d}"
        message_id = (
            "wamid.HBgM"
            + base64.b64encode(hashlib.sha256(f"{namespace}:{index}".encode()).digest()[:24]).decode()
        )
        changes = 0
        for entry in document["entry"]:
            entry["id"] = WABA
            if "time" in entry:
                entry["time"] = moment
            for change in entry["changes"]:
                changes += 1
                _vary(change["value"], moment, message_id, phone, variant)
        body = json.dumps(document, separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        made.append(Payload(body, signature, changes))
    return made


def _vary(value: dict[str, Any], moment: int, message_id: str, phone: str, variant: int) -> None:
    for message in value.get("messages", []):
        message["id"], message["timestamp"], message["from"] = message_id, str(moment), phone
    for contact in value.get("contacts", []):
        contact["wa_id"] = phone
    for status in value.get("statuses", []):
        status["id"], status["timestamp"], status["recipient_id"] = message_id, str(moment), phone
    if "message_template_id" in value:
        value["message_template_id"] += variant * 1000
        value["message_template_name"] += f"_{variant:03d}"
    if "disable_info" in value:
        value["disable_info"]["disable_date"] = moment
    if "category_update_timestamp" in value:
        value["category_update_timestamp"] = moment + 86_400


# ---- load generators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What one generator run did: 2xx answers, their latencies, and when it ran (monotonic)."""

    ok: int
    failed: int
    seconds: float
    started: float
    p50_ms: float | None
    p99_ms: float | None
    generator: str

    @property
    def measured(self) -> Measured:
        return Measured(self.ok / self.seconds, self.p50_ms, self.p99_ms)


WRK_SCRIPT = r"""
function init(args)
  local payloads = dofile(os.getenv("PAYLOADS"))
  reqs = {}
  for k, p in ipairs(payloads) do
    reqs[k] = wrk.format("POST", "/webhooks/meta",
      {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = p.sig}, p.body)
  end
  n = #reqs
  pos = 0
end
function request()
  pos = pos % n + 1
  return reqs[pos]
end
function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"status":%d,"socket":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class Generator:
    """wrk when installed, else an aiohttp client; `prepare` writes what wrk loads."""

    def __init__(self, directory: Path, measured: list[Payload], warmup: list[Payload]) -> None:
        self.use_wrk = shutil.which("wrk") is not None
        self._directory = directory
        self._payloads = {"measured": measured, "warmup": warmup}
        if self.use_wrk:
            (directory / "bench.lua").write_text(WRK_SCRIPT)
            for name, batch in self._payloads.items():
                _write_lua(batch, directory / f"{name}.lua")

    @property
    def name(self) -> str:
        return (
            f"wrk, 1 thread, {CONNECTIONS} connections"
            if self.use_wrk
            else (f"aiohttp client, {CONNECTIONS} callers (wrk not installed)")
        )

    async def run(self, port: int, batch: str, seconds: float) -> Load:
        if self.use_wrk:
            return await asyncio.to_thread(self._wrk, port, batch, seconds)
        return await self._aiohttp(port, self._payloads[batch], seconds)

    def _wrk(self, port: int, batch: str, seconds: float) -> Load:
        env = {**os.environ, "PAYLOADS": str(self._directory / f"{batch}.lua")}
        argv = [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(self._directory / "bench.lua"),
            f"http://127.0.0.1:{port}",
        ]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 120)
        ended = time.monotonic()
        found = re.search(r"WRKJSON (\{.*\})", result.stdout)
        if found is None:
            raise RuntimeError(f"wrk printed no result: {result.stderr[-500:]}")
        report = json.loads(found.group(1))
        took = report["duration_us"] / 1e6
        failed = report["status"] + report["socket"]
        return Load(
            report["requests"] - report["status"],
            failed,
            took,
            ended - took,
            report["p50_us"] / 1000,
            report["p99_us"] / 1000,
            self.name,
        )

    async def _aiohttp(self, port: int, batch: list[Payload], seconds: float) -> Load:
        url = f"http://127.0.0.1:{port}{PATH}"
        latencies: list[float] = []
        failed = 0
        cursor = iter(range(10**9))
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            started = time.monotonic()
            stop_at = started + seconds

            async def caller() -> None:
                nonlocal failed
                while time.monotonic() < stop_at:
                    payload = batch[next(cursor) % len(batch)]
                    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": payload.signature}
                    sent = time.monotonic()
                    try:
                        async with session.post(url, data=payload.body, headers=headers) as response:
                            await response.read()
                            ok = response.status == 200
                    except (aiohttp.ClientError, TimeoutError):
                        ok = False
                    if ok:
                        latencies.append(time.monotonic() - sent)
                    else:
                        failed += 1

            await asyncio.gather(*(caller() for _ in range(CONNECTIONS)))
        took = time.monotonic() - started
        latencies.sort()
        return Load(
            len(latencies),
            failed,
            took,
            started,
            percentile(latencies, 50),
            percentile(latencies, 99),
            self.name,
        )


def _write_lua(batch: list[Payload], path: Path) -> None:
    with path.open("w") as out:
        out.write("local t = {}\nlocal function add(c) for i = 1, #c do t[#t + 1] = c[i] end end\n")
        for start in range(0, len(batch), LUA_CHUNK):
            rows = (
                f"{{body=[==[{p.body.decode()}]==],sig='{p.signature}'}}"
                for p in batch[start : start + LUA_CHUNK]
            )
            out.write("add((function() return {\n" + ",\n".join(rows) + "\n} end)())\n")
        out.write("return t\n")


# ---- the inbox, read-only ----------------------------------------------------------------------

Counts = dict[tuple[str, str], int]


@contextlib.asynccontextmanager
async def inbox_counts(database_url: str) -> AsyncIterator[Callable[[], Any]]:
    """A read-only connection of its own; yields an async function returning rows per state."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(
            f"file:{database_url.split(':///', 1)[1]}?mode=ro", uri=True, check_same_thread=False
        )

        async def counts() -> Counts:
            rows = await asyncio.to_thread(lambda: connection.execute(PENDING_SQL).fetchall())
            return {(kind, state): int(n) for kind, state, n in rows}

        try:
            yield counts
        finally:
            connection.close()
        return
    import asyncpg

    pg = await asyncpg.connect(
        database_url.replace("postgresql+asyncpg://", "postgresql://"),
        server_settings={"default_transaction_read_only": "on"},
    )

    async def pg_counts() -> Counts:
        return {(kind, state): int(n) for kind, state, n in await pg.fetch(PENDING_SQL)}

    try:
        yield pg_counts
    finally:
        await pg.close()


def pending(counts: Counts) -> int:
    return sum(n for (_, state), n in counts.items() if state == "PENDING")


def settled(counts: Counts) -> int:
    return sum(n for (kind, state), n in counts.items() if kind == "changes" and state != "PENDING")


async def until_drained(counts: Callable[[], Any], cap: float) -> tuple[float, bool]:
    """Polls until nothing is PENDING (or `cap` s pass): (when, drained)."""
    deadline = time.monotonic() + cap
    while pending(await counts()):
        if time.monotonic() > deadline:
            return time.monotonic(), False
        await asyncio.sleep(POLL_SECONDS)
    return time.monotonic(), True


# ---- the measurements --------------------------------------------------------------------------


async def bare_baseline(generator: Generator, port: int, seconds: float) -> Load:
    await generator.run(port, "warmup", 2)
    return await generator.run(port, "measured", seconds)


def baseline_argv(port: int) -> list[str]:
    return [sys.executable, str(HMAC_BASELINE), str(port), APP_SECRET]


async def webhook_figures(
    service: Service, backend: str, generator: Generator, bare: Load, seconds: float, targets: dict[str, str]
) -> list[Figure]:
    port = int(service.http_addr.rsplit(":", 1)[1])
    database_url = service.env["WATEMPLATES_DATABASE_URL"]
    async with inbox_counts(database_url) as counts:
        await generator.run(port, "warmup", 2)
        warm_drained = (await until_drained(counts, DRAIN_CAP_SECONDS))[1]
        before = await counts()
        cpu = service.cpu_seconds()
        load = await generator.run(port, "measured", seconds)
        cpu = (service.cpu_seconds() - cpu) / load.seconds
        at_end = await counts()
        drained_at, drained = await until_drained(counts, DRAIN_CAP_SECONDS)
        after = await counts()
    notes = [f"server CPU {cpu:.2f} cores while loaded"]
    if not warm_drained:
        notes.append("the warm-up had not drained when the measurement began")
    if load.failed:
        notes.append(f"{load.failed:,} requests not answered 2xx")
    during = settled(at_end) - settled(before)
    total = settled(after) - settled(before)
    drain_seconds = drained_at - (load.started + load.seconds)
    dead = sum(n - before.get(key, 0) for key, n in after.items() if key[1] in ("DEAD", "PARKED"))
    if dead:
        notes.append(f"{dead:,} changes DEAD or PARKED")
    worker_notes = [] if drained else [f"not drained within {DRAIN_CAP_SECONDS:g} s"]
    settings = Settings(database_url=database_url)
    where = "its own process" if wants_worker_process(settings, frozenset(ROLES)) else "the serve process"
    bare_row = bare.measured
    return [
        Figure(
            "webhook acknowledgement",
            backend,
            generator.name,
            load.measured,
            "bare aiohttp + HMAC",
            bare_row,
            targets["ack"],
            notes,
        ),
        Figure(
            "changes settled while deliveries arrive",
            backend,
            f"worker, in {where}",
            Measured(during / load.seconds),
            target=targets["settle"],
        ),
        Figure(
            "changes settled, backlog alone",
            backend,
            f"worker, in {where}, after the load",
            Measured((total - during) / drain_seconds if drain_seconds > 0.2 else 0.0),
            target=targets["settle"],
            notes=worker_notes,
        ),
    ]
