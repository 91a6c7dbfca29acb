"""Windows, validations and message records <-> watemplates.v1 conversations messages."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from adapters.grpc.mapping import timestamp
from adapters.grpc.proto_values import enum_in, invalid
from app.denials import Denial
from app.message_ports import DeliveryCounts
from app.resource_names import message_name, parse_template_name, template_name, waba_name
from app.send_guard import Draft, FreeFormDraft, FreeFormType, TemplateDraft, Validation, WindowCheck
from domain.conversations import FreeEntryState, WindowState
from domain.messages import DeliveryStatus, MessageKind, OutboundMessage, SendOutcome
from watemplates.v1 import conversations_pb2 as cv

WINDOW_STATE = {WindowState.OPEN: cv.WINDOW_STATE_OPEN, WindowState.CLOSED: cv.WINDOW_STATE_CLOSED}
FREE_ENTRY = {
    FreeEntryState.NONE: cv.FREE_ENTRY_POINT_STATE_NONE,
    FreeEntryState.AVAILABLE: cv.FREE_ENTRY_POINT_STATE_AVAILABLE,
    FreeEntryState.ACTIVE: cv.FREE_ENTRY_POINT_STATE_ACTIVE,
}
FREE_FORM_TYPE = {getattr(cv, f"FREE_FORM_TYPE_{t.value}"): t for t in FreeFormType}
KIND = {k: getattr(cv, f"MESSAGE_KIND_{k.value}") for k in MessageKind}
OUTCOME = {o: getattr(cv, f"SEND_OUTCOME_{o.value}") for o in SendOutcome}
OUTCOME_FROM_PROTO = {number: outcome for outcome, number in OUTCOME.items()}
DELIVERY_STATUS = {s: getattr(cv, f"DELIVERY_STATUS_{s.value}") for s in DeliveryStatus}
DELIVERY_STATUS_FROM_PROTO = {number: status for status, number in DELIVERY_STATUS.items()}


def time_from_proto(message: Timestamp, field: str) -> datetime:
    try:
        return message.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise invalid(field, "is not a time a calendar can hold (years 1 to 9999)", "INVALID_TIME") from None


def window_to_proto(check: WindowCheck) -> cv.ConversationWindow:
    status = check.status
    message = cv.ConversationWindow(
        phone_number_id=check.phone_number_id,
        contact=check.contact,
        wa_id=check.wa_id,
        user_id=check.user_id,
        state=WINDOW_STATE[status.state],
        free_entry_point=FREE_ENTRY[status.free_entry],
        evaluate_time=timestamp(check.at),
    )
    _set(message.last_inbound_time, status.last_inbound_at)
    _set(message.close_time, status.closes_at)
    _set(message.closed_by_meta_time, status.closed_by_meta_at)
    _set(message.free_entry_point_expire_time, status.free_entry_until)
    return message


def draft_from_proto(message: cv.MessageDraft, field: str) -> Draft:
    which = message.WhichOneof("content")
    if which == "free_form":
        if message.free_form.type == cv.FREE_FORM_TYPE_UNSPECIFIED:
            raise invalid(
                f"{field}.free_form.type", "the message type is required (e.g. FREE_FORM_TYPE_TEXT)"
            )
        kind = enum_in(FREE_FORM_TYPE, message.free_form.type, f"{field}.free_form.type")
        return FreeFormDraft(kind, message.free_form.text)
    if which == "template":
        key = parse_template_name(message.template.template, f"{field}.template.template")
        return TemplateDraft(key, dict(message.template.values))
    raise invalid(field, "the message to validate is required: free_form or template", "MESSAGE_REQUIRED")


def validation_to_proto(validation: Validation) -> cv.ValidateMessageResponse:
    return cv.ValidateMessageResponse(
        verdict=cv.VERDICT_ALLOWED if validation.allowed else cv.VERDICT_DENIED,
        denials=[denial_to_proto(d) for d in validation.denials],
        window=window_to_proto(validation.window),
        inside_service_window=validation.inside_service_window,
    )


def denial_to_proto(denial: Denial) -> cv.Denial:
    return cv.Denial(
        reason=denial.reason,
        meta_error_code=denial.meta_error_code,
        message=denial.message,
        field=denial.field,
        detail=denial.detail,
    )


def message_to_proto(record: OutboundMessage) -> cv.Message:
    message = cv.Message(
        name=message_name(record.id),
        kind=KIND[record.kind],
        outcome=OUTCOME[record.outcome],
        waba=waba_name(record.waba_id) if record.waba_id else "",
        phone_number_id=record.phone_number_id,
        contact=record.to,
        wa_id=record.wa_id,
        template=template_name(record.waba_id, record.template_name, record.language_code)
        if record.template_name
        else "",
        template_category=record.category,
        values=dict(record.values),
        text=record.text,
        request_id=record.request_id,
        callback_data=record.callback_data,
        message_id=record.wamid,
        meta_message_status=record.meta_message_status,
        error_code=record.error_code or 0,
        error_title=record.error_title,
        status=DELIVERY_STATUS[record.status]
        if record.status is not None
        else cv.DELIVERY_STATUS_UNSPECIFIED,
        create_time=timestamp(record.created_at),
    )
    _set(message.status_time, record.status_at)
    _set(message.sent_time, record.sent_at)
    _set(message.delivered_time, record.delivered_at)
    _set(message.read_time, record.read_at)
    _set(message.failed_time, record.failed_at)
    _set(message.update_time, record.updated_at)
    if record.pricing is not None:
        pricing = message.pricing
        if record.pricing.billable is not None:
            pricing.billable = record.pricing.billable
        pricing.pricing_model = record.pricing.model
        pricing.type = record.pricing.type
        pricing.category = record.pricing.category
    return message


def counts_to_proto(counts: DeliveryCounts) -> cv.GetDeliveryCountsResponse:
    return cv.GetDeliveryCountsResponse(
        total=counts.total,
        sent=counts.sent,
        delivered=counts.delivered,
        read=counts.read,
        failed=counts.failed,
    )


def _set(target: Timestamp, value: datetime | None) -> None:
    if value is not None:
        target.CopyFrom(timestamp(value))
