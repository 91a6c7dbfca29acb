"""Which database a command uses, and what it does when there is none: only `migrate` creates one;
every other command names the URL it tried (password masked) and stops. Settings come from the
environment, then from .env in the current directory or the file --env-file names."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.cli import main
from app.settings import ENV_FILE_VARIABLE, Settings
from support.postgres import PostgresServer

DEFAULT_URL = "sqlite+aiosqlite:///./var/watemplates.db"

NEEDS_A_DATABASE = [
    ["org", "list"],
    ["org", "create", "acme"],
    ["apikey", "create", "--org", "acme", "--role", "viewer"],
    ["apikey", "list", "--org", "acme"],
    ["waba", "list", "--org", "acme"],
    ["templates", "list", "--org", "acme"],
    ["templates", "get", "--org", "acme", "wabas/1/templates/x.en"],
    ["inbox", "list"],
    ["channels", "list", "--org", "acme"],
    ["notifications", "list", "--org", "acme"],
    ["audit", "list", "--org", "acme"],
]


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=lambda c: " ".join(c[:2]))
def test_a_command_refuses_a_database_that_does_not_exist_and_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # The terminal where WATEMPLATES_DATABASE_URL was never set: the default, relative to here.
    monkeypatch.delenv("WATEMPLATES_DATABASE_URL")

    assert main(command) == 2

    error = capsys.readouterr().err
    assert error == (
        f"error: no database at {DEFAULT_URL} (./var/watemplates.db does not exist in {tmp_path}); "
        "run `watemplates migrate` first, or set WATEMPLATES_DATABASE_URL (environment or .env)\n"
    )
    assert not (tmp_path / "var").exists()


def test_serve_that_will_not_migrate_refuses_a_database_that_does_not_exist(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATEMPLATES_MIGRATE_ON_START", "false")

    assert main(["serve"]) == 2

    assert f"no database at {database}" in capsys.readouterr().err
    assert not Path(make_url(database).database or "").exists()


def test_an_existing_sqlite_file_without_the_schema_is_refused(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(make_url(database).database or "") as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")

    assert main(["org", "list"]) == 2

    assert capsys.readouterr().err == (
        f"error: the database at {database} has no watemplates schema (no alembic_version table); "
        "run `watemplates migrate` first, or set WATEMPLATES_DATABASE_URL (environment or .env)\n"
    )


def test_an_in_memory_database_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATEMPLATES_DATABASE_URL", "sqlite+aiosqlite://")

    assert main(["org", "list"]) == 2

    assert "is an in-memory SQLite database, empty in every process" in capsys.readouterr().err


def test_migrate_creates_the_database_the_other_commands_then_use(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == f"database at {database} is at revision head\n"
    assert main(["org", "create", "acme"]) == 0
    assert main(["org", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("acme\t")


@pytest.mark.postgres
def test_postgres_without_the_database_names_it_with_the_password_masked(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_url(postgres_server.url).set(database="nothing_here", password="s3cret-pw")
    monkeypatch.setenv("WATEMPLATES_DATABASE_URL", url.render_as_string(hide_password=False))

    assert main(["org", "list"]) == 2

    error = capsys.readouterr().err
    assert error.startswith(f"error: no database at {url.render_as_string(hide_password=True)} (")
    assert 'database "nothing_here" does not exist' in error
    assert "s3cret-pw" not in error
    assert ":***@" in error


@pytest.mark.postgres
def test_postgres_without_the_schema_is_refused_and_migrate_shows_no_password(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = make_url(postgres_server.create_database_sync("cli_unmigrated")).set(password="s3cret-pw")
    monkeypatch.setenv("WATEMPLATES_DATABASE_URL", empty.render_as_string(hide_password=False))
    shown = empty.render_as_string(hide_password=True)

    assert main(["org", "list"]) == 2
    assert f"the database at {shown} has no watemplates schema" in capsys.readouterr().err

    assert main(["migrate"]) == 0
    assert main(["org", "list"]) == 0
    captured = capsys.readouterr()
    assert f"database at {shown} is at revision head" in captured.out
    assert "s3cret-pw" not in captured.out + captured.err


@pytest.mark.usefixtures("migrated")
def test_settings_come_from_dotenv_here_and_the_environment_wins(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text(f"# the operator's file\nWATEMPLATES_DATABASE_URL={database}\n")
    monkeypatch.delenv("WATEMPLATES_DATABASE_URL")
    assert main(["org", "create", "acme"]) == 0

    monkeypatch.setenv("WATEMPLATES_DATABASE_URL", "sqlite+aiosqlite:///./elsewhere.db")
    assert main(["org", "list"]) == 2
    assert "no database at sqlite+aiosqlite:///./elsewhere.db" in capsys.readouterr().err

    monkeypatch.delenv("WATEMPLATES_DATABASE_URL")
    assert main(["org", "list", "--json"]) == 0
    assert [org["slug"] for org in json.loads(capsys.readouterr().out)] == ["acme"]


@pytest.mark.usefixtures("migrated")
def test_env_file_replaces_dotenv_rather_than_adding_to_it(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WATEMPLATES_DATABASE_URL")
    (tmp_path / ".env").write_text(
        "WATEMPLATES_DATABASE_URL=sqlite+aiosqlite:///./dev.db\nWATEMPLATES_SMTP_HOST=dev.example\n"
    )
    (tmp_path / "prod.env").write_text(f"WATEMPLATES_DATABASE_URL={database}\n")

    assert main(["--env-file", "prod.env", "org", "create", "acme"]) == 0
    capsys.readouterr()
    assert main(["--env-file", "prod.env", "config", "--json"]) == 0

    shown = json.loads(capsys.readouterr().out)
    settings = {row["variable"]: row for row in shown["settings"]}
    assert shown["env_file"] == str(tmp_path / "prod.env")
    assert settings["WATEMPLATES_DATABASE_URL"] == {
        "variable": "WATEMPLATES_DATABASE_URL",
        "value": database,
        "source": "file",
    }
    assert settings["WATEMPLATES_SMTP_HOST"] == {
        "variable": "WATEMPLATES_SMTP_HOST",
        "value": "",
        "source": "default",
    }


def test_the_chosen_settings_file_reaches_every_settings_object_of_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `serve` builds its worker process's Settings from the environment it passes on.
    (tmp_path / "worker.env").write_text("WATEMPLATES_SMTP_HOST=smtp.example\n")
    assert Settings().smtp_host == ""
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(tmp_path / "worker.env"))
    assert Settings().smtp_host == "smtp.example"


@pytest.mark.parametrize(
    ("argv", "variable", "message"),
    [
        (
            ["--env-file", "missing.env", "org", "list"],
            "",
            "error: --env-file names missing.env, which is not a file\n",
        ),
        (
            ["org", "list"],
            "missing.env",
            f"error: {ENV_FILE_VARIABLE} names missing.env, which is not a file\n",
        ),
    ],
)
def test_a_settings_file_that_is_not_there_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    variable: str,
    message: str,
) -> None:
    monkeypatch.setenv(ENV_FILE_VARIABLE, variable)

    assert main(argv) == 2

    assert capsys.readouterr().err == message


def test_invalid_settings_name_the_variable_and_exit_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text("WATEMPLATES_SMTP_PORT=seventy\n")
    monkeypatch.setenv("WATEMPLATES_GRPC_ADDR", "localhost")

    assert main(["org", "list"]) == 2

    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "error: invalid settings (from the environment and .env):"
    assert lines[1].startswith("  WATEMPLATES_GRPC_ADDR: ")
    assert "HOST:PORT" in lines[1]
    assert lines[2].startswith("  WATEMPLATES_SMTP_PORT: ")
    assert len(lines) == 3


def test_config_shows_each_setting_and_its_source_but_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+asyncpg://watemplates:db-pass@db.internal/watemplates"
    (tmp_path / ".env").write_text(
        f"WATEMPLATES_DATABASE_URL={url}\nWATEMPLATES_SMTP_PASSWORD=smtp-pass\nWATEMPLATES_LOG_FORMAT=text\n"
    )
    monkeypatch.delenv("WATEMPLATES_DATABASE_URL")
    monkeypatch.setenv("WATEMPLATES_META_ACCESS_TOKEN", "graph-token")
    monkeypatch.setenv("WATEMPLATES_LOG_FORMAT", "json")

    assert main(["config"]) == 0
    human = capsys.readouterr().out
    assert main(["config", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    for secret in ("db-pass", "smtp-pass", "graph-token"):
        assert secret not in human + json.dumps(document)
    assert human.splitlines()[0] == f"settings file: {tmp_path / '.env'}"
    rows = {row["variable"]: (row["value"], row["source"]) for row in document["settings"]}
    assert rows["WATEMPLATES_DATABASE_URL"] == (
        "postgresql+asyncpg://watemplates:***@db.internal/watemplates",
        "file",
    )
    assert rows["WATEMPLATES_SMTP_PASSWORD"] == ("***", "file")
    assert rows["WATEMPLATES_META_ACCESS_TOKEN"] == ("***", "environment")
    assert rows["WATEMPLATES_META_APP_SECRET"] == (None, "default")
    assert rows["WATEMPLATES_LOG_FORMAT"] == ("json", "environment")
    assert rows["WATEMPLATES_MIGRATE_ON_START"] == (True, "default")
    # Every setting is listed, in the human format too.
    assert set(rows) == {f"WATEMPLATES_{name.upper()}" for name in Settings.model_fields}
    assert len(human.splitlines()) == len(rows) + 1
    assert "WATEMPLATES_META_ACCESS_TOKEN" in human
    assert "(not set)  [default]" in human


def test_the_readme_configuration_table_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`") for line in section.splitlines() if line.startswith("| `")}
    assert rows == {f"WATEMPLATES_{name.upper()}" for name in Settings.model_fields} | {ENV_FILE_VARIABLE}
