"""Adds the generated stubs in ../../src/watemplates (made by `make proto`) to the client wheel.

Only what a caller needs: the message and service modules, their type stubs (mypy-protobuf) and
the PEP 561 marker; nothing of the server. The files are read where `make proto` writes them, so
nothing generated is copied or committed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PATTERNS = (
    "__init__.py",
    "py.typed",
    "v1/__init__.py",
    "v1/*_pb2.py",
    "v1/*_pb2.pyi",
    "v1/*_pb2_grpc.py",
    "v1/*_pb2_grpc.pyi",
)


class GeneratedStubsHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        generated = Path(self.root, "..", "..", "src", "watemplates").resolve()
        files = sorted({path for pattern in PATTERNS for path in generated.glob(pattern)})
        if not any(path.name.endswith("_pb2_grpc.py") for path in files):
            # Also what building from an sdist meets: the stubs live in the repository, not here.
            raise RuntimeError(
                f"no generated gRPC stubs in {generated}: build the wheel in the watemplates repository"
                " with `make dist` (it runs `make proto` first)"
            )
        for path in files:
            build_data["force_include"][str(path)] = f"watemplates/{path.relative_to(generated).as_posix()}"
