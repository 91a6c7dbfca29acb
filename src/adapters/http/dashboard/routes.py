"""The dashboard's routes, on the HTTP adapter's app (the same process and port as the webhook)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from adapters.http.access import InstrumentedRoutes
from adapters.http.dashboard import live, pages
from adapters.http.dashboard.config import DASHBOARD, DashboardConfig
from adapters.http.dashboard.signin import sign_in, sign_in_form, sign_out, signed_in_page

STATIC = Path(__file__).parent / "static"


def add_dashboard_routes(app: web.Application, routes: InstrumentedRoutes, config: DashboardConfig) -> None:
    app[DASHBOARD] = config
    app[live.LIVE] = live.LiveStreams()
    app.on_shutdown.append(live.stop_streams)
    routes.add_get("/sign-in", sign_in_form)
    routes.add_post("/sign-in", sign_in)
    routes.add_post("/sign-out", signed_in_page(sign_out))
    routes.add_get("/", signed_in_page(pages.critical))
    routes.add_get("/quality", signed_in_page(pages.quality))
    routes.add_get("/alerts", signed_in_page(pages.alerts))
    routes.add_post("/alerts/{alert_id}/acknowledge", signed_in_page(pages.acknowledge))
    # The name may hold an encoded "/" (the rest of the path, whatever it holds, is the name).
    routes.add_get("/templates/{waba_id}/{name:.+}", signed_in_page(pages.template_page))
    routes.add_get("/inbox", signed_in_page(pages.inbox))
    routes.add_post("/inbox/{change_id}/replay", signed_in_page(pages.replay))
    routes.add_get("/campaigns", signed_in_page(pages.campaigns))
    routes.add_get("/messages", signed_in_page(pages.messages))
    # No HEAD: a stream answered to HEAD would be held open for nothing.
    routes.add_get("/events", signed_in_page(live.events), allow_head=False)
    # Assets are neither logged nor counted: a page load fetches them, it is the page that tells.
    app.router.add_static("/static", STATIC)
