"""Server reflection in both versions, v1alpha and v1, asked over a real channel without a key.

Current tools (grpcurl, Postman, grpc-java's client) ask v1 first; older ones only know v1alpha.
The v1 side is asked with messages compiled here from the published protocol, in a descriptor pool
of the test's own, so a mistake in the server's v1 bridge cannot hide behind a shared definition.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection_pb2

from adapters.grpc.server import SERVICE_NAMES
from integration.grpc.conftest import GrpcWorld

V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
V1 = "grpc.reflection.v1.ServerReflection"
EVERY_SERVICE = {*SERVICE_NAMES, health.SERVICE_NAME, V1ALPHA, V1}

# grpc/reflection/v1/reflection.proto as a client sees it: the fields these tests use, with the
# published numbers (the rest of the protocol is left out, which protobuf allows).
REFLECTION_V1_PROTO = """
syntax = "proto3";
package grpc.reflection.v1;

service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}

message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_containing_symbol = 4;
    string list_services = 7;
  }
}

message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}

message FileDescriptorResponse {
  repeated bytes file_descriptor_proto = 1;
}

message ListServiceResponse {
  repeated ServiceResponse service = 1;
}

message ServiceResponse {
  string name = 1;
}

message ErrorResponse {
  int32 error_code = 1;
  string error_message = 2;
}
"""


@dataclass(frozen=True)
class Messages:
    """One version's request and response classes (generated code for v1alpha, compiled for v1)."""

    request: Any
    response: Any


@pytest.fixture(scope="module")
def v1_messages(tmp_path_factory: pytest.TempPathFactory) -> Messages:
    workdir = tmp_path_factory.mktemp("reflection_v1")
    (workdir / "reflection_v1.proto").write_text(REFLECTION_V1_PROTO)
    descriptor_set = workdir / "reflection_v1.binpb"
    protoc = [sys.executable, "-m", "grpc_tools.protoc", f"-I{workdir}"]
    subprocess.run(
        [*protoc, f"--descriptor_set_out={descriptor_set}", "reflection_v1.proto"],
        check=True,
        capture_output=True,
    )
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.AddSerializedFile(file.SerializeToString())
    return Messages(
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest")
        ),
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse")
        ),
    )


def messages_of(service: str, v1_messages: Messages) -> Messages:
    if service == V1:
        return v1_messages
    return Messages(reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse)


async def ask(
    channel: grpc.aio.Channel, service: str, messages: Messages, requests: Sequence[Any]
) -> list[Any]:
    """Sends `requests` on one ServerReflectionInfo stream of `service` and returns every answer."""
    info = channel.stream_stream(
        f"/{service}/ServerReflectionInfo",
        request_serializer=messages.request.SerializeToString,
        response_deserializer=messages.response.FromString,
    )
    return [response async for response in info(iter(requests))]


@pytest.mark.parametrize("service", [V1ALPHA, V1])
async def test_each_reflection_version_lists_every_service(
    grpc_world: GrpcWorld, v1_messages: Messages, service: str
) -> None:
    messages = messages_of(service, v1_messages)

    [answer] = await ask(grpc_world.channel, service, messages, [messages.request(list_services="")])

    assert answer.WhichOneof("message_response") == "list_services_response"
    assert {s.name for s in answer.list_services_response.service} == EVERY_SERVICE


@pytest.mark.parametrize("service", [V1ALPHA, V1])
async def test_each_reflection_version_describes_every_listed_service(
    grpc_world: GrpcWorld, v1_messages: Messages, service: str
) -> None:
    # What `grpcurl describe` does: the file declaring each service, for every service listed,
    # the reflection services themselves included.
    messages = messages_of(service, v1_messages)
    names = sorted(EVERY_SERVICE)

    answers = await ask(
        grpc_world.channel, service, messages, [messages.request(file_containing_symbol=n) for n in names]
    )

    for name, answer in zip(names, answers, strict=True):
        assert answer.WhichOneof("message_response") == "file_descriptor_response", (name, answer)
        first = descriptor_pb2.FileDescriptorProto.FromString(
            answer.file_descriptor_response.file_descriptor_proto[0]
        )
        package, _, service_name = name.rpartition(".")
        assert first.package == package
        assert service_name in {s.name for s in first.service}


async def test_the_v1_descriptor_matches_the_published_protocol(
    grpc_world: GrpcWorld, v1_messages: Messages
) -> None:
    # A client generating code from the served descriptor must get the v1 package and v1 types
    # throughout, not v1alpha's: every field and method type the test's own proto declares has the
    # same name and number in the served file.
    request = v1_messages.request(file_containing_symbol=V1)
    [answer] = await ask(grpc_world.channel, V1, v1_messages, [request])
    served = descriptor_pb2.FileDescriptorProto.FromString(
        answer.file_descriptor_response.file_descriptor_proto[0]
    )

    assert served.name == "grpc/reflection/v1/reflection.proto"
    assert not served.options.deprecated
    [method] = served.service[0].method
    assert (method.input_type, method.output_type) == (
        ".grpc.reflection.v1.ServerReflectionRequest",
        ".grpc.reflection.v1.ServerReflectionResponse",
    )
    served_fields = {(m.name, f.name): (f.number, f.type_name) for m in served.message_type for f in m.field}
    for ours in (v1_messages.request.DESCRIPTOR, v1_messages.response.DESCRIPTOR):
        for field in ours.fields:
            type_name = f".{field.message_type.full_name}" if field.message_type else ""
            assert served_fields[(ours.name, field.name)] == (field.number, type_name)
