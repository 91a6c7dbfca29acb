"""Etags are compared by their value: a caller may send one back with or without its quotes (and a
campaign's with or without `W/`), and a mismatch shows both etags spelled the same way. The use cases
run over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from app.auth import Principal
from app.bootstrap import Services, build_services
from app.campaign_commands import CampaignMove, CreateCampaign, MoveCampaign
from app.commands import AddWaba, CreateOrganization, CreateTemplate, DeleteTemplate, UpdateTemplate
from app.errors import EtagMismatch
from app.etags import etag_value, same_etag, spelled_like
from app.resource_names import TemplateKey
from app.settings import Settings
from domain.campaigns import CampaignState
from domain.components import Components, ParameterSpec, TemplateDefinition
from domain.status import TemplateCategory
from domain.templates import TemplateRevision
from domain.tenancy import Role

WABA = "301122334455667"
KEY = TemplateKey(WABA, "order_ready", "en_US")


@pytest.mark.parametrize("given", ['"3"', "3", 'W/"3"', "W/3", ' "3" '])
def test_every_spelling_of_an_etag_names_the_same_version(given: str) -> None:
    assert etag_value(given) == "3"
    assert same_etag(given, '"3"')
    assert same_etag(given, 'W/"3"')
    assert not same_etag(given, '"4"')


def test_the_quotes_are_taken_off_once_and_only_when_they_pair() -> None:
    assert etag_value('""3""') == '"3"'
    assert etag_value('"3') == '"3'
    assert etag_value('""') == ""


@pytest.mark.parametrize(
    ("given", "current", "shown"),
    [("3", '"4"', '"3"'), ('"3"', '"4"', '"3"'), ("3", 'W/"4"', 'W/"3"'), ('"3"', 'W/"4"', 'W/"3"')],
)
def test_a_given_etag_is_shown_in_the_form_of_the_current_one(given: str, current: str, shown: str) -> None:
    assert spelled_like(given, current) == shown


@dataclass
class World:
    services: Services
    principal: Principal


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    services = await build_services(Settings(database_url=database_url))
    try:
        org = await services.bus.handle(CreateOrganization("acme", "Acme"))
        await services.bus.handle(AddWaba("acme", WABA, "", ("109876543210987",)))
        principal = Principal(org_id=org.org_id, role=Role.ADMIN, key_id="test")
        definition = TemplateDefinition(
            display_name=KEY.display_name,
            language_code=KEY.language_code,
            category=TemplateCategory.UTILITY,
            components=Components(body="Hi {{first_name}}, your order can be collected from the front desk."),
            parameters=(ParameterSpec("first_name", "Dana"),),
        )
        await services.bus.handle(CreateTemplate(principal, WABA, definition))
        yield World(services, principal)
    finally:
        await services.close()


@pytest.mark.parametrize("etag", ['"1"', "1", 'W/"1"'])
async def test_an_update_takes_the_etag_with_or_without_its_quotes(world: World, etag: str) -> None:
    revision = TemplateRevision(category=TemplateCategory.MARKETING)
    written = await world.services.bus.handle(UpdateTemplate(world.principal, KEY, revision, etag=etag))
    assert (written.template.version, written.template.etag) == (2, '"2"')


async def test_a_stale_unquoted_etag_is_refused_and_shown_quoted_like_the_current_one(world: World) -> None:
    revision = TemplateRevision(category=TemplateCategory.MARKETING)
    await world.services.bus.handle(UpdateTemplate(world.principal, KEY, revision))

    with pytest.raises(EtagMismatch) as caught:
        await world.services.bus.handle(UpdateTemplate(world.principal, KEY, revision, etag="1"))

    assert (caught.value.given, caught.value.current) == ('"1"', '"2"')
    assert 'etag "1" does not match the current etag "2"' in str(caught.value)


async def test_a_delete_takes_the_etag_without_its_quotes(world: World) -> None:
    with pytest.raises(EtagMismatch):
        await world.services.bus.handle(DeleteTemplate(world.principal, KEY, etag="7"))
    await world.services.bus.handle(DeleteTemplate(world.principal, KEY, etag="1"))


@pytest.mark.parametrize("spelling", ['W/"{}"', '"{}"', "{}"])
async def test_a_campaign_move_takes_its_weak_etag_in_any_spelling(world: World, spelling: str) -> None:
    campaign = await world.services.bus.handle(CreateCampaign(world.principal, KEY, "Order updates"))
    etag = spelling.format(campaign.version)

    moved = await world.services.bus.handle(
        MoveCampaign(world.principal, campaign.id, CampaignMove.CANCEL, etag=etag)
    )

    assert moved.state is CampaignState.CANCELLED


async def test_a_stale_campaign_etag_is_shown_weak_like_the_current_one(world: World) -> None:
    campaign = await world.services.bus.handle(CreateCampaign(world.principal, KEY, "Order updates"))

    with pytest.raises(EtagMismatch) as caught:
        await world.services.bus.handle(
            MoveCampaign(world.principal, campaign.id, CampaignMove.CANCEL, etag='"9"')
        )

    assert (caught.value.given, caught.value.current) == ('W/"9"', f'W/"{campaign.version}"')
