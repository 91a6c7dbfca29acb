"""The Graph adapter against the fake Graph server over real loopback HTTP.

`graph` is a running fake (tests/fakes/graph_server.py). `make_client(**overrides)` builds a
GraphClient on it with test-sized timeouts and backoff (milliseconds, so retry tests stay fast);
every client made is closed at teardown. `client` is one built with the defaults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.meta_graph.client import GraphClient
from fakes.graph_server import FakeGraph, running_fake_graph
from integration.meta_graph.graph_cases import TOKEN, ClientFactory


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with running_fake_graph(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def make_client(graph: FakeGraph) -> AsyncIterator[ClientFactory]:
    made: list[GraphClient] = []

    def build(**overrides: Any) -> GraphClient:
        options: dict[str, Any] = {
            "timeout": 2.0,
            "retry_budget_seconds": 5.0,
            "max_attempts": 3,
            "backoff_initial": 0.001,
            "backoff_max": 0.005,
        }
        options.update(overrides)
        base_url = options.pop("base_url", graph.base_url)
        token = options.pop("access_token", TOKEN)
        client = GraphClient(base_url, graph.version, token, **options)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> GraphClient:
    return make_client()
