"""Read side of template health: critical templates, quality summary, history, alerts, live events."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.auth import Principal
from app.errors import NotFound
from app.handlers.templates import load_template
from app.listing import all_templates
from app.paging import Page, PageTokenCodec, SizeOf, effective_page_size, fingerprint, fit_page
from app.ports import (
    AlertQuery,
    StoredTemplateEvent,
    UnitOfWork,
    UnitOfWorkFactory,
)
from app.resource_names import TemplateKey, waba_name
from domain.alerts import Alert
from domain.templates import Template
from domain.tenancy import Role


@dataclass(frozen=True, slots=True)
class CriticalTemplate:
    template: Template
    alerts: tuple[Alert, ...]

    @property
    def severity(self) -> int:
        return max(alert.severity for alert in self.alerts)

    @property
    def latest(self) -> float:
        return max(alert.last_seen_at.timestamp() for alert in self.alerts)


@dataclass
class QualityCounts:
    by_quality: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def add(self, template: Template) -> None:
        self.by_quality[template.quality.value] += 1
        self.by_status[template.status.value] += 1
        self.total += 1


@dataclass(frozen=True, slots=True)
class QualitySummary:
    total: QualityCounts
    by_waba: dict[str, QualityCounts]


class TemplateHealthQueries:
    def __init__(self, uow_factory: UnitOfWorkFactory, page_tokens: PageTokenCodec) -> None:
        self._uow_factory = uow_factory
        self._page_tokens = page_tokens

    async def critical_templates(
        self,
        principal: Principal,
        waba_id: str | None,
        page_size: int,
        page_token: str,
        size_of: SizeOf[CriticalTemplate] | None = None,
    ) -> Page[CriticalTemplate]:
        """Templates with an active alert (every unsendable or at-risk state opens one), most severe
        first, then most recently confirmed."""
        principal.require(Role.VIEWER)
        limit = effective_page_size(page_size)
        query_id = fingerprint("critical", principal.org_id, waba_id)
        offset = int(self._page_tokens.decode(page_token, query_id, size=1)[0]) if page_token else 0
        async with self._uow_factory(read_only=True) as uow:
            await _check_waba(uow, principal, waba_id)
            by_template: dict[str, list[Alert]] = defaultdict(list)
            for alert in await uow.alerts.active_for_org(principal.org_id):
                if waba_id is None or alert.waba_id == waba_id:
                    by_template[alert.template_id].append(alert)
            found = []
            for template_id, alerts in by_template.items():
                template = await uow.templates.get(principal.org_id, template_id)
                if template is not None:
                    found.append(CriticalTemplate(template, tuple(sorted(alerts, key=lambda a: -a.severity))))
        found.sort(key=lambda c: (-c.severity, -c.latest, c.template.name))
        page, more = fit_page(found[offset:], limit, size_of)
        token = self._page_tokens.encode(query_id, [str(offset + len(page))]) if more else ""
        return Page(page, token)

    async def quality_summary(self, principal: Principal, waba_id: str | None) -> QualitySummary:
        principal.require(Role.VIEWER)
        total, by_waba = QualityCounts(), defaultdict(QualityCounts)
        async with self._uow_factory(read_only=True) as uow:
            await _check_waba(uow, principal, waba_id)
            if waba_id is None:
                for waba in await uow.wabas.list_for_org(principal.org_id):
                    by_waba[waba.waba_id] = QualityCounts()
            else:
                by_waba[waba_id] = QualityCounts()
            for template in await all_templates(uow, principal.org_id, waba_id):
                total.add(template)
                by_waba[template.waba_id].add(template)
        return QualitySummary(total, dict(by_waba))

    async def history(
        self,
        principal: Principal,
        key: TemplateKey,
        page_size: int,
        page_token: str,
        size_of: SizeOf[StoredTemplateEvent] | None = None,
    ) -> tuple[Template, Page[StoredTemplateEvent]]:
        principal.require(Role.VIEWER)
        limit = effective_page_size(page_size)
        async with self._uow_factory(read_only=True) as uow:
            template = await load_template(uow, principal, key)
            query_id = fingerprint("history", principal.org_id, template.id)
            after = int(self._page_tokens.decode(page_token, query_id, size=1)[0]) if page_token else 0
            records = list(
                await uow.template_events.list_for_template(
                    principal.org_id, template.id, after_seq=after, limit=limit + 1
                )
            )
        page, more = fit_page(records, limit, size_of)
        token = self._page_tokens.encode(query_id, [str(page[-1].seq)]) if more else ""
        return template, Page(page, token)

    async def alerts(
        self,
        principal: Principal,
        query: AlertQuery,
        template: TemplateKey | None,
        page_size: int,
        page_token: str,
        size_of: SizeOf[Alert] | None = None,
    ) -> Page[Alert]:
        principal.require(Role.VIEWER)
        limit = effective_page_size(page_size)
        query = replace(query, org_id=principal.org_id, before=None, limit=limit + 1)
        async with self._uow_factory(read_only=True) as uow:
            if template is not None:
                query = replace(query, template_id=(await load_template(uow, principal, template)).id)
            query_id = fingerprint("alerts", query)
            if page_token:
                opened_at, alert_id = self._page_tokens.decode(page_token, query_id, size=2)
                query = replace(query, before=(datetime.fromisoformat(opened_at), alert_id))
            found = list(await uow.alerts.list(query))
        page, more = fit_page(found, limit, size_of)
        token = (
            self._page_tokens.encode(query_id, [page[-1].opened_at.isoformat(), page[-1].id]) if more else ""
        )
        return Page(page, token)

    async def events_after(
        self, principal: Principal, after_seq: int, limit: int
    ) -> Sequence[StoredTemplateEvent]:
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            return await uow.template_events.list_for_org(principal.org_id, after_seq=after_seq, limit=limit)

    async def latest_seq(self, principal: Principal) -> int:
        """The cursor of "now": the newest event of the organization (0 when none)."""
        principal.require(Role.VIEWER)
        async with self._uow_factory(read_only=True) as uow:
            return await uow.template_events.last_seq(principal.org_id)


async def _check_waba(uow: UnitOfWork, principal: Principal, waba_id: str | None) -> None:
    if waba_id is None:
        return
    waba = await uow.wabas.get(waba_id)
    if waba is None or waba.org_id != principal.org_id:
        raise NotFound("waba", waba_name(waba_id))
