"""The operator's notification and audit commands: channels (add, list, remove), notifications
(list, replay what failed), and the audit log (list)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from app.audit_ports import AuditEvent, AuditQuery
from app.bootstrap import Services
from app.campaign_commands import CreateChannel, DeleteChannel, ReplayNotification
from app.cli_admin import admin_action, operator, organization_of
from app.cli_output import Record, add_json_flag, collect, iso, positive, say, show
from app.notification_ports import NotificationQuery
from app.paging import Page
from app.resource_names import channel_name, notification_name
from domain.alerts import AlertKind, Severity
from domain.notifications import Channel, ChannelKind, Notification, NotificationState


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
    add_json_flag(add)
    add.set_defaults(run=admin_action(_channel_add))
    listing = channels.add_parser("list", help="an organization's channels (secrets are not shown)")
    listing.add_argument("--org", required=True)
    add_json_flag(listing)
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
    shown.add_argument("--limit", type=positive, default=50, help="how many to show (all pages)")
    add_json_flag(shown)
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
    events.add_argument("--limit", type=positive, default=50, help="how many to show (all pages)")
    add_json_flag(events)
    events.set_defaults(run=admin_action(_audit_list))


def channel_record(channel: Channel) -> Record:
    # A Slack or webhook URL is a secret (whoever has it can post), and so is a signing secret.
    return {
        "name": channel_name(channel.id),
        "id": channel.id,
        "kind": channel.kind.value,
        "display_name": channel.display_name,
        "targets": list(channel.targets) if channel.kind is ChannelKind.EMAIL else [],
        "min_severity": channel.min_severity.name,
        "muted": sorted(k.value for k in channel.muted),
        "created_at": iso(channel.created_at),
    }


def notification_record(n: Notification) -> Record:
    return {
        "name": notification_name(n.id),
        "id": n.id,
        "state": n.state.value,
        "channel": channel_name(n.channel_id),
        "subject": n.content.subject,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "created_at": iso(n.created_at),
        "sent_at": iso(n.sent_at),
    }


def audit_record(e: AuditEvent) -> Record:
    return {
        "id": e.id,
        "at": iso(e.at),
        "actor": e.actor,
        "action": e.action,
        "resource": e.resource,
        "outcome": e.outcome,
        "request_id": e.request_id,
    }


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
    # Creation is the one time a webhook's signing secret is shown: it is not shown back later.
    say(
        args,
        {**channel_record(created), "signing_secret": created.signing_secret},
        f"channel channels/{created.id} ({kind.value.lower()}) added for {args.org}",
    )
    if created.signing_secret and not args.json:
        print(f"signing secret (shown once; verify webhook-signature with it): {created.signing_secret}")
    return 0


async def _channel_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)

    def line(channel: Channel) -> str:
        where = ", ".join(channel.targets) if channel.kind is ChannelKind.EMAIL else "(URL not shown)"
        muted = ",".join(sorted(k.value for k in channel.muted)) or "-"
        return (
            f"channels/{channel.id}\t{channel.kind.value.lower()}\t{channel.display_name}\t{where}\t"
            f"min {channel.min_severity.name.lower()}\tmuted {muted}"
        )

    show(
        args,
        await services.notification_queries.channels(operator(org)),
        channel_record,
        line,
        f"no notification channels for {args.org}: add one with "
        f"`watemplates channels add --org {args.org} --kind email --to ADDRESS`",
    )
    return 0


async def _channel_remove(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    await services.bus.handle(DeleteChannel(operator(org), args.channel_id.removeprefix("channels/")))
    print(f"channel {args.channel_id} removed")
    return 0


async def _notification_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    principal = operator(org)
    states = frozenset(NotificationState(s.upper()) for s in args.state or [])

    async def fetch(size: int, token: str) -> Page[Notification]:
        return await services.notification_queries.notifications(
            principal, NotificationQuery("", states), size, token
        )

    found, _ = await collect(fetch, args.limit)
    show(
        args,
        found,
        notification_record,
        lambda n: (
            f"notifications/{n.id}\t{n.state.value}\t{n.created_at.isoformat()}\tchannels/{n.channel_id}\t"
            f"attempts {n.attempts}\t{n.content.subject}" + (f"\t{n.last_error}" if n.last_error else "")
        ),
        f"no notifications for {args.org}"
        + (f" in state {', '.join(sorted(s.value for s in states))}" if states else ""),
    )
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
    principal = operator(org)
    query = AuditQuery("", args.actor, args.action, args.resource, _aware(args.since), _aware(args.until))

    async def fetch(size: int, token: str) -> Page[AuditEvent]:
        return await services.audit_queries.events(principal, query, size, token)

    found, _ = await collect(fetch, args.limit)
    filtered = any((args.actor, args.action, args.resource, args.since, args.until))
    show(
        args,
        found,
        audit_record,
        lambda e: (
            f"{e.at.isoformat()}\t{e.actor}\t{e.action}\t{e.resource or '-'}\t{e.outcome}\t"
            f"{e.request_id or '-'}"
        ),
        f"no audit events of {args.org} match these filters"
        if filtered
        else f"no audit events for {args.org} yet",
    )
    return 0


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
