"""The standing fuzz suite: Hypothesis drives the real webhook and the real gRPC server over the
real SQL adapter (SQLite and PostgreSQL).

The default run is bounded so the whole test suite stays within its time budget; `make fuzz` (or
WATEMPLATES_FUZZ_EXAMPLES=N) runs N cases per test with a fresh random seed. Each test runs its
examples on one event loop of its own (`loop`), because the servers live across examples: Hypothesis
calls the test body once per example, synchronously.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture
def loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner
