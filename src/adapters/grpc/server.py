"""Builds the grpc.aio server: servicers, auth, health checking and reflection."""

from __future__ import annotations

import asyncio

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from adapters.grpc.auth import AuthInterceptor
from adapters.grpc.call_log import CallLog
from adapters.grpc.requests import RequestGuard
from adapters.grpc.servicers.audit import AuditServicer
from adapters.grpc.servicers.campaigns import CampaignServicer, OrganizationServicer
from adapters.grpc.servicers.conversations import ConversationServicer, MessageServicer
from adapters.grpc.servicers.inbox import InboxServicer
from adapters.grpc.servicers.notifications import NotificationServicer
from adapters.grpc.servicers.template_health import WATCH_POLL_SECONDS, TemplateHealthServicer
from adapters.grpc.servicers.templates import TemplateServicer
from app.audit_queries import AuditQueries
from app.auth import Authenticator
from app.campaign_queries import CampaignQueries
from app.inbox_queries import InboxQueries
from app.message_queries import MessageQueries
from app.messagebus import MessageBus
from app.notification_queries import NotificationQueries
from app.observability import NO_METRICS, Metrics
from app.queries import TemplateQueries
from app.send_guard import SendGuard
from app.template_health_queries import TemplateHealthQueries
from watemplates.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    campaigns_pb2,
    campaigns_pb2_grpc,
    conversations_pb2,
    conversations_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
    template_health_pb2,
    template_health_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
)

SERVICE_NAMES = (
    templates_pb2.DESCRIPTOR.services_by_name["TemplateService"].full_name,
    template_health_pb2.DESCRIPTOR.services_by_name["TemplateHealthService"].full_name,
    template_health_pb2.DESCRIPTOR.services_by_name["InboxService"].full_name,
    conversations_pb2.DESCRIPTOR.services_by_name["ConversationService"].full_name,
    conversations_pb2.DESCRIPTOR.services_by_name["MessageService"].full_name,
    campaigns_pb2.DESCRIPTOR.services_by_name["CampaignService"].full_name,
    campaigns_pb2.DESCRIPTOR.services_by_name["OrganizationService"].full_name,
    notifications_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
)

# Server reflection comes in two versions: v1alpha, the only one grpcio-reflection implements
# (grpc/grpc#38576), and v1, the one current tools ask for first (grpcurl tries v1, then v1alpha;
# grpc-java has deprecated v1alpha). The two protos differ in package name only: every message
# matches field for field, number for number. So v1 is served by the same servicer under v1's
# method name, and v1's file descriptor (for `grpcurl describe`) is v1alpha's renamed. Drop this
# once grpcio-reflection ships grpc_reflection.v1.
REFLECTION_V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1_FILE = "grpc/reflection/v1/reflection.proto"


class GrpcServer:
    """The aio server plus its health servicer, so the process can flip SERVING/NOT_SERVING."""

    def __init__(
        self,
        bus: MessageBus,
        queries: TemplateQueries,
        authenticator: Authenticator,
        address: str,
        *,
        health_queries: TemplateHealthQueries | None = None,
        inbox_queries: InboxQueries | None = None,
        send_guard: SendGuard | None = None,
        message_queries: MessageQueries | None = None,
        campaign_queries: CampaignQueries | None = None,
        notification_queries: NotificationQueries | None = None,
        audit_queries: AuditQueries | None = None,
        watch_poll_seconds: float = WATCH_POLL_SECONDS,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.server = grpc.aio.server(
            # Every call logged and counted (CallLog); then authentication: a caller without a key
            # hears UNAUTHENTICATED before anything about its request; then the request is read and
            # checked (RequestGuard).
            interceptors=[CallLog(metrics), AuthInterceptor(authenticator), RequestGuard()],
            options=[("grpc.so_reuseport", 0)],
        )
        templates_pb2_grpc.add_TemplateServiceServicer_to_server(TemplateServicer(bus, queries), self.server)
        self._stopping = asyncio.Event()
        if health_queries is not None:
            template_health_pb2_grpc.add_TemplateHealthServiceServicer_to_server(
                TemplateHealthServicer(bus, health_queries, watch_poll_seconds, self._stopping), self.server
            )
        if inbox_queries is not None:
            template_health_pb2_grpc.add_InboxServiceServicer_to_server(
                InboxServicer(bus, inbox_queries), self.server
            )
        if send_guard is not None:
            conversations_pb2_grpc.add_ConversationServiceServicer_to_server(
                ConversationServicer(bus, send_guard), self.server
            )
        if message_queries is not None:
            conversations_pb2_grpc.add_MessageServiceServicer_to_server(
                MessageServicer(message_queries), self.server
            )
        if campaign_queries is not None:
            campaigns_pb2_grpc.add_CampaignServiceServicer_to_server(
                CampaignServicer(bus, campaign_queries), self.server
            )
            campaigns_pb2_grpc.add_OrganizationServiceServicer_to_server(
                OrganizationServicer(bus, campaign_queries), self.server
            )
        if notification_queries is not None:
            notifications_pb2_grpc.add_NotificationServiceServicer_to_server(
                NotificationServicer(bus, notification_queries), self.server
            )
        if audit_queries is not None:
            audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(audit_queries), self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        enable_reflection(self.server, (*SERVICE_NAMES, health.SERVICE_NAME))
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen for gRPC on {address}")

    async def start(self) -> None:
        await self.server.start()

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        """Refuses new calls, ends live streams cleanly, and gives calls in flight `grace` seconds
        (a submit, edit or delete at Meta cut off after that is marked needs_sync beforehand and
        resolved by the next SyncTemplates)."""
        await self.set_serving(False)
        self._stopping.set()
        await self.server.stop(grace)


def enable_reflection(server: grpc.aio.Server, service_names: tuple[str, ...]) -> None:
    """Serves reflection v1alpha and v1 (see REFLECTION_V1_SERVICE_NAME); each lists `service_names`
    and both reflection services."""
    _register_reflection_v1_file(descriptor_pool.Default())
    servicer = reflection.aio.ReflectionServicer(
        (*service_names, reflection.SERVICE_NAME, REFLECTION_V1_SERVICE_NAME)
    )
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1_methods = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    # Registered both ways, as the generated add_*_to_server functions do.
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1_SERVICE_NAME, v1_methods),)
    )
    server.add_registered_method_handlers(REFLECTION_V1_SERVICE_NAME, v1_methods)


def _register_reflection_v1_file(pool: descriptor_pool.DescriptorPool) -> None:
    """Adds grpc/reflection/v1/reflection.proto to `pool` (once: every server of the process shares
    the default pool), made from the v1alpha file grpcio-reflection ships."""
    try:
        pool.FindFileByName(REFLECTION_V1_FILE)
        return
    except KeyError:
        pass
    v1 = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(v1)
    v1alpha_scope, v1_scope = f".{v1.package}.", ".grpc.reflection.v1."
    v1.name, v1.package = REFLECTION_V1_FILE, "grpc.reflection.v1"
    v1.options.java_package = "io.grpc.reflection.v1"
    v1.options.go_package = "google.golang.org/grpc/reflection/grpc_reflection_v1"
    # v1alpha is marked deprecated in favour of v1; v1 itself is not.
    v1.options.ClearField("deprecated")
    for message in v1.message_type:
        # Only message fields have a type name (setting an empty one would mark it present).
        for field in message.field:
            if field.type_name:
                field.type_name = field.type_name.replace(v1alpha_scope, v1_scope)
    for service in v1.service:
        for method in service.method:
            method.input_type = method.input_type.replace(v1alpha_scope, v1_scope)
            method.output_type = method.output_type.replace(v1alpha_scope, v1_scope)
    pool.AddSerializedFile(v1.SerializeToString())
