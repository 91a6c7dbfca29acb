"""Driven and driving adapters: SQL, gRPC, HTTP."""
