"""RpcError.to_status() budgets the rich status so it always fits gRPC's trailer limits.

The status travels base64-encoded in `grpc-status-details-bin` and its message again, percent-encoded,
in `grpc-message`; clients refuse trailers above 8 KiB (soft) / 16 KiB (hard). Sizes here are measured
independently of the production helpers: base64 via the stdlib, percent-encoding re-implemented.
"""

from __future__ import annotations

import base64

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.grpc.errors import RpcError
from adapters.grpc.trailers import (
    MAX_DESCRIPTION_CHARS,
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_MESSAGE_WIRE_BYTES,
    MAX_METADATA_CHARS,
    OMITTED_VIOLATIONS_KEY,
    TRAILER_BUDGET,
    clip,
    grpc_message_wire_size,
)
from app.errors import FieldViolation

SOFT_LIMIT = 8 * 1024
# What else shares the trailers-only response with our two entries (measured from grpc's own
# "Stream removed" report: ":status:42B content-type:60B grpc-status:44B"), plus HPACK's 32 bytes
# and the key of each of our two entries.
OTHER_ENTRIES = 42 + 60 + 44 + (32 + len("grpc-message")) + (32 + len("grpc-status-details-bin"))


def percent_encoded(message: str) -> str:
    """gRPC core's "compatible" percent-encoding of grpc-message: printable ASCII but '%' stays."""
    return "".join(
        chr(byte) if 0x20 <= byte <= 0x7E and byte != ord("%") else f"%{byte:02X}"
        for byte in message.encode("utf-8")
    )


def wire_size(error: RpcError) -> int:
    """Bytes of the two trailers as grpc sends them (values only)."""
    status = rpc_status.to_status(error.to_status())
    ((key, serialized),) = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    return len(base64.b64encode(serialized)) + len(percent_encoded(status.details))


def parts(
    status: status_pb2.Status,
) -> tuple[error_details_pb2.ErrorInfo, list[error_details_pb2.BadRequest.FieldViolation]]:
    info = error_details_pb2.ErrorInfo()
    violations: list[error_details_pb2.BadRequest.FieldViolation] = []
    infos = 0
    for detail in status.details:
        if detail.Unpack(info):
            infos += 1
        else:
            bad_request = error_details_pb2.BadRequest()
            assert detail.Unpack(bad_request)
            violations += bad_request.field_violations
    assert infos == 1
    return info, violations


def invalid(message: str, violations: list[FieldViolation], **metadata: str) -> RpcError:
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message, "INVALID_TEMPLATE", metadata, violations)


def test_percent_encoding_size_counts_three_bytes_per_escaped_byte() -> None:
    assert grpc_message_wire_size("plain text~") == len("plain text~")
    assert grpc_message_wire_size("100%") == 3 + 3
    assert grpc_message_wire_size("é") == len(percent_encoded("é")) == 6
    assert grpc_message_wire_size("日本") == len(percent_encoded("日本")) == 18
    assert grpc_message_wire_size("a\nb") == 5


def test_clip_keeps_short_text_and_ends_long_text_with_an_ellipsis() -> None:
    assert clip("short", 10) == "short"
    assert clip("x" * 10, 10) == "x" * 10
    assert clip("x" * 11, 10) == "x" * 9 + "…"
    clipped = clip("日" * 100, 1_000, max_wire_bytes=100)
    assert clipped.endswith("…")
    assert grpc_message_wire_size(clipped) <= 100
    assert len(clipped) == 1 + (100 - 9) // 9


def test_a_small_error_is_sent_unchanged() -> None:
    violations = [FieldViolation("template.components.body", "[BODY_EMPTY] the body is empty", "BODY_EMPTY")]
    error = invalid("the template breaks 1 of Meta's rules", violations, violationCount="1")

    status = error.to_status()

    info, sent = parts(status)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert status.message == "the template breaks 1 of Meta's rules"
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INVALID_TEMPLATE",
        "watemplates.v1",
        {"violationCount": "1"},
    )
    assert [(v.field, v.description, v.reason) for v in sent] == [
        ("template.components.body", "[BODY_EMPTY] the body is empty", "BODY_EMPTY")
    ]


def test_no_bad_request_without_violations() -> None:
    status = RpcError(grpc.StatusCode.NOT_FOUND, "gone", "TEMPLATE_NOT_FOUND").to_status()

    _, sent = parts(status)
    assert len(status.details) == 1
    assert sent == []


def test_a_long_message_is_capped_with_an_ellipsis() -> None:
    status = invalid("m" * 50_000, []).to_status()

    assert len(status.message) == MAX_MESSAGE_CHARS
    assert status.message == "m" * (MAX_MESSAGE_CHARS - 1) + "…"


def test_a_non_ascii_message_is_capped_by_its_percent_encoded_size() -> None:
    error = invalid("ünïcödé ✓ 日本語 " * 500, [])

    status = error.to_status()

    assert status.message.endswith("…")
    assert len(percent_encoded(status.message)) <= MAX_MESSAGE_WIRE_BYTES
    assert wire_size(error) <= TRAILER_BUDGET


def test_echoed_input_in_metadata_fields_and_descriptions_is_capped() -> None:
    name = "wabas/1/templates/" + "a" * 20_000 + ".en"
    error = RpcError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"template {name!r} is bad",
        "INVALID_RESOURCE_NAME",
        {"name": name},
        [FieldViolation(name, f"{name!r} is not a template name", "INVALID_RESOURCE_NAME")],
    )

    status = error.to_status()

    info, sent = parts(status)
    assert len(info.metadata["name"]) == MAX_METADATA_CHARS
    assert info.metadata["name"].endswith("…")
    assert len(sent) == 1
    assert len(sent[0].field) == MAX_FIELD_CHARS
    assert len(sent[0].description) == MAX_DESCRIPTION_CHARS
    assert sent[0].description.startswith("'wabas/1/templates/aaa")
    assert sent[0].description.endswith("…")
    assert sent[0].reason == "INVALID_RESOURCE_NAME"
    assert OMITTED_VIOLATIONS_KEY not in info.metadata
    assert wire_size(error) <= TRAILER_BUDGET


def test_violations_beyond_the_budget_are_left_out_and_counted() -> None:
    violations = [
        FieldViolation(
            f"template.components.buttons[{i}].url", f"[URL_BAD] button {i} " + "x" * 250, "URL_BAD"
        )
        for i in range(200)
    ]
    error = invalid(
        "the template breaks 200 of Meta's rules: " + "; ".join("y" * 50 for _ in range(200)), violations
    )

    status = error.to_status()

    info, sent = parts(status)
    omitted = int(info.metadata[OMITTED_VIOLATIONS_KEY])
    assert 0 < len(sent) < 200
    assert len(sent) + omitted == 200
    # The first ones, in order.
    assert [v.field for v in sent] == [f"template.components.buttons[{i}].url" for i in range(len(sent))]
    assert status.message.endswith(f"[{omitted} more field violations omitted]")
    assert "…" in status.message
    assert len(status.message) <= MAX_MESSAGE_CHARS
    assert wire_size(error) <= TRAILER_BUDGET


def test_the_budget_is_used_not_wasted() -> None:
    violations = [FieldViolation(f"f{i}", "d" * 100, "R") for i in range(500)]
    error = invalid("many", violations)

    _, sent = parts(error.to_status())

    # Each violation costs about 150 bytes on the wire: the kept ones fill the budget up to less than one.
    assert 0 < len(sent) < 500
    assert TRAILER_BUDGET - 200 < wire_size(error) <= TRAILER_BUDGET


def test_a_single_omitted_violation_reads_singular() -> None:
    violations = [FieldViolation(f"f{i}", "d" * 290, "R") for i in range(30)]
    for count in range(1, 30):
        status = invalid("m", violations[:count]).to_status()
        info, sent = parts(status)
        if count - len(sent) == 1:
            assert status.message == "m [1 more field violation omitted]"
            assert info.metadata[OMITTED_VIOLATIONS_KEY] == "1"
            return
    raise AssertionError("no count left exactly one violation out")


def test_non_ascii_violations_stay_within_the_budget() -> None:
    violations = [FieldViolation("日本語" * 100, "説明" * 200, "理由" * 100) for _ in range(100)]
    error = invalid("誤り" * 1_000, violations, parameters="値" * 1_000)

    status = error.to_status()

    info, sent = parts(status)
    assert sent
    assert int(info.metadata[OMITTED_VIOLATIONS_KEY]) == 100 - len(sent)
    assert wire_size(error) <= TRAILER_BUDGET
    assert wire_size(error) + OTHER_ENTRIES < SOFT_LIMIT


def test_the_full_error_object_keeps_everything_for_logging() -> None:
    error = invalid("m" * 5_000, [FieldViolation("f", "d" * 5_000, "R")] * 100)

    error.to_status()

    assert len(error.message) == 5_000
    assert len(error.violations) == 100


texts = st.text(st.characters(codec="utf-8"), max_size=3_000)


@settings(max_examples=60, deadline=None)
@given(
    message=texts,
    violations=st.lists(st.tuples(texts, texts, st.text(max_size=300)), max_size=60),
    value=texts,
)
def test_any_error_fits_and_keeps_a_prefix_of_its_violations(
    message: str, violations: list[tuple[str, str, str]], value: str
) -> None:
    error = invalid(message, [FieldViolation(*v) for v in violations], name=value)

    status = error.to_status()

    info, sent = parts(status)
    assert wire_size(error) <= TRAILER_BUDGET
    assert wire_size(error) + OTHER_ENTRIES < SOFT_LIMIT
    assert len(status.message) <= MAX_MESSAGE_CHARS
    for kept, (field, description, reason) in zip(sent, violations, strict=False):
        assert kept.field == clip(field, MAX_FIELD_CHARS)
        assert kept.description == clip(description, MAX_DESCRIPTION_CHARS)
        assert reason.startswith(kept.reason.removesuffix("…"))
    omitted = len(violations) - len(sent)
    assert info.metadata.get(OMITTED_VIOLATIONS_KEY) == (str(omitted) if omitted else None)
