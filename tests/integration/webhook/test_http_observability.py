"""The HTTP side of observability: one log line and one count per webhook POST with a request id the
caller gets back, and /metrics in Prometheus's format, behind a token when one is set."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from adapters.http.access import MetricsEndpoint
from adapters.http.app import create_app
from adapters.http.webhook.endpoint import PATH, WebhookConfig
from adapters.prometheus.metrics import PrometheusMetrics
from app.observability import InboxGauges
from fakes import FakeHealthProbe, FakeUnitOfWorkFactory, FrozenClock

SECRET = "observability-secret"
BODY = (Path(__file__).parents[2] / "fixtures" / "samples" / "05_template_approved.json").read_bytes()


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def client_for(metrics: PrometheusMetrics, token: str = "") -> TestClient:  # type: ignore[type-arg]
    async def render() -> tuple[bytes, str]:
        return metrics.exposition()

    app = create_app(
        FakeHealthProbe(),
        webhook=WebhookConfig(
            uow_factory=FakeUnitOfWorkFactory(), clock=FrozenClock(), app_secret=SECRET, verify_token="v"
        ),
        metrics=metrics,
        metrics_endpoint=MetricsEndpoint(render, token),
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
def metrics() -> PrometheusMetrics:
    return PrometheusMetrics()


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    raise KeyError(name)


async def test_a_webhook_post_is_logged_counted_and_answered_with_its_request_id(
    metrics: PrometheusMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watemplates.access")
    client = await client_for(metrics)
    try:
        given = await client.post(PATH, data=BODY, headers={**signed(BODY), "X-Request-Id": "meta-retry-1"})
        made = await client.post(PATH, data=BODY, headers={"Content-Type": "application/json"})  # unsigned
        scraped = await client.get("/metrics")
        text = await scraped.text()
    finally:
        await client.close()

    assert given.status == 200
    assert given.headers["X-Request-Id"] == "meta-retry-1"
    assert made.status == 401
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    lines = [r for r in caplog.records if r.name == "watemplates.access"]
    # The scrape is counted, not logged.
    assert [(r.method, r.path, r.code) for r in lines] == [  # type: ignore[attr-defined]
        ("POST", PATH, 200),
        ("POST", PATH, 401),
    ]
    assert lines[0].requestId == "meta-retry-1"  # type: ignore[attr-defined]
    assert scraped.headers["Content-Type"].startswith("text/plain; version=")
    assert sample(text, "watemplates_http_requests_total", route=PATH, status="200") == 1
    assert sample(text, "watemplates_http_requests_total", route=PATH, status="401") == 1


async def test_metrics_behind_a_token_refuse_a_scrape_without_it(metrics: PrometheusMetrics) -> None:
    client = await client_for(metrics, token="scrape-me")
    try:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        text = await right.text()
    finally:
        await client.close()

    assert (missing.status, wrong.status, right.status) == (401, 401, 200)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "watemplates_http_requests_total" in text


def test_the_inbox_gauges_and_every_counter_are_exposed() -> None:
    from datetime import UTC, datetime, timedelta

    metrics = PrometheusMetrics()
    now = datetime(2026, 12, 2, tzinfo=UTC)
    metrics.inbox_observed(
        InboxGauges(
            changes={"PENDING": 7, "DEAD": 1},
            deliveries_pending=2,
            oldest_pending_received_at=now - timedelta(seconds=42),
        ),
        now,
    )
    metrics.changes_applied(5)
    metrics.meta_call_finished("messages", "ok", 0.2)
    metrics.notification_finished("slack", "sent")

    text = metrics.exposition()[0].decode()

    assert sample(text, "watemplates_inbox_changes", state="PENDING") == 7
    assert sample(text, "watemplates_inbox_changes", state="PARKED") == 0
    assert sample(text, "watemplates_inbox_deliveries_pending") == 2
    assert sample(text, "watemplates_inbox_oldest_pending_age_seconds") == 42
    assert sample(text, "watemplates_inbox_changes_applied_total") == 5
    assert sample(text, "watemplates_meta_api_calls_total", endpoint="messages", outcome="ok") == 1
    assert sample(text, "watemplates_notifications_total", channel="slack", outcome="sent") == 1
