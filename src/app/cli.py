"""The `watemplates` command: serve, migrate, and operator administration (orgs, keys, WABAs, lint)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.meta_graph.payloads import PayloadError, definition_from_meta
from adapters.sql.migrate import upgrade
from app import commands
from app.audience_csv import AUDIENCE_PAGE, read_contacts_csv
from app.bootstrap import Services
from app.campaign_commands import AddCampaignAudience
from app.cli_admin import admin_action, operator, organization_of
from app.cli_notifications import add_notification_commands
from app.errors import AppError, StoreUnavailable
from app.inbox import ChangeState
from app.paging import MAX_PAGE_SIZE
from app.resource_names import qualified_template_name
from app.settings import Settings
from domain.lint import LintReport, lint
from domain.tenancy import Role


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        result: int = args.run(args)
    except AppError as exc:
        print(f"error: {exc}{_cause(exc)}", file=sys.stderr)
        return 1
    return result


def _cause(error: AppError) -> str:
    """Why the database is away (a wrong host, a refused port, an unreadable file): the operator at
    the terminal needs it; API callers are only told to retry."""
    if not isinstance(error, StoreUnavailable) or error.__cause__ is None:
        return ""
    lines = str(error.__cause__).strip().splitlines()
    return f" ({lines[0]})" if lines else f" ({type(error.__cause__).__name__})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="watemplates", description=__doc__)
    sub = parser.add_subparsers(title="commands")

    serve = sub.add_parser("serve", help="run the gRPC and HTTP servers (migrates the DB first by default)")
    serve.add_argument(
        "--role",
        action="append",
        choices=["all", "grpc", "webhook", "worker", "dispatcher"],
        help="what this process does (repeatable; default all): the API, Meta's webhook, the inbox "
        "worker, the notification dispatcher",
    )
    # Internal: set by `serve` when it starts the inbox worker as a child process (its parent's pid).
    serve.add_argument("--child-of", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="migrate the database to the newest schema")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    org = sub.add_parser("org", help="organizations").add_subparsers(title="org commands")
    create = org.add_parser("create", help="create an organization")
    create.add_argument("slug", help="short handle, e.g. acme")
    create.add_argument("--name", default="", help="display name")
    create.set_defaults(run=admin_action(_org_create))
    org.add_parser("list", help="list organizations").set_defaults(run=admin_action(_org_list))

    key = sub.add_parser("apikey", help="API keys").add_subparsers(title="apikey commands")
    key_create = key.add_parser("create", help="create an API key (shown once)")
    key_create.add_argument("--org", required=True)
    key_create.add_argument("--role", required=True, choices=[r.name.lower() for r in Role])
    key_create.set_defaults(run=admin_action(_key_create))
    key_revoke = key.add_parser("revoke", help="revoke an API key by its prefix")
    key_revoke.add_argument("prefix")
    key_revoke.set_defaults(run=admin_action(_key_revoke))
    key_list = key.add_parser("list", help="list an organization's API keys")
    key_list.add_argument("--org", required=True)
    key_list.set_defaults(run=admin_action(_key_list))

    waba = sub.add_parser("waba", help="WhatsApp Business Accounts").add_subparsers(title="waba commands")
    waba_add = waba.add_parser("add", help="register a WABA (and its phone numbers) to an organization")
    waba_add.add_argument("--org", required=True)
    waba_add.add_argument("--waba-id", required=True)
    waba_add.add_argument("--phone-number-id", action="append", default=[])
    waba_add.add_argument("--name", default="")
    waba_add.set_defaults(run=admin_action(_waba_add))
    waba_list = waba.add_parser("list", help="list an organization's WABAs")
    waba_list.add_argument("--org", required=True)
    waba_list.set_defaults(run=admin_action(_waba_list))

    tpl = sub.add_parser("templates", help="templates").add_subparsers(title="templates commands")
    sync = tpl.add_parser(
        "sync", help="pull a WABA's templates from Meta and reconcile (needs the access token)"
    )
    sync.add_argument("--org", required=True)
    sync.add_argument("--waba", required=True, help="the WABA id")
    sync.set_defaults(run=admin_action(_templates_sync))

    inbox = sub.add_parser("inbox", help="the Meta webhook inbox").add_subparsers(title="inbox commands")
    inbox_list = inbox.add_parser("list", help="changes that need a look (DEAD, PARKED, SKIPPED by default)")
    inbox_list.add_argument(
        "--state", action="append", choices=[s.value.lower() for s in ChangeState], help="repeatable"
    )
    inbox_list.add_argument("--limit", type=_positive, default=100, help="how many to show (all pages)")
    inbox_list.set_defaults(run=admin_action(_inbox_list))
    inbox_replay = inbox.add_parser("replay", help="queue a DEAD, PARKED or SKIPPED change again")
    inbox_replay.add_argument("change_id", nargs="+")
    inbox_replay.set_defaults(run=admin_action(_inbox_replay))

    campaigns = sub.add_parser("campaigns", help="campaigns").add_subparsers(title="campaigns commands")
    audience = campaigns.add_parser(
        "audience", help="add contacts to a campaign's audience from a CSV file (first column)"
    )
    audience.add_argument("--org", required=True)
    audience.add_argument("--campaign", required=True, help="the campaign id (campaigns/{id} or {id})")
    audience.add_argument("--file", required=True, type=Path, help="CSV; a header row is skipped")
    audience.set_defaults(run=admin_action(_campaign_audience))

    add_notification_commands(sub)

    lint_cmd = sub.add_parser(
        "lint", help="lint a template definition (Meta's JSON) offline; exit 1 on errors"
    )
    lint_cmd.add_argument("file", type=Path)
    lint_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    lint_cmd.set_defaults(run=_lint)
    return parser


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _serve(args: argparse.Namespace) -> int:
    from app.main import ROLES, run_server

    chosen = set(args.role or ["all"])
    run_server(Settings(), frozenset(ROLES) if "all" in chosen else frozenset(chosen), child_of=args.child_of)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    upgrade(settings.database_url, args.revision)
    print(f"database at {settings.database_url} is at revision {args.revision}")
    return 0


async def _org_create(services: Services, args: argparse.Namespace) -> int:
    created = await services.bus.handle(commands.CreateOrganization(args.slug, args.name))
    print(f"organization {created.slug} created (id {created.org_id})")
    return 0


async def _org_list(services: Services, args: argparse.Namespace) -> int:
    async with services.uow_factory(read_only=True) as uow:
        for org in await uow.organizations.list():
            print(f"{org.slug}\t{org.display_name}\t{org.created_at.isoformat()}")
    return 0


async def _key_create(services: Services, args: argparse.Namespace) -> int:
    created = await services.bus.handle(commands.CreateApiKey(args.org, Role.parse(args.role)))
    print(created.secret)
    print(
        f"API key {created.prefix} ({args.role}) for {args.org}: store it now, it is not shown again. "
        f"Send it as the gRPC metadata 'authorization: Bearer <key>'.",
        file=sys.stderr,
    )
    return 0


async def _key_revoke(services: Services, args: argparse.Namespace) -> int:
    await services.bus.handle(commands.RevokeApiKey(args.prefix))
    print(f"API key {args.prefix} revoked")
    return 0


async def _key_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    async with services.uow_factory(read_only=True) as uow:
        for key in await uow.api_keys.list_for_org(org.id):
            state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
            print(f"{key.prefix}\t{key.role.name.lower()}\t{state}\tcreated {key.created_at.isoformat()}")
    return 0


async def _waba_add(services: Services, args: argparse.Namespace) -> int:
    await services.bus.handle(
        commands.AddWaba(args.org, args.waba_id, args.name, tuple(args.phone_number_id))
    )
    print(f"WABA {args.waba_id} registered to {args.org}")
    return 0


async def _waba_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    async with services.uow_factory(read_only=True) as uow:
        for waba in await uow.wabas.list_for_org(org.id):
            phones = ", ".join(waba.phone_number_ids) or "-"
            print(f"{waba.waba_id}\t{waba.display_name}\tphone numbers: {phones}")
    return 0


async def _templates_sync(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    report = await services.bus.handle(commands.SyncTemplates(operator(org), args.waba))
    for label, names in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("vanished", report.vanished),
    ):
        for name in names:
            print(f"{label}\t{qualified_template_name(args.waba, name)}")
    print(
        f"synced WABA {args.waba}: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.vanished)} vanished from Meta",
        file=sys.stderr,
    )
    return 0


async def _inbox_list(services: Services, args: argparse.Namespace) -> int:
    states = frozenset(ChangeState(s.upper()) for s in args.state or [])
    shown, token = 0, ""
    while shown < args.limit:
        page = await services.inbox_queries.changes(
            None, states, min(args.limit - shown, MAX_PAGE_SIZE), token
        )
        for change in page.items:
            print(
                f"{change.id}\t{change.state.value}\twaba {change.waba_id or '-'}\t{change.field or '-'}\t"
                f"attempts {change.attempts}\t{change.last_error}"
            )
        shown += len(page.items)
        token = page.next_page_token
        if not token:
            break
    backlog = await services.inbox_queries.backlog()
    print(
        f"{shown} changes" + (" (more: raise --limit)" if token else "") + f"; {backlog.pending} deliveries "
        f"waiting to be split, {backlog.failing} of them retrying after a failure",
        file=sys.stderr,
    )
    return 0


async def _inbox_replay(services: Services, args: argparse.Namespace) -> int:
    for change_id in args.change_id:
        change = await services.bus.handle(commands.ReplayInboxChange(None, change_id))
        print(f"{change.id} queued again")
    return 0


async def _campaign_audience(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    cli_operator = operator(org)
    campaign_id = args.campaign.removeprefix("campaigns/")
    try:
        contacts = read_contacts_csv(args.file)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    added = 0
    # The API's page size: a large file goes in several transactions, each within the limits.
    for start in range(0, len(contacts), AUDIENCE_PAGE):
        page = contacts[start : start + AUDIENCE_PAGE]
        added += await services.bus.handle(AddCampaignAudience(cli_operator, campaign_id, page))
    print(f"{added} contact(s) added to campaigns/{campaign_id} ({len(contacts) - added} already there)")
    return 0


def _lint(args: argparse.Namespace) -> int:
    """Exit 0: no errors (warnings may be printed); 1: the template breaks at least one rule;
    2: the file could not be read as a template. With --json, standard output is always one JSON
    document, an `error` object in the last case."""
    try:
        payload = json.loads(args.file.read_text(encoding="utf-8"))
        report = lint(definition_from_meta(payload))
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        return _unreadable(args, "UNREADABLE_FILE", f"cannot read {args.file}: {why}")
    except json.JSONDecodeError as exc:
        return _unreadable(args, "NOT_JSON", f"{args.file} is not JSON: {exc}")
    except PayloadError as exc:
        return _unreadable(args, "NOT_A_TEMPLATE", f"{args.file}: {exc}")
    if args.json:
        print(json.dumps(_report_json(report), indent=2, ensure_ascii=False))
    else:
        _print_report(args.file, report)
    return 0 if report.valid else 1


def _unreadable(args: argparse.Namespace, code: str, message: str) -> int:
    if args.json:
        print(
            json.dumps(
                {"valid": False, "error": {"code": code, "message": message}}, indent=2, ensure_ascii=False
            )
        )
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


def _report_json(report: LintReport) -> dict[str, Any]:
    return {
        "valid": report.valid,
        "parameter_format": report.parameter_format.value,
        "parameters": [p.key for p in report.parameters],
        "violations": [
            {"code": v.code, "severity": v.severity.value, "field": v.field, "message": v.message}
            for v in report.violations
        ],
    }


def _print_report(path: Path, report: LintReport) -> None:
    for v in report.violations:
        print(f"{path}: {v.severity.value.lower()}: {v.code}: {v.field}: {v.message}")
    verdict = "ok" if report.valid else "invalid"
    print(f"{path}: {verdict} ({len(report.errors)} errors, {len(report.warnings)} warnings)")


if __name__ == "__main__":
    sys.exit(main())
