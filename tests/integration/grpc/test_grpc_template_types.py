"""Every template type through the real gRPC server, the real Graph adapter and the fake Graph API:
a sync keeps every part (including ones this version does not know), the API shows them typed, and
a synced template goes back to Meta as the same components JSON, byte for byte."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from integration.grpc.grpc_cases import fails
from integration.grpc.test_grpc_meta import WABA, MetaWorld, start
from support.template_fixtures import load
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api


@pytest.fixture
async def world() -> AsyncIterator[MetaWorld]:
    async for w in start(configured=True):
        yield w


def seed(world: MetaWorld, name: str, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    template = load(name)
    components = template["components"] + (extra or [])
    return world.graph.state.seed_template(
        WABA,
        template["name"],
        language=template["language"],
        category=str(template["category"]).upper(),
        components=components,
        parameter_format=template.get("parameter_format", "POSITIONAL"),
    )


async def synced(world: MetaWorld, record: dict[str, Any]) -> pb.Template:
    await world.stub.SyncTemplates(api.SyncTemplatesRequest(parent=f"wabas/{WABA}"), metadata=world.auth)
    name = f"wabas/{WABA}/templates/{record['name']}.{record['language']}"
    got: api.GetTemplateResponse = await world.stub.GetTemplate(
        api.GetTemplateRequest(name=name), metadata=world.auth
    )
    return got.template


def edits(world: MetaWorld, template: pb.Template) -> list[Any]:
    return [
        r.json
        for r in world.graph.state.requests
        if r.method == "POST" and r.path.endswith(f"/{template.meta_template_id}")
    ]


async def test_a_synced_carousel_with_unknown_parts_shows_typed_and_goes_back_byte_for_byte(
    world: MetaWorld,
) -> None:
    unknown = {"type": "SUMMARY_CARD", "style": {"accent": "#00ff00"}}
    record = seed(world, "carousel_media_cards_image_quick_reply_url", [unknown])
    listed = json.dumps(record["components"])

    template = await synced(world, record)

    components = template.components
    assert components.is_carousel
    assert len(components.cards) == 3
    assert components.cards[0].header.format == pb.HEADER_FORMAT_IMAGE
    assert [b.type for b in components.cards[0].buttons] == [pb.BUTTON_TYPE_QUICK_REPLY, pb.BUTTON_TYPE_URL]
    [other] = components.other_components
    assert (other.position, json.loads(other.meta_json)) == (2, unknown)
    assert {p.key for p in template.parameters} >= {"1", "2", "3", "card.0.button.1"}

    # The client sends the components back as it read them: the edit at Meta carries them as Meta
    # gave them, the part this version does not know included.
    await world.stub.UpdateTemplate(
        api.UpdateTemplateRequest(
            template=template, update_mask=field_mask_pb2.FieldMask(paths=["components"])
        ),
        metadata=world.auth,
    )
    [edit] = edits(world, template)
    assert json.dumps(edit["components"]) == listed


async def test_an_authentication_template_sent_back_whole_keeps_metas_components(world: MetaWorld) -> None:
    record = seed(world, "authentication_zero_tap_supported_apps")
    listed = json.dumps(record["components"])
    template = await synced(world, record)

    [button] = template.components.buttons
    assert button.type == pb.BUTTON_TYPE_OTP
    assert button.otp.otp_type == pb.OTP_TYPE_ZERO_TAP
    assert button.otp.zero_tap_terms_accepted
    assert [(a.package_name, a.signature_hash) for a in button.otp.supported_apps] == [
        ("com.example.luckyshrub", "K8a/AINcGX7")
    ]
    assert (template.components.add_security_recommendation, template.components.code_expiration_minutes) == (
        True,
        5,
    )

    # The client sends the whole template back as it read it (components unchanged): still Meta's JSON.
    template.components.code_expiration_minutes = 5
    await world.stub.UpdateTemplate(
        api.UpdateTemplateRequest(
            template=template, update_mask=field_mask_pb2.FieldMask(paths=["components", "parameters"])
        ),
        metadata=world.auth,
    )
    [edit] = edits(world, template)
    assert json.dumps(edit["components"]) == listed


async def test_a_limited_time_offer_created_through_the_api_is_submitted_as_meta_documents_it(
    world: MetaWorld,
) -> None:
    meta = load("limited_time_offer_caribbean_image_copy_code_url")
    created: api.CreateTemplateResponse = await world.stub.CreateTemplate(
        api.CreateTemplateRequest(
            parent=f"wabas/{WABA}",
            template=pb.Template(
                display_name="caribbean_offer",
                language_code="en_US",
                category=pb.TEMPLATE_CATEGORY_MARKETING,
                components=pb.TemplateComponents(
                    header=pb.TemplateHeader(
                        format=pb.HEADER_FORMAT_IMAGE, example_media_handles=["4::aW..."]
                    ),
                    limited_time_offer=pb.LimitedTimeOffer(text="Expiring offer!", has_expiration=True),
                    body=meta["components"][2]["text"],
                    buttons=[
                        pb.TemplateButton(type=pb.BUTTON_TYPE_COPY_CODE, example="CARIBE25"),
                        pb.TemplateButton(
                            type=pb.BUTTON_TYPE_URL,
                            text="Book now!",
                            url="https://awesomedestinations.com/offers?code={{1}}",
                        ),
                    ],
                ),
                parameters=[
                    pb.TemplateParameter(key="1", example="Pablo"),
                    pb.TemplateParameter(key="2", example="CARIBE25"),
                    pb.TemplateParameter(key="button.1", example="n3mtql"),
                ],
            ),
        ),
        metadata=world.auth,
    )
    await world.stub.SubmitTemplate(
        api.SubmitTemplateRequest(name=created.template.name), metadata=world.auth
    )

    [create] = [
        r.json
        for r in world.graph.state.requests
        if r.path.endswith("/message_templates") and r.method == "POST"
    ]
    sent = create["components"]
    assert [c["type"] for c in sent] == ["HEADER", "LIMITED_TIME_OFFER", "BODY", "BUTTONS"]
    assert sent[1] == {
        "type": "LIMITED_TIME_OFFER",
        "limited_time_offer": {"text": "Expiring offer!", "has_expiration": True},
    }
    assert sent[2]["example"] == meta["components"][2]["example"]
    assert sent[3]["buttons"][1]["example"] == ["https://awesomedestinations.com/offers?code=n3mtql"]


async def test_render_shows_each_card_and_the_offer_and_checks_their_values(world: MetaWorld) -> None:
    carousel = await synced(world, seed(world, "carousel_recipe_media_cards_card_body_url"))
    offer = await synced(world, seed(world, "limited_time_offer_caribbean_image_copy_code_url"))
    values = {p.key: p.example for p in carousel.parameters}
    cards = len(carousel.components.cards)
    values.update({f"card.{c}.header.media": f"https://cdn.example/{c}.jpg" for c in range(cards)})

    rendered: api.RenderTemplateResponse = await world.stub.RenderTemplate(
        api.RenderTemplateRequest(name=carousel.name, values=values), metadata=world.auth
    )

    assert len(rendered.cards) == cards
    assert all(card.body_text and "{{" not in card.body_text for card in rendered.cards)
    sent = json.loads(rendered.meta_components_json)
    assert [card["card_index"] for card in sent[-1]["cards"]] == list(range(cards))

    missing = await fails(
        world.stub.RenderTemplate(
            api.RenderTemplateRequest(name=offer.name, values={p.key: p.example for p in offer.parameters}),
            metadata=world.auth,
        )
    )
    assert missing.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in missing.violations}
    assert {"values[header.media]", "values[offer.expiration_time_ms]", "values[button.0]"} <= fields, fields
    offer_values = {
        **{p.key: p.example for p in offer.parameters},
        "header.media": "1602186516975000",
        "offer.expiration_time_ms": "1767225600000",
        "button.0": "CARIBE25",
    }
    rendered = await world.stub.RenderTemplate(
        api.RenderTemplateRequest(name=offer.name, values=offer_values), metadata=world.auth
    )
    assert rendered.limited_time_offer_text == "Expiring offer!"
