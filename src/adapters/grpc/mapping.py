"""Protobuf <-> domain translation: enums, resource names, timestamps, components."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf import timestamp_pb2

from adapters.grpc.components_mapping import BUTTON, components_from_proto, components_to_proto
from adapters.grpc.proto_values import enum_in, reverse
from app import resource_names
from app.queries import Rendered
from domain.components import (
    ParameterFormat,
    ParameterLocation,
    ParameterSpec,
    TemplateDefinition,
)
from domain.lint import LintReport, Severity, Violation
from domain.rendering import RenderedButton
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api

K = TypeVar("K")
V = TypeVar("V")


_STATUS = {s: getattr(pb, f"TEMPLATE_STATUS_{s.value}") for s in TemplateStatus}
_CATEGORY = {c: getattr(pb, f"TEMPLATE_CATEGORY_{c.value}") for c in TemplateCategory}
_QUALITY = {q: getattr(pb, f"TEMPLATE_QUALITY_{q.value}") for q in TemplateQuality}
_FORMAT = {f: getattr(pb, f"PARAMETER_FORMAT_{f.value}") for f in ParameterFormat}
_LOCATION = {loc: getattr(pb, f"PARAMETER_LOCATION_{loc.value}") for loc in ParameterLocation}
_SEVERITY = {Severity.ERROR: pb.VIOLATION_SEVERITY_ERROR, Severity.WARNING: pb.VIOLATION_SEVERITY_WARNING}


_STATUS_IN = reverse(_STATUS)
_CATEGORY_IN = reverse(_CATEGORY)
_QUALITY_IN = reverse(_QUALITY)
_FORMAT_IN = reverse(_FORMAT)


# ---- resource names ---------------------------------------------------------------------------


def template_name(template: Template) -> str:
    return resource_names.template_name(template.waba_id, template.display_name, template.language_code)


# ---- proto -> domain --------------------------------------------------------------------------


def definition_from_proto(message: pb.Template, field: str = "template") -> TemplateDefinition:
    return TemplateDefinition(
        display_name=message.display_name,
        language_code=message.language_code,
        category=category_from_proto(message.category, f"{field}.category"),
        components=components_from_proto(message.components, f"{field}.components"),
        parameters=parameters_from_proto(message.parameters),
        parameter_format=parameter_format_from_proto(message.parameter_format, f"{field}.parameter_format"),
    )


def category_from_proto(value: int, field: str) -> TemplateCategory | None:
    if value == pb.TEMPLATE_CATEGORY_UNSPECIFIED:
        return None
    return enum_in(_CATEGORY_IN, value, field)


def parameter_format_from_proto(value: int, field: str) -> ParameterFormat | None:
    if value == pb.PARAMETER_FORMAT_UNSPECIFIED:
        return None
    return enum_in(_FORMAT_IN, value, field)


def parameters_from_proto(messages: Iterable[pb.TemplateParameter]) -> tuple[ParameterSpec, ...]:
    return tuple(
        ParameterSpec(
            key=p.key,
            example=p.example,
            max_length=p.max_length,
            pattern=p.pattern,
            optional=p.optional,
            default_value=p.default_value,
        )
        for p in messages
    )


def statuses_from_proto(values: Iterable[int], field: str) -> frozenset[TemplateStatus]:
    return frozenset(enum_in(_STATUS_IN, v, field) for v in values)


def categories_from_proto(values: Iterable[int], field: str) -> frozenset[TemplateCategory]:
    return frozenset(enum_in(_CATEGORY_IN, v, field) for v in values)


def qualities_from_proto(values: Iterable[int], field: str) -> frozenset[TemplateQuality]:
    return frozenset(enum_in(_QUALITY_IN, v, field) for v in values)


# ---- domain -> proto --------------------------------------------------------------------------


def template_to_proto(template: Template) -> pb.Template:
    return pb.Template(
        name=template_name(template),
        waba_id=template.waba_id,
        display_name=template.display_name,
        language_code=template.language_code,
        category=_CATEGORY[template.category] if template.category else pb.TEMPLATE_CATEGORY_UNSPECIFIED,
        parameter_format=_FORMAT[template.parameter_format],
        components=components_to_proto(template.components),
        parameters=[parameter_to_proto(p) for p in template.parameters],
        status=_STATUS[template.status],
        raw_status=template.raw_status,
        quality=_QUALITY[template.quality],
        rejection_reason=template.rejection_reason,
        meta_template_id=template.meta_template_id,
        create_time=timestamp(template.created_at),
        update_time=timestamp(template.updated_at),
        etag=template.etag,
        needs_sync=template.needs_sync,
    )


def parameter_to_proto(spec: ParameterSpec) -> pb.TemplateParameter:
    return pb.TemplateParameter(
        key=spec.key,
        example=spec.example,
        locations=[_LOCATION[loc] for loc in spec.locations],
        max_length=spec.max_length,
        pattern=spec.pattern,
        optional=spec.optional,
        default_value=spec.default_value,
    )


def violation_to_proto(violation: Violation) -> pb.LintViolation:
    return pb.LintViolation(
        code=violation.code,
        severity=_SEVERITY[violation.severity],
        field=violation.field,
        message=violation.message,
    )


def lint_report_to_proto(report: LintReport) -> api.LintTemplateResponse:
    return api.LintTemplateResponse(
        valid=report.valid,
        violations=[violation_to_proto(v) for v in report.violations],
        detected_parameter_format=_FORMAT[report.parameter_format],
        detected_parameters=[parameter_to_proto(p) for p in report.parameters],
    )


def rendered_to_proto(rendered: Rendered) -> api.RenderTemplateResponse:
    message = rendered.message
    return api.RenderTemplateResponse(
        header_text=message.header_text,
        body_text=message.body_text,
        footer_text=message.footer_text,
        buttons=[_rendered_button(b) for b in message.buttons],
        cards=[
            api.RenderedCard(body_text=card.body_text, buttons=[_rendered_button(b) for b in card.buttons])
            for card in message.cards
        ],
        limited_time_offer_text=message.offer_text,
        meta_components_json=json.dumps(rendered.meta_template.get("components", []), ensure_ascii=False),
        meta_template_json=json.dumps(rendered.meta_template, ensure_ascii=False),
    )


def _rendered_button(button: RenderedButton) -> api.RenderedButton:
    return api.RenderedButton(
        type=BUTTON[button.type], text=button.text, url=button.url, phone_number=button.phone_number
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """Exact integer arithmetic (Timestamp.FromDatetime computes the same, several times slower:
    every window and message answer carries a handful of these)."""
    since = value - _EPOCH if value.tzinfo is not None else value.replace(tzinfo=UTC) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1_000
    )
