"""Meta webhook deliveries per second: acknowledged (HTTP 200) and fully processed by the inbox worker.

The real `watemplates serve` process (all roles, as `make run` starts it) gets a fixed number of
signed template status/quality/category/components events for a WABA registered through the CLI,
built from the sample payloads with distinct `entry.time` values so none is a duplicate. The same
client, at the same concurrency and in the same run, also drives a bare aiohttp handler that only
checks the HMAC (bench/hmac_baseline.py, its own process): the ratios against it are the figures,
absolute numbers vary by machine.

- acked/s: deliveries answered 200 per second, with ack latency p50/p99. The worker runs in the same
  process and competes for it, as in production with the default roles.
- processed/s: deliveries per second from the first POST until no delivery and no change in the inbox
  is PENDING (polled read-only from the database).

Runs on SQLite (a temp dir) and on a throwaway PostgreSQL when tests/support/postgres.py finds the
binaries. Everything listens on 127.0.0.1. Run alone with `python bench/webhook_bench.py`; `make
bench` runs it after the gRPC sections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.postgres import PostgresServer, start_server  # noqa: E402

WATEMPLATES = str(Path(sys.executable).with_name("watemplates"))
HMAC_BASELINE = HERE / "hmac_baseline.py"
# Copies of the shared template-event samples, so `make bench` needs nothing beside the checkout;
# --samples points elsewhere.
SAMPLES = Path(__file__).parent / "samples"
# 05..10: template status, quality, category and components events (01..04 are messages).
TEMPLATE_SAMPLES = ("05", "06", "07", "08", "09", "10")
SECRET = "bench-app-secret"
WABA = "301122334455667"
PHONE = "109876543210987"
# Each sample template is spread over this many templates (a WABA has many), same id <-> name pairing.
TEMPLATE_VARIANTS = 25
MEASURED_TIME = 1_790_000_000  # entry.time of the first measured delivery (unix seconds)
WARMUP_TIME = 1_780_000_000
PATH = "/webhooks/meta"

# Bounds that keep the whole run under about 2.5 minutes however slow the service is: the ack phase
# stops after ACK_TIMEOUT_SECONDS, and the inbox gets PROCESS_TIMEOUT_SECONDS after the last ack to
# drain; when it does not, processed/s is estimated from the changes processed by then (marked ~).
ACK_TIMEOUT_SECONDS = 30.0
PROCESS_TIMEOUT_SECONDS = 20.0
WARMUP_TIMEOUT_SECONDS = 15.0
START_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.02

PENDING_SQL = (
    "SELECT 'deliveries ' || state, count(*) FROM webhook_deliveries GROUP BY state "
    "UNION ALL SELECT 'changes ' || state, count(*) FROM webhook_changes GROUP BY state"
)

T = TypeVar("T")


@dataclass(frozen=True)
class Signed:
    body: bytes
    signature: str
    changes: int


@dataclass
class Row:
    name: str
    acked: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0
    # Deliveries per second fully processed, and whether it is an estimate (the inbox did not drain).
    processed_rate: float | None = None
    estimated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ack_rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# ---- payloads -----------------------------------------------------------------------------------


def load_samples(directory: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in directory.glob("*.json") if p.name[:2] in TEMPLATE_SAMPLES)
    if len(files) != len(TEMPLATE_SAMPLES):
        raise FileNotFoundError(
            f"template event samples {', '.join(TEMPLATE_SAMPLES)} not found in {directory}"
        )
    return [json.loads(p.read_text()) for p in files]


def deliveries(samples: list[dict[str, Any]], count: int, first_time: int) -> list[Signed]:
    """`count` signed deliveries cycling through the samples; entry.time first_time, first_time + 1..."""
    result = []
    for index in range(count):
        payload = copy.deepcopy(samples[index % len(samples)])
        variant = (index // len(samples)) % TEMPLATE_VARIANTS
        changes = 0
        for entry in payload["entry"]:
            entry["id"], entry["time"] = WABA, first_time + index
            for change in entry["changes"]:
                changes += 1
                value = change["value"]
                if variant and "message_template_id" in value:
                    value["message_template_id"] += variant * 1000
                    value["message_template_name"] += f"_{variant}"
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        result.append(Signed(body, signature, changes))
    return result


# ---- client -------------------------------------------------------------------------------------


def session(concurrency: int) -> aiohttp.ClientSession:
    """One session per target, its pool as large as the number of callers (none waits for a socket)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def post_all(
    client: aiohttp.ClientSession, url: str, batch: list[Signed], concurrency: int, row: Row
) -> float:
    """POSTs every delivery with `concurrency` callers; fills `row`; returns when the first POST left."""
    indexes: Iterator[int] = iter(range(len(batch)))

    async def caller() -> None:
        for index in indexes:  # shared: each delivery is sent once
            delivery = batch[index]
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": delivery.signature}
            sent = time.perf_counter()
            try:
                async with client.post(url, data=delivery.body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                row.failures[type(exc).__name__] += 1
                continue
            if status == 200:
                row.latencies.append(time.perf_counter() - sent)
                row.acked += 1
            else:
                row.failures[f"HTTP {status}"] += 1

    cpu = time.process_time()
    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(concurrency))), ACK_TIMEOUT_SECONDS)
    except TimeoutError:
        row.notes.append(f"acks stopped after {ACK_TIMEOUT_SECONDS:.0f} s (bound)")
    row.seconds = time.perf_counter() - started
    row.client_cpu = (time.process_time() - cpu) / row.seconds
    return started


# ---- the inbox, read-only -----------------------------------------------------------------------

Query = Callable[[], Awaitable[dict[str, int]]]


@contextlib.asynccontextmanager
async def sqlite_inbox(path: Path) -> AsyncIterator[Query]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    async def states() -> dict[str, int]:
        rows = await asyncio.to_thread(lambda: connection.execute(PENDING_SQL).fetchall())
        return dict(rows)

    try:
        yield states
    finally:
        connection.close()


@contextlib.asynccontextmanager
async def postgres_inbox(server: PostgresServer) -> AsyncIterator[Query]:
    import asyncpg

    connection = await asyncpg.connect(
        host="127.0.0.1",
        port=server.port,
        user="postgres",
        database=server.database,
        server_settings={"default_transaction_read_only": "on"},
    )

    async def states() -> dict[str, int]:
        return {record[0]: record[1] for record in await connection.fetch(PENDING_SQL)}

    try:
        yield states
    finally:
        await connection.close()


def pending(states: dict[str, int]) -> int:
    return sum(count for name, count in states.items() if name.endswith(" PENDING"))


def settled_changes(states: dict[str, int]) -> int:
    return sum(
        n for name, n in states.items() if name.startswith("changes ") and not name.endswith(" PENDING")
    )


async def drained(states: Query, deadline: float) -> float | None:
    """When nothing in the inbox is PENDING any more (perf_counter), or None past `deadline`."""
    while pending(await states()):
        if time.perf_counter() > deadline:
            return None
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter()


# ---- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """The client's loop: uvloop when installed, like the servers, so the client stays light."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.perf_counter() + START_TIMEOUT_SECONDS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with client.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    tail = await asyncio.to_thread(lambda: "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
    raise RuntimeError(f"watemplates did not become ready at {url}\n{tail}")


async def measure_baseline(port: int, warmup: list[Signed], batch: list[Signed], concurrency: int) -> Row:
    url = f"http://127.0.0.1:{port}{PATH}"
    async with session(concurrency) as client:
        await post_all(client, url, warmup, concurrency, Row("warm-up"))
        row = Row("bare aiohttp, HMAC check only")
        await post_all(client, url, batch, concurrency, row)
    return row


async def measure_service(
    name: str,
    http_addr: str,
    states: Callable[[], contextlib.AbstractAsyncContextManager[Query]],
    warmup: list[Signed],
    batch: list[Signed],
    concurrency: int,
    process: subprocess.Popen[bytes],
    log: Path,
) -> tuple[Row, dict[str, int]]:
    await wait_ready(f"http://{http_addr}/readyz", process, log)
    url = f"http://{http_addr}{PATH}"
    row = Row(name)
    async with session(concurrency) as client, states() as inbox:
        # Warm-up: connections open, templates first seen; then wait until the worker is idle again.
        await post_all(client, url, warmup, concurrency, Row("warm-up"))
        if await drained(inbox, time.perf_counter() + WARMUP_TIMEOUT_SECONDS) is None:
            row.notes.append(f"warm-up not drained after {WARMUP_TIMEOUT_SECONDS:.0f} s (measured anyway)")
        before = settled_changes(await inbox())
        started = await post_all(client, url, batch, concurrency, row)
        done = await drained(inbox, time.perf_counter() + PROCESS_TIMEOUT_SECONDS)
        stopped = time.perf_counter()
        final = await inbox()
    if done is not None:
        # Everything acknowledged is processed (a 503 stored nothing, so it is not counted).
        row.processed_rate = row.acked / (done - started)
    else:
        settled = settled_changes(final) - before
        changes_per_delivery = sum(d.changes for d in batch) / len(batch)
        row.processed_rate = settled / changes_per_delivery / (stopped - started)
        row.estimated = True
        row.notes.append(
            f"inbox not drained {PROCESS_TIMEOUT_SECONDS:.0f} s after the last ack ({pending(final):,} "
            f"PENDING): processed/s estimated from the {settled:,} changes processed in "
            f"{stopped - started:.0f} s"
        )
    return row, final


def run_service(
    name: str,
    database_url: str,
    states: Callable[[], contextlib.AbstractAsyncContextManager[Query]],
    tmp: Path,
    warmup: list[Signed],
    batch: list[Signed],
    concurrency: int,
) -> tuple[Row, dict[str, int], list[str]]:
    env = {
        **os.environ,
        "WATEMPLATES_DATABASE_URL": database_url,
        "WATEMPLATES_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_LOG_LEVEL": "WARNING",
        "WATEMPLATES_LOG_FORMAT": "text",
        "WATEMPLATES_META_APP_SECRET": SECRET,
    }
    for args in (("org", "create", "bench"), ("waba", "add", "--org", "bench", "--waba-id", WABA)):
        extra = ("--phone-number-id", PHONE) if args[0] == "waba" else ()
        subprocess.run([WATEMPLATES, *args, *extra], env=env, capture_output=True, check=True)
    log = tmp / f"serve-{name.rsplit(' ', 1)[-1].lower()}.log"
    with log.open("wb") as log_file:
        # stdout is the startup banner; stderr the log (WARNING and up).
        process = subprocess.Popen(
            [WATEMPLATES, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log_file
        )
    try:
        row, final = run_loop(
            measure_service(
                name, env["WATEMPLATES_HTTP_ADDR"], states, warmup, batch, concurrency, process, log
            )
        )
    finally:
        process.terminate()
        process.wait(15)
    return row, final, log_records(log.read_text(errors="replace"))


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) +(\S+): (.*)$")


def log_records(text: str) -> list[str]:
    """'LEVEL logger: message' for each record of the server's text log (tracebacks left out)."""
    return [" ".join(match.groups()) for line in text.splitlines() if (match := LOG_RECORD.match(line))]


# ---- the run ------------------------------------------------------------------------------------


def bench(count: int = 3000, concurrency: int = 64, samples_dir: Path = SAMPLES) -> None:
    print(f"\nWebhooks: signed Meta deliveries to POST {PATH}")
    try:
        samples = load_samples(samples_dir)
    except FileNotFoundError as exc:
        print(f"skipped: {exc} (pass --samples DIR)")
        return
    warmup = deliveries(samples, 2 * concurrency, WARMUP_TIME)
    batch = deliveries(samples, count, MEASURED_TIME)
    changes = sum(d.changes for d in batch)
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="watemplates-webhook-bench-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        baseline = subprocess.Popen(
            [sys.executable, str(HMAC_BASELINE), str(port)],
            env={**os.environ, "WATEMPLATES_META_APP_SECRET": SECRET},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            if baseline.stdout is None or baseline.stdout.readline().strip() != "ready":
                raise RuntimeError("the HMAC baseline did not start")
            rows.append(run_loop(measure_baseline(port, warmup, batch, concurrency)))
        finally:
            baseline.terminate()
            baseline.wait(10)

        db = tmp / "bench.db"
        row, final, log = run_service(
            "watemplates serve, SQLite",
            f"sqlite+aiosqlite:///{db}",
            lambda: sqlite_inbox(db),
            tmp,
            warmup,
            batch,
            concurrency,
        )
        rows.append(row)
        notes.append(_states_note("SQLite", final, log))

        try:
            server = start_server("webhook_bench")
        except RuntimeError as exc:
            server = None
            notes.append(f"PostgreSQL: skipped, the server did not start: {str(exc).splitlines()[0]}")
        else:
            if server is None:
                notes.append("PostgreSQL: skipped, no initdb/pg_ctl found (apt-get install postgresql)")
        if server is not None:
            try:
                row, final, log = run_service(
                    "watemplates serve, PostgreSQL",
                    server.url,
                    lambda: postgres_inbox(server),
                    tmp,
                    warmup,
                    batch,
                    concurrency,
                )
            finally:
                server.stop()
            rows.append(row)
            notes.append(_states_note("PostgreSQL", final, log))
    _print(rows, notes, count, changes, concurrency)


def _states_note(backend: str, final: dict[str, int], log: list[str]) -> str:
    states = ", ".join(f"{count:,} {name}" for name, count in sorted(final.items()))
    note = f"{backend} inbox at the end (warm-up included): {states}"
    if not log:
        return note + "; the server logged nothing at WARNING or above"
    common = Counter(record[:110] for record in log).most_common(3)
    shown = "; ".join(f"{n}x {record}" for record, n in common)
    return note + f"\n  {backend} server log: {len(log)} records at WARNING or above, most frequent: {shown}"


def _print(rows: list[Row], notes: list[str], count: int, changes: int, concurrency: int) -> None:
    base = rows[0].ack_rate
    print(
        f"{count:,} deliveries per run ({changes:,} template changes; each after "
        f"{2 * concurrency} warm-up deliveries), {concurrency} concurrent callers, one aiohttp "
        "ClientSession, loopback, one server process each"
    )
    header = (
        f"{'server':<34}{'acked/s':>9}{'ratio':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'processed/s':>13}{'ratio':>7}{'client CPU':>12}"
    )
    print(header)
    for row in rows:
        if row.processed_rate is None:
            processed = f"{'-':>13}{'-':>7}"
        else:
            rate = f"{'~' if row.estimated else ''}{row.processed_rate:,.0f}"
            processed = f"{rate:>13}{row.processed_rate / base:>7.2f}"
        print(
            f"{row.name:<34}{row.ack_rate:>9,.0f}{row.ack_rate / base:>7.2f}{row.percentile(50):>8.1f}"
            f"{row.percentile(99):>8.1f}{processed}{row.client_cpu:>11.0%} "
        )
        if row.failures:
            failed = ", ".join(f"{n:,} {kind}" for kind, n in row.failures.most_common())
            print(f"  {row.name}: not acknowledged: {failed}")
        for note in row.notes:
            print(f"  {row.name}: {note}")
    print(
        "ratios: against the baseline's acked/s. acked = HTTP 200 received; processed = from the first "
        "POST until no delivery or change is PENDING. client CPU = the bench process's CPU time over "
        "the ack phase (near 100% would mean the client limits the rate)."
    )
    print(
        "Meta's targets: median ack < 250 ms; about 3,300 deliveries/s for a number sending 1,000 messages/s."
    )
    for note in notes:
        print(note)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3000, help="deliveries per run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="directory with the sample payloads")
    options = parser.parse_args()
    bench(options.count, options.concurrency, options.samples)
