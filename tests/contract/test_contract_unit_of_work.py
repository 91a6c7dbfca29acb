"""The unit of work: a transaction that rolls back unless committed, on every store."""

from __future__ import annotations

import pytest

from app.ports import TemplateQuery, UnitOfWorkFactory
from support.store_samples import ORG_A, new_template


async def test_unit_of_work_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        assert await uow.templates.get(ORG_A, "tpl-1") is not None
    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_uncommitted_writes_are_invisible_to_other_units(uow_factory: UnitOfWorkFactory) -> None:
    template = new_template("tpl-1")
    async with uow_factory() as writer:
        await writer.templates.add(template)
        # A reader beside the writer: read-only, because SQLite lets one writer in at a time.
        async with uow_factory(read_only=True) as reader:
            assert await reader.templates.get(ORG_A, "tpl-1") is None
        assert await writer.templates.get(ORG_A, "tpl-1") == template
        await writer.commit()
    async with uow_factory(read_only=True) as reader:
        assert await reader.templates.get(ORG_A, "tpl-1") == template


async def test_unit_of_work_rolls_back_on_exception(uow_factory: UnitOfWorkFactory) -> None:
    async def fail_midway() -> None:
        async with uow_factory() as uow:
            await uow.templates.add(new_template("tpl-1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_midway()
    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_unit_of_work_explicit_rollback_and_work_after_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        await uow.rollback()
        await uow.templates.add(new_template("tpl-2"))
        await uow.commit()
        # After a commit the next statement opens a new transaction, rolled back on exit.
        await uow.templates.add(new_template("tpl-3", language_code="es"))
    async with uow_factory() as uow:
        ids = [t.id for t in await uow.templates.list(TemplateQuery(org_id=ORG_A))]
    assert ids == ["tpl-2"]


async def test_unit_of_work_cannot_be_entered_twice(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="entered twice"):
        async with uow:
            pass
