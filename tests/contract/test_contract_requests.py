"""Idempotency records and service secrets, on every store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.errors import AlreadyExists
from app.ports import IdempotencyRecord, UnitOfWorkFactory
from support.store_samples import NOW, ORG_A, ORG_B


async def test_idempotency_record_add_get_and_duplicate(uow_factory: UnitOfWorkFactory) -> None:
    record = IdempotencyRecord(
        org_id=ORG_A,
        operation="CreateTemplate",
        request_id="7d8a9d4e-0000-4000-8000-000000000001",
        request_fingerprint="sha256:abc",
        resource_id="tpl-1",
        created_at=NOW,
    )
    async with uow_factory() as uow:
        await uow.idempotency.add(record)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.idempotency.get(ORG_A, "CreateTemplate", record.request_id) == record
        assert await uow.idempotency.get(ORG_B, "CreateTemplate", record.request_id) is None
        assert await uow.idempotency.get(ORG_A, "UpdateTemplate", record.request_id) is None
        with pytest.raises(AlreadyExists) as raised:
            await uow.idempotency.add(replace(record, resource_id="tpl-2"))
        assert raised.value.resource_type == "request"
        assert raised.value.name == record.request_id
        # Same request id for another operation or organization is a different key.
        await uow.idempotency.add(replace(record, operation="UpdateTemplate"))
        await uow.idempotency.add(replace(record, org_id=ORG_B))
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.idempotency.get(ORG_A, "CreateTemplate", record.request_id)
        assert stored is not None
        assert stored.resource_id == "tpl-1"
        assert await uow.idempotency.get(ORG_B, "CreateTemplate", record.request_id) == replace(
            record, org_id=ORG_B
        )


async def test_secret_get_or_create_keeps_the_first_value(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.secrets.get_or_create("cursor-key", b"\x00first\xff") == b"\x00first\xff"
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.secrets.get_or_create("cursor-key", b"second") == b"\x00first\xff"
        assert await uow.secrets.get_or_create("other", b"other") == b"other"
