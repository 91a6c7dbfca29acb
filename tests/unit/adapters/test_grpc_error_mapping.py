"""Conflicts between writers answer ABORTED, the code a client retries the whole request on."""

from __future__ import annotations

import grpc

from adapters.grpc.errors import to_rpc_error
from app.errors import ConcurrentModification, TransactionConflict


def test_an_optimistic_conflict_names_what_moved() -> None:
    error = to_rpc_error(ConcurrentModification("wabas/1/templates/order_ready.en_US"))
    assert (error.code, error.reason) == (grpc.StatusCode.ABORTED, "CONCURRENT_MODIFICATION")
    assert error.metadata == {"name": "wabas/1/templates/order_ready.en_US"}


def test_a_transaction_the_database_cancelled_is_aborted_too() -> None:
    error = to_rpc_error(TransactionConflict())
    assert (error.code, error.reason) == (grpc.StatusCode.ABORTED, "TRANSACTION_CONFLICT")
    assert "retry" in error.message
