"""`make bench-backlog`: the inbox worker drains a large backlog (1,000,000 changes by default) left
by an outage, on SQLite and PostgreSQL: its rate, and the memory of the serving processes while it
works (resident set size, sampled twice a second, of `watemplates serve` and its worker process).

The backlog is stored deliveries (what the webhook keeps while the worker is away), made from the
ten sample payloads with ids, times and templates varied, so every change is distinct; the worker
splits and applies them all. Long: minutes per backend, hence outside `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import ROOT, Service
from webhook_paths import MEASURED_T0, inbox_counts, payloads, pending, settled

sys.path.insert(0, str(ROOT / "tests"))
from adapters.sql.engine import create_engine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from app.inbox import Delivery
from support.postgres import start_server

CHUNK = 5_000
SAMPLE_SECONDS = 0.5


def rss_bytes(pid: int) -> tuple[int, int]:
    """Resident set size of `pid` and its children: (the largest one's, all together)."""
    sizes = [size for candidate in [pid, *_children(pid)] if (size := _rss(candidate)) is not None]
    return max(sizes, default=0), sum(sizes)


def _rss(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


async def store_backlog(database_url: str, changes: int) -> int:
    """Stores distinct deliveries holding `changes` changes (a few more); returns how many."""
    engine = create_engine(database_url)
    factory = SqlUnitOfWorkFactory(engine)
    now = datetime.now(UTC)
    stored = made = 0
    try:
        while made < changes:
            batch = payloads(CHUNK, MEASURED_T0 + stored, f"backlog-{stored}")
            async with factory() as uow:
                await uow.inbox.add_deliveries(
                    [
                        Delivery(id=f"{stored + i:020d}-{secrets.token_hex(4)}", body=p.body, received_at=now)
                        for i, p in enumerate(batch)
                    ]
                )
                await uow.commit()
            stored += len(batch)
            made += sum(p.changes for p in batch)
    finally:
        await engine.dispose()
    return stored


async def drain(service: Service, cap_seconds: float) -> dict[str, float]:
    assert service.process is not None
    pid = service.process.pid
    start_rss = rss_bytes(pid)
    peak = start_rss
    async with inbox_counts(service.env["WATEMPLATES_DATABASE_URL"]) as counts:
        began = time.monotonic()
        first = await counts()
        while pending(now := await counts()) and time.monotonic() - began < cap_seconds:
            now_rss = rss_bytes(pid)
            peak = (max(peak[0], now_rss[0]), max(peak[1], now_rss[1]))
            await asyncio.sleep(SAMPLE_SECONDS)
        took = time.monotonic() - began
    done = settled(now) - settled(first)
    return {
        "settled": done,
        "seconds": took,
        "rate": done / took,
        "pending": pending(now),
        "rss_start_mb": start_rss[0] / 2**20,
        "rss_peak_mb": peak[0] / 2**20,
        "rss_end_mb": rss_bytes(pid)[0] / 2**20,
        "rss_peak_all_mb": peak[1] / 2**20,
    }


def run_backend(name: str, url: str, changes: int, tmp: Path, cap: float) -> str:
    service = Service(url, tmp / f"serve-{name}.log")
    service.cli("migrate")
    service.cli("org", "create", "bench")
    service.cli("waba", "add", "--org", "bench", "--waba-id", "301122334455667")
    began = time.monotonic()
    deliveries = asyncio.run(store_backlog(url, changes))
    stored = time.monotonic() - began
    with service.running():
        result = asyncio.run(drain(service, cap))
    return (
        f"| {name} | {deliveries:,} | {result['settled']:,.0f} | {result['seconds']:.0f} "
        f"| {result['rate']:,.0f} "
        f"| {result['rss_start_mb']:.0f} | {result['rss_peak_mb']:.0f} | {result['rss_end_mb']:.0f} "
        f"| {result['rss_peak_all_mb']:.0f} "
        f"| {result['pending']:,} | {stored:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--cap", type=float, default=1800.0, help="seconds to wait for a backend to drain")
    options = parser.parse_args()
    rows = [
        "| backend | deliveries | changes settled | seconds | changes/s | RSS at start MB | RSS peak MB "
        "| RSS at end MB | all processes' peak MB | left PENDING | stored in s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="watemplates-backlog-") as tmp_name:
        tmp = Path(tmp_name)
        rows.append(
            run_backend(
                "SQLite", f"sqlite+aiosqlite:///{tmp / 'backlog.db'}", options.changes, tmp, options.cap
            )
        )
        server = start_server("backlog", durable=True)
        if server is None:
            rows.append("| PostgreSQL | skipped: no initdb/pg_ctl found |||||||||")
        else:
            try:
                rows.append(run_backend("PostgreSQL", server.url, options.changes, tmp, options.cap))
            finally:
                server.stop()
    print(
        f"Draining a backlog of {options.changes:,} changes. RSS: the largest serving process (serve, "
        "or its worker process on PostgreSQL), and all of them together\n"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
