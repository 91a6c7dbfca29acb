"""watemplates.v1.TemplateService: proto in -> command/query -> proto out."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from adapters.grpc.auth import current_principal
from adapters.grpc.components_mapping import components_from_proto
from adapters.grpc.conversation_mapping import message_to_proto
from adapters.grpc.errors import mapped_errors
from adapters.grpc.mapping import (
    categories_from_proto,
    category_from_proto,
    definition_from_proto,
    lint_report_to_proto,
    parameter_format_from_proto,
    parameters_from_proto,
    qualities_from_proto,
    rendered_to_proto,
    statuses_from_proto,
    template_to_proto,
    violation_to_proto,
)
from adapters.grpc.paging import ProtoPage
from adapters.grpc.proto_values import invalid
from app.commands import (
    CreateTemplate,
    DeleteTemplate,
    SendTemplateMessage,
    SubmitTemplate,
    SyncTemplates,
    UpdateTemplate,
)
from app.messagebus import MessageBus
from app.ports import TemplateQuery
from app.queries import TemplateQueries, lint_definition
from app.resource_names import (
    parse_template_name,
    parse_waba_name,
    qualified_template_name,
)
from domain.errors import TemplateImmutableField
from domain.templates import TemplateRevision
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
UPDATABLE = ("category", "components", "parameters", "parameter_format")
IMMUTABLE = ("name", "waba_id", "display_name", "language_code")
OUTPUT_ONLY = (
    "status",
    "raw_status",
    "quality",
    "rejection_reason",
    "meta_template_id",
    "create_time",
    "update_time",
    "etag",
    "needs_sync",
)


class TemplateServicer(templates_pb2_grpc.TemplateServiceServicer):
    def __init__(self, bus: MessageBus, queries: TemplateQueries) -> None:
        self._bus = bus
        self._queries = queries

    @mapped_errors
    async def CreateTemplate(
        self, request: api.CreateTemplateRequest, context: Context
    ) -> api.CreateTemplateResponse:
        waba_id = parse_waba_name(request.parent, allow_wildcard=False)
        assert waba_id is not None
        if not request.HasField("template"):
            raise invalid("template", "the template to create is required")
        written = await self._bus.handle(
            CreateTemplate(
                principal=current_principal(),
                waba_id=waba_id,
                definition=definition_from_proto(request.template),
                request_id=request.request_id,
            )
        )
        return api.CreateTemplateResponse(
            template=template_to_proto(written.template),
            warnings=[violation_to_proto(v) for v in written.warnings],
        )

    @mapped_errors
    async def GetTemplate(self, request: api.GetTemplateRequest, context: Context) -> api.GetTemplateResponse:
        template = await self._queries.get(current_principal(), parse_template_name(request.name))
        return api.GetTemplateResponse(template=template_to_proto(template))

    @mapped_errors
    async def ListTemplates(
        self, request: api.ListTemplatesRequest, context: Context
    ) -> api.ListTemplatesResponse:
        query = TemplateQuery(
            org_id="",
            waba_id=parse_waba_name(request.parent, allow_wildcard=True),
            statuses=statuses_from_proto(request.statuses, "statuses"),
            categories=categories_from_proto(request.categories, "categories"),
            language_codes=frozenset(request.language_codes),
            qualities=qualities_from_proto(request.qualities, "qualities"),
            display_name_prefix=request.display_name_prefix,
        )
        protos = ProtoPage(template_to_proto)
        page = await self._queries.list(
            current_principal(), query, request.page_size, request.page_token, protos.size_of
        )
        return api.ListTemplatesResponse(
            templates=[protos(t) for t in page.templates], next_page_token=page.next_page_token
        )

    @mapped_errors
    async def UpdateTemplate(
        self, request: api.UpdateTemplateRequest, context: Context
    ) -> api.UpdateTemplateResponse:
        if not request.HasField("template"):
            raise invalid("template", "the template to update is required")
        message = request.template
        key = parse_template_name(message.name, "template.name")
        paths = _mask_paths(request)
        revision = TemplateRevision(
            category=category_from_proto(message.category, "template.category")
            if "category" in paths
            else None,
            components=(
                components_from_proto(message.components, "template.components")
                if "components" in paths
                else None
            ),
            parameters=parameters_from_proto(message.parameters) if "parameters" in paths else None,
            parameter_format=(
                parameter_format_from_proto(message.parameter_format, "template.parameter_format")
                if "parameter_format" in paths
                else None
            ),
            parameter_format_given="parameter_format" in paths,
        )
        written = await self._bus.handle(
            UpdateTemplate(principal=current_principal(), key=key, revision=revision, etag=request.etag)
        )
        return api.UpdateTemplateResponse(
            template=template_to_proto(written.template),
            warnings=[violation_to_proto(v) for v in written.warnings],
        )

    @mapped_errors
    async def DeleteTemplate(
        self, request: api.DeleteTemplateRequest, context: Context
    ) -> api.DeleteTemplateResponse:
        await self._bus.handle(
            DeleteTemplate(
                principal=current_principal(), key=parse_template_name(request.name), etag=request.etag
            )
        )
        return api.DeleteTemplateResponse()

    @mapped_errors
    async def LintTemplate(
        self, request: api.LintTemplateRequest, context: Context
    ) -> api.LintTemplateResponse:
        report = lint_definition(current_principal(), definition_from_proto(request.template))
        return lint_report_to_proto(report)

    @mapped_errors
    async def RenderTemplate(
        self, request: api.RenderTemplateRequest, context: Context
    ) -> api.RenderTemplateResponse:
        rendered = await self._queries.render(
            current_principal(), parse_template_name(request.name), dict(request.values)
        )
        return rendered_to_proto(rendered)

    @mapped_errors
    async def SubmitTemplate(
        self, request: api.SubmitTemplateRequest, context: Context
    ) -> api.SubmitTemplateResponse:
        template = await self._bus.handle(
            SubmitTemplate(current_principal(), parse_template_name(request.name))
        )
        return api.SubmitTemplateResponse(template=template_to_proto(template))

    @mapped_errors
    async def SyncTemplates(
        self, request: api.SyncTemplatesRequest, context: Context
    ) -> api.SyncTemplatesResponse:
        waba_id = parse_waba_name(request.parent, allow_wildcard=False)
        assert waba_id is not None
        report = await self._bus.handle(SyncTemplates(current_principal(), waba_id))

        def names(found: tuple[str, ...]) -> list[str]:
            return [qualified_template_name(waba_id, name) for name in found]

        return api.SyncTemplatesResponse(
            created=names(report.created),
            updated=names(report.updated),
            unchanged=names(report.unchanged),
            vanished=names(report.vanished),
        )

    @mapped_errors
    async def SendTemplateMessage(
        self, request: api.SendTemplateMessageRequest, context: Context
    ) -> api.SendTemplateMessageResponse:
        if not request.to:
            raise invalid("to", "the recipient's phone number is required")
        sent = await self._bus.handle(
            SendTemplateMessage(
                principal=current_principal(),
                key=parse_template_name(request.name),
                to=request.to,
                values=dict(request.values),
                phone_number_id=request.phone_number_id,
                callback_data=request.callback_data,
                request_id=request.request_id,
            )
        )
        return api.SendTemplateMessageResponse(
            message_id=sent.message_id,
            message_status=MESSAGE_STATUS.get(sent.message_status, api.MESSAGE_STATUS_UNSPECIFIED),
            raw_message_status=sent.message_status,
            wa_id=sent.wa_id,
            phone_number_id=sent.phone_number_id,
            message=message_to_proto(sent.record),
        )


MESSAGE_STATUS = {
    "accepted": api.MESSAGE_STATUS_ACCEPTED,
    "held_for_quality_assessment": api.MESSAGE_STATUS_HELD_FOR_QUALITY_ASSESSMENT,
    "paused": api.MESSAGE_STATUS_PAUSED,
}


def _mask_paths(request: api.UpdateTemplateRequest) -> set[str]:
    paths = {p.removeprefix("template.") for p in request.update_mask.paths}
    if not paths or "*" in paths:
        return set(UPDATABLE)
    for path in sorted(paths):
        if path in IMMUTABLE:
            raise TemplateImmutableField(f"template.{path}")
        if path not in UPDATABLE:
            detail = "is output only" if path in OUTPUT_ONLY else "is not a template field"
            raise invalid("update_mask", f"{path!r} {detail}; updatable: {', '.join(UPDATABLE)}")
    return paths
