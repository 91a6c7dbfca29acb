"""Application errors: what a use case reports to any driving adapter (gRPC, CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class AppError(Exception):
    """Base of every expected failure of a use case."""


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str
    reason: str = ""


class InvalidArgument(AppError):
    def __init__(
        self, message: str, violations: Sequence[FieldViolation] = (), reason: str = "INVALID_ARGUMENT"
    ) -> None:
        self.violations = tuple(violations)
        self.reason = reason
        super().__init__(message)


class NotFound(AppError):
    def __init__(self, resource_type: str, name: str) -> None:
        self.resource_type = resource_type
        self.name = name
        super().__init__(f"{resource_type} {name!r} was not found")


class AlreadyExists(AppError):
    def __init__(self, resource_type: str, name: str) -> None:
        self.resource_type = resource_type
        self.name = name
        super().__init__(f"{resource_type} {name!r} already exists")


class EtagMismatch(AppError):
    def __init__(self, name: str, given: str, current: str) -> None:
        self.name = name
        self.given = given
        self.current = current
        super().__init__(f"etag {given} does not match the current etag {current} of {name!r}")


class ConcurrentModification(AppError):
    """Another writer changed the resource between our read and our write; retrying is safe."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name!r} was modified concurrently; retry the request")


class RequestIdReused(AppError):
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"request_id {request_id!r} was already used for a different request")


class Unauthenticated(AppError):
    pass


class PermissionDenied(AppError):
    def __init__(self, needed: str, held: str) -> None:
        self.needed = needed
        self.held = held
        super().__init__(f"this call needs the {needed} role; the API key has {held}")
