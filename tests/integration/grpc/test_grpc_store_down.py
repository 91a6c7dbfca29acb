"""The real server over the SQL adapter with the database away: callers hear UNAVAILABLE (retry
later), never INTERNAL, and the log says why."""

from __future__ import annotations

import socket

import grpc
import pytest
from pydantic import SecretStr

from adapters.grpc.server import GrpcServer
from app.bootstrap import build_services
from app.settings import Settings
from watemplates.v1 import templates_pb2, templates_pb2_grpc


async def test_the_api_answers_unavailable_when_the_database_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{port}/nothing",
        page_token_secret=SecretStr("p" * 32),
    )
    services = await build_services(settings)
    server = GrpcServer(services.bus, services.queries, services.authenticator, "127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = templates_pb2_grpc.TemplateServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ListTemplates(
                    templates_pb2.ListTemplatesRequest(parent="wabas/-"),
                    metadata=(("authorization", "Bearer wat_x_y"),),
                )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "database cannot be reached" in (caught.value.details() or "")
        assert any("cannot be reached" in r.getMessage() for r in caplog.records)
    finally:
        await server.stop(0)
        await services.close()
