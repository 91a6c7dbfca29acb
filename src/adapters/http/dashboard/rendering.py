"""Server-side HTML with Jinja2 (autoescaped): every page works without JavaScript."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("adapters.http.dashboard", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Pages of the dashboard, in the navigation's order: (path, label).
NAVIGATION = (
    ("/", "Critical"),
    ("/quality", "Quality"),
    ("/alerts", "Alerts"),
    ("/inbox", "Inbox"),
    ("/campaigns", "Campaigns"),
    ("/messages", "Messages"),
)


def render(request: web.Request, name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    page = _ENVIRONMENT.get_template(name).render(
        {"navigation": NAVIGATION, "path": request.path, "session": None, **context}
    )
    response = web.Response(text=page, content_type="text/html", status=status)
    # The pages are the signed-in person's: no cache keeps them, no frame shows them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def age(then: datetime | None, now: datetime) -> str:
    """ "3 h", "2 d": how long ago, for people."""
    if then is None:
        return ""
    elapsed = max(now - then, timedelta(0))
    if elapsed < timedelta(minutes=1):
        return f"{int(elapsed.total_seconds())} s"
    if elapsed < timedelta(hours=1):
        return f"{int(elapsed.total_seconds() // 60)} min"
    if elapsed < timedelta(days=2):
        return f"{int(elapsed.total_seconds() // 3600)} h"
    return f"{elapsed.days} d"


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def segment(text: str) -> str:
    """One path segment: a template name may hold "/", "?" or "#" (Meta's names do not, webhooks may)."""
    return quote(text, safe="")


_ENVIRONMENT.filters["when"] = when
_ENVIRONMENT.filters["segment"] = segment
