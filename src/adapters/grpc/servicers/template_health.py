"""watemplates.v1.TemplateHealthService and InboxService."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.errors import abort, log_unexpected, mapped_errors, to_rpc_error
from adapters.grpc.paging import ProtoPage
from adapters.grpc.proto_values import enum_in, invalid
from adapters.grpc.template_health_mapping import (
    ALERT_STATE_IN,
    SEVERITY_IN,
    alert_to_proto,
    counts_to_proto,
    critical_to_proto,
    event_to_proto,
)
from app.commands import AcknowledgeAlert
from app.messagebus import MessageBus
from app.ports import AlertQuery
from app.resource_names import (
    WILDCARD,
    parse_alert_name,
    parse_template_name,
    parse_waba_name,
    waba_name,
)
from app.template_health_queries import TemplateHealthQueries
from watemplates.v1 import template_health_pb2 as hp
from watemplates.v1 import template_health_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
# How often a live stream looks for new events when there were none (other processes write them).
WATCH_POLL_SECONDS = 0.25
WATCH_BATCH = 500
# History sequence numbers are BIGINTs.
MAX_CURSOR = 2**63 - 1


class TemplateHealthServicer(template_health_pb2_grpc.TemplateHealthServiceServicer):
    def __init__(
        self,
        bus: MessageBus,
        queries: TemplateHealthQueries,
        poll_seconds: float = WATCH_POLL_SECONDS,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self._bus = bus
        self._queries = queries
        self._poll_seconds = poll_seconds
        # Set when the server shuts down: live streams then end cleanly (OK) instead of running out
        # the grace period and being cancelled; a client resumes from its last cursor elsewhere.
        self._stopping = stopping or asyncio.Event()

    @mapped_errors
    async def ListCriticalTemplates(
        self, request: hp.ListCriticalTemplatesRequest, context: Context
    ) -> hp.ListCriticalTemplatesResponse:
        waba_id = parse_waba_name(request.parent or waba_name(WILDCARD), allow_wildcard=True)
        protos = ProtoPage(critical_to_proto)
        page = await self._queries.critical_templates(
            current_principal(), waba_id, request.page_size, request.page_token, protos.size_of
        )
        return hp.ListCriticalTemplatesResponse(
            templates=[protos(c) for c in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def GetQualitySummary(
        self, request: hp.GetQualitySummaryRequest, context: Context
    ) -> hp.GetQualitySummaryResponse:
        waba_id = parse_waba_name(request.parent or waba_name(WILDCARD), allow_wildcard=True)
        summary = await self._queries.quality_summary(current_principal(), waba_id)
        return hp.GetQualitySummaryResponse(
            total=counts_to_proto(summary.total),
            by_waba={waba: counts_to_proto(counts) for waba, counts in summary.by_waba.items()},
        )

    @mapped_errors
    async def ListTemplateHistory(
        self, request: hp.ListTemplateHistoryRequest, context: Context
    ) -> hp.ListTemplateHistoryResponse:
        protos = ProtoPage(event_to_proto)
        _, page = await self._queries.history(
            current_principal(),
            parse_template_name(request.name),
            request.page_size,
            request.page_token,
            protos.size_of,
        )
        return hp.ListTemplateHistoryResponse(
            events=[protos(r) for r in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def ListAlerts(self, request: hp.ListAlertsRequest, context: Context) -> hp.ListAlertsResponse:
        query = AlertQuery(
            org_id="",
            states=frozenset(enum_in(ALERT_STATE_IN, v, "states") for v in request.states),
            severities=frozenset(enum_in(SEVERITY_IN, v, "severities") for v in request.severities),
        )
        template = parse_template_name(request.template, "template") if request.template else None
        protos = ProtoPage(alert_to_proto)
        page = await self._queries.alerts(
            current_principal(), query, template, request.page_size, request.page_token, protos.size_of
        )
        return hp.ListAlertsResponse(
            alerts=[protos(a) for a in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def AcknowledgeAlert(
        self, request: hp.AcknowledgeAlertRequest, context: Context
    ) -> hp.AcknowledgeAlertResponse:
        alert_id = parse_alert_name(request.name)
        alert = await self._bus.handle(AcknowledgeAlert(current_principal(), alert_id))
        return hp.AcknowledgeAlertResponse(alert=alert_to_proto(alert))

    async def WatchTemplateEvents(
        self, request: hp.WatchTemplateEventsRequest, context: Context
    ) -> AsyncIterator[hp.WatchTemplateEventsResponse]:
        """Polls the shared history table, so changes applied by any process reach every stream;
        history is written in sequence order (see the SQL adapter), so resuming after a cursor
        misses nothing."""
        principal = current_principal()
        try:
            if request.cursor == "":
                last = await self._queries.latest_seq(principal)
            elif _is_cursor(request.cursor):
                last = int(request.cursor)
            else:
                raise invalid(
                    "cursor", f"{request.cursor!r} is not a cursor from a TemplateEvent", "INVALID_CURSOR"
                )
        except Exception as exc:
            error = to_rpc_error(exc)
            log_unexpected(exc, error, "WatchTemplateEvents")
            await abort(context, error)
        while not self._stopping.is_set():
            try:
                # Shielded: a client that goes away mid-read cancels this stream, and a database read
                # cut in half leaves a connection the pool must then throw away noisily.
                batch = await asyncio.shield(self._queries.events_after(principal, last, WATCH_BATCH))
            except Exception as exc:
                error = to_rpc_error(exc)
                log_unexpected(exc, error, "WatchTemplateEvents")
                await abort(context, error)
            for record in batch:
                yield hp.WatchTemplateEventsResponse(event=event_to_proto(record))
                last = record.seq
            if len(batch) < WATCH_BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)


def _is_cursor(text: str) -> bool:
    """ASCII digits within a BIGINT: str.isdigit() alone admits "²" (int() refuses it) and numbers
    the database cannot compare with, both of which ended as INTERNAL."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_CURSOR
