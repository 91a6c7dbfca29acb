"""A throwaway PostgreSQL server started from the local binaries, for the `postgres` tests.

Nothing needs to be installed as a service or configured: initdb creates a cluster in a temporary
directory, pg_ctl runs it on a free port of 127.0.0.1 with trust authentication, and stop() removes
it again. PostgreSQL refuses to run as root, so under root (CI containers) the binaries run as the
`postgres` user via runuser.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SUPERUSER = "postgres"
HOST = "127.0.0.1"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_START_ATTEMPTS = 3


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then the newest Debian-style install."""
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("pg_ctl") is not None:
        return Path(initdb).resolve().parent
    installed = [
        bin_dir
        for bin_dir in Path("/usr/lib/postgresql").glob("*/bin")
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file()
    ]
    if not installed:
        return None
    return max(installed, key=lambda bin_dir: _version_key(bin_dir.parent.name))


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


@dataclass
class PostgresServer:
    bin_dir: Path
    base_dir: Path
    port: int
    # The database created at start; `url` points at it.
    database: str

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        """Creates an empty database and returns its SQLAlchemy URL."""
        if not _DATABASE_NAME.match(name):
            raise ValueError(f"unsafe database name {name!r}")
        connection = await asyncpg.connect(host=HOST, port=self.port, user=SUPERUSER, database="postgres")
        try:
            # Identifiers cannot be bound as parameters; the name is validated above.
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url_for(name)

    def create_database_sync(self, name: str) -> str:
        """create_database for code that is not running inside an event loop (sync fixtures)."""
        return asyncio.run(self.create_database(name))

    def stop(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                _run(self.bin_dir / "pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def start_server(database: str = "watemplates", *, durable: bool = False) -> PostgresServer | None:
    """Starts a server and creates `database`; None when no PostgreSQL binaries are installed.
    `durable`: fsync and synchronous commits on, as in production (benchmarks); off by default."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return None
    last_error: Exception | None = None
    # The free port is only reserved until we close the probe socket, so another process can grab
    # it before the server binds; trying again on a new port handles that race.
    for _ in range(_START_ATTEMPTS):
        server = PostgresServer(
            bin_dir=bin_dir, base_dir=_make_base_dir(), port=_free_port(), database=database
        )
        try:
            _init_and_start(server, durable=durable)
            server.create_database_sync(database)
        except (subprocess.CalledProcessError, OSError) as error:
            output = (
                error.stderr.decode(errors="replace")
                if isinstance(error, subprocess.CalledProcessError)
                else ""
            )
            last_error = RuntimeError(f"{error}\n{output}\n--- server log ---\n{_tail(server.log_file)}")
            server.stop()
            continue
        except BaseException:
            server.stop()
            raise
        return server
    raise RuntimeError(f"could not start PostgreSQL from {bin_dir}") from last_error


def _init_and_start(server: PostgresServer, *, durable: bool = False) -> None:
    initdb = [str(server.bin_dir / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER]
    initdb += ["--auth=trust", "--encoding=UTF8", "--no-sync"]
    try:
        # A linguistic default collation, as production clusters usually have, so the tests catch
        # code that silently relies on byte order; ICU provides it without OS locales installed.
        _run(Path(initdb[0]), *initdb[1:], "--locale-provider=icu", "--icu-locale=en-US", "--locale=C.UTF-8")
    except subprocess.CalledProcessError:
        # PostgreSQL before 15, or built without ICU.
        shutil.rmtree(server.data_dir, ignore_errors=True)
        _run(Path(initdb[0]), *initdb[1:], "--no-locale")
    # Durability is irrelevant for a throwaway test cluster; without fsync it starts and commits
    # faster. Benchmarks ask for it, since a commit's cost is part of what they measure.
    fast = ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    options = " ".join(
        [
            f"-c listen_addresses={HOST}",
            f"-c port={server.port}",
            f"-c unix_socket_directories={server.base_dir}",
            *([] if durable else fast),
            "-c max_connections=200",
        ]
    )
    _run(
        server.bin_dir / "pg_ctl",
        "start",
        "-D",
        str(server.data_dir),
        "-l",
        str(server.log_file),
        "-o",
        options,
        "-w",
        "-t",
        "60",
    )


def _make_base_dir() -> Path:
    base_dir = Path(tempfile.mkdtemp(prefix="watemplates-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        # The server runs as `postgres`, which must own its data directory and socket directory.
        shutil.chown(base_dir, user=SUPERUSER)
    base_dir.chmod(0o700)
    return base_dir


def _run(executable: Path, *args: str) -> None:
    command = [str(executable), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    # cwd: the postgres user may not be allowed to read the directory the tests run in.
    subprocess.run(command, check=True, capture_output=True, cwd="/", timeout=120)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
