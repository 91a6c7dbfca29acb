"""How the quality of an organization's templates moved: GREEN / YELLOW / RED / UNKNOWN counts per
WABA now, 7 days ago and 30 days ago, worked out from each template's history.

A template's quality at a past time is the quality its first change after that time changed *from*
(Meta's time); with no change since, it is today's. A template created after that time is not
counted then.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.auth import Principal
from app.listing import all_templates
from app.ports import Clock, UnitOfWorkFactory
from domain.observations import Aspect
from domain.status import TemplateQuality
from domain.templates import Template
from domain.tenancy import Role

PERIODS = (timedelta(0), timedelta(days=7), timedelta(days=30))
# More changes than this in 30 days is not a dashboard's question; the rest count as today's.
MAX_CHANGES = 100_000


@dataclass(frozen=True, slots=True)
class QualityPoint:
    days_ago: int
    at: datetime
    counts: dict[TemplateQuality, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class WabaTrend:
    waba_id: str
    # Now first, then 7 and 30 days ago.
    points: tuple[QualityPoint, ...]

    def change(self, quality: TemplateQuality, days_ago: int) -> int:
        """How many more templates have `quality` now than `days_ago` days ago."""
        now = self.points[0].counts[quality]
        then = next(p for p in self.points if p.days_ago == days_ago).counts[quality]
        return now - then


class QualityTrends:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def trends(self, principal: Principal) -> list[WabaTrend]:
        principal.require(Role.VIEWER)
        now = self._clock.now()
        async with self._uow_factory(read_only=True) as uow:
            wabas = [w.waba_id for w in await uow.wabas.list_for_org(principal.org_id)]
            templates = await all_templates(uow, principal.org_id)
            changes = await uow.template_events.applied_since(
                principal.org_id, Aspect.QUALITY, now - PERIODS[-1], limit=MAX_CHANGES
            )
        # Each template's quality changes, oldest first (the repository orders them so).
        history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        for stored in changes:
            history[stored.event.template_id].append((stored.event.occurred_at, stored.event.from_value))
        by_waba: dict[str, list[QualityPoint]] = {waba: [] for waba in wabas}
        for period in PERIODS:
            at = now - period
            counts: dict[str, Counter[TemplateQuality]] = {waba: Counter() for waba in wabas}
            for template in templates:
                if template.created_at > at:
                    continue
                quality = _quality_at(template, history.get(template.id, []), at)
                counts.setdefault(template.waba_id, Counter())[quality] += 1
            for waba, counter in counts.items():
                by_waba.setdefault(waba, []).append(
                    QualityPoint(period.days, at, {q: counter[q] for q in TemplateQuality})
                )
        return [WabaTrend(waba, tuple(points)) for waba, points in sorted(by_waba.items())]


def _quality_at(template: Template, changes: list[tuple[datetime, str]], at: datetime) -> TemplateQuality:
    for occurred_at, before in changes:
        if occurred_at > at:
            return TemplateQuality.from_meta(before)
    return template.quality
