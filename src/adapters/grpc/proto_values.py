"""Reading enum numbers and reporting a bad field: what every proto -> domain translation uses."""

from __future__ import annotations

from typing import TypeVar

import grpc

from adapters.grpc.errors import RpcError
from app.errors import FieldViolation

K = TypeVar("K")
V = TypeVar("V")


def reverse(table: dict[K, V]) -> dict[V, K]:
    return {v: k for k, v in table.items()}


def invalid(field: str, description: str, reason: str = "INVALID_ARGUMENT") -> RpcError:
    return RpcError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{field}: {description}",
        reason,
        {"field": field},
        [FieldViolation(field, description, reason)],
    )


def enum_in(table: dict[int, V], value: int, field: str) -> V:
    """The domain value of an enum number, or INVALID_ARGUMENT naming the field (UNSPECIFIED too)."""
    try:
        return table[value]
    except KeyError:
        raise invalid(field, f"{value} is not a valid value here") from None
