"""The operator's template and inbox commands: templates (sync from Meta, list, get) and the Meta
webhook inbox (list, replay)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from app import commands
from app.bootstrap import Services
from app.cli_admin import CliError, admin_action, operator, organization_of
from app.cli_output import Record, add_json_flag, collect, err, iso, out, positive, print_json, show
from app.inbox import ChangeState, InboxChange
from app.inbox_queries import NEEDS_A_LOOK
from app.paging import Page
from app.ports import TemplateQuery
from app.resource_names import (
    TemplateKey,
    inbox_change_name,
    parse_template_name,
    qualified_template_name,
    template_name,
)
from domain.components import TemplateDefinition
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template

# Meta's JSON for a definition (the body of POST /{waba_id}/message_templates, what `lint` reads).
# Handed in by the composition root: the Graph adapter owns that format.
DefinitionJson = Callable[[TemplateDefinition], dict[str, Any]]


def add_template_commands(sub: Any, definition_json: DefinitionJson) -> None:
    tpl = sub.add_parser("templates", help="templates").add_subparsers(title="templates commands")
    sync = tpl.add_parser(
        "sync", help="pull a WABA's templates from Meta and reconcile (needs the access token)"
    )
    sync.add_argument("--org", required=True)
    sync.add_argument("--waba", required=True, help="the WABA id")
    add_json_flag(sync)
    sync.set_defaults(run=admin_action(_templates_sync))

    listing = tpl.add_parser("list", help="an organization's templates, by name and language")
    listing.add_argument("--org", required=True)
    listing.add_argument("--waba", help="only this WABA (its id, or wabas/{id})")
    listing.add_argument(
        "--status", action="append", choices=[s.value.lower() for s in TemplateStatus], help="repeatable"
    )
    listing.add_argument(
        "--category", action="append", choices=[c.value.lower() for c in TemplateCategory], help="repeatable"
    )
    listing.add_argument(
        "--quality", action="append", choices=[q.value.lower() for q in TemplateQuality], help="repeatable"
    )
    listing.add_argument("--language", action="append", help="a language code, e.g. en_US (repeatable)")
    listing.add_argument("--prefix", default="", help="names that start with this")
    listing.add_argument("--limit", type=positive, help="show at most this many (default: all)")
    add_json_flag(listing)
    listing.set_defaults(run=admin_action(_templates_list))

    get = tpl.add_parser("get", help="one template: its state and its definition")
    get.add_argument("--org", required=True)
    get.add_argument(
        "name", help="wabas/{waba}/templates/{name}.{language}, or {name}.{language} with --waba"
    )
    get.add_argument("--waba", help="the WABA id, for a NAME without it")
    add_json_flag(get)
    get.set_defaults(run=admin_action(_templates_get), definition_json=definition_json)

    inbox = sub.add_parser("inbox", help="the Meta webhook inbox").add_subparsers(title="inbox commands")
    inbox_list = inbox.add_parser("list", help="changes that need a look (DEAD, PARKED, SKIPPED by default)")
    inbox_list.add_argument(
        "--state", action="append", choices=[s.value.lower() for s in ChangeState], help="repeatable"
    )
    inbox_list.add_argument("--limit", type=positive, default=100, help="how many to show (all pages)")
    add_json_flag(inbox_list)
    inbox_list.set_defaults(run=admin_action(_inbox_list))
    inbox_replay = inbox.add_parser("replay", help="queue a DEAD, PARKED or SKIPPED change again")
    inbox_replay.add_argument("change_id", nargs="+")
    inbox_replay.set_defaults(run=admin_action(_inbox_replay))


def template_record(template: Template) -> dict[str, Any]:
    return {
        "name": template_name(template.waba_id, template.display_name, template.language_code),
        "waba_id": template.waba_id,
        "display_name": template.display_name,
        "language_code": template.language_code,
        "category": template.category.value if template.category else None,
        "status": template.status.value,
        "raw_status": template.raw_status,
        "quality": template.quality.value,
        "rejection_reason": template.rejection_reason,
        "parameter_format": template.parameter_format.value,
        "meta_template_id": template.meta_template_id,
        "version": template.version,
        "etag": template.etag,
        "created_at": iso(template.created_at),
        "updated_at": iso(template.updated_at),
    }


def inbox_record(change: InboxChange) -> Record:
    return {
        "name": inbox_change_name(change.id),
        "id": change.id,
        "state": change.state.value,
        "waba_id": change.waba_id,
        "field": change.field,
        "attempts": change.attempts,
        "last_error": change.last_error,
        "received_at": iso(change.received_at),
        "processed_at": iso(change.processed_at),
        "value": change.value,
    }


async def _templates_sync(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    # A sync of a large WABA takes a while (Meta pages its list): say what is happening, to a person
    # only; a script reading standard error gets the summary alone, as before.
    if sys.stderr.isatty():
        err(f"syncing WABA {args.waba} of {args.org}... (listing its templates from Meta)")
    report = await services.bus.handle(commands.SyncTemplates(operator(org), args.waba))
    outcomes = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "vanished": report.vanished,
    }
    if args.json:
        print_json(
            {"waba_id": args.waba}
            | {
                label: [qualified_template_name(args.waba, n) for n in names]
                for label, names in outcomes.items()
            }
        )
    else:
        for label, names in outcomes.items():
            for name in names:
                out(f"{label}\t{qualified_template_name(args.waba, name)}")
    err(
        f"synced WABA {args.waba}: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.vanished)} vanished from Meta"
    )
    return 0


async def _templates_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    principal = operator(org)
    query = TemplateQuery(
        org.id,
        waba_id=args.waba.removeprefix("wabas/") if args.waba else None,
        statuses=frozenset(TemplateStatus(s.upper()) for s in args.status or []),
        categories=frozenset(TemplateCategory(c.upper()) for c in args.category or []),
        qualities=frozenset(TemplateQuality(q.upper()) for q in args.quality or []),
        language_codes=frozenset(args.language or []),
        display_name_prefix=args.prefix,
    )

    async def fetch(size: int, token: str) -> Page[Template]:
        page = await services.queries.list(principal, query, size, token)
        return Page(page.templates, page.next_page_token)

    templates, more = await collect(fetch, args.limit)
    filtered = any((args.waba, args.status, args.category, args.quality, args.language, args.prefix))
    empty = (
        f"no templates of {args.org} match these filters"
        if filtered
        else f"no templates in {args.org} yet: `watemplates templates sync --org {args.org} --waba ID` "
        "pulls a WABA's from Meta"
    )
    show(args, templates, template_record, _template_line, empty)
    if more and not args.json:
        err(f"{len(templates)} templates shown; there are more: raise --limit")
    return 0


def _template_line(template: Template) -> str:
    name = template_name(template.waba_id, template.display_name, template.language_code)
    category = template.category.value if template.category else "-"
    return (
        f"{name}\t{template.status.value}\t{category}\t{template.quality.value}\t"
        f"v{template.version}\tupdated {template.updated_at.isoformat()}"
    )


async def _templates_get(services: Services, args: argparse.Namespace) -> int:
    key = _template_key(args.name, args.waba)
    org = await organization_of(services, args.org)
    template = await services.queries.get(operator(org), key)
    definition_json: DefinitionJson = args.definition_json
    if args.json:
        print_json({**template_record(template), "definition": definition_json(template.definition)})
        return 0
    record = template_record(template)
    for label in _SHOWN:
        out(f"{label + ':':<18}{_text(record[label])}")
    components = template.components
    if components.header is not None:
        header = components.header
        out(f"{'header:':<18}{header.text or header.format.value}")
    out(f"{'body:':<18}{components.body}")
    if components.footer:
        out(f"{'footer:':<18}{components.footer}")
    for button in components.buttons:
        target = button.url or button.phone_number
        out(f"{'button:':<18}{button.type.value} {button.text!r}" + (f" {target}" if target else ""))
    for spec in template.parameters:
        out(f"{'parameter:':<18}{spec.key} (example {spec.example!r})")
    if components.carousel is not None:
        out(f"{'carousel:':<18}{len(components.carousel)} cards (--json shows them)")
    return 0


# The record's keys `templates get` prints, in this order, before the components.
_SHOWN = (
    "name",
    "status",
    "raw_status",
    "category",
    "quality",
    "parameter_format",
    "version",
    "etag",
    "meta_template_id",
    "rejection_reason",
    "created_at",
    "updated_at",
)


def _text(value: object) -> str:
    return "-" if value in (None, "") else str(value)


def _template_key(name: str, waba: str | None) -> TemplateKey:
    """NAME as the API writes it, or `{name}.{language}` of the WABA given with --waba."""
    if name.startswith("wabas/"):
        key = parse_template_name(name)
        if waba and waba.removeprefix("wabas/") != key.waba_id:
            raise CliError(f"{name} names WABA {key.waba_id}, not {waba}: leave out --waba")
        return key
    if not waba:
        raise CliError(
            f"{name!r} does not say its WABA: give --waba ID, or the full name "
            "wabas/{waba}/templates/{name}.{language}"
        )
    if "." not in name:
        raise CliError(
            f"{name!r} does not say its language: write {{name}}.{{language}}, e.g. order_ready.en_US"
        )
    return parse_template_name(qualified_template_name(waba.removeprefix("wabas/"), name))


async def _inbox_list(services: Services, args: argparse.Namespace) -> int:
    states = frozenset(ChangeState(s.upper()) for s in args.state or [])

    async def fetch(size: int, token: str) -> Page[InboxChange]:
        return await services.inbox_queries.changes(None, states, size, token)

    changes, more = await collect(fetch, args.limit)
    wanted = sorted(s.value for s in states or NEEDS_A_LOOK)
    looked_for = " or ".join([", ".join(wanted[:-1]), wanted[-1]] if len(wanted) > 1 else wanted)
    show(
        args,
        changes,
        inbox_record,
        lambda c: (
            f"{c.id}\t{c.state.value}\twaba {c.waba_id or '-'}\t{c.field or '-'}\t"
            f"attempts {c.attempts}\t{c.last_error}"
        ),
        f"no inbox changes in state {looked_for}",
    )
    backlog = await services.inbox_queries.backlog()
    err(
        f"{len(changes)} changes" + (" (more: raise --limit)" if more else "") + f"; {backlog.pending} "
        f"deliveries waiting to be split, {backlog.failing} of them retrying after a failure"
    )
    return 0


async def _inbox_replay(services: Services, args: argparse.Namespace) -> int:
    for change_id in args.change_id:
        change = await services.bus.handle(commands.ReplayInboxChange(None, change_id))
        out(f"{change.id} queued again")
    return 0
