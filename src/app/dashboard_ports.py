"""Storage the dashboard needs: its sign-in sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A signed-in browser. The cookie holds the session id; only its hash is stored, with the hash
    of the API key it was opened with (never the key), so a revoked key ends its sessions too."""

    id_hash: str
    key_hash: str
    # Every form the session posts carries it (a page of another site cannot read it).
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class SessionRepository(Protocol):
    async def add(self, session: DashboardSession) -> None: ...

    async def get(self, id_hash: str) -> DashboardSession | None: ...

    async def delete(self, id_hash: str) -> None: ...

    async def delete_expired(self, now: datetime) -> int:
        """Removes sessions past their expiry; returns how many."""
        ...
