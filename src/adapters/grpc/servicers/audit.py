"""watemplates.v1.AuditService."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.conversation_mapping import time_from_proto
from adapters.grpc.errors import mapped_errors
from adapters.grpc.mapping import timestamp
from adapters.grpc.proto_values import invalid
from app.audit_ports import AuditQuery
from app.audit_queries import AuditQueries
from watemplates.v1 import audit_pb2 as ap
from watemplates.v1 import audit_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, queries: AuditQueries) -> None:
        self._queries = queries

    @mapped_errors
    async def ListAuditEvents(
        self, request: ap.ListAuditEventsRequest, context: Context
    ) -> ap.ListAuditEventsResponse:
        if request.page_size < 0:
            raise invalid("page_size", "must not be negative")
        query = AuditQuery(
            org_id="",
            actor=request.actor.strip(),
            action=request.action.strip(),
            resource=request.resource.strip(),
            since=time_from_proto(request.start_time, "start_time")
            if request.HasField("start_time")
            else None,
            until=time_from_proto(request.end_time, "end_time") if request.HasField("end_time") else None,
        )
        page = await self._queries.events(current_principal(), query, request.page_size, request.page_token)
        return ap.ListAuditEventsResponse(
            events=[
                ap.AuditEvent(
                    actor=e.actor,
                    action=e.action,
                    resource=e.resource,
                    request_id=e.request_id,
                    outcome=e.outcome,
                    time=timestamp(e.at),
                )
                for e in page.items
            ],
            next_page_token=page.next_page_token,
        )
