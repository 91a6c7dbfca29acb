"""The rich status of a failed call, cut to fit gRPC's trailer limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from app.errors import FieldViolation

ERROR_DOMAIN = "watemplates.v1"

# A failed call carries its status in the trailers: `grpc-status-details-bin` is the serialized
# google.rpc.Status, base64-encoded (4 bytes per 3), and `grpc-message` repeats the message
# percent-encoded (every byte outside printable ASCII, and '%', becomes three bytes "%XX", so
# non-ASCII text roughly triples). gRPC clients refuse trailers over 8 KiB with rising probability
# and always over 16 KiB; the caller then sees RESOURCE_EXHAUSTED ("Stream removed") instead of our
# code and details. So every part that can echo user input is clipped, and field violations are added
# in order only while both encoded trailers together stay within TRAILER_BUDGET, which leaves about
# 1 KiB of the 8 KiB soft limit for the other headers/trailers (:status, content-type, grpc-status)
# and HPACK's 32 bytes per entry.

MAX_MESSAGE_CHARS = 1_000
MAX_MESSAGE_WIRE_BYTES = 2_048  # the percent-encoded grpc-message
MAX_FIELD_CHARS = 200
MAX_DESCRIPTION_CHARS = 300
MAX_REASON_CHARS = 100
MAX_METADATA_CHARS = 200  # each ErrorInfo metadata key and value
TRAILER_BUDGET = 7 * 1024  # base64(serialized Status) + percent-encoded grpc-message
OMITTED_VIOLATIONS_KEY = "omittedViolations"
ELLIPSIS = "…"


def grpc_message_wire_size(message: str) -> int:
    """Size of `message` in the grpc-message trailer (gRPC core's "compatible" percent-encoding)."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in message.encode("utf-8"))


def trailer_size(status: status_pb2.Status) -> int:
    """Bytes the status occupies in the trailers: base64 of the serialized Status plus grpc-message."""
    serialized: int = status.ByteSize()  # google.rpc has no stubs here: Status is Any
    return 4 * -(-serialized // 3) + grpc_message_wire_size(status.message)


def clip(text: str, max_chars: int, max_wire_bytes: int | None = None) -> str:
    """`text`, or its head ending in "…" within `max_chars` characters (and grpc-message bytes)."""
    if len(text) <= max_chars and (max_wire_bytes is None or grpc_message_wire_size(text) <= max_wire_bytes):
        return text
    chars_left = max_chars - len(ELLIPSIS)
    wire_left = None if max_wire_bytes is None else max_wire_bytes - grpc_message_wire_size(ELLIPSIS)
    end = 0
    for ch in text[: max(chars_left, 0)]:
        if wire_left is not None:
            wire_left -= grpc_message_wire_size(ch)
            if wire_left < 0:
                break
        end += 1
    return text[:end] + ELLIPSIS


def budgeted_status(
    code: grpc.StatusCode,
    message: str,
    reason: str,
    metadata: Mapping[str, str],
    violations: Sequence[FieldViolation],
) -> status_pb2.Status:
    """A google.rpc.Status that fits TRAILER_BUDGET: clipped texts, as many leading violations as fit.

    When violations are left out, ErrorInfo metadata `omittedViolations` holds their number and the
    message says so at its end.
    """
    info_metadata = {
        clip(key, MAX_METADATA_CHARS): clip(value, MAX_METADATA_CHARS) for key, value in metadata.items()
    }
    field_violations = [
        error_details_pb2.BadRequest.FieldViolation(
            field=clip(v.field, MAX_FIELD_CHARS),
            description=clip(v.description, MAX_DESCRIPTION_CHARS),
            reason=clip(v.reason, MAX_REASON_CHARS),
        )
        for v in violations
    ]

    def build(kept: int) -> status_pb2.Status:
        omitted = len(field_violations) - kept
        note = f" [{omitted} more field violation{'s' if omitted != 1 else ''} omitted]" if omitted else ""
        text = clip(
            message, MAX_MESSAGE_CHARS - len(note), MAX_MESSAGE_WIRE_BYTES - grpc_message_wire_size(note)
        )
        info = error_details_pb2.ErrorInfo(
            reason=clip(reason, MAX_REASON_CHARS), domain=ERROR_DOMAIN, metadata=info_metadata
        )
        if omitted:
            info.metadata[OMITTED_VIOLATIONS_KEY] = str(omitted)
        details = [pack(info)]
        if kept:
            details.append(pack(error_details_pb2.BadRequest(field_violations=field_violations[:kept])))
        return status_pb2.Status(code=code.value[0], message=text + note, details=details)

    status = build(len(field_violations))
    if trailer_size(status) <= TRAILER_BUDGET:
        return status
    # The largest prefix that fits: `fits` always fits (zero violations: clipped texts only), `fails`
    # never does. Size grows with every violation kept, so bisecting finds it in O(log n) builds.
    fits, fails = 0, len(field_violations)
    while fails - fits > 1:
        middle = (fits + fails) // 2
        if trailer_size(build(middle)) <= TRAILER_BUDGET:
            fits = middle
        else:
            fails = middle
    return build(fits)


def pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
