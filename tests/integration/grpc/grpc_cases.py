"""Shared helpers for the gRPC tests (a module, not a test module, so tests can import it): what a
client learns from a failed call, and a named template with the values that render it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from watemplates.v1 import resources_pb2 as pb

ERROR_DOMAIN = "watemplates.v1"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

NAMED_VALUES = {"first_name": "Dana", "order_id": "A-1042", "store": "Main St", "button.1": "A-1042"}


@dataclass
class RichStatus:
    """What a client learns from a failed call: code, message, ErrorInfo and BadRequest."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    # (field, reason) per BadRequest field violation, in order.
    violations: list[tuple[str, str]] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    error_infos: int = 0


def rich_status(error: grpc.aio.AioRpcError) -> RichStatus:
    """Parses the google.rpc.Status trailer of a failed aio call."""
    result = RichStatus(code=error.code(), message=error.details() or "")
    raw = dict(error.trailing_metadata() or ()).get(STATUS_DETAILS_KEY)
    if raw is None:
        return result
    status = status_pb2.Status.FromString(raw)
    assert status.code == error.code().value[0]
    assert status.message == result.message
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            result.error_infos += 1
            result.reason, result.domain, result.metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            result.violations += [(v.field, v.reason) for v in bad_request.field_violations]
            result.descriptions += [v.description for v in bad_request.field_violations]
    return result


async def fails(call: Awaitable[object]) -> RichStatus:
    """Awaits a call that must fail; every failure must carry exactly one ErrorInfo of our domain."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    status = rich_status(caught.value)
    assert status.error_infos == 1, f"{status.code}: expected one ErrorInfo, got {status.error_infos}"
    assert status.domain == ERROR_DOMAIN
    return status


def named_template(
    name: str = "order_ready",
    language: str = "en_US",
    category: pb.TemplateCategory.ValueType = pb.TEMPLATE_CATEGORY_UTILITY,
) -> pb.Template:
    return pb.Template(
        display_name=name,
        language_code=language,
        category=category,
        components=pb.TemplateComponents(
            header=pb.TemplateHeader(format=pb.HEADER_FORMAT_TEXT, text="Order {{order_id}} is ready"),
            body="Hi {{first_name}}, your order {{order_id}} is ready for pickup at {{store}}. See you soon!",
            footer="Reply STOP to opt out",
            buttons=[
                pb.TemplateButton(
                    type=pb.BUTTON_TYPE_PHONE_NUMBER, text="Call the store", phone_number="+15551230000"
                ),
                pb.TemplateButton(
                    type=pb.BUTTON_TYPE_URL, text="Track order", url="https://shop.example.com/orders/{{1}}"
                ),
            ],
        ),
        parameters=[
            pb.TemplateParameter(key="order_id", example="A-1042"),
            pb.TemplateParameter(key="first_name", example="Dana"),
            pb.TemplateParameter(key="store", example="Main St"),
            pb.TemplateParameter(key="button.1", example="A-1042"),
        ],
    )
