"""What the operator's CLI commands share: the database they work on (found, and refused when it does
not exist yet), running an action against it, and finding an organization by its slug."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from adapters.sql.engine import SqlEngine, create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import is_transient_error
from app.auth import Principal
from app.bootstrap import Services, build_services
from app.errors import NotFound
from app.settings import Settings
from domain.tenancy import Organization, Role

MIGRATE_HINT = "run `watemplates migrate` first, or set WATEMPLATES_DATABASE_URL (environment or .env)"
# Alembic's bookkeeping table: a database without it was never migrated, whatever else it holds.
SCHEMA_TABLE = "alembic_version"
# PostgreSQL's answers (SQLSTATE) for a database that is not there and a login it refuses.
_NO_SUCH_DATABASE = "3D000"
_LOGIN_REFUSED = frozenset({"28000", "28P01"})
# How long the schema check waits for a database another process has locked.
SCHEMA_CHECK_SECONDS = 10.0


class CliError(Exception):
    """A failure the operator can fix, told in one line; `exit_code` 2 for a problem of set-up
    (no database, bad arguments), 1 for one that may pass (the database is down)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def admin_action(
    action: Callable[[Services, argparse.Namespace], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    """Runs an admin action against the configured database, which must exist and have the schema:
    a command that created an empty database here would only hide a wrong WATEMPLATES_DATABASE_URL
    (or a run from the wrong directory). An older schema is brought up to date first, like the
    server does, when migrate_on_start is on."""

    def run(args: argparse.Namespace) -> int:
        settings = Settings()

        async def go() -> int:
            await require_schema(settings.database_url)
            if settings.migrate_on_start:
                await migrate(settings.database_url)
            services = await build_services(settings)
            try:
                return await action(services, args)
            finally:
                await services.close()

        return asyncio.run(go())

    return run


def masked_url(url: str) -> str:
    """The URL with its password as ***: it goes to terminals, logs and CI output."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


async def migrate(url: str, revision: str = "head") -> None:
    """Alembic's upgrade, with the failures an operator meets at the terminal told in one line."""
    try:
        await asyncio.to_thread(upgrade, url, revision)
    except Exception as exc:
        raise _unusable(exc, masked_url(url)) from exc


async def require_schema(url: str) -> None:
    """CliError unless `url` names a database that exists and was migrated (has SCHEMA_TABLE). Never
    creates anything: a SQLite file is looked for before any connection would make it."""
    parsed = _parse(url)
    shown = masked_url(url)
    if parsed.get_backend_name() == "sqlite":
        _require_sqlite_file(parsed, shown)
    try:
        engine = create_engine(url)
    except ValueError as exc:  # a backend this service does not run on
        raise CliError(f"WATEMPLATES_DATABASE_URL {shown}: {exc}") from exc
    try:
        migrated = await _schema_present(engine)
    except Exception as exc:
        raise _unusable(exc, shown) from exc
    finally:
        await engine.dispose()
    if not migrated:
        raise CliError(
            f"the database at {shown} has no watemplates schema (no {SCHEMA_TABLE} table); {MIGRATE_HINT}"
        )


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        # Not echoed: an unparsable URL cannot be masked, and it may hold a password.
        raise CliError(
            "WATEMPLATES_DATABASE_URL is not a database URL; expected sqlite+aiosqlite:///PATH or "
            "postgresql+asyncpg://USER:PASSWORD@HOST/DATABASE"
        ) from exc


def _require_sqlite_file(url: URL, shown: str) -> None:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise CliError(
            f"the database {shown} is an in-memory SQLite database, empty in every process: a command "
            "has nothing to work on; use a file (sqlite+aiosqlite:///./var/watemplates.db) or PostgreSQL"
        )
    if database.startswith("file:"):
        return  # SQLite's URI form: its options decide what opening does; the schema check follows.
    path = Path(database).expanduser()
    if not path.exists():
        where = "" if path.is_absolute() else f" in {os.getcwd()}"
        raise CliError(f"no database at {shown} ({database} does not exist{where}); {MIGRATE_HINT}")


async def _schema_present(engine: SqlEngine) -> bool:
    """Whether SCHEMA_TABLE exists. The inspection runs as one synchronous call, outside the SQLite
    adapter's waiting for a busy database, so a lock another process holds (a server migrating at
    start, a checkpoint) is waited out here, as long as the adapter would."""
    deadline = time.monotonic() + SCHEMA_CHECK_SECONDS
    delay = 0.05
    while True:
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_has_schema)
        except Exception as exc:
            if not is_transient_error(exc) or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


def _has_schema(connection: Connection) -> bool:
    return sa.inspect(connection).has_table(SCHEMA_TABLE)


def _unusable(error: Exception, shown: str) -> Exception:
    """The one-line CliError for a database that cannot be opened; other errors as they are."""
    if isinstance(error, CliError):
        return error
    state = getattr(getattr(error, "orig", None), "sqlstate", None)
    if state == _NO_SUCH_DATABASE:
        return CliError(f"no database at {shown} ({_first_line(error)}); create it, then {MIGRATE_HINT}")
    if state in _LOGIN_REFUSED:
        return CliError(f"the database at {shown} refused the login ({_first_line(error)})")
    # OSError: a host name that does not resolve, a network that is down; is_transient_error: refused
    # or lost connections, a server starting or stopping, SQLite's lock held too long.
    if isinstance(error, OSError) or is_transient_error(error):
        return CliError(
            f"the database at {shown} cannot be reached ({_first_line(error)}); retry later", exit_code=1
        )
    if isinstance(error, DBAPIError):
        return CliError(f"cannot use the database at {shown} ({_first_line(error)})")
    return error


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


async def organization_of(services: Services, slug: str) -> Organization:
    async with services.uow_factory(read_only=True) as uow:
        org = await uow.organizations.get_by_slug(slug)
    if org is None:
        raise NotFound("organization", slug)
    return org


def operator(org: Organization) -> Principal:
    """The operator at the terminal acts for the organization with full rights."""
    return Principal(org_id=org.id, role=Role.ADMIN, key_id="cli")
