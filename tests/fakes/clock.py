"""The clock and the database health probe, as fakes a test drives by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.ports import Clock, HealthProbe


class FrozenClock:
    """app.ports.Clock that only moves when told to; always an aware UTC datetime."""

    DEFAULT = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)

    def __init__(self, now: datetime = DEFAULT) -> None:
        self._now = self._utc(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = self._utc(now)

    def advance(self, delta: timedelta = timedelta(0), /, **units: float) -> datetime:
        """Moves forward by `delta` plus timedelta(**units), e.g. advance(seconds=5); returns the new now."""
        self._now += delta + timedelta(**units)
        return self._now

    @staticmethod
    def _utc(value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"FrozenClock needs an aware datetime, got {value!r}")
        return value.astimezone(UTC)


class FakeHealthProbe:
    """app.ports.HealthProbe: healthy until fail() is called; counts pings."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.pings = 0

    @property
    def healthy(self) -> bool:
        return self.error is None

    def fail(self, error: Exception | None = None) -> None:
        self.error = error if error is not None else ConnectionError("the database cannot be reached")

    def recover(self) -> None:
        self.error = None

    async def ping(self) -> None:
        self.pings += 1
        if self.error is not None:
            raise self.error


if TYPE_CHECKING:
    # Never executed: lets a type checker prove that the fakes satisfy the ports.
    _clock: Clock = FrozenClock()
    _probe: HealthProbe = FakeHealthProbe()


class ManualMonotonic:
    """A monotonic clock (seconds) that moves only when a test moves `now`."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
