"""The publishing unit of work: a template's events reach the event handlers inside the transaction
that changed it, before it commits, once; nothing is published for a unit that does not commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from app.ports import UnitOfWork
from app.unit_of_work import EventDispatcher, PublishingUnitOfWorkFactory
from domain.events import DomainEvent, TemplateEvent, TemplateStatusChanged
from domain.observations import Aspect, ChangeSource, Observation
from domain.status import TemplateStatus
from domain.tenancy import Organization, Waba
from fakes import FakeUnitOfWorkFactory
from support.sample_templates import draft_template

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[tuple[str, str]] = []
        self.fail = fail

    async def __call__(self, events: Sequence[DomainEvent], uow: UnitOfWork) -> None:
        for event in events:
            assert isinstance(event, TemplateEvent)
            self.seen.append((type(event).__name__, event.to_value))
        # Inside the transaction: what the handler writes commits with the change, or not at all.
        await uow.template_events.add([e for e in events if isinstance(e, TemplateEvent)])
        if self.fail:
            raise RuntimeError("a policy failed")


async def store_with_template() -> tuple[FakeUnitOfWorkFactory, str]:
    store = FakeUnitOfWorkFactory()
    template = draft_template(NOW)
    async with store() as uow:
        await uow.organizations.add(Organization("o1", "acme", "Acme", NOW))
        await uow.wabas.add(Waba("w1", "o1", "", NOW))
        await uow.templates.add(template)
        await uow.commit()
    return store, template.id


def paused() -> Observation:
    return Observation(Aspect.STATUS, "PAUSED", ChangeSource.WEBHOOK, NOW)


async def history(store: FakeUnitOfWorkFactory) -> list[str]:
    async with store(read_only=True) as uow:
        return [r.event.to_value for r in await uow.template_events.list_for_template("o1", "t1")]


async def test_events_of_a_loaded_template_are_handled_once_before_commit() -> None:
    store, template_id = await store_with_template()
    recorder = Recorder()
    factory = PublishingUnitOfWorkFactory(store, EventDispatcher({TemplateStatusChanged: [recorder]}))
    async with factory() as uow:
        template = await uow.templates.get("o1", template_id)
        assert template is not None
        template.observe(paused(), received_at=NOW)
        await uow.templates.update(template)  # saved after being loaded: still one publication
        await uow.commit()
    assert recorder.seen == [("TemplateStatusChanged", "PAUSED")]
    assert await history(store) == ["PAUSED"]


async def test_a_unit_left_without_commit_publishes_nothing() -> None:
    store, template_id = await store_with_template()
    recorder = Recorder()
    factory = PublishingUnitOfWorkFactory(store, EventDispatcher({TemplateEvent: [recorder]}))
    async with factory() as uow:
        template = await uow.templates.get("o1", template_id)
        assert template is not None
        template.observe(paused(), received_at=NOW)
        await uow.templates.update(template)
    assert recorder.seen == []
    assert template.pull_events() == []  # dropped: what did not commit did not happen


async def test_a_failing_handler_rolls_the_change_back() -> None:
    store, template_id = await store_with_template()
    factory = PublishingUnitOfWorkFactory(store, EventDispatcher({TemplateEvent: [Recorder(fail=True)]}))

    async def pause() -> None:
        async with factory() as uow:
            template = await uow.templates.get("o1", template_id)
            assert template is not None
            template.observe(paused(), received_at=NOW)
            await uow.templates.update(template)
            await uow.commit()

    with pytest.raises(RuntimeError, match="a policy failed"):
        await pause()
    async with store(read_only=True) as uow:
        stored = await uow.templates.get("o1", template_id)
    assert stored is not None
    assert stored.status is TemplateStatus.DRAFT
    assert await history(store) == []


async def test_read_only_units_are_the_stores_own() -> None:
    store, _ = await store_with_template()
    factory = PublishingUnitOfWorkFactory(store, EventDispatcher({}))
    async with store(read_only=True) as plain, factory(read_only=True) as read_only:
        assert type(read_only) is type(plain)
