"""The audit log's port and types (part of the unit of work, see app.ports.UnitOfWork; written by
app.audit.AuditTrail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    org_id: str
    # apiKeys/{prefix}, or "cli".
    actor: str
    # The command, e.g. CreateTemplate, MoveCampaign.PAUSE.
    action: str
    # The resource's name (templates, campaigns, ...), or "" when there is none.
    resource: str
    request_id: str
    # OK, or why it was refused (NOT_FOUND, PERMISSION_DENIED, INVALID_TEMPLATE, ...).
    outcome: str
    at: datetime

    @property
    def created_at(self) -> datetime:
        """The listing's keyset (app.listing) orders by it."""
        return self.at


@dataclass(frozen=True, slots=True)
class AuditQuery:
    org_id: str
    actor: str = ""
    action: str = ""
    resource: str = ""
    since: datetime | None = None
    until: datetime | None = None
    # Newest first: the page after (at, id).
    after: tuple[datetime, str] | None = None
    limit: int = 50
    # The shared listing's narrowing to a template; the audit log is filtered by resource instead.
    template_id: str = ""


class AuditRepository(Protocol):
    async def add_many(self, events: Sequence[AuditEvent]) -> None:
        """Appends; the log has no update and no delete."""
        ...

    async def list(self, query: AuditQuery) -> Sequence[AuditEvent]:
        """Newest first (at, then id)."""
        ...
