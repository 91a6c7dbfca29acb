"""The dashboard's pages: critical templates, quality, alerts, a template's history, the inbox,
campaigns and messages. Each reads through the app's queries as the signed-in key (so another
organization's data is never shown) and answers a form with a redirect back (POST, redirect, GET)."""

from __future__ import annotations

from aiohttp import web

from adapters.http.dashboard.charts import STACK, quality_chart
from adapters.http.dashboard.config import DASHBOARD
from adapters.http.dashboard.rendering import age, render
from app.auth import Principal
from app.campaign_ports import CampaignQuery
from app.commands import AcknowledgeAlert, ReplayInboxChange
from app.dashboard_sessions import SignedIn
from app.errors import AppError, NotFound
from app.inbox_queries import NEEDS_A_LOOK
from app.message_ports import MessageQuery
from app.ports import AlertQuery
from app.resource_names import TemplateKey
from domain.alerts import AlertState
from domain.tenancy import Role

PAGE = 100


def _common(session: SignedIn) -> dict[str, object]:
    principal = session.principal
    return {
        "session": session,
        "org_id": principal.org_id,
        "role": principal.role.name.lower(),
        "can_operate": principal.role >= Role.OPERATOR,
        "is_admin": principal.role >= Role.ADMIN,
    }


async def critical(request: web.Request, session: SignedIn) -> web.Response:
    config = request.app[DASHBOARD]
    page = await config.health.critical_templates(session.principal, None, PAGE, "")
    now = config.clock.now()
    rows = [
        {
            "template": item.template,
            "alerts": item.alerts,
            "age": age(min(a.opened_at for a in item.alerts), now),
            "reason": item.template.rejection_reason or item.alerts[0].reason,
        }
        for item in page.items
    ]
    return render(
        request, "critical.html", {**_common(session), "rows": rows, "more": bool(page.next_page_token)}
    )


async def quality(request: web.Request, session: SignedIn) -> web.Response:
    config = request.app[DASHBOARD]
    trends = await config.trends.trends(session.principal)
    wabas = [
        {
            "waba_id": trend.waba_id,
            "chart": quality_chart(trend),
            "now": trend.points[0].counts,
            "week": {q: trend.change(q, 7) for q in STACK},
            "month": {q: trend.change(q, 30) for q in STACK},
        }
        for trend in trends
    ]
    return render(request, "quality.html", {**_common(session), "wabas": wabas, "qualities": STACK})


async def alerts(request: web.Request, session: SignedIn) -> web.Response:
    config = request.app[DASHBOARD]
    states = frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED})
    page = await config.health.alerts(
        session.principal, AlertQuery(org_id=session.principal.org_id, states=states), None, PAGE, ""
    )
    now = config.clock.now()
    rows = [{"alert": alert, "age": age(alert.opened_at, now)} for alert in page.items]
    return render(request, "alerts.html", {**_common(session), "rows": rows})


async def acknowledge(request: web.Request, session: SignedIn) -> web.StreamResponse:
    alert_id = request.match_info["alert_id"]
    try:
        await request.app[DASHBOARD].bus.handle(AcknowledgeAlert(session.principal, alert_id))
    except NotFound:
        raise web.HTTPNotFound(text="no such alert") from None
    raise web.HTTPSeeOther("/alerts")


async def template_page(request: web.Request, session: SignedIn) -> web.Response:
    config = request.app[DASHBOARD]
    display_name, _, language = request.match_info["name"].rpartition(".")
    key = TemplateKey(request.match_info["waba_id"], display_name, language)
    try:
        template, page = await config.health.history(session.principal, key, 500, "")
    except (NotFound, AppError):
        raise web.HTTPNotFound(text="no such template") from None
    events = sorted(page.items, key=lambda stored: -stored.seq)
    return render(request, "template.html", {**_common(session), "template": template, "events": events})


async def inbox(request: web.Request, session: SignedIn) -> web.Response:
    rows = []
    if session.principal.role >= Role.ADMIN:
        page = await request.app[DASHBOARD].inbox.changes(session.principal, NEEDS_A_LOOK, PAGE, "")
        rows = list(page.items)
    return render(request, "inbox.html", {**_common(session), "rows": rows})


async def replay(request: web.Request, session: SignedIn) -> web.StreamResponse:
    _require(session.principal, Role.ADMIN)
    try:
        await request.app[DASHBOARD].bus.handle(
            ReplayInboxChange(org_id=session.principal.org_id, change_id=request.match_info["change_id"])
        )
    except NotFound:
        raise web.HTTPNotFound(text="no such change") from None
    raise web.HTTPSeeOther("/inbox")


async def campaigns(request: web.Request, session: SignedIn) -> web.Response:
    page = await request.app[DASHBOARD].campaigns.list(
        session.principal, CampaignQuery(org_id=session.principal.org_id), None, PAGE, ""
    )
    return render(request, "campaigns.html", {**_common(session), "rows": list(page.items)})


async def messages(request: web.Request, session: SignedIn) -> web.Response:
    page = await request.app[DASHBOARD].messages.list(
        session.principal, MessageQuery(org_id=session.principal.org_id), None, PAGE, ""
    )
    return render(request, "messages.html", {**_common(session), "rows": list(page.items)})


def _require(principal: Principal, role: Role) -> None:
    principal.require(role)
