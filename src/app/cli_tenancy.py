"""The operator's tenancy commands: organizations (create, list), API keys (create, revoke, list) and
WABAs (add, list)."""

from __future__ import annotations

import argparse
from typing import Any

from app import commands
from app.bootstrap import Services
from app.cli_admin import admin_action, organization_of
from app.cli_output import Record, add_json_flag, err, iso, out, say, show
from app.resource_names import waba_name
from domain.tenancy import ApiKey, Organization, Role, Waba


def add_tenancy_commands(sub: Any) -> None:
    org = sub.add_parser("org", help="organizations").add_subparsers(title="org commands")
    create = org.add_parser("create", help="create an organization")
    create.add_argument("slug", help="short handle, e.g. acme")
    create.add_argument("--name", default="", help="display name")
    add_json_flag(create)
    create.set_defaults(run=admin_action(_org_create))
    org_list = org.add_parser("list", help="list organizations")
    add_json_flag(org_list)
    org_list.set_defaults(run=admin_action(_org_list))

    key = sub.add_parser("apikey", help="API keys").add_subparsers(title="apikey commands")
    key_create = key.add_parser("create", help="create an API key (shown once)")
    key_create.add_argument("--org", required=True)
    key_create.add_argument("--role", required=True, choices=[r.name.lower() for r in Role])
    add_json_flag(key_create)
    key_create.set_defaults(run=admin_action(_key_create))
    key_revoke = key.add_parser("revoke", help="revoke an API key by its prefix")
    key_revoke.add_argument("prefix")
    key_revoke.set_defaults(run=admin_action(_key_revoke))
    key_list = key.add_parser("list", help="list an organization's API keys (never their secrets)")
    key_list.add_argument("--org", required=True)
    add_json_flag(key_list)
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
    add_json_flag(waba_list)
    waba_list.set_defaults(run=admin_action(_waba_list))


def org_record(org: Organization) -> Record:
    return {
        "id": org.id,
        "slug": org.slug,
        "display_name": org.display_name,
        "created_at": iso(org.created_at),
    }


def key_record(key: ApiKey) -> Record:
    # The secret is not stored (only its hash), so it cannot be listed; the hash is not shown either.
    return {
        "prefix": key.prefix,
        "role": key.role.name,
        "state": "REVOKED" if key.revoked_at else "ACTIVE",
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


def waba_record(waba: Waba) -> Record:
    return {
        "name": waba_name(waba.waba_id),
        "waba_id": waba.waba_id,
        "display_name": waba.display_name,
        "phone_number_ids": list(waba.phone_number_ids),
        "created_at": iso(waba.created_at),
    }


async def _org_create(services: Services, args: argparse.Namespace) -> int:
    created = await services.bus.handle(commands.CreateOrganization(args.slug, args.name))
    org = await organization_of(services, created.slug)
    say(args, org_record(org), f"organization {created.slug} created (id {created.org_id})")
    return 0


async def _org_list(services: Services, args: argparse.Namespace) -> int:
    async with services.uow_factory(read_only=True) as uow:
        orgs = await uow.organizations.list()
    show(
        args,
        orgs,
        org_record,
        lambda org: f"{org.slug}\t{org.display_name}\t{org.created_at.isoformat()}",
        "no organizations yet: create one with `watemplates org create NAME`",
    )
    return 0


async def _key_create(services: Services, args: argparse.Namespace) -> int:
    created = await services.bus.handle(commands.CreateApiKey(args.org, Role.parse(args.role)))
    # The one place a key's secret is ever printed: it is not kept, so this is the only chance.
    document = {
        "prefix": created.prefix,
        "role": args.role.upper(),
        "org": args.org,
        "secret": created.secret,
    }
    say(args, document, created.secret)
    err(
        f"API key {created.prefix} ({args.role}) for {args.org}: store it now, it is not shown again. "
        f"Send it as the gRPC metadata 'authorization: Bearer <key>'."
    )
    return 0


async def _key_revoke(services: Services, args: argparse.Namespace) -> int:
    await services.bus.handle(commands.RevokeApiKey(args.prefix))
    out(f"API key {args.prefix} revoked")
    return 0


async def _key_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    async with services.uow_factory(read_only=True) as uow:
        keys = await uow.api_keys.list_for_org(org.id)

    def line(key: ApiKey) -> str:
        state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        return f"{key.prefix}\t{key.role.name.lower()}\t{state}\tcreated {key.created_at.isoformat()}"

    show(
        args,
        keys,
        key_record,
        line,
        f"no API keys for {args.org} yet: create one with "
        f"`watemplates apikey create --org {args.org} --role viewer`",
    )
    return 0


async def _waba_add(services: Services, args: argparse.Namespace) -> int:
    await services.bus.handle(
        commands.AddWaba(args.org, args.waba_id, args.name, tuple(args.phone_number_id))
    )
    out(f"WABA {args.waba_id} registered to {args.org}")
    return 0


async def _waba_list(services: Services, args: argparse.Namespace) -> int:
    org = await organization_of(services, args.org)
    async with services.uow_factory(read_only=True) as uow:
        wabas = await uow.wabas.list_for_org(org.id)
    show(
        args,
        wabas,
        waba_record,
        lambda waba: (
            f"{waba.waba_id}\t{waba.display_name}\tphone numbers: {', '.join(waba.phone_number_ids) or '-'}"
        ),
        f"no WABAs registered to {args.org} yet: add one with "
        f"`watemplates waba add --org {args.org} --waba-id ID`",
    )
    return 0
