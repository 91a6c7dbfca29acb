"""Run the Alembic migrations programmatically (no alembic.ini needed).

Both functions are synchronous and run their own event loop inside Alembic's env.py, so they must
not be called from a coroutine; async callers use `await asyncio.to_thread(upgrade, url)`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

# config.attributes key env.py reads the URL from; attributes bypass the ini-style interpolation
# that would mangle a "%" in a password.
URL_ATTRIBUTE = "watemplates.database_url"


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("path_separator", "os")
    config.attributes[URL_ATTRIBUTE] = url
    return config


def script_location() -> Path:
    """The migrations directory: the repository's in a checkout, else the copy the wheel ships."""
    here = Path(__file__).resolve().parent
    candidates = (
        # <repo>/src/adapters/sql/migrate.py -> <repo>/migrations
        here.parents[2] / "migrations",
        # The wheel force-includes <repo>/migrations as adapters/sql/migrations.
        here / "migrations",
    )
    for candidate in candidates:
        if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no Alembic migrations directory found (searched {searched})")
