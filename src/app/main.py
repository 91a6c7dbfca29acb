"""`watemplates serve`: the gRPC server and the HTTP server on one event loop, with clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from adapters.grpc.server import GrpcServer
from adapters.http.access import MetricsEndpoint
from adapters.http.app import create_app
from adapters.http.dashboard.config import DashboardConfig
from adapters.http.webhook.endpoint import WebhookConfig
from adapters.http.webhook.translators import MetaWebhookTranslator
from adapters.notify.senders import ChannelSenders
from adapters.sql.migrate import upgrade
from adapters.sql.notifications import INBOX_CHANNEL, PostgresListener
from adapters.sql.unit_of_work import is_transient_error
from app.access_log import configure_access_log
from app.bootstrap import Services, build_services
from app.cli_admin import masked_url
from app.dashboard_sessions import DashboardSessions
from app.inbox_worker import InboxSettings, InboxWorker
from app.log_throttle import LogThrottle
from app.notification_dispatcher import DispatchSettings, NotificationDispatcher
from app.quality_trends import QualityTrends
from app.settings import Settings, split_host_port
from app.worker_process import WorkerProcess, stop_when_orphaned, wants_worker_process

if TYPE_CHECKING:
    from adapters.prometheus.metrics import PrometheusMetrics

log = logging.getLogger("watemplates")
HEALTH_INTERVAL_SECONDS = 5.0
METRICS_REFRESH_SECONDS = 5.0
LIBRARY_LOGGERS = (
    "aiosqlite",
    "asyncio",
    "sqlalchemy",
    "aiohttp.access",
    "aiohttp.client",
    "aiosmtplib",
    "hpack",
    "grpc",
    "urllib3",
    "prometheus_client",
)
# prometheus_client's multiprocess mode: see _metrics.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"}
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    # Peers can make the service log (malformed requests, refused webhooks, calls while the database
    # is away): each kind of line at most 20 times per 10 s, with a count of the rest.
    handler.addFilter(LogThrottle())
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    configure_access_log(settings.log_format == "json")
    # At DEBUG, database drivers and protocol libraries log every query and frame: the service's own
    # lines would drown. They stay at WARNING unless asked for (WATEMPLATES_LOG_LIBRARIES).
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if settings.log_libraries else logging.WARNING)


ROLES = ("grpc", "webhook", "worker", "dispatcher")


def run_server(
    settings: Settings, roles: frozenset[str] = frozenset(ROLES), *, child_of: int | None = None
) -> None:
    configure_logging(settings)
    try:
        import uvloop
    except ImportError:  # uvloop is optional: not built for every platform
        asyncio.run(serve(settings, roles, child_of=child_of))
    else:
        uvloop.run(serve(settings, roles, child_of=child_of))


async def serve(
    settings: Settings, roles: frozenset[str] = frozenset(ROLES), *, child_of: int | None = None
) -> None:
    """Runs the given roles: `grpc` (the API), `webhook` (Meta's POSTs into the inbox), `worker` (the
    inbox worker), `dispatcher` (delivers the notification outbox), in this process, except that
    the worker gets a child process of its own when
    that is faster (app.worker_process). The HTTP health endpoints run with every role, except in
    such a child (`child_of` its parent's pid), which its parent watches instead."""
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade, settings.database_url)
    worker_process = WorkerProcess(settings) if wants_worker_process(settings, roles) else None
    if worker_process is not None:
        roles = roles - {"worker"}
    metrics, shared_metrics_dir = _metrics(worker_process is not None)
    services = await build_services(settings, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    worker = _inbox_worker(settings, services) if "worker" in roles else None
    senders = ChannelSenders(settings) if "dispatcher" in roles else None
    dispatcher = (
        NotificationDispatcher(
            services.uow_factory,
            services.clock,
            senders,
            DispatchSettings(lease=timedelta(seconds=settings.notification_lease_seconds)),
            metrics=metrics,
        )
        if senders is not None
        else None
    )
    webhook = _webhook(settings, services, worker) if "webhook" in roles else None
    grpc_server = (
        GrpcServer(
            services.bus,
            services.queries,
            services.authenticator,
            settings.grpc_addr,
            health_queries=services.health_queries,
            inbox_queries=services.inbox_queries,
            send_guard=services.send_guard,
            message_queries=services.message_queries,
            campaign_queries=services.campaign_queries,
            notification_queries=services.notification_queries,
            audit_queries=services.audit_queries,
            metrics=metrics,
        )
        if "grpc" in roles
        else None
    )
    runner = (
        web.AppRunner(
            create_app(
                services.probe,
                webhook=webhook,
                metrics=metrics,
                metrics_endpoint=MetricsEndpoint(
                    _render_metrics(metrics, services),
                    settings.metrics_token.get_secret_value() if settings.metrics_token else "",
                ),
                # The operators' pages go with the API and the webhook, not with a lone worker.
                dashboard=_dashboard(settings, services) if roles & {"grpc", "webhook"} else None,
            ),
            access_log=None,
            handle_signals=False,
            # In-flight HTTP requests get the grace gRPC calls get (aiohttp's default is 60 s).
            # aiohttp waits this long, then cancels and waits as long again: half the grace each.
            shutdown_timeout=settings.shutdown_grace_seconds / 2,
        )
        if child_of is None
        else None
    )
    # Background loops, cancelled at shutdown, and the ones that wind down by themselves once `stop`
    # is set (the worker finishing its group, the worker process its grace), which are waited for.
    tasks: list[asyncio.Task[None]] = []
    winding_down: list[asyncio.Task[None]] = []
    try:
        if grpc_server is not None:
            await grpc_server.start()
            tasks.append(asyncio.create_task(_track_health(services, grpc_server)))
        if runner is not None:
            await runner.setup()
            http_host, http_port = split_host_port(settings.http_addr)
            await web.TCPSite(runner, http_host, http_port, reuse_address=True).start()
        if worker is not None:
            winding_down.append(asyncio.create_task(worker.run(stop)))
            if settings.database_url.startswith("postgresql"):
                # Woken by the webhook's commits in other processes, not only by its own poll.
                listener = PostgresListener(settings.database_url, INBOX_CHANNEL, worker.wake)
                winding_down.append(asyncio.create_task(listener.run(stop)))
        if worker_process is not None:
            winding_down.append(asyncio.create_task(worker_process.run(stop)))
        if dispatcher is not None:
            winding_down.append(asyncio.create_task(dispatcher.run(stop)))
        if child_of is not None:
            winding_down.append(asyncio.create_task(stop_when_orphaned(child_of, stop)))
        else:
            _announce(settings, grpc_server.port if grpc_server else None, roles, worker_process is not None)
        await stop.wait()
        log.info("shutting down", extra={"graceSeconds": settings.shutdown_grace_seconds})
    finally:
        # The worker stops claiming new work now and finishes the group in hand; webhooks (Meta
        # retries what we do not acknowledge) and API calls stop together, giving what is in flight
        # the grace period. One failing to stop must not keep the rest from stopping.
        stop.set()
        stopping = [runner.cleanup()] if runner is not None else []
        if grpc_server is not None:
            stopping.append(grpc_server.stop(settings.shutdown_grace_seconds))
        for failed in await asyncio.gather(*stopping, return_exceptions=True):
            if isinstance(failed, Exception):
                log.error("stopping a server failed", exc_info=failed)
        # WorkerProcess.run gives the child its grace itself; the rest end within their round.
        if winding_down:
            await asyncio.wait(winding_down, timeout=settings.shutdown_grace_seconds + 2)
        tasks += winding_down
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if senders is not None:
            await senders.close()
        await services.close()
        if shared_metrics_dir:
            shutil.rmtree(shared_metrics_dir, ignore_errors=True)
        log.info("stopped")


def _inbox_worker(settings: Settings, services: Services) -> InboxWorker:
    # A group of changes costs about ten statements however large it is. SQLite has one writer at a
    # time, which webhook POSTs wait for: smaller groups there keep their acknowledgements quick.
    per_transaction = 50 if settings.database_url.startswith("sqlite") else 100
    return InboxWorker(
        services.uow_factory,
        services.clock,
        services.bus,
        MetaWebhookTranslator(),
        InboxSettings(changes_per_transaction=per_transaction),
        transient=is_transient_error,
        metrics=services.metrics,
    )


def _metrics(worker_process: bool) -> tuple[PrometheusMetrics, str]:
    """This process's metrics, and the directory it shares them through with its worker process
    ("" when there is none). The directory must be chosen before prometheus_client is first imported
    (it picks file-backed values then), hence the late import; the child inherits it."""
    shared = ""
    if worker_process and not os.environ.get(MULTIPROCESS_ENV):
        shared = tempfile.mkdtemp(prefix="watemplates-metrics-")
        os.environ[MULTIPROCESS_ENV] = shared
    from adapters.prometheus.metrics import PrometheusMetrics

    return PrometheusMetrics(), shared


def _dashboard(settings: Settings, services: Services) -> DashboardConfig:
    return DashboardConfig(
        bus=services.bus,
        sessions=DashboardSessions(
            services.uow_factory,
            services.authenticator,
            services.clock,
            timedelta(hours=settings.dashboard_session_hours),
        ),
        health=services.health_queries,
        trends=QualityTrends(services.uow_factory, services.clock),
        inbox=services.inbox_queries,
        campaigns=services.campaign_queries,
        messages=services.message_queries,
        clock=services.clock,
        secure_cookies=settings.dashboard_secure_cookies,
    )


def _render_metrics(
    metrics: PrometheusMetrics, services: Services
) -> Callable[[], Awaitable[tuple[bytes, str]]]:
    """/metrics: the inbox's gauges read fresh (at most every few seconds, however often scraped),
    then everything counted. A database that does not answer leaves the last gauges."""
    refreshed_at = float("-inf")

    async def render() -> tuple[bytes, str]:
        nonlocal refreshed_at
        if time.monotonic() - refreshed_at >= METRICS_REFRESH_SECONDS:
            refreshed_at = time.monotonic()
            try:
                gauges = await asyncio.wait_for(services.inbox_queries.gauges(), METRICS_REFRESH_SECONDS)
                metrics.inbox_observed(gauges, services.clock.now())
            except Exception as exc:  # the metrics page must answer when the database does not
                log.warning("inbox gauges not refreshed: %s", str(exc).split("\n", 1)[0][:200])
        return metrics.exposition()

    return render


def _webhook(settings: Settings, services: Services, worker: InboxWorker | None) -> WebhookConfig:
    secret = settings.meta_app_secret.get_secret_value() if settings.meta_app_secret else None
    token = settings.meta_verify_token.get_secret_value() if settings.meta_verify_token else None
    if not secret:
        log.error("WATEMPLATES_META_APP_SECRET is not set: the Meta webhook refuses every POST until it is")
    return WebhookConfig(
        uow_factory=services.uow_factory,
        clock=services.clock,
        app_secret=secret,
        verify_token=token,
        on_delivery=worker.wake if worker else None,
    )


async def _track_health(services: Services, grpc_server: GrpcServer) -> None:
    """gRPC health says SERVING only while the database answers."""
    serving: bool | None = None
    while True:
        try:
            await asyncio.wait_for(services.probe.ping(), HEALTH_INTERVAL_SECONDS)
            healthy = True
        except Exception as exc:  # any failure means NOT_SERVING; keep probing
            if serving is not False:
                log.warning("database unreachable: %s", exc)
            healthy = False
        if healthy != serving:
            await grpc_server.set_serving(healthy)
            serving = healthy
        await asyncio.sleep(HEALTH_INTERVAL_SECONDS)


def _announce(settings: Settings, grpc_port: int | None, roles: frozenset[str], worker_process: bool) -> None:
    grpc_host, _ = split_host_port(settings.grpc_addr)
    grpc_target = f"{grpc_host}:{grpc_port}" if grpc_port else "(not in this process)"
    log.info("serving", extra={"grpc": grpc_target, "http": settings.http_addr, "roles": sorted(roles)})
    sys.stdout.write(
        f"""
watemplates is serving
  gRPC  {grpc_target}   (reflection on: grpcurl -plaintext {grpc_target} list)
  HTTP  http://{settings.http_addr}   (the dashboard: sign in with an API key)
        /metrics, /healthz, /readyz, and Meta's webhook at /webhooks/meta
  roles {", ".join(sorted(roles))}{" + worker (in a process of its own)" if worker_process else ""}
  DB    {masked_url(settings.database_url)}

First steps, in another terminal (with .venv/bin on PATH):
  watemplates org create acme
  watemplates apikey create --org acme --role admin     # prints the key once
  watemplates waba add --org acme --waba-id 301122334455667 --phone-number-id 109876543210987
  grpcurl -plaintext -H "authorization: Bearer <key>" \\
      -d '{{"parent": "wabas/301122334455667"}}' {grpc_target} watemplates.v1.TemplateService/ListTemplates
  (no grpcurl here? the README's "Calling watemplates from another service" has a Python client)
  open http://{settings.http_addr}/ and sign in with the key to see the dashboard
Stop with Ctrl-C.
"""
    )
    sys.stdout.flush()
