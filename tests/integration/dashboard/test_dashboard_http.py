"""The dashboard over HTTP (no browser): signing in and out, the session cookie, CSRF, roles,
tenancy, each page, and the live event stream. The browser tests (tests/e2e) drive the real process."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from adapters.http.app import create_app
from adapters.http.dashboard.config import DashboardConfig
from adapters.http.dashboard.live import MAX_STREAMS_PER_SESSION
from app.commands import RevokeApiKey
from app.dashboard_sessions import DashboardSessions
from app.quality_trends import QualityTrends
from fakes import FakeHealthProbe
from integration.grpc.health_world import ACME_WABA, GLOBEX_WABA, HealthWorld, health_world, quality, status

Client = TestClient[web.Request, web.Application]


@dataclass
class Dashboard:
    world: HealthWorld
    client: Client

    async def sign_in(self, role: str = "operator", tenant: str = "a") -> str:
        """Signs in with the tenant's key of `role`; returns the session's CSRF token."""
        key = (self.world.a if tenant == "a" else self.world.b).keys[role]
        form = await self.client.get("/sign-in")
        token = _hidden(await form.text(), "sign_in_token")
        signed = await self.client.post(
            "/sign-in", data={"api_key": key, "sign_in_token": token}, allow_redirects=False
        )
        assert signed.status == 303, await signed.text()
        page = await self.client.get("/")
        return _hidden(await page.text(), "csrf_token")


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


@pytest.fixture
async def dashboard() -> AsyncIterator[Dashboard]:
    async with health_world() as world:
        services = world.services
        config = DashboardConfig(
            bus=services.bus,
            sessions=DashboardSessions(services.uow_factory, services.authenticator, services.clock),
            health=services.health_queries,
            trends=QualityTrends(services.uow_factory, services.clock),
            inbox=services.inbox_queries,
            campaigns=services.campaign_queries,
            messages=services.message_queries,
            clock=services.clock,
            live_poll_seconds=0.05,
        )
        client = TestClient(TestServer(create_app(FakeHealthProbe(), dashboard=config)))
        await client.start_server()
        try:
            yield Dashboard(world, client)
        finally:
            await client.close()


async def test_a_visitor_is_sent_to_sign_in(dashboard: Dashboard) -> None:
    for path in ("/", "/alerts", "/quality"):
        answer = await dashboard.client.get(path, allow_redirects=False)
        assert answer.status == 303
        assert answer.headers["Location"].startswith("/sign-in")


async def test_signing_in_sets_an_http_only_strict_session_cookie_that_is_not_the_key(
    dashboard: Dashboard,
) -> None:
    key = dashboard.world.a.keys["viewer"]
    form = await dashboard.client.get("/sign-in")
    token = _hidden(await form.text(), "sign_in_token")

    signed = await dashboard.client.post(
        "/sign-in", data={"api_key": key, "sign_in_token": token}, allow_redirects=False
    )

    cookie = signed.cookies["wat_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie.value
    assert key not in cookie.value
    assert (await dashboard.client.get("/")).status == 200


async def test_sign_in_refuses_a_wrong_key_and_a_forged_form(dashboard: Dashboard) -> None:
    form = await dashboard.client.get("/sign-in")
    token = _hidden(await form.text(), "sign_in_token")

    wrong = await dashboard.client.post("/sign-in", data={"api_key": "wat_nope", "sign_in_token": token})
    forged = await dashboard.client.post(
        "/sign-in", data={"api_key": dashboard.world.a.keys["admin"], "sign_in_token": "guessed"}
    )

    assert wrong.status == 401
    assert "unknown or revoked" in await wrong.text()
    assert forged.status == 403
    assert "wat_session" not in dashboard.client.session.cookie_jar.filter_cookies(
        dashboard.client.make_url("/")
    )


async def test_the_critical_page_shows_the_organizations_broken_templates_only(dashboard: Dashboard) -> None:
    await dashboard.world.apply(ACME_WABA, status("order_ready", "PAUSED"))
    await dashboard.world.apply(GLOBEX_WABA, status("globex_secret", "DISABLED"))
    await dashboard.sign_in("viewer")

    page = await (await dashboard.client.get("/")).text()

    assert "order_ready.en_US" in page
    assert "PAUSED" in page
    assert "globex_secret" not in page


async def test_an_operator_acknowledges_an_alert_with_the_forms_token_and_a_viewer_cannot(
    dashboard: Dashboard,
) -> None:
    await dashboard.world.apply(ACME_WABA, status("order_ready", "PAUSED"))
    viewer_token = await dashboard.sign_in("viewer")
    page = await (await dashboard.client.get("/alerts")).text()
    alert_id = re.search(r'data-alert="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "Acknowledge</button>" not in page

    refused = await dashboard.client.post(
        f"/alerts/{alert_id}/acknowledge", data={"csrf_token": viewer_token}
    )
    assert refused.status == 403

    token = await dashboard.sign_in("operator")
    stale = await dashboard.client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": viewer_token})
    assert stale.status == 403
    done = await dashboard.client.post(
        f"/alerts/{alert_id}/acknowledge", data={"csrf_token": token}, allow_redirects=False
    )
    assert done.status == 303
    page = await (await dashboard.client.get("/alerts")).text()
    assert "ACKNOWLEDGED" in page


async def test_signing_out_and_revoking_the_key_end_the_session(dashboard: Dashboard) -> None:
    token = await dashboard.sign_in("operator")
    await dashboard.client.post("/sign-out", data={"csrf_token": token})
    assert (await dashboard.client.get("/", allow_redirects=False)).status == 303

    await dashboard.sign_in("viewer")
    world = dashboard.world
    await world.services.bus.handle(RevokeApiKey(world.a.key_ids["viewer"][1]))
    assert (await dashboard.client.get("/", allow_redirects=False)).status == 303


async def test_the_quality_page_draws_each_wabas_counts_and_their_movement(dashboard: Dashboard) -> None:
    await dashboard.world.apply(ACME_WABA, status("order_ready", "APPROVED"), quality("order_ready", "RED"))
    await dashboard.sign_in("viewer")

    page = await (await dashboard.client.get("/quality")).text()

    assert f"WABA {ACME_WABA}" in page
    assert "<svg" in page
    assert "1 RED" in page  # the chart's text alternative
    assert GLOBEX_WABA not in page


async def test_every_page_answers_for_a_signed_in_viewer(dashboard: Dashboard) -> None:
    await dashboard.world.apply(ACME_WABA, status("order_ready", "PAUSED", reason="LOW_QUALITY"))
    await dashboard.sign_in("viewer")

    for path in ("/", "/quality", "/alerts", "/inbox", "/campaigns", "/messages"):
        answer = await dashboard.client.get(path)
        assert answer.status == 200, path
        assert answer.headers["Cache-Control"] == "no-store"
    history = await dashboard.client.get(f"/templates/{ACME_WABA}/order_ready.en_US")
    assert "LOW_QUALITY" in await history.text() or "PAUSED" in await history.text()
    assert (await dashboard.client.get(f"/templates/{GLOBEX_WABA}/globex.en_US")).status == 404
    assert "for admins" in await (await dashboard.client.get("/inbox")).text()


async def test_the_event_stream_sends_committed_events_and_resumes_after_the_last_one(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in("viewer")
    stream = await dashboard.client.get("/events")
    assert stream.headers["Content-Type"] == "text/event-stream"

    await dashboard.world.apply(ACME_WABA, status("order_ready", "PAUSED"))
    first = await _next_event(stream)
    stream.close()

    await dashboard.world.apply(ACME_WABA, status("order_ready", "APPROVED"))
    resumed = await dashboard.client.get("/events", headers={"Last-Event-ID": first["id"]})
    second = await _next_event(resumed)
    resumed.close()

    assert '"to": "PAUSED"' in first["data"]
    assert int(second["id"]) > int(first["id"])
    assert '"to": "APPROVED"' in second["data"]


async def _next_event(stream: ClientResponse) -> dict[str, str]:
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 5)).decode().rstrip("\n")
        if not line:
            if "data" in fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.com", "/%0a/evil.com", "//evil.com", "/%5Cevil.com", "https://evil.com/", "/\u00e9vil"],
)
async def test_sign_in_never_sends_anyone_to_another_site(dashboard: Dashboard, target: str) -> None:
    form = await dashboard.client.get(f"/sign-in?next={target}")
    token = _hidden(await form.text(), "sign_in_token")
    next_page = _hidden(await form.text(), "next")

    signed = await dashboard.client.post(
        "/sign-in",
        data={"api_key": dashboard.world.a.keys["viewer"], "sign_in_token": token, "next": next_page},
        allow_redirects=False,
    )

    location = signed.headers["Location"]
    assert location.startswith("/")
    assert not location.startswith("//")


async def test_sign_in_returns_to_the_page_asked_for(dashboard: Dashboard) -> None:
    sent = await dashboard.client.get("/alerts", allow_redirects=False)
    form = await dashboard.client.get(sent.headers["Location"])
    text = await form.text()

    signed = await dashboard.client.post(
        "/sign-in",
        data={
            "api_key": dashboard.world.a.keys["viewer"],
            "sign_in_token": _hidden(text, "sign_in_token"),
            "next": _hidden(text, "next"),
        },
        allow_redirects=False,
    )

    assert signed.headers["Location"] == "/alerts"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=bogus",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data",
    ],
)
async def test_a_form_that_cannot_be_read_is_a_bad_request(dashboard: Dashboard, content_type: str) -> None:
    answer = await dashboard.client.post(
        "/sign-in", data=b"api_key=x", headers={"Content-Type": content_type}
    )

    assert answer.status == 400


async def test_live_streams_are_bounded_and_never_answered_to_head(dashboard: Dashboard) -> None:
    await dashboard.sign_in("viewer")
    opened = [await dashboard.client.get("/events") for _ in range(MAX_STREAMS_PER_SESSION)]
    try:
        refused = await dashboard.client.get("/events")
        head = await dashboard.client.head("/events")
    finally:
        for stream in opened:
            stream.close()

    assert all(stream.status == 200 for stream in opened)
    assert refused.status == 429
    assert head.status == 405


async def test_signing_out_ends_the_sessions_open_stream(dashboard: Dashboard) -> None:
    token = await dashboard.sign_in("viewer")
    stream = await dashboard.client.get("/events")
    assert stream.headers["X-Request-Id"]

    await dashboard.client.post("/sign-out", data={"csrf_token": token})

    rest = await asyncio.wait_for(stream.content.read(), 5)
    assert b"event: template" not in rest
    assert stream.content.at_eof()


async def test_a_cursor_from_the_future_still_gets_new_events(dashboard: Dashboard) -> None:
    await dashboard.sign_in("viewer")
    stream = await dashboard.client.get("/events", headers={"Last-Event-ID": "999999999"})

    await dashboard.world.apply(ACME_WABA, status("order_ready", "PAUSED"))

    event = await _next_event(stream)
    stream.close()
    assert '"to": "PAUSED"' in event["data"]


async def test_the_chart_has_its_text_alternative_as_markup(dashboard: Dashboard) -> None:
    await dashboard.world.apply(ACME_WABA, status("order_ready", "APPROVED"))
    await dashboard.sign_in("viewer")

    page = await (await dashboard.client.get("/quality")).text()

    assert f'<title id="chart-{ACME_WABA}">' in page
    assert "&lt;title" not in page


async def test_a_template_whose_name_holds_a_slash_has_a_working_link(dashboard: Dashboard) -> None:
    await dashboard.world.apply(ACME_WABA, status("a/../../b?c#d", "PAUSED"))
    await dashboard.sign_in("viewer")
    page = await (await dashboard.client.get("/")).text()

    link = re.search(r'href="(/templates/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    opened = await dashboard.client.get(link)

    assert opened.status == 200
    assert "a/../../b?c#d.en_US" in await opened.text()
