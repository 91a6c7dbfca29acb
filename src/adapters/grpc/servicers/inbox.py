"""watemplates.v1.InboxService: the webhook inbox of the caller's organization (admin role)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.errors import mapped_errors
from adapters.grpc.paging import ProtoPage
from adapters.grpc.proto_values import enum_in
from adapters.grpc.template_health_mapping import (
    CHANGE_STATE_IN,
    inbox_change_to_proto,
)
from app.commands import ReplayInboxChange
from app.inbox_queries import InboxQueries
from app.messagebus import MessageBus
from app.resource_names import (
    parse_inbox_change_name,
)
from domain.tenancy import Role
from watemplates.v1 import template_health_pb2 as hp
from watemplates.v1 import template_health_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class InboxServicer(template_health_pb2_grpc.InboxServiceServicer):
    def __init__(self, bus: MessageBus, queries: InboxQueries) -> None:
        self._bus = bus
        self._queries = queries

    @mapped_errors
    async def ListInboxChanges(
        self, request: hp.ListInboxChangesRequest, context: Context
    ) -> hp.ListInboxChangesResponse:
        states = frozenset(enum_in(CHANGE_STATE_IN, v, "states") for v in request.states)
        protos = ProtoPage(inbox_change_to_proto)
        page = await self._queries.changes(
            current_principal(), states, request.page_size, request.page_token, protos.size_of
        )
        return hp.ListInboxChangesResponse(
            changes=[protos(c) for c in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def ReplayInboxChange(
        self, request: hp.ReplayInboxChangeRequest, context: Context
    ) -> hp.ReplayInboxChangeResponse:
        principal = current_principal()
        principal.require(Role.ADMIN)
        change = await self._bus.handle(
            ReplayInboxChange(principal.org_id, parse_inbox_change_name(request.name))
        )
        return hp.ReplayInboxChangeResponse(change=inbox_change_to_proto(change))
