"""The `watemplates` command: serve, migrate, show the configuration, lint offline, and operator
administration (orgs, keys, WABAs, templates, the inbox, campaigns, notifications, the audit log).

Settings come from the environment, then from `.env` in the current directory (or --env-file PATH).
Every command but `migrate`, `config` and `lint` needs a database that `watemplates migrate` made.
Exit codes: 0 done, 1 the command failed (a refused request, a database that is down), 2 a problem of
set-up or usage (no database yet, bad settings, bad arguments)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import SecretStr, ValidationError

from adapters.meta_graph.creation_payload import definition_to_meta
from adapters.meta_graph.payloads import PayloadError, definition_from_meta
from app.audience_csv import AUDIENCE_PAGE, read_contacts_csv
from app.bootstrap import Services
from app.campaign_commands import AddCampaignAudience
from app.cli_admin import (
    CliError,
    admin_action,
    masked_url,
    migrate,
    operator,
    organization_of,
    require_schema,
)
from app.cli_notifications import add_notification_commands
from app.cli_output import add_json_flag, print_json, say
from app.cli_templates import add_template_commands
from app.cli_tenancy import add_tenancy_commands
from app.errors import AppError, StoreUnavailable
from app.settings import ENV_FILE_VARIABLE, Settings, env_file
from domain.lint import LintReport, lint

STDIN = "-"
STDIN_LABEL = "<stdin>"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        _choose_env_file(args.env_file)
        result: int = args.run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        print(f"error: invalid settings ({_settings_source()}):", file=sys.stderr)
        for problem in exc.errors():
            variable = "WATEMPLATES_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"  {variable}: {problem['msg']}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"error: {exc}{_cause(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader left early (`watemplates templates list | head`): not an error of this command.
        # Standard output goes to /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


def _choose_env_file(path: Path | None) -> None:
    """--env-file goes into the environment, where Settings (here and in `serve`'s worker process)
    looks for it; a settings file named but missing is refused rather than silently skipped."""
    if path is not None:
        os.environ[ENV_FILE_VARIABLE] = str(path)
    chosen = os.environ.get(ENV_FILE_VARIABLE)
    if chosen and not Path(chosen).is_file():
        how = "--env-file" if path is not None else ENV_FILE_VARIABLE
        raise CliError(f"{how} names {chosen}, which is not a file")


def _settings_source() -> str:
    file = Path(env_file())
    return f"from the environment and {file}" if file.is_file() else "from the environment"


def _cause(error: AppError) -> str:
    """Why the database is away (a wrong host, a refused port, an unreadable file): the operator at
    the terminal needs it; API callers are only told to retry."""
    if not isinstance(error, StoreUnavailable) or error.__cause__ is None:
        return ""
    lines = str(error.__cause__).strip().splitlines()
    return f" ({lines[0]})" if lines else f" ({type(error.__cause__).__name__})"


def _version() -> str:
    try:
        return metadata.version("watemplates")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watemplates", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"watemplates {_version()}")
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help="read settings from PATH instead of ./.env (the environment still wins over it)",
    )
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

    migrate_cmd = sub.add_parser(
        "migrate", help="create the database or migrate it to the newest schema (no other command creates it)"
    )
    migrate_cmd.add_argument("--revision", default="head")
    migrate_cmd.set_defaults(run=_migrate)

    config = sub.add_parser(
        "config", help="show the settings in effect and where each comes from (secrets and passwords masked)"
    )
    add_json_flag(config)
    config.set_defaults(run=_config)

    add_tenancy_commands(sub)
    add_template_commands(sub, definition_to_meta)

    campaigns = sub.add_parser("campaigns", help="campaigns").add_subparsers(title="campaigns commands")
    audience = campaigns.add_parser(
        "audience", help="add contacts to a campaign's audience from a CSV file (first column)"
    )
    audience.add_argument("--org", required=True)
    audience.add_argument("--campaign", required=True, help="the campaign id (campaigns/{id} or {id})")
    audience.add_argument("--file", required=True, type=Path, help="CSV; a header row is skipped")
    add_json_flag(audience)
    audience.set_defaults(run=admin_action(_campaign_audience))

    add_notification_commands(sub)

    lint_cmd = sub.add_parser(
        "lint", help="lint a template definition (Meta's JSON) offline; exit 1 on errors"
    )
    lint_cmd.add_argument("file", type=Path, help="the definition's JSON file; - reads standard input")
    lint_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    lint_cmd.set_defaults(run=_lint)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from app.main import ROLES, run_server

    settings = Settings()
    if not settings.migrate_on_start:
        # Nothing will create the schema: refuse now, in words, rather than fail on the first query.
        asyncio.run(require_schema(settings.database_url))
    chosen = set(args.role or ["all"])
    run_server(settings, frozenset(ROLES) if "all" in chosen else frozenset(chosen), child_of=args.child_of)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    asyncio.run(migrate(settings.database_url, args.revision))
    print(f"database at {masked_url(settings.database_url)} is at revision {args.revision}")
    return 0


def _config(args: argparse.Namespace) -> int:
    """Each setting's value as this process sees it, and its source: the environment, the settings
    file, or the default. Answers "which database does this use, and why?" without connecting."""
    settings = Settings()
    file = Path(env_file())
    in_file = {key.upper() for key in dotenv_values(file, encoding="utf-8")} if file.is_file() else set()
    in_environment = {key.upper() for key in os.environ}
    rows: list[dict[str, Any]] = []
    for field in type(settings).model_fields:
        variable = f"WATEMPLATES_{field.upper()}"
        source = "environment" if variable in in_environment else "file" if variable in in_file else "default"
        value = _shown(field, getattr(settings, field))
        rows.append({"variable": variable, "value": value, "source": source})
    file_note = str(file.resolve()) if file.is_file() else None
    if args.json:
        print_json({"env_file": file_note, "settings": rows})
        return 0
    print(f"settings file: {file_note or f'none ({file} not found in {Path.cwd()})'}")
    width = max(len(row["variable"]) for row in rows)
    for row in rows:
        print(f"{row['variable']:<{width}}  {_human(row['value'])}  [{row['source']}]")
    return 0


def _shown(field: str, value: object) -> object:
    """A setting as it may be shown: secrets never, the database URL without its password."""
    if isinstance(value, SecretStr):
        return "***" if value.get_secret_value() else None
    if field == "database_url" and isinstance(value, str):
        return masked_url(value)
    return value


def _human(value: object) -> str:
    """A value as it would be written in the environment (true, not True), and words for none."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value != "" else "(empty)"


async def _campaign_audience(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    cli_operator = operator(org)
    campaign_id = args.campaign.removeprefix("campaigns/")
    try:
        contacts = read_contacts_csv(args.file)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from exc
    added = 0
    # The API's page size: a large file goes in several transactions, each within the limits.
    for start in range(0, len(contacts), AUDIENCE_PAGE):
        page = contacts[start : start + AUDIENCE_PAGE]
        added += await services.bus.handle(AddCampaignAudience(cli_operator, campaign_id, page))
    say(
        args,
        {"campaign": f"campaigns/{campaign_id}", "added": added, "already_there": len(contacts) - added},
        f"{added} contact(s) added to campaigns/{campaign_id} ({len(contacts) - added} already there)",
    )
    return 0


def _lint(args: argparse.Namespace) -> int:
    """Exit 0: no errors (warnings may be printed); 1: the template breaks at least one rule;
    2: the file (standard input for -) could not be read as a template. With --json, standard output
    is always one JSON document, an `error` object in the last case."""
    from_stdin = str(args.file) == STDIN
    source = STDIN_LABEL if from_stdin else str(args.file)
    try:
        # Bytes, decoded here: a file and standard input are told apart only by where they come from.
        data = sys.stdin.buffer.read() if from_stdin else args.file.read_bytes()
        payload = json.loads(data.decode("utf-8"))
        report = lint(definition_from_meta(payload))
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        return _unreadable(args, "UNREADABLE_FILE", f"cannot read {source}: {why}")
    except json.JSONDecodeError as exc:
        return _unreadable(args, "NOT_JSON", f"{source} is not JSON: {exc}")
    except PayloadError as exc:
        return _unreadable(args, "NOT_A_TEMPLATE", f"{source}: {exc}")
    if args.json:
        print(json.dumps(_report_json(report), indent=2, ensure_ascii=False))
    else:
        _print_report(source, report)
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


def _print_report(path: str, report: LintReport) -> None:
    for v in report.violations:
        print(f"{path}: {v.severity.value.lower()}: {v.code}: {v.field}: {v.message}")
    verdict = "ok" if report.valid else "invalid"
    print(f"{path}: {verdict} ({len(report.errors)} errors, {len(report.warnings)} warnings)")


if __name__ == "__main__":
    sys.exit(main())
