"""`watemplates serve` on PostgreSQL runs the inbox worker in a child process: deliveries the parent
acknowledges are applied by the child (woken by PostgreSQL's NOTIFY), and the child never outlives
its parent, whether the parent is stopped or killed."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from test_e2e_webhook_reliability import (  # the real process and its helpers
    Database,
    Launcher,
    launch,
    make_events,
    post,
    postgres_url,
    process_env,
)

from adapters.sql.engine import create_engine

__all__ = ["launch", "postgres_url"]  # fixtures, used by name
WAIT_SECONDS = 15.0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


async def the_worker_child(parent: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        children = children_of(parent.pid)
        if children:
            [child] = children
            return child
        await asyncio.sleep(0.1)
    raise AssertionError("serve started no worker process")


def exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # exited; its new parent has not reaped it yet


async def gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if exited(pid):
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.fixture
async def database(postgres_url: str) -> Database:
    engine = create_engine(postgres_url)
    found = Database(engine)
    await found.register_waba()
    return found


@pytest.mark.postgres
async def test_the_child_applies_what_the_parent_acknowledges_and_dies_with_it(
    postgres_url: str, database: Database, launch: Launcher
) -> None:
    env = {**process_env(postgres_url), "WATEMPLATES_WORKER_PROCESS": "on"}
    server = await launch(env)
    child = await the_worker_child(server)

    events = make_events(random.Random(3), templates=3, per_template=2)
    async with aiohttp.ClientSession() as session:
        for event in events:
            assert await post(session, env["WATEMPLATES_HTTP_ADDR"], event.body()) == 200
    await database.settle(changes=len(events), deliveries=len(events))
    # The child's counts show on the parent's /metrics (shared through prometheus-client's files).
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{env['WATEMPLATES_HTTP_ADDR']}/metrics") as scraped,
    ):
        text = await scraped.text()
    applied = [
        line for line in text.splitlines() if line.startswith("watemplates_inbox_changes_applied_total")
    ]
    assert applied, text[:2000]
    assert float(applied[0].split()[-1]) == len(events)

    server.kill()  # SIGKILL: the parent cannot stop its child
    assert server.wait(10) == -signal.SIGKILL
    assert await gone(child), "the worker process outlived its killed parent"
    await database.engine.dispose()


@pytest.mark.postgres
async def test_stopping_serve_stops_its_worker_process(
    postgres_url: str, database: Database, launch: Launcher
) -> None:
    env = {**process_env(postgres_url), "WATEMPLATES_WORKER_PROCESS": "on"}
    server = await launch(env)
    child = await the_worker_child(server)

    server.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.wait, 20) == 0
    assert await gone(child)
    await database.engine.dispose()


async def test_on_sqlite_every_role_stays_in_one_process(tmp_path: Path, launch: Launcher) -> None:
    # SQLite's one write lock, fought over by two processes, costs more than a second core gives.
    env = {**process_env(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"), "WATEMPLATES_WORKER_PROCESS": "auto"}
    server = await launch(env)
    await asyncio.sleep(1)
    assert children_of(server.pid) == []


@pytest.mark.parametrize("roles", [("webhook",), ("webhook", "worker"), ("grpc", "webhook", "worker")])
async def test_serve_stops_cleanly_whatever_its_roles(
    tmp_path: Path, launch: Launcher, roles: tuple[str, ...]
) -> None:
    # A webhook-only process once ended its shutdown with a traceback and exit code 1.
    server = await launch(process_env(f"sqlite+aiosqlite:///{tmp_path / 'roles.db'}"), *roles)
    server.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.wait, 20) == 0
