"""Organizations, API keys and WABAs, on every store (see conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.errors import AlreadyExists
from app.ports import UnitOfWorkFactory
from domain.tenancy import ApiKey, Organization, Role, Waba
from support.store_samples import NOW, ORG_A, ORG_B, WABA_A1, WABA_A2, WABA_B


async def test_organization_round_trip_by_id_and_slug(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        org = await uow.organizations.get_by_slug("acme")
        assert org == Organization(id=ORG_A, slug="acme", display_name="Acme", created_at=NOW)
        assert org.created_at.tzinfo is not None
        assert await uow.organizations.get(ORG_B) == await uow.organizations.get_by_slug("globex")
        assert await uow.organizations.get("org-404") is None
        assert await uow.organizations.get_by_slug("nobody") is None
        assert [o.slug for o in await uow.organizations.list()] == ["acme", "globex"]


async def test_duplicate_organization_slug_is_already_exists(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists) as raised:
            await uow.organizations.add(
                Organization(id="org-c", slug="acme", display_name="X", created_at=NOW)
            )
        assert raised.value.name == "acme"
        assert len(await uow.organizations.list()) == 2


async def test_api_key_by_hash_and_prefix_and_revoke(uow_factory: UnitOfWorkFactory) -> None:
    key = ApiKey(
        id="key-1", org_id=ORG_A, role=Role.OPERATOR, key_hash="h" * 64, prefix="wt_abc123", created_at=NOW
    )
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.commit()

    revoked_at = NOW + timedelta(days=1)
    async with uow_factory() as uow:
        stored = await uow.api_keys.get_by_hash("h" * 64)
        assert stored == key
        assert stored.active
        assert await uow.api_keys.get_by_prefix("wt_abc123") == key
        assert await uow.api_keys.get_by_hash("nope") is None
        stored.revoked_at = revoked_at
        stored.role = Role.ADMIN
        await uow.api_keys.save(stored)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.api_keys.get_by_hash("h" * 64)
        assert stored is not None
        assert stored.revoked_at == revoked_at
        assert stored.role is Role.ADMIN
        assert not stored.active
        assert [k.id for k in await uow.api_keys.list_for_org(ORG_A)] == ["key-1"]
        assert await uow.api_keys.list_for_org(ORG_B) == []


async def test_api_key_hash_and_prefix_are_unique(uow_factory: UnitOfWorkFactory) -> None:
    key = ApiKey(id="key-1", org_id=ORG_A, role=Role.VIEWER, key_hash="h" * 64, prefix="wt_1", created_at=NOW)
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        for clash in (replace(key, id="key-2", prefix="wt_2"), replace(key, id="key-3", key_hash="g" * 64)):
            with pytest.raises(AlreadyExists) as raised:
                await uow.api_keys.add(clash)
            assert (raised.value.resource_type, raised.value.name) == ("api_key", clash.prefix)
        # Listed oldest first; the clashes left the transaction usable.
        await uow.api_keys.add(replace(key, id="key-0", key_hash="f" * 64, prefix="wt_0", created_at=NOW))
        await uow.api_keys.add(
            replace(key, id="key-9", key_hash="e" * 64, prefix="wt_9", created_at=NOW - timedelta(days=1))
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert [k.id for k in await uow.api_keys.list_for_org(ORG_A)] == ["key-9", "key-0", "key-1"]


async def test_waba_with_phone_numbers(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.wabas.add(
            Waba(
                waba_id="300",
                org_id=ORG_A,
                display_name="Support",
                created_at=NOW,
                phone_number_ids=("12", "11", "12"),
            )
        )
        await uow.commit()

    async with uow_factory() as uow:
        waba = await uow.wabas.get("300")
        assert waba == Waba(
            waba_id="300", org_id=ORG_A, display_name="Support", created_at=NOW, phone_number_ids=("11", "12")
        )
        assert [w.waba_id for w in await uow.wabas.list_for_org(ORG_A)] == [WABA_A1, WABA_A2, "300"]
        waba.display_name = "Support desk"
        waba.phone_number_ids = ("13", "12")
        await uow.wabas.save(waba)
        await uow.commit()

    async with uow_factory() as uow:
        waba = await uow.wabas.get("300")
        assert waba is not None
        assert waba.display_name == "Support desk"
        assert waba.phone_number_ids == ("12", "13")
        assert await uow.wabas.get("404") is None


async def test_phone_number_belongs_to_one_waba(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.wabas.add(
            Waba(waba_id="300", org_id=ORG_A, display_name="A", created_at=NOW, phone_number_ids=("11",))
        )
        with pytest.raises(AlreadyExists) as raised:
            await uow.wabas.add(
                Waba(
                    waba_id="400",
                    org_id=ORG_B,
                    display_name="B",
                    created_at=NOW,
                    phone_number_ids=("11", "21"),
                )
            )
        assert (raised.value.resource_type, raised.value.name) == ("phone_number", "11")
        # Nothing of the refused WABA stays behind, and the transaction goes on.
        assert await uow.wabas.get("400") is None
        with pytest.raises(AlreadyExists) as again:
            await uow.wabas.add(Waba(waba_id="300", org_id=ORG_A, display_name="again", created_at=NOW))
        assert (again.value.resource_type, again.value.name) == ("waba", "300")
        await uow.commit()

    async with uow_factory() as uow:
        assert [w.waba_id for w in await uow.wabas.list_for_org(ORG_B)] == [WABA_B]
        waba = await uow.wabas.get("300")
        assert waba is not None
        assert waba.phone_number_ids == ("11",)
        # Saving cannot take another WABA's number either, and changes nothing then.
        with pytest.raises(AlreadyExists):
            await uow.wabas.save(
                Waba(
                    waba_id=WABA_B, org_id=ORG_B, display_name="B!", created_at=NOW, phone_number_ids=("11",)
                )
            )
        # "21" was not kept by the refused WABA.
        await uow.wabas.add(
            Waba(waba_id="500", org_id=ORG_B, display_name="C", created_at=NOW, phone_number_ids=("21",))
        )
        await uow.commit()
    async with uow_factory() as uow:
        b = await uow.wabas.get(WABA_B)
        assert b is not None
        assert (b.display_name, b.phone_number_ids) == (WABA_B, ())
