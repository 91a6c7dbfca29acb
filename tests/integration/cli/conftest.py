"""Every CLI test runs in a directory of its own, on a SQLite file there (not created: `migrated`
creates it, as `watemplates migrate` would), and with no settings file but what the test writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.settings import ENV_FILE_VARIABLE


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("WATEMPLATES_DATABASE_URL", url)
    monkeypatch.setenv("WATEMPLATES_LOG_LEVEL", "WARNING")
    # A .env where pytest runs must not change what is tested; the test's own directory has none.
    monkeypatch.chdir(tmp_path)
    # Set (empty: the default file) rather than deleted, so that what a test's --env-file puts in the
    # environment is undone after it.
    monkeypatch.setenv(ENV_FILE_VARIABLE, "")
    return url


@pytest.fixture
def migrated(capsys: pytest.CaptureFixture[str]) -> None:
    """The database the commands need: no command but `migrate` creates one."""
    assert main(["migrate"]) == 0
    capsys.readouterr()
