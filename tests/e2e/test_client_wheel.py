"""The two wheels of `make dist`, each installed as a stranger would: into a fresh venv of its own.

The server wheel (watemplates) migrates and serves from its venv alone: the generated stubs and the
migrations must be inside. The client wheel (watemplates-client) then calls it from another venv
that holds nothing but the client wheel and its dependencies, running clients/python/example.py
(create, render, edit, list, watch), and the same example type-checks under mypy --strict with no
`Any` anywhere once typeshed's grpc stubs sit beside it (the `client-typing` dependency group).

The venvs have no pip of their own (`--without-pip`, much faster) and no view of the test's venv
(no --system-site-packages, which would hide a missing dependency): the test venv's pip installs
into them with `--python`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from support.serving import free_port, wait_serving
from watemplates.v1 import templates_pb2_grpc

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "clients" / "python" / "example.py"
GENERATED = ROOT / "src" / "watemplates"
WABA = "301122334455667"
# The environment of the venvs' processes: nothing that would let them see the test's own venv.
ISOLATED_ENV = {
    k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MYPYPATH"}
}


@dataclass(frozen=True)
class Wheels:
    server: Path
    client: Path


@dataclass(frozen=True)
class Server:
    target: str
    key: str


def run(*args: str | Path, env: dict[str, str] = ISOLATED_ENV, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def fresh_venv(path: Path, *requirements: str | Path) -> Path:
    """A new venv at `path` with `requirements` installed; returns its python."""
    run(sys.executable, "-m", "venv", "--without-pip", path)
    python = path / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", *requirements)
    return python


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def wheel_metadata(wheel: Path) -> tuple[str, str, list[Requirement]]:
    """Name, version and dependencies, from the wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        [path] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        headers = HeaderParser().parsestr(archive.read(path).decode())
    return headers["Name"], headers["Version"], [Requirement(r) for r in headers.get_all("Requires-Dist", [])]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    dist = tmp_path_factory.mktemp("dist")
    # The command `make dist` runs (the generated stubs exist: this test imports them).
    pip_wheel = (sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist)
    run(*pip_wheel, ROOT, ROOT / "clients" / "python")
    [server] = dist.glob("watemplates-*.whl")
    [client] = dist.glob("watemplates_client-*.whl")
    return Wheels(server, client)


@pytest.fixture(scope="module")
def server(wheels: Wheels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("server")
    watemplates = fresh_venv(home / "venv", wheels.server).with_name("watemplates")
    target = f"127.0.0.1:{free_port()}"
    env = {
        **ISOLATED_ENV,
        "WATEMPLATES_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'watemplates.db'}",
        "WATEMPLATES_GRPC_ADDR": target,
        "WATEMPLATES_HTTP_ADDR": f"127.0.0.1:{free_port()}",
        "WATEMPLATES_SHUTDOWN_GRACE_SECONDS": "1",
    }
    # The schema from the migrations the wheel carries; then an organization, key and WABA.
    run(watemplates, "migrate", env=env, cwd=home)
    run(watemplates, "org", "create", "acme", env=env, cwd=home)
    key = run(
        watemplates, "apikey", "create", "--org", "acme", "--role", "operator", env=env, cwd=home
    ).strip()
    run(watemplates, "waba", "add", "--org", "acme", "--waba-id", WABA, env=env, cwd=home)
    log_path = home / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [watemplates, "serve"], env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=log, text=True
        )
        try:
            try:
                asyncio.run(wait_serving(target, process))
            except AssertionError as failure:
                raise AssertionError(f"{failure}\n{log_path.read_text()}") from None
            yield Server(target, key)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture(scope="module")
def client_python(wheels: Wheels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_venv(tmp_path_factory.mktemp("client") / "venv", wheels.client)


@pytest.fixture(scope="module")
def typed_client_python(wheels: Wheels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client wheel plus the grpc and protobuf type stubs a client adds (`client-typing`)."""
    group = f"{ROOT / 'pyproject.toml'}:client-typing"
    return fresh_venv(tmp_path_factory.mktemp("typed_client") / "venv", wheels.client, "--group", group)


def test_the_server_wheel_carries_the_generated_stubs_and_the_migrations(wheels: Wheels) -> None:
    files = wheel_files(wheels.server)

    assert "watemplates/v1/templates_pb2_grpc.py" in files
    assert "watemplates/py.typed" in files
    assert "adapters/sql/migrations/env.py" in files
    assert any(f.startswith("adapters/sql/migrations/versions/0001_") for f in files)


def test_the_client_wheel_is_the_generated_stubs_alone(wheels: Wheels) -> None:
    generated = {
        f"watemplates/{p.relative_to(GENERATED).as_posix()}"
        for p in GENERATED.rglob("*")
        if p.is_file() and p.suffix in {".py", ".pyi", ".typed"}
    }

    files = wheel_files(wheels.client)

    assert files == generated
    assert {"watemplates/v1/templates_pb2.pyi", "watemplates/v1/templates_pb2_grpc.pyi"} <= files


def test_the_client_has_the_servers_version_and_three_dependencies(wheels: Wheels) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # The runtime versions the generated code checks for at import (older ones are refused).
    grpc_generated = templates_pb2_grpc.GRPC_GENERATED_VERSION
    header = (GENERATED / "v1" / "templates_pb2.py").read_text().split("# Protobuf Python Version: ")[1]
    protobuf_generated = header.split()[0]

    name, version, requirements = wheel_metadata(wheels.client)

    assert (name, version) == ("watemplates-client", project["version"])
    bounds = {r.name: {(s.operator, s.version) for s in r.specifier} for r in requirements}
    assert set(bounds) == {"grpcio", "protobuf", "googleapis-common-protos"}
    assert (">=", grpc_generated) in bounds["grpcio"]
    assert (">=", protobuf_generated) in bounds["protobuf"]


def test_the_client_wheel_alone_calls_the_served_wheel(
    server: Server, client_python: Path, tmp_path: Path
) -> None:
    # Run from an empty directory: nothing of the repository on the path, only the venv.
    out = run(client_python, EXAMPLE, server.target, server.key, WABA, "1", cwd=tmp_path)

    name = f"wabas/{WABA}/templates/order_ready.en_US"
    assert out.splitlines() == [
        "lint: valid []",
        f"created: {name} TEMPLATE_STATUS_DRAFT",
        "rendered: Hi Dana, your order A-1042 can be collected from Main St today.",
        f"listed: {name} TEMPLATE_STATUS_DRAFT",
        f"event: 1 {name} HISTORY_ASPECT_COMPONENTS CHANGE_SOURCE_USER",
    ]


def test_the_client_wheel_type_checks_strictly_without_any(typed_client_python: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import reveal_type\n"
        "import grpc\n"
        "from watemplates.v1 import templates_pb2, templates_pb2_grpc\n"
        "async def probe(channel: grpc.aio.Channel) -> None:\n"
        "    stub = templates_pb2_grpc.TemplateServiceStub(channel)\n"
        "    reveal_type(stub)\n"
        "    reply = await stub.ListTemplates(templates_pb2.ListTemplatesRequest(parent='wabas/-'))\n"
        "    reveal_type(reply)\n"
        "    reveal_type(reply.templates[0].name)\n"
    )
    # A config of its own, so the repository's mypy settings and paths play no part.
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    mypy = (sys.executable, "-m", "mypy", "--config-file", config, "--cache-dir", tmp_path / "cache")

    # --disallow-any-expr: an untyped grpc, or type stubs missing from the wheel, make expressions Any.
    out = run(
        *mypy, "--strict", "--disallow-any-expr", "--python-executable", typed_client_python, EXAMPLE, probe
    )

    revealed = [line.split("Revealed type is ")[1] for line in out.splitlines() if "Revealed type" in line]
    assert revealed[:2] == [
        '"watemplates.v1.templates_pb2_grpc.TemplateServiceAsyncStub"',
        '"watemplates.v1.templates_pb2.ListTemplatesResponse"',
    ]
    # mypy 2 drops the "builtins." it printed before.
    assert revealed[2] in {'"str"', '"builtins.str"'}
