"""When `watemplates serve` runs the inbox worker in a process of its own."""

from __future__ import annotations

import pytest

from app.settings import Settings
from app.worker_process import wants_worker_process

PG = "postgresql+asyncpg://u@localhost/db"
SQLITE = "sqlite+aiosqlite:///./var/watemplates.db"
ALL = frozenset({"grpc", "webhook", "worker"})


@pytest.mark.parametrize(
    ("url", "setting", "roles", "cores", "expected"),
    [
        (PG, "auto", ALL, 2, True),
        (PG, "auto", ALL, 1, False),  # one core: a second process only adds switching
        (SQLITE, "auto", ALL, 8, False),  # one write lock: two processes fight over it
        (PG, "auto", frozenset({"worker"}), 8, False),  # already a worker of its own
        (PG, "auto", frozenset({"grpc", "webhook"}), 8, False),  # no worker to move
        (SQLITE, "on", ALL, 1, True),
        (PG, "off", ALL, 8, False),
    ],
)
def test_the_worker_gets_a_process_of_its_own_only_where_it_pays(
    url: str, setting: str, roles: frozenset[str], cores: int, expected: bool
) -> None:
    settings = Settings(database_url=url, worker_process=setting)
    assert wants_worker_process(settings, roles, cores) is expected
