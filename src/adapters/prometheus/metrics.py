"""app.observability.Metrics kept by prometheus-client and exposed in Prometheus's text format.

One process normally has one registry. When `serve` runs the inbox worker as a child process, both
processes write their numbers to a shared directory (prometheus-client's multiprocess mode, chosen
with PROMETHEUS_MULTIPROC_DIR before prometheus_client is first imported), so the parent's
/metrics shows the worker's too.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from app.observability import InboxGauges

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Requests and Meta calls take milliseconds to seconds; a webhook ack a few milliseconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TRACKED_STATES = ("PENDING", "PARKED", "DEAD", "SKIPPED")


class PrometheusMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._shared_dir = os.environ.get(MULTIPROCESS_ENV) or None
        # In multiprocess mode the metrics live in files; the registry that exposes them only reads.
        own = CollectorRegistry() if registry is None else registry
        self.registry = own
        register = None if self._shared_dir else own
        self._rpc_calls = Counter(
            "watemplates_rpc_calls",
            "gRPC calls served, by method and status code",
            ["method", "code"],
            registry=register,
        )
        self._rpc_seconds = Histogram(
            "watemplates_rpc_duration_seconds",
            "gRPC call duration",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=register,
        )
        self._http_requests = Counter(
            "watemplates_http_requests",
            "HTTP requests served (the webhook, the dashboard), by status",
            ["route", "method", "status"],
            registry=register,
        )
        self._http_seconds = Histogram(
            "watemplates_http_request_duration_seconds",
            "HTTP request duration",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=register,
        )
        self._applied = Counter(
            "watemplates_inbox_changes_applied",
            "inbox changes the worker applied (its rate is the drain rate)",
            registry=register,
        )
        self._inbox_changes = Gauge(
            "watemplates_inbox_changes",
            "inbox changes by state (DONE ones: the applied counter)",
            ["state"],
            registry=register,
            multiprocess_mode="mostrecent",
        )
        self._deliveries_pending = Gauge(
            "watemplates_inbox_deliveries_pending",
            "webhook deliveries not split into changes yet",
            registry=register,
            multiprocess_mode="mostrecent",
        )
        self._oldest_pending = Gauge(
            "watemplates_inbox_oldest_pending_age_seconds",
            "how long the oldest change waiting to be applied has waited (0: none waits)",
            registry=register,
            multiprocess_mode="mostrecent",
        )
        self._meta_calls = Counter(
            "watemplates_meta_api_calls",
            "calls to Meta's Graph API, by endpoint and outcome",
            ["endpoint", "outcome"],
            registry=register,
        )
        self._meta_seconds = Histogram(
            "watemplates_meta_api_call_duration_seconds",
            "Graph API call duration",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=register,
        )
        self._children: dict[tuple[object, ...], Any] = {}
        self._notifications = Counter(
            "watemplates_notifications",
            "notification delivery attempts, by channel kind and outcome",
            ["channel", "outcome"],
            registry=register,
        )

    # ---- app.observability.Metrics ----------------------------------------------------------------

    def rpc_finished(self, method: str, code: str, seconds: float) -> None:
        # Called on every RPC: the labelled children are looked up once, not per call.
        calls = self._children.get((method, code))
        if calls is None:
            calls = self._children[(method, code)] = self._rpc_calls.labels(method, code)
        duration = self._children.get((method,))
        if duration is None:
            duration = self._children[(method,)] = self._rpc_seconds.labels(method)
        calls.inc()
        duration.observe(seconds)

    def http_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        requests = self._children.get(("http", route, method, status))
        if requests is None:
            requests = self._children[("http", route, method, status)] = self._http_requests.labels(
                route, method, str(status)
            )
        duration = self._children.get(("http", route))
        if duration is None:
            duration = self._children[("http", route)] = self._http_seconds.labels(route)
        requests.inc()
        duration.observe(seconds)

    def changes_applied(self, count: int) -> None:
        if count:
            self._applied.inc(count)

    def meta_call_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        self._meta_calls.labels(endpoint, outcome).inc()
        self._meta_seconds.labels(endpoint).observe(seconds)

    def notification_finished(self, channel: str, outcome: str) -> None:
        self._notifications.labels(channel, outcome).inc()

    def inbox_observed(self, gauges: InboxGauges, now: datetime) -> None:
        for state in _TRACKED_STATES:
            self._inbox_changes.labels(state).set(gauges.changes.get(state, 0))
        self._deliveries_pending.set(gauges.deliveries_pending)
        oldest = gauges.oldest_pending_received_at
        self._oldest_pending.set(0 if oldest is None else max(0.0, (now - oldest).total_seconds()))

    # ---- exposition -------------------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus's text format, and its content type."""
        if self._shared_dir:
            registry = CollectorRegistry()
            # prometheus-client leaves this one untyped.
            multiprocess.MultiProcessCollector(registry, path=self._shared_dir)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
