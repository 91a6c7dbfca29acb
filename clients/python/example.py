"""A service calling watemplates with nothing but the watemplates-client wheel installed.

    pip install dist/watemplates_client-*.whl
    python example.py 127.0.0.1:50051 "$KEY" 301122334455667

KEY is an operator key (`watemplates apikey create --org acme --role operator`) and the last
argument a WABA registered for its organization (`watemplates waba add`). The example lints,
creates, renders, edits and lists a template, then watches the organization's template events from
the beginning, printing each with its cursor (pass a count as a fourth argument to stop after that
many events; without it, it watches until interrupted). tests/e2e/test_client_wheel.py runs it
against a real server and type-checks it with mypy --strict.
"""

# An example that reports what it does: printing is its job.
# ruff: noqa: T201

from __future__ import annotations

import asyncio
import sys

import grpc

from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import template_health_pb2, template_health_pb2_grpc, templates_pb2, templates_pb2_grpc


def order_ready() -> pb.Template:
    return pb.Template(
        display_name="order_ready",
        language_code="en_US",
        category=pb.TEMPLATE_CATEGORY_UTILITY,
        components=pb.TemplateComponents(
            header=pb.TemplateHeader(format=pb.HEADER_FORMAT_TEXT, text="Order {{order_id}} is ready"),
            body="Hi {{first_name}}, your order {{order_id}} can be collected from {{store}} today.",
            footer="Reply STOP to opt out",
        ),
        parameters=[
            pb.TemplateParameter(key="first_name", example="Dana"),
            pb.TemplateParameter(key="order_id", example="A-1042", max_length=12),
            pb.TemplateParameter(key="store", example="Main St"),
        ],
    )


async def main(target: str, key: str, waba: str, max_events: int) -> None:
    # Every call but health checking and reflection carries the API key.
    auth = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        templates = templates_pb2_grpc.TemplateServiceStub(channel)
        health = template_health_pb2_grpc.TemplateHealthServiceStub(channel)

        lint = await templates.LintTemplate(
            templates_pb2.LintTemplateRequest(template=order_ready()), metadata=auth
        )
        print("lint:", "valid" if lint.valid else "invalid", [v.message for v in lint.violations])

        # A repeated request_id answers with the first result, so running this again creates nothing.
        created = await templates.CreateTemplate(
            templates_pb2.CreateTemplateRequest(
                parent=f"wabas/{waba}", template=order_ready(), request_id="example-order-ready"
            ),
            metadata=auth,
        )
        name = created.template.name
        print("created:", name, pb.TemplateStatus.Name(created.template.status))

        rendered = await templates.RenderTemplate(
            templates_pb2.RenderTemplateRequest(
                name=name, values={"first_name": "Dana", "order_id": "A-1042", "store": "Main St"}
            ),
            metadata=auth,
        )
        print("rendered:", rendered.body_text)

        # Editing the components is recorded as a template event (watched below).
        edited = order_ready()
        edited.name = name
        edited.components.footer = "Reply HELP for help"
        await templates.UpdateTemplate(templates_pb2.UpdateTemplateRequest(template=edited), metadata=auth)

        page_token = ""
        while True:
            page = await templates.ListTemplates(
                templates_pb2.ListTemplatesRequest(parent="wabas/-", page_token=page_token), metadata=auth
            )
            for template in page.templates:
                print("listed:", template.name, pb.TemplateStatus.Name(template.status))
            if not page.next_page_token:
                break
            page_token = page.next_page_token

        # A live stream. Keep the last cursor handled and pass it to resume without a gap after a
        # disconnect ("0" replays from the beginning, "" sends only new events).
        watch = health.WatchTemplateEvents(
            template_health_pb2.WatchTemplateEventsRequest(cursor="0"), metadata=auth
        )
        seen = 0
        async for reply in watch:
            event = reply.event
            aspect = template_health_pb2.HistoryAspect.Name(event.aspect)
            source = template_health_pb2.ChangeSource.Name(event.source)
            print("event:", event.cursor, event.template, aspect, source)
            seen += 1
            if seen == max_events:
                watch.cancel()
                break


if __name__ == "__main__":
    target, key, waba = sys.argv[1:4]
    max_events = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    try:
        asyncio.run(main(target, key, waba, max_events))
    except grpc.aio.AioRpcError as error:
        # The status code and message; details such as google.rpc.ErrorInfo are in the trailers.
        print(f"{error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(1)
