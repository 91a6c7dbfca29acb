"""What the service counts about itself, as a port: the RPCs and HTTP requests it serves, the inbox,
Meta's API and the notifications. An adapter (Prometheus) keeps the numbers; without one nothing is
counted (NO_METRICS), so tests and tools need not care."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class InboxGauges:
    """The inbox as it stands: changes per state that still matter (DONE ones are the applied
    counter's), deliveries not split yet, and when the oldest change waiting to be applied arrived."""

    changes: dict[str, int] = field(default_factory=dict)
    deliveries_pending: int = 0
    oldest_pending_received_at: datetime | None = None


class Metrics(Protocol):
    def rpc_finished(self, method: str, code: str, seconds: float) -> None: ...

    def http_finished(self, route: str, method: str, status: int, seconds: float) -> None: ...

    def changes_applied(self, count: int) -> None: ...

    def meta_call_finished(self, endpoint: str, outcome: str, seconds: float) -> None: ...

    def notification_finished(self, channel: str, outcome: str) -> None: ...

    def inbox_observed(self, gauges: InboxGauges, now: datetime) -> None: ...


class NullMetrics:
    """Counts nothing."""

    def rpc_finished(self, method: str, code: str, seconds: float) -> None:
        return None

    def http_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        return None

    def changes_applied(self, count: int) -> None:
        return None

    def meta_call_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        return None

    def notification_finished(self, channel: str, outcome: str) -> None:
        return None

    def inbox_observed(self, gauges: InboxGauges, now: datetime) -> None:
        return None


NO_METRICS: Metrics = NullMetrics()
