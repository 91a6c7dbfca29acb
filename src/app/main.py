"""`watemplates serve`: the gRPC server and the HTTP server on one event loop, with clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from aiohttp import web

from adapters.grpc.server import GrpcServer
from adapters.http.app import create_app
from adapters.sql.migrate import upgrade
from app.bootstrap import Services, build_services
from app.settings import Settings, split_host_port

log = logging.getLogger("watemplates")
HEALTH_INTERVAL_SECONDS = 5.0


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
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)


def run_server(settings: Settings) -> None:
    configure_logging(settings)
    try:
        import uvloop
    except ImportError:  # uvloop is optional: not built for every platform
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))


async def serve(settings: Settings) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade, settings.database_url)
    services = await build_services(settings)
    grpc_server = GrpcServer(services.bus, services.queries, services.authenticator, settings.grpc_addr)
    runner = web.AppRunner(create_app(services.probe), access_log=None, handle_signals=False)
    await runner.setup()
    http_host, http_port = split_host_port(settings.http_addr)
    site = web.TCPSite(runner, http_host, http_port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await grpc_server.start()
        await site.start()
        health_task = asyncio.create_task(_track_health(services, grpc_server))
        _announce(settings, grpc_server.port)
        await stop.wait()
        log.info("shutting down", extra={"graceSeconds": settings.shutdown_grace_seconds})
        health_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await health_task
    finally:
        await grpc_server.stop(settings.shutdown_grace_seconds)
        await runner.cleanup()
        await services.close()
        log.info("stopped")


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


def _announce(settings: Settings, grpc_port: int) -> None:
    grpc_host, _ = split_host_port(settings.grpc_addr)
    grpc_target = f"{grpc_host}:{grpc_port}"
    log.info("serving", extra={"grpc": grpc_target, "http": settings.http_addr})
    sys.stdout.write(
        f"""
watemplates is serving
  gRPC  {grpc_target}   (reflection on: grpcurl -plaintext {grpc_target} list)
  HTTP  http://{settings.http_addr}   (/healthz, /readyz)
  DB    {settings.database_url}

First steps, in another terminal (with .venv/bin on PATH):
  watemplates org create acme
  watemplates apikey create --org acme --role admin     # prints the key once
  watemplates waba add --org acme --waba-id 301122334455667 --phone-number-id 109876543210987
  grpcurl -plaintext -H "authorization: Bearer <key>" \\
      -d '{{"parent": "wabas/301122334455667"}}' {grpc_target} watemplates.v1.TemplateService/ListTemplates
Stop with Ctrl-C.
"""
    )
    sys.stdout.flush()
