"""The in-memory repositories of the fake store, one module per aggregate (tables.py holds the data)."""
