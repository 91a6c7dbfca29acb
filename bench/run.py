"""`make bench`: every hot path of the service on SQLite and PostgreSQL, each next to its bare
baseline measured in the same run, in one table. The ratios are the figures; absolute numbers move
with the machine and whatever else runs on it.

- Webhook acknowledgements per second (p50, p99) next to a bare aiohttp + HMAC receiver, the same
  load generator for both (wrk when installed); then the inbox worker's rate while those deliveries
  keep arriving, and alone on the backlog they left.
- RenderTemplate and LintTemplate next to a bare grpc.aio echo server; SendTemplateMessage end to
  end next to the fake Graph API's own rate.
- The send guard: CheckWindow and ValidateMessage at 1, 16 and 64 callers, each next to the echo
  server at the same concurrency.

The service is the real `watemplates serve` process on a fresh database; PostgreSQL is a throwaway
server started from the local binaries (skipped, and said so, when there are none). `--results FILE`
also writes the table with a description of the machine (bench/RESULTS.md is the latest).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from harness import META_TOKEN, ROOT, Figure, Service, free_port, peer

sys.path.insert(0, str(ROOT / "tests"))
import grpc_paths
import guard_paths
import query_paths
import webhook_paths

from support.postgres import start_server

T = TypeVar("T")
TARGETS = {
    "SQLite": {"ack": ">= 0.5, p99 <= 50 ms", "settle": ">= 2,000/s"},
    "PostgreSQL": {"ack": ">= 0.5, p99 <= 50 ms", "settle": ">= 3,300/s"},
}


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """The client's loop: uvloop when installed, like the servers, so the client stays light."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


@contextmanager
def backends(tmp: Path, notes: list[str]) -> Iterator[list[tuple[str, str]]]:
    """(name, database URL) for SQLite and, when it starts, a throwaway PostgreSQL."""
    found = [("SQLite", f"sqlite+aiosqlite:///{tmp / 'bench.db'}")]
    try:
        server = start_server("bench", durable=True)
    except RuntimeError as exc:
        server = None
        notes.append(f"PostgreSQL skipped: the server did not start ({str(exc).splitlines()[0]})")
    else:
        if server is None:
            notes.append("PostgreSQL skipped: no initdb/pg_ctl found (apt-get install postgresql)")
    if server is not None:
        found.append(("PostgreSQL", server.url))
        notes.append("PostgreSQL: a throwaway server on this machine, fsync and synchronous_commit on")
    try:
        yield found
    finally:
        if server is not None:
            server.stop()


def bench(
    seconds: float, webhook_seconds: float, concurrency: int, count: int, scale: float
) -> tuple[list[Figure], list[str]]:
    figures: list[Figure] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="watemplates-bench-") as tmp_name:
        tmp = Path(tmp_name)
        started = time.monotonic()
        generator = webhook_paths.Generator(
            tmp,
            webhook_paths.payloads(count, webhook_paths.MEASURED_T0, "m"),
            webhook_paths.payloads(5_000, webhook_paths.WARMUP_T0, "w"),
        )
        notes.append(f"{count:,} distinct signed deliveries made in {time.monotonic() - started:.0f} s")
        echo_port, bare_port = free_port(), free_port()
        with (
            peer(grpc_paths.graph_argv(grpc_paths.write_seed(tmp))) as graph_ready,
            peer(grpc_paths.echo_argv(echo_port)) as echo_ready,
            peer(webhook_paths.baseline_argv(bare_port)) as bare_ready,
        ):
            ready, _, graph_url = graph_ready.partition(" ")
            if ready != "ready" or echo_ready != "ready" or bare_ready != "ready":
                raise RuntimeError("a baseline server did not start")
            echo = run_loop(grpc_paths.echo_baseline(echo_port, seconds, concurrency))
            echo_alone = run_loop(grpc_paths.echo_baseline(echo_port, seconds, 1))
            # The send guard's paths are measured at several concurrencies, each next to its own.
            guard_seconds = max(1.0, seconds * 0.6)
            echo_at = {
                n: echo_alone if n == 1 else run_loop(grpc_paths.echo_baseline(echo_port, guard_seconds, n))
                for n in guard_paths.CONCURRENCIES
            }
            graph = run_loop(grpc_paths.graph_baseline(graph_url, seconds, concurrency))
            bare = run_loop(webhook_paths.bare_baseline(generator, bare_port, webhook_seconds))
            with backends(tmp, notes) as found:
                for backend, url in found:
                    service = Service(
                        url,
                        tmp / f"serve-{backend}.log",
                        {
                            "WATEMPLATES_META_ACCESS_TOKEN": META_TOKEN,
                            "WATEMPLATES_META_GRAPH_URL": graph_url,
                        },
                    )
                    began = time.monotonic()
                    service.cli("migrate")
                    lists_key, hot = run_loop(query_paths.seed(url, grpc_paths.template(), scale))
                    notes.append(
                        f"{backend}: {query_paths.seeded(scale)} in {time.monotonic() - began:.0f} s"
                    )
                    with service.running():
                        key = grpc_paths.prepare(service)
                        figures += run_loop(
                            grpc_paths.grpc_figures(service, backend, key, seconds, concurrency, echo, graph)
                        )
                        figures += run_loop(
                            guard_paths.guard_figures(service, backend, key, guard_seconds, echo_at)
                        )
                        figures += run_loop(
                            query_paths.query_figures(service, backend, lists_key, hot, seconds, echo_alone)
                        )
                        figures += run_loop(
                            webhook_paths.webhook_figures(
                                service, backend, generator, bare, webhook_seconds, TARGETS[backend]
                            )
                        )
                    problems = service.log_problems()
                    if problems:
                        notes.append(
                            f"{backend}: the server logged {len(problems):,} warnings or errors, "
                            f"first: {problems[0][:200]}"
                        )
    return figures, notes


def table(figures: list[Figure]) -> list[str]:
    lines = [
        "| path | backend | calls/s | p50 ms | p99 ms | baseline | baseline calls/s | p50 ms | p99 ms "
        "| ratio | target | load generator |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for f in figures:
        b = f.baseline
        lines.append(
            f"| {f.path} | {f.backend} | {f.measured.rate:,.0f} | {ms(f.measured.p50_ms)} | "
            f"{ms(f.measured.p99_ms)} | {f.baseline_name or '-'} | "
            f"{'-' if b is None else f'{b.rate:,.0f}'} | "
            f"{ms(None if b is None else b.p50_ms)} | {ms(None if b is None else b.p99_ms)} | "
            f"{'-' if f.ratio is None else f'{f.ratio:.2f}'} | {f.target} | {f.generator} |"
        )
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; 1-minute load average {load:.2f} when the run began"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per gRPC measurement")
    parser.add_argument("--webhook-seconds", type=float, default=10.0, help="per webhook load run")
    parser.add_argument("--concurrency", type=int, default=32, help="gRPC callers")
    parser.add_argument("--count", type=int, default=60_000, help="distinct webhook deliveries")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="of the listing store (1: 100,000 templates)"
    )
    parser.add_argument("--results", type=Path, help="also write the report (markdown) here")
    options = parser.parse_args()
    described = machine()
    began = time.monotonic()
    figures, notes = bench(
        options.seconds, options.webhook_seconds, options.concurrency, options.count, options.scale
    )
    for figure in figures:
        notes += [f"{figure.path}, {figure.backend}: {note}" for note in figure.notes]
    report = [
        f"# `make bench` ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {described}. Took {time.monotonic() - began:.0f} s.",
        "",
        *table(figures),
        "",
        "ratio = calls/s over the baseline's, both measured in this run. Changes settled = webhook "
        "changes the inbox worker finished (DONE, SKIPPED, DEAD or PARKED) per second.",
        "",
        *[f"- {note}" for note in notes],
    ]
    text = "\n".join(report) + "\n"
    print(text)
    if options.results is not None:
        options.results.write_text(text)


if __name__ == "__main__":
    main()
