"""What the operator's CLI commands share: running an action against the configured database, and
finding an organization by its slug."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from adapters.sql.migrate import upgrade
from adapters.sql.unit_of_work import is_transient_error
from app.auth import Principal
from app.bootstrap import Services, build_services
from app.errors import NotFound, StoreUnavailable
from app.settings import Settings
from domain.tenancy import Organization, Role


def admin_action(
    action: Callable[[Services, argparse.Namespace], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    """Runs an admin action against the configured database (migrated first, like the server)."""

    def run(args: argparse.Namespace) -> int:
        settings = Settings()

        async def go() -> int:
            if settings.migrate_on_start:
                try:
                    await asyncio.to_thread(upgrade, settings.database_url)
                except Exception as exc:
                    if is_transient_error(exc):
                        raise StoreUnavailable() from exc
                    raise
            services = await build_services(settings)
            try:
                return await action(services, args)
            finally:
                await services.close()

        return asyncio.run(go())

    return run


async def organization_of(services: Services, slug: str) -> Organization:
    async with services.uow_factory(read_only=True) as uow:
        org = await uow.organizations.get_by_slug(slug)
    if org is None:
        raise NotFound("organization", slug)
    return org


def operator(org: Organization) -> Principal:
    """The operator at the terminal acts for the organization with full rights."""
    return Principal(org_id=org.id, role=Role.ADMIN, key_id="cli")
