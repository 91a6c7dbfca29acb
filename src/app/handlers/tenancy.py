"""Organization, API key and WABA administration (the CLI's use cases)."""

from __future__ import annotations

import secrets

from app.auth import issue_key
from app.commands import (
    AddWaba,
    ApiKeyCreated,
    CreateApiKey,
    CreateOrganization,
    OrganizationCreated,
    RevokeApiKey,
)
from app.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.tenancy import ORG_SLUG, WABA_ID, ApiKey, Organization, Waba


async def create_organization(
    command: CreateOrganization, uow_factory: UnitOfWorkFactory, clock: Clock
) -> OrganizationCreated:
    if not ORG_SLUG.fullmatch(command.slug):
        raise InvalidArgument(
            f"organization slug {command.slug!r} is invalid",
            [
                FieldViolation(
                    "slug", "2-63 characters: lowercase letters, digits and '-', starting with a letter"
                )
            ],
        )
    async with uow_factory() as uow:
        if await uow.organizations.get_by_slug(command.slug) is not None:
            raise AlreadyExists("organization", command.slug)
        org = Organization(
            id=secrets.token_hex(16),
            slug=command.slug,
            display_name=command.display_name or command.slug,
            created_at=clock.now(),
        )
        await uow.organizations.add(org)
        await uow.commit()
    return OrganizationCreated(org_id=org.id, slug=org.slug)


async def create_api_key(
    command: CreateApiKey, uow_factory: UnitOfWorkFactory, clock: Clock
) -> ApiKeyCreated:
    issued = issue_key()
    async with uow_factory() as uow:
        org = await _org_by_slug(uow, command.org_slug)
        await uow.api_keys.add(
            ApiKey(
                id=issued.key_id,
                org_id=org.id,
                role=command.role,
                key_hash=issued.key_hash,
                prefix=issued.prefix,
                created_at=clock.now(),
            )
        )
        await uow.commit()
    return ApiKeyCreated(key_id=issued.key_id, prefix=issued.prefix, secret=issued.secret)


async def revoke_api_key(command: RevokeApiKey, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
    async with uow_factory() as uow:
        key = await uow.api_keys.get_by_prefix(command.prefix)
        if key is None:
            raise NotFound("api key", command.prefix)
        if key.revoked_at is None:
            key.revoked_at = clock.now()
            await uow.api_keys.save(key)
            await uow.commit()


async def add_waba(command: AddWaba, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
    violations = [
        FieldViolation(field, f"{value!r} is not a Meta id (digits only)")
        for field, value in [("waba_id", command.waba_id)]
        + [("phone_number_id", p) for p in command.phone_number_ids]
        if not WABA_ID.fullmatch(value)
    ]
    if violations:
        raise InvalidArgument("WABA and phone number ids are Meta's numeric ids", violations)
    async with uow_factory() as uow:
        org = await _org_by_slug(uow, command.org_slug)
        existing = await uow.wabas.get(command.waba_id)
        if existing is not None and existing.org_id != org.id:
            # A WABA's webhooks are routed to exactly one organization.
            raise AlreadyExists("waba", command.waba_id)
        if existing is None:
            await uow.wabas.add(
                Waba(
                    waba_id=command.waba_id,
                    org_id=org.id,
                    display_name=command.display_name or command.waba_id,
                    created_at=clock.now(),
                    phone_number_ids=tuple(dict.fromkeys(command.phone_number_ids)),
                )
            )
        else:
            merged = tuple(dict.fromkeys((*existing.phone_number_ids, *command.phone_number_ids)))
            existing.phone_number_ids = merged
            if command.display_name:
                existing.display_name = command.display_name
            await uow.wabas.save(existing)
        # Webhooks that arrived before the WABA was registered are processed now.
        await uow.inbox.release_parked(command.waba_id)
        await uow.commit()


async def _org_by_slug(uow: UnitOfWork, slug: str) -> Organization:
    org = await uow.organizations.get_by_slug(slug)
    if org is None:
        raise NotFound("organization", slug)
    return org
