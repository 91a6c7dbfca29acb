"""Tenancy use cases: organizations, API keys (issue, authenticate, revoke), roles and WABAs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.auth import KEY_PREFIX, Authenticator, Principal, hash_key
from app.bootstrap import build_bus
from app.commands import AddWaba, CreateApiKey, CreateOrganization, OrganizationCreated, RevokeApiKey
from app.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from app.messagebus import MessageBus
from domain.tenancy import Role
from fakes import FakeUnitOfWorkFactory, FrozenClock


@dataclass
class Tenancy:
    factory: FakeUnitOfWorkFactory
    clock: FrozenClock
    bus: MessageBus
    authenticator: Authenticator


@pytest.fixture
def tenancy() -> Tenancy:
    factory = FakeUnitOfWorkFactory()
    clock = FrozenClock()
    return Tenancy(factory, clock, build_bus(factory, clock), Authenticator(factory, cache_seconds=0))


# ---- organizations ------------------------------------------------------------------------------


async def test_create_organization(tenancy: Tenancy) -> None:
    created = await tenancy.bus.handle(CreateOrganization("acme-corp", "ACME Corporation"))

    assert created.slug == "acme-corp"
    org = tenancy.factory.store.organizations[created.org_id]
    assert (org.slug, org.display_name, org.created_at) == (
        "acme-corp",
        "ACME Corporation",
        tenancy.clock.now(),
    )


async def test_organization_display_name_defaults_to_the_slug(tenancy: Tenancy) -> None:
    created = await tenancy.bus.handle(CreateOrganization("acme"))

    assert tenancy.factory.store.organizations[created.org_id].display_name == "acme"


@pytest.mark.parametrize(
    "slug",
    ["", "a", "Acme", "1acme", "-acme", "acme_corp", "acme corp", "acme\n", "a" * 64, "acmé"],
    ids=[
        "empty",
        "one-char",
        "uppercase",
        "digit-first",
        "dash-first",
        "underscore",
        "space",
        "newline",
        "too-long",
        "non-ascii",
    ],
)
async def test_bad_organization_slug_is_invalid(tenancy: Tenancy, slug: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await tenancy.bus.handle(CreateOrganization(slug))

    assert [v.field for v in caught.value.violations] == ["slug"]
    assert tenancy.factory.store.organizations == {}


@pytest.mark.parametrize("slug", ["ab", "acme-2", "a" * 63])
async def test_slug_limits_are_inclusive(tenancy: Tenancy, slug: str) -> None:
    created = await tenancy.bus.handle(CreateOrganization(slug))

    assert created.slug == slug


async def test_duplicate_organization_slug_already_exists(tenancy: Tenancy) -> None:
    await tenancy.bus.handle(CreateOrganization("acme"))

    with pytest.raises(AlreadyExists) as caught:
        await tenancy.bus.handle(CreateOrganization("acme", "Another ACME"))

    assert (caught.value.resource_type, caught.value.name) == ("organization", "acme")
    assert len(tenancy.factory.store.organizations) == 1


# ---- API keys -----------------------------------------------------------------------------------


async def org(tenancy: Tenancy, slug: str = "acme") -> OrganizationCreated:
    return await tenancy.bus.handle(CreateOrganization(slug))


async def test_create_api_key_shows_the_secret_once_and_stores_its_hash(tenancy: Tenancy) -> None:
    acme = await org(tenancy)

    created = await tenancy.bus.handle(CreateApiKey("acme", Role.OPERATOR))

    assert created.secret.startswith(f"{KEY_PREFIX}_{created.prefix}_")
    stored = tenancy.factory.store.api_keys[created.key_id]
    assert (stored.org_id, stored.role, stored.prefix) == (acme.org_id, Role.OPERATOR, created.prefix)
    assert stored.key_hash == hash_key(created.secret) != created.secret
    assert created.secret not in repr(stored)
    assert stored.created_at == tenancy.clock.now()
    assert stored.active


async def test_every_key_is_different(tenancy: Tenancy) -> None:
    await org(tenancy)

    keys = [await tenancy.bus.handle(CreateApiKey("acme", Role.VIEWER)) for _ in range(5)]

    assert (
        len({k.secret for k in keys}) == len({k.prefix for k in keys}) == len({k.key_id for k in keys}) == 5
    )


async def test_api_key_for_an_unknown_organization_is_not_found(tenancy: Tenancy) -> None:
    with pytest.raises(NotFound) as caught:
        await tenancy.bus.handle(CreateApiKey("ghost", Role.ADMIN))

    assert (caught.value.resource_type, caught.value.name) == ("organization", "ghost")
    assert tenancy.factory.store.api_keys == {}


@pytest.mark.parametrize("role", list(Role))
async def test_authenticate_resolves_the_key_to_its_org_and_role(tenancy: Tenancy, role: Role) -> None:
    acme = await org(tenancy)
    created = await tenancy.bus.handle(CreateApiKey("acme", role))

    principal = await tenancy.authenticator.authenticate(created.secret)

    assert principal == Principal(
        org_id=acme.org_id, role=role, key_id=created.key_id, key_prefix=created.prefix
    )


async def test_keys_of_two_organizations_resolve_to_their_own_org(tenancy: Tenancy) -> None:
    acme, globex = await org(tenancy, "acme"), await org(tenancy, "globex")
    key_a = await tenancy.bus.handle(CreateApiKey("acme", Role.ADMIN))
    key_b = await tenancy.bus.handle(CreateApiKey("globex", Role.ADMIN))

    assert (await tenancy.authenticator.authenticate(key_a.secret)).org_id == acme.org_id
    assert (await tenancy.authenticator.authenticate(key_b.secret)).org_id == globex.org_id


@pytest.mark.parametrize("secret", [None, ""])
async def test_missing_key_is_unauthenticated(tenancy: Tenancy, secret: str | None) -> None:
    with pytest.raises(Unauthenticated, match="missing"):
        await tenancy.authenticator.authenticate(secret)


async def test_unknown_key_is_unauthenticated(tenancy: Tenancy) -> None:
    await org(tenancy)
    created = await tenancy.bus.handle(CreateApiKey("acme", Role.ADMIN))

    for secret in ("wat_000000000000_nope", created.secret + "x", created.secret.upper(), created.prefix):
        with pytest.raises(Unauthenticated, match="unknown or revoked"):
            await tenancy.authenticator.authenticate(secret)


async def test_revoked_key_no_longer_authenticates(tenancy: Tenancy) -> None:
    await org(tenancy)
    revoked = await tenancy.bus.handle(CreateApiKey("acme", Role.ADMIN))
    kept = await tenancy.bus.handle(CreateApiKey("acme", Role.ADMIN))
    await tenancy.authenticator.authenticate(revoked.secret)
    tenancy.clock.advance(minutes=1)

    await tenancy.bus.handle(RevokeApiKey(revoked.prefix))

    with pytest.raises(Unauthenticated):
        await tenancy.authenticator.authenticate(revoked.secret)
    assert tenancy.factory.store.api_keys[revoked.key_id].revoked_at == tenancy.clock.now()
    assert (await tenancy.authenticator.authenticate(kept.secret)).key_id == kept.key_id


async def test_revoking_twice_keeps_the_first_revocation_time(tenancy: Tenancy) -> None:
    await org(tenancy)
    created = await tenancy.bus.handle(CreateApiKey("acme", Role.ADMIN))
    await tenancy.bus.handle(RevokeApiKey(created.prefix))
    first = tenancy.factory.store.api_keys[created.key_id].revoked_at
    tenancy.clock.advance(days=1)

    await tenancy.bus.handle(RevokeApiKey(created.prefix))

    assert tenancy.factory.store.api_keys[created.key_id].revoked_at == first


async def test_revoking_an_unknown_prefix_is_not_found(tenancy: Tenancy) -> None:
    with pytest.raises(NotFound) as caught:
        await tenancy.bus.handle(RevokeApiKey("abcdef123456"))

    assert caught.value.resource_type == "api key"


async def test_a_caching_authenticator_honours_revocation_only_after_its_ttl(tenancy: Tenancy) -> None:
    # Documented trade-off (Settings.auth_cache_seconds): a cached key works until the entry expires.
    await org(tenancy)
    created = await tenancy.bus.handle(CreateApiKey("acme", Role.ADMIN))
    caching = Authenticator(tenancy.factory, cache_seconds=300)
    await caching.authenticate(created.secret)

    await tenancy.bus.handle(RevokeApiKey(created.prefix))

    assert (await caching.authenticate(created.secret)).key_id == created.key_id
    with pytest.raises(Unauthenticated):
        await tenancy.authenticator.authenticate(created.secret)


# ---- roles --------------------------------------------------------------------------------------


def test_roles_are_ordered_viewer_operator_admin() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN
    assert sorted([Role.ADMIN, Role.VIEWER, Role.OPERATOR]) == [Role.VIEWER, Role.OPERATOR, Role.ADMIN]


@pytest.mark.parametrize(
    ("held", "needed", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.OPERATOR, False),
        (Role.VIEWER, Role.ADMIN, False),
        (Role.OPERATOR, Role.VIEWER, True),
        (Role.OPERATOR, Role.OPERATOR, True),
        (Role.OPERATOR, Role.ADMIN, False),
        (Role.ADMIN, Role.VIEWER, True),
        (Role.ADMIN, Role.OPERATOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_a_role_can_do_everything_a_lower_one_can(held: Role, needed: Role, allowed: bool) -> None:
    principal = Principal(org_id="org", role=held, key_id="key")

    if allowed:
        principal.require(needed)
    else:
        with pytest.raises(PermissionDenied) as caught:
            principal.require(needed)
        assert (caught.value.needed, caught.value.held) == (needed.name.lower(), held.name.lower())


@pytest.mark.parametrize(
    ("raw", "role"), [("viewer", Role.VIEWER), (" Operator ", Role.OPERATOR), ("ADMIN", Role.ADMIN)]
)
def test_role_parse_is_case_insensitive(raw: str, role: Role) -> None:
    assert Role.parse(raw) is role


@pytest.mark.parametrize("raw", ["", "root", "owner", "1"])
def test_unknown_role_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse(raw)


# ---- WABAs --------------------------------------------------------------------------------------


async def test_add_waba(tenancy: Tenancy) -> None:
    acme = await org(tenancy)

    await tenancy.bus.handle(AddWaba("acme", "1234567890", "Support line", ("15550001", "15550002")))

    waba = tenancy.factory.store.wabas["1234567890"]
    assert (waba.org_id, waba.display_name, waba.phone_number_ids) == (
        acme.org_id,
        "Support line",
        ("15550001", "15550002"),
    )
    assert waba.created_at == tenancy.clock.now()


async def test_waba_display_name_defaults_to_its_id(tenancy: Tenancy) -> None:
    await org(tenancy)

    await tenancy.bus.handle(AddWaba("acme", "42"))

    assert tenancy.factory.store.wabas["42"].display_name == "42"


@pytest.mark.parametrize(
    ("waba_id", "phones", "fields"),
    [
        ("abc", (), ["waba_id"]),
        ("", (), ["waba_id"]),
        ("12-34", (), ["waba_id"]),
        (" 1234", (), ["waba_id"]),
        ("1234\n", (), ["waba_id"]),
        ("١٢٣", (), ["waba_id"]),
        ("1" * 33, (), ["waba_id"]),
        ("1234", ("+15550001",), ["phone_number_id"]),
        ("x1", ("555", "55 5", "abc"), ["waba_id", "phone_number_id", "phone_number_id"]),
    ],
)
async def test_waba_and_phone_ids_must_be_digits(
    tenancy: Tenancy, waba_id: str, phones: tuple[str, ...], fields: list[str]
) -> None:
    await org(tenancy)

    with pytest.raises(InvalidArgument) as caught:
        await tenancy.bus.handle(AddWaba("acme", waba_id, phone_number_ids=phones))

    assert [v.field for v in caught.value.violations] == fields
    assert tenancy.factory.store.wabas == {}


async def test_waba_owned_by_another_org_already_exists(tenancy: Tenancy) -> None:
    acme = await org(tenancy, "acme")
    await org(tenancy, "globex")
    await tenancy.bus.handle(AddWaba("acme", "1234", "ACME line"))

    with pytest.raises(AlreadyExists) as caught:
        await tenancy.bus.handle(AddWaba("globex", "1234", "Globex line"))

    assert (caught.value.resource_type, caught.value.name) == ("waba", "1234")
    waba = tenancy.factory.store.wabas["1234"]
    assert (waba.org_id, waba.display_name) == (acme.org_id, "ACME line")


async def test_adding_a_waba_again_merges_phone_numbers(tenancy: Tenancy) -> None:
    await org(tenancy)
    await tenancy.bus.handle(AddWaba("acme", "1234", "First name", ("111", "222")))

    await tenancy.bus.handle(AddWaba("acme", "1234", phone_number_ids=("222", "333", "333")))
    waba = tenancy.factory.store.wabas["1234"]
    assert (waba.display_name, waba.phone_number_ids) == ("First name", ("111", "222", "333"))

    await tenancy.bus.handle(AddWaba("acme", "1234", "Renamed"))
    assert tenancy.factory.store.wabas["1234"].display_name == "Renamed"
    assert len(tenancy.factory.store.wabas) == 1


async def test_a_phone_number_belongs_to_one_waba(tenancy: Tenancy) -> None:
    await org(tenancy)
    await tenancy.bus.handle(AddWaba("acme", "1234", phone_number_ids=("111",)))

    with pytest.raises(AlreadyExists) as caught:
        await tenancy.bus.handle(AddWaba("acme", "5678", phone_number_ids=("111",)))

    assert (caught.value.resource_type, caught.value.name) == ("phone_number", "111")
    assert set(tenancy.factory.store.wabas) == {"1234"}


async def test_waba_for_an_unknown_organization_is_not_found(tenancy: Tenancy) -> None:
    with pytest.raises(NotFound):
        await tenancy.bus.handle(AddWaba("ghost", "1234"))

    assert tenancy.factory.store.wabas == {}
