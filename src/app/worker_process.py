"""The inbox worker in a process of its own, started and watched by `watemplates serve`.

One Python process runs on one core at a time: a busy webhook and a busy worker in the same process
take turns, and each goes at half speed. With PostgreSQL (which many processes write at once) and a
second core, `serve` runs the worker as a child process instead; the child stops when the parent
does, and when the parent dies without stopping it (it watches its parent). SQLite stays in one
process: its single write lock, fought over by two processes, costs more than the second core gives
(measured: acknowledgements fell from 3,400/s to 1,400/s with p99 above 1 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from app.settings import Settings
from app.waits import pause_unless

log = logging.getLogger(__name__)
RESTART_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
# A child that ran this long before it stopped is restarted without backoff.
HEALTHY_RUN_SECONDS = 60.0
PARENT_CHECK_SECONDS = 1.0


def wants_worker_process(settings: Settings, roles: frozenset[str], cores: int | None = None) -> bool:
    """Whether `serve` with these roles should run the worker as a child process (`cores`: this
    machine's unless given)."""
    if "worker" not in roles or roles == {"worker"} or settings.worker_process == "off":
        return False
    if settings.worker_process == "on":
        return True
    cores = cores if cores is not None else os.cpu_count() or 1
    return settings.database_url.startswith("postgresql") and cores >= 2


class WorkerProcess:
    """Runs `watemplates serve --role worker` as a child until `stop` is set; restarts it (with
    backoff) if it exits on its own, and gives it the shutdown grace to finish when stopping."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            started = asyncio.get_running_loop().time()
            returncode = await self._run_once(stop)
            if stop.is_set():
                return
            ran = asyncio.get_running_loop().time() - started
            failures = 0 if ran >= HEALTHY_RUN_SECONDS else failures + 1
            delay = RESTART_BACKOFF_SECONDS[min(failures, len(RESTART_BACKOFF_SECONDS) - 1)]
            log.error("the inbox worker process exited (code %s); restarting it in %g s", returncode, delay)
            await pause_unless(stop, delay)

    async def _run_once(self, stop: asyncio.Event) -> int | None:
        env = {**os.environ, "WATEMPLATES_MIGRATE_ON_START": "false"}
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--role",
            "worker",
            "--child-of",
            str(os.getpid()),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.info("inbox worker process started", extra={"pid": child.pid})
        waiting = asyncio.ensure_future(child.wait())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if waiting.done():
            return waiting.result()
        # Stopping: the child gets the grace period to finish the group in hand, then is killed.
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(waiting, self._settings.shutdown_grace_seconds + 1)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            return await child.wait()


async def stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    """Sets `stop` once the process that started this one is gone (it was killed, not stopped)."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("the serve process that started this worker is gone; stopping")
            stop.set()
            return
        await pause_unless(stop, PARENT_CHECK_SECONDS)
