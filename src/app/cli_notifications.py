"""The operator's notification and audit commands: channels (add, list, remove), notifications
(list, replay what failed), and the audit log (list)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from app.audit_ports import AuditQuery
from app.bootstrap import Services
from app.campaign_commands import CreateChannel, DeleteChannel, ReplayNotification
from app.cli_admin import admin_action, operator, organization_of
from app.notification_ports import NotificationQuery
from app.paging import MAX_PAGE_SIZE
from domain.alerts import AlertKind, Severity
from domain.notifications import ChannelKind, NotificationState


def add_notification_commands(sub: Any) -> None:
    channels = sub.add_parser("channels", help="notification channels").add_subparsers(
        title="channels commands"
    )
    add = channels.add_parser("add", help="add an email, Slack or signed-webhook channel")
    add.add_argument("--org", required=True)
    add.add_argument("--kind", required=True, choices=[k.value.lower() for k in ChannelKind])
    add.add_argument("--to", action="append", default=[], help="EMAIL: a recipient (repeatable)")
    add.add_argument(
        "--url",
        default="",
        help="SLACK: the incoming-webhook URL; WEBHOOK: the endpoint; '-' reads it from standard input "
        "(keeps a Slack URL, itself a secret, out of the shell's history and the process list)",
    )
    add.add_argument("--name", default="")
    add.add_argument("--min-severity", default="warning", choices=[s.name.lower() for s in Severity])
    add.add_argument(
        "--mute", action="append", default=[], choices=[k.value.lower() for k in AlertKind], help="repeatable"
    )
    add.set_defaults(run=admin_action(_channel_add))
    listing = channels.add_parser("list", help="an organization's channels (secrets are not shown)")
    listing.add_argument("--org", required=True)
    listing.set_defaults(run=admin_action(_channel_list))
    remove = channels.add_parser("remove", help="remove a channel")
    remove.add_argument("--org", required=True)
    remove.add_argument("channel_id")
    remove.set_defaults(run=admin_action(_channel_remove))

    notifications = sub.add_parser("notifications", help="notifications sent or owed").add_subparsers(
        title="notifications commands"
    )
    shown = notifications.add_parser("list", help="newest first")
    shown.add_argument("--org", required=True)
    shown.add_argument("--state", action="append", choices=[s.value.lower() for s in NotificationState])
    shown.add_argument("--limit", type=int, default=50)
    shown.set_defaults(run=admin_action(_notification_list))
    replay = notifications.add_parser("replay", help="send a FAILED notification again")
    replay.add_argument("--org", required=True)
    replay.add_argument("notification_id", nargs="+")
    replay.set_defaults(run=admin_action(_notification_replay))

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(title="audit commands")
    events = audit.add_parser("list", help="who did what, newest first")
    events.add_argument("--org", required=True)
    events.add_argument("--actor", default="", help="apiKeys/{prefix} or cli")
    events.add_argument("--action", default="", help="e.g. CreateTemplate, MoveCampaign.PAUSE")
    events.add_argument("--resource", default="", help="a resource name")
    events.add_argument(
        "--since", type=datetime.fromisoformat, help="ISO 8601, e.g. 2026-12-01T00:00:00+00:00"
    )
    events.add_argument("--until", type=datetime.fromisoformat)
    events.add_argument("--limit", type=int, default=50)
    events.set_defaults(run=admin_action(_audit_list))


async def _channel_add(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    kind = ChannelKind(args.kind.upper())
    url = sys.stdin.readline().strip() if args.url == "-" else args.url
    created = await services.bus.handle(
        CreateChannel(
            operator(org),
            kind,
            args.name,
            args.to if kind is ChannelKind.EMAIL else [url],
            Severity[args.min_severity.upper()],
            frozenset(AlertKind(m.upper()) for m in args.mute),
        )
    )
    print(f"channel channels/{created.id} ({kind.value.lower()}) added for {args.org}")
    if created.signing_secret:
        print(f"signing secret (shown once; verify webhook-signature with it): {created.signing_secret}")
    return 0


async def _channel_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    for channel in await services.notification_queries.channels(operator(org)):
        where = ", ".join(channel.targets) if channel.kind is ChannelKind.EMAIL else "(URL not shown)"
        muted = ",".join(sorted(k.value for k in channel.muted)) or "-"
        print(
            f"channels/{channel.id}\t{channel.kind.value.lower()}\t{channel.display_name}\t{where}\t"
            f"min {channel.min_severity.name.lower()}\tmuted {muted}"
        )
    return 0


async def _channel_remove(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    await services.bus.handle(DeleteChannel(operator(org), args.channel_id.removeprefix("channels/")))
    print(f"channel {args.channel_id} removed")
    return 0


async def _notification_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    states = frozenset(NotificationState(s.upper()) for s in args.state or [])
    shown, token = 0, ""
    while shown < args.limit:
        page = await services.notification_queries.notifications(
            operator(org), NotificationQuery("", states), min(args.limit - shown, MAX_PAGE_SIZE), token
        )
        for n in page.items:
            print(
                f"notifications/{n.id}\t{n.state.value}\t{n.created_at.isoformat()}\tchannels/{n.channel_id}\t"
                f"attempts {n.attempts}\t{n.content.subject}" + (f"\t{n.last_error}" if n.last_error else "")
            )
        shown += len(page.items)
        token = page.next_page_token
        if not token:
            break
    return 0


async def _notification_replay(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    for notification_id in args.notification_id:
        replayed = await services.bus.handle(
            ReplayNotification(operator(org), notification_id.removeprefix("notifications/"))
        )
        print(f"notifications/{replayed.id} queued again")
    return 0


async def _audit_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    query = AuditQuery("", args.actor, args.action, args.resource, _aware(args.since), _aware(args.until))
    shown, token = 0, ""
    while shown < args.limit:
        page = await services.audit_queries.events(
            operator(org), query, min(args.limit - shown, MAX_PAGE_SIZE), token
        )
        for e in page.items:
            where, request = e.resource or "-", e.request_id or "-"
            print(f"{e.at.isoformat()}\t{e.actor}\t{e.action}\t{where}\t{e.outcome}\t{request}")
        shown += len(page.items)
        token = page.next_page_token
        if not token:
            break
    return 0


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
