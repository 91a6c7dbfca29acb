"""Template aggregates (optimistic versions, natural keys) and their events, on every store."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from app.errors import AlreadyExists, ConcurrentModification
from app.ports import TemplateQuery, UnitOfWorkFactory
from domain.components import Components, ParameterFormat
from domain.events import TemplateEvent, template_event
from domain.observations import Aspect, ChangeSource, Observation, Outcome
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from support.store_samples import (
    NOW,
    ORG_A,
    ORG_B,
    WABA_A1,
    WABA_A2,
    WABA_B,
    add_templates,
    new_template,
    rich_template,
)


async def test_template_round_trip_preserves_every_field(uow_factory: UnitOfWorkFactory) -> None:
    template = rich_template()
    await add_templates(uow_factory, template)

    async with uow_factory() as uow:
        by_id = await uow.templates.get(ORG_A, "tpl-rich")
        by_key = await uow.templates.get_by_key(ORG_A, WABA_A1, "spring_sale", "pt_BR")
        by_meta_id = await uow.templates.get_by_meta_id(WABA_A1, "987654321")
        assert await uow.templates.get_by_meta_id(WABA_A2, "987654321") is None
        assert await uow.templates.get_by_key(ORG_A, WABA_A1, "spring_sale", "en_US") is None
    assert by_id == template
    assert by_key == template
    assert by_meta_id == template


async def test_template_created_from_a_definition_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    template = new_template("tpl-1")
    await add_templates(uow_factory, template)
    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored == template
    assert stored.parameter_format is ParameterFormat.NAMED
    assert [p.key for p in stored.parameters] == ["first_name", "order_id"]


async def test_template_without_category_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    template = replace(rich_template(), id="tpl-nocat", category=None)
    async with uow_factory() as uow:
        await uow.templates.add(template)
        assert (await uow.templates.get(ORG_A, "tpl-nocat")) == template


async def test_the_store_keeps_state_not_the_events_a_template_recorded(
    uow_factory: UnitOfWorkFactory,
) -> None:
    template = new_template("tpl-1")
    template.observe(Observation(Aspect.STATUS, "APPROVED", ChangeSource.WEBHOOK, NOW), received_at=NOW)
    assert template.events
    async with uow_factory() as uow:
        await uow.templates.add(template)
        stored = await uow.templates.get(ORG_A, "tpl-1")
        assert stored is not None
        assert (stored.status, stored.events) == (TemplateStatus.APPROVED, [])
        stored.observe(Observation(Aspect.QUALITY, "RED", ChangeSource.WEBHOOK, NOW), received_at=NOW)
        await uow.templates.update(stored)
        again = await uow.templates.get(ORG_A, "tpl-1")
        assert again is not None
        assert (again.quality, again.events) == (TemplateQuality.RED, [])
    # Storing took nothing from the aggregates themselves.
    assert template.events
    assert stored.events


async def test_duplicate_template_key_is_already_exists_and_writes_nothing(
    uow_factory: UnitOfWorkFactory, integrity_error: type[Exception]
) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        with pytest.raises(AlreadyExists) as raised:
            await uow.templates.add(new_template("tpl-2"))
        assert raised.value.resource_type == "template"
        assert raised.value.name == "order_ready.en_US"
        # The transaction is still usable (PostgreSQL would reject everything after a failed
        # statement) and later work commits.
        await uow.templates.add(new_template("tpl-3", language_code="es"))
        await uow.templates.add(new_template("tpl-4", waba_id=WABA_A2))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-2") is None
        assert await uow.templates.get(ORG_A, "tpl-1") is not None
        assert [t.id for t in await uow.templates.list(TemplateQuery(org_id=ORG_A))] == [
            "tpl-1",
            "tpl-4",
            "tpl-3",
        ]
        # A clash of generated ids is a bug, not "already exists".
        with pytest.raises(integrity_error):
            await uow.templates.add(new_template("tpl-1", display_name="other_name"))


async def test_same_template_key_in_another_organization_is_allowed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-a"))
        await uow.templates.add(new_template("tpl-b", org_id=ORG_B, waba_id=WABA_B))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.get_by_key(ORG_B, WABA_B, "order_ready", "en_US") is not None


async def test_update_stores_state_and_bumps_version(uow_factory: UnitOfWorkFactory) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))

    async with uow_factory() as uow:
        template = await uow.templates.get(ORG_A, "tpl-1")
        assert template is not None
        assert template.version == 1
        template.status = TemplateStatus.APPROVED
        template.raw_status = "APPROVED"
        template.quality = TemplateQuality.GREEN
        template.meta_template_id = "555"
        template.category = TemplateCategory.MARKETING
        template.components = Components(
            body="Hello {{first_name}}, order {{order_id}} can be picked up now."
        )
        template.updated_at = NOW + timedelta(hours=1)
        await uow.templates.update(template)
        assert template.version == 2
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored == template
    assert stored.version == 2


async def test_a_meta_call_mark_keeps_the_version(uow_factory: UnitOfWorkFactory) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))

    async with uow_factory() as uow:
        template = await uow.templates.get(ORG_A, "tpl-1")
        assert template is not None
        template.needs_sync, template.meta_call_started_at = True, NOW + timedelta(minutes=1)
        template.quality = TemplateQuality.RED  # not part of the mark: stays as stored
        await uow.templates.save_meta_call(template)
        # Under another organization it changes nothing.
        await uow.templates.save_meta_call(replace(template, org_id=ORG_B, needs_sync=False))
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored is not None
    assert (stored.needs_sync, stored.meta_call_started_at) == (True, NOW + timedelta(minutes=1))
    assert (stored.version, stored.quality) == (1, TemplateQuality.UNKNOWN)


async def test_stale_update_is_concurrent_modification(uow_factory: UnitOfWorkFactory) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))

    async with uow_factory() as uow:
        first = await uow.templates.get(ORG_A, "tpl-1")
        second = await uow.templates.get(ORG_A, "tpl-1")
        assert first is not None
        assert second is not None
        first.quality = TemplateQuality.RED
        await uow.templates.update(first)
        second.quality = TemplateQuality.GREEN
        with pytest.raises(ConcurrentModification) as raised:
            await uow.templates.update(second)
        assert raised.value.name == "order_ready.en_US"
        assert second.version == 1
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.templates.get(ORG_A, "tpl-1")
    assert stored is not None
    assert stored.quality is TemplateQuality.RED
    assert stored.version == 2


async def test_update_of_another_organizations_template_changes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.templates.add(new_template("tpl-1"))
        intruder = new_template("tpl-1", org_id=ORG_B, waba_id=WABA_B)
        with pytest.raises(ConcurrentModification):
            await uow.templates.update(intruder)
        with pytest.raises(ConcurrentModification):
            await uow.templates.delete(intruder)
        assert await uow.templates.get(ORG_A, "tpl-1") is not None


async def test_delete_checks_the_version(uow_factory: UnitOfWorkFactory) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))

    async with uow_factory() as uow:
        stale = await uow.templates.get(ORG_A, "tpl-1")
        fresh = await uow.templates.get(ORG_A, "tpl-1")
        assert stale is not None
        assert fresh is not None
        await uow.templates.update(fresh)
        with pytest.raises(ConcurrentModification):
            await uow.templates.delete(stale)
        await uow.templates.delete(fresh)
        assert await uow.templates.get(ORG_A, "tpl-1") is None
        with pytest.raises(ConcurrentModification):
            await uow.templates.delete(fresh)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") is None


async def test_templates_are_scoped_to_their_organization(uow_factory: UnitOfWorkFactory) -> None:
    await add_templates(uow_factory, new_template("tpl-1"))
    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_B, "tpl-1") is None
        assert await uow.templates.get_by_key(ORG_B, WABA_A1, "order_ready", "en_US") is None
        assert await uow.templates.list(TemplateQuery(org_id=ORG_B)) == []
        assert [t.id for t in await uow.templates.list(TemplateQuery(org_id=ORG_A))] == ["tpl-1"]


# Template events


def status_event(number: int, *, org_id: str = ORG_A, template_id: str = "tpl-1") -> TemplateEvent:
    return template_event(
        Aspect.STATUS,
        id=f"ev-{number}",
        template_id=template_id,
        org_id=org_id,
        waba_id=WABA_A1,
        template_name="order_ready.en_US",
        source=ChangeSource.WEBHOOK,
        outcome=Outcome.APPLIED,
        from_value="PENDING",
        to_value=f"status {number} ✓",
        reason="",
        occurred_at=NOW + timedelta(seconds=number),
        received_at=NOW + timedelta(seconds=number, milliseconds=5),
        details={"number": number, "nested": {"list": [1, None]}},
    )


async def test_template_events_in_one_sequence_per_template_and_organization(
    uow_factory: UnitOfWorkFactory, integrity_error: type[Exception]
) -> None:
    async with uow_factory() as uow:
        assert await uow.template_events.last_seq(ORG_A) == 0
        await uow.template_events.add([])
        await uow.template_events.reserve()
        await uow.template_events.add([status_event(1), status_event(2, template_id="tpl-2")])
        await uow.template_events.add([status_event(3, org_id=ORG_B), status_event(4)])
        await uow.commit()

    async with uow_factory() as uow:
        everything = await uow.template_events.list_for_org(ORG_A)
        assert [stored.event for stored in everything] == [
            status_event(1),
            status_event(2, template_id="tpl-2"),
            status_event(4),
        ]
        seqs = [stored.seq for stored in everything]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 3
        assert await uow.template_events.last_seq(ORG_A) == seqs[-1]
        b_events = await uow.template_events.list_for_org(ORG_B)
        assert [stored.event.id for stored in b_events] == ["ev-3"]
        assert seqs[1] < b_events[0].seq < seqs[2]
        assert await uow.template_events.last_seq(ORG_B) == b_events[0].seq
        # Strictly after a cursor, and at most `limit`.
        assert [
            s.event.id for s in await uow.template_events.list_for_org(ORG_A, after_seq=seqs[0], limit=1)
        ] == ["ev-2"]
        mine = await uow.template_events.list_for_template(ORG_A, "tpl-1")
        assert [s.event.id for s in mine] == ["ev-1", "ev-4"]
        assert await uow.template_events.list_for_template(ORG_A, "tpl-1", after_seq=seqs[-1]) == []
        assert await uow.template_events.list_for_template(ORG_B, "tpl-1", limit=5) == b_events
        assert await uow.template_events.list_for_template(ORG_B, "tpl-2") == []
        # An event id is stored once.
        with pytest.raises(integrity_error):
            await uow.template_events.add([status_event(1)])


async def test_templates_locked_by_meta_ids_in_one_read(uow_factory: UnitOfWorkFactory) -> None:
    first, second, elsewhere = (
        new_template("tpl-1"),
        new_template("tpl-2", display_name="b"),
        new_template("tpl-3", waba_id=WABA_A2),
    )
    first.meta_template_id, second.meta_template_id, elsewhere.meta_template_id = "111", "222", "111"
    await add_templates(uow_factory, first, second, elsewhere)

    async with uow_factory() as uow:
        found = await uow.templates.lock_by_meta_ids(WABA_A1, ["222", "111", "999", "111"])
        assert await uow.templates.lock_by_meta_ids(WABA_A1, []) == []
    assert [t.id for t in found] == ["tpl-1", "tpl-2"]
    assert found[0] == first


async def test_update_many_stores_each_and_bumps_their_versions(uow_factory: UnitOfWorkFactory) -> None:
    await add_templates(uow_factory, new_template("tpl-1"), new_template("tpl-2", display_name="b"))

    async with uow_factory() as uow:
        one, two = await uow.templates.get(ORG_A, "tpl-1"), await uow.templates.get(ORG_A, "tpl-2")
        assert one is not None
        assert two is not None
        one.quality, two.status = TemplateQuality.RED, TemplateStatus.PAUSED
        await uow.templates.update_many([one, two])
        assert (one.version, two.version) == (2, 2)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") == one
        assert await uow.templates.get(ORG_A, "tpl-2") == two


async def test_the_generation_moves_with_every_template_or_waba_write(uow_factory: UnitOfWorkFactory) -> None:
    async def generation() -> int:
        async with uow_factory(read_only=True) as uow:
            return await uow.templates.generation()

    seen = [await generation()]
    await add_templates(uow_factory, new_template("tpl-1"))
    seen.append(await generation())
    async with uow_factory() as uow:
        template = await uow.templates.get(ORG_A, "tpl-1")
        assert template is not None
        template.quality = TemplateQuality.RED
        await uow.templates.update(template)
        await uow.commit()
    seen.append(await generation())
    async with uow_factory() as uow:
        waba = await uow.wabas.get(WABA_A1)
        assert waba is not None
        await uow.wabas.save(replace(waba, phone_number_ids=("15550001111",)))
        await uow.commit()
    seen.append(await generation())
    async with uow_factory() as uow:
        await uow.templates.get(ORG_A, "tpl-1")  # reads, and a write rolled back, move nothing
        await uow.templates.delete(template)
    seen.append(await generation())
    async with uow_factory() as uow:
        await uow.templates.delete(template)
        await uow.commit()
    seen.append(await generation())
    created, updated, waba_saved, rolled_back, deleted = (
        later > earlier for earlier, later in itertools.pairwise(seen)
    )
    assert (created, updated, waba_saved, rolled_back, deleted) == (True, True, True, False, True), seen


async def test_update_many_writes_a_changed_definition_of_a_locked_template(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = new_template("tpl-1")
    first.meta_template_id = "111"
    second = new_template("tpl-2", display_name="b")
    second.meta_template_id = "222"
    await add_templates(uow_factory, first, second)

    async with uow_factory() as uow:
        one, two = await uow.templates.lock_by_meta_ids(WABA_A1, ["111", "222"])
        one.status = TemplateStatus.PAUSED  # the definition as read
        two.components = Components(body="Meta rewrote this body, {{first_name}}.")  # a new one
        await uow.templates.update_many([one, two])
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(ORG_A, "tpl-1") == one
        assert await uow.templates.get(ORG_A, "tpl-2") == two
