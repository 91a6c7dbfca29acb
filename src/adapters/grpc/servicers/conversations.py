"""watemplates.v1.ConversationService and MessageService: proto in -> guard/command/query -> proto out."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.conversation_mapping import (
    DELIVERY_STATUS_FROM_PROTO,
    counts_to_proto,
    draft_from_proto,
    message_to_proto,
    time_from_proto,
    validation_to_proto,
    window_to_proto,
)
from adapters.grpc.errors import mapped_errors
from adapters.grpc.paging import ProtoPage
from adapters.grpc.proto_values import enum_in, invalid
from app.commands import SendTextMessage
from app.message_ports import MessageQuery
from app.message_queries import MessageQueries
from app.messagebus import MessageBus
from app.resource_names import parse_message_name, parse_template_name
from app.send_guard import SendGuard, ValidationRequest
from watemplates.v1 import conversations_pb2 as cv
from watemplates.v1 import conversations_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class ConversationServicer(conversations_pb2_grpc.ConversationServiceServicer):
    def __init__(self, bus: MessageBus, guard: SendGuard) -> None:
        self._bus = bus
        self._guard = guard

    @mapped_errors
    async def CheckWindow(self, request: cv.CheckWindowRequest, context: Context) -> cv.CheckWindowResponse:
        _require_contact(request.phone_number_id, request.contact, "")
        at = time_from_proto(request.at, "at") if request.HasField("at") else None
        check = await self._guard.check_window(
            current_principal(), request.phone_number_id, request.contact, at
        )
        return cv.CheckWindowResponse(window=window_to_proto(check))

    @mapped_errors
    async def ValidateMessage(
        self, request: cv.ValidateMessageRequest, context: Context
    ) -> cv.ValidateMessageResponse:
        validation = await self._guard.validate(current_principal(), _validation_request(request, ""))
        return validation_to_proto(validation)

    @mapped_errors
    async def ValidateMessages(
        self, request: cv.ValidateMessagesRequest, context: Context
    ) -> cv.ValidateMessagesResponse:
        requests = [_validation_request(r, f"requests[{i}].") for i, r in enumerate(request.requests)]
        validations = await self._guard.validate_many(current_principal(), requests)
        return cv.ValidateMessagesResponse(results=[validation_to_proto(v) for v in validations])

    @mapped_errors
    async def SendMessage(self, request: cv.SendMessageRequest, context: Context) -> cv.SendMessageResponse:
        if not request.phone_number_id:
            raise invalid("phone_number_id", "the business phone number to send from is required")
        if not request.to:
            raise invalid("to", "the recipient's phone number is required")
        sent = await self._bus.handle(
            SendTextMessage(
                principal=current_principal(),
                phone_number_id=request.phone_number_id,
                to=request.to,
                text=request.text,
                preview_url=request.preview_url,
                callback_data=request.callback_data,
                request_id=request.request_id,
            )
        )
        return cv.SendMessageResponse(message=message_to_proto(sent.record))


class MessageServicer(conversations_pb2_grpc.MessageServiceServicer):
    def __init__(self, queries: MessageQueries) -> None:
        self._queries = queries

    @mapped_errors
    async def GetMessage(self, request: cv.GetMessageRequest, context: Context) -> cv.GetMessageResponse:
        found = await self._queries.get(current_principal(), parse_message_name(request.name))
        return cv.GetMessageResponse(message=message_to_proto(found))

    @mapped_errors
    async def ListMessages(
        self, request: cv.ListMessagesRequest, context: Context
    ) -> cv.ListMessagesResponse:
        if request.page_size < 0:
            raise invalid("page_size", "must not be negative")
        query = MessageQuery(
            org_id="",
            contact=request.contact.strip(),
            statuses=frozenset(
                enum_in(DELIVERY_STATUS_FROM_PROTO, s, f"statuses[{i}]")
                for i, s in enumerate(request.statuses)
            ),
            created_from=time_from_proto(request.start_time, "start_time")
            if request.HasField("start_time")
            else None,
            created_before=time_from_proto(request.end_time, "end_time")
            if request.HasField("end_time")
            else None,
        )
        template = parse_template_name(request.template, "template") if request.template else None
        convert = ProtoPage(message_to_proto)
        page = await self._queries.list(
            current_principal(), query, template, request.page_size, request.page_token, convert.size_of
        )
        return cv.ListMessagesResponse(
            messages=[convert(m) for m in page.items], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def GetDeliveryCounts(
        self, request: cv.GetDeliveryCountsRequest, context: Context
    ) -> cv.GetDeliveryCountsResponse:
        counts = await self._queries.delivery_counts(
            current_principal(),
            parse_template_name(request.template, "template"),
            time_from_proto(request.start_time, "start_time") if request.HasField("start_time") else None,
            time_from_proto(request.end_time, "end_time") if request.HasField("end_time") else None,
        )
        return counts_to_proto(counts)


def _validation_request(request: cv.ValidateMessageRequest, prefix: str) -> ValidationRequest:
    _require_contact(request.phone_number_id, request.contact, prefix)
    return ValidationRequest(
        phone_number_id=request.phone_number_id,
        contact=request.contact,
        draft=draft_from_proto(request.message, f"{prefix}message"),
        at=time_from_proto(request.at, f"{prefix}at") if request.HasField("at") else None,
    )


def _require_contact(phone_number_id: str, contact: str, prefix: str) -> None:
    if not phone_number_id.strip():
        raise invalid(f"{prefix}phone_number_id", "the business phone number is required")
    if not contact.strip():
        raise invalid(f"{prefix}contact", "the contact (phone number or user id) is required")
