"""The template types beyond the basic one in the domain: partial edits keep what the webhook cannot
describe, Meta's JSON copy is kept only while it is true, and rendering shows what WhatsApp shows."""

from __future__ import annotations

from dataclasses import replace

from domain.components import (
    Button,
    ButtonType,
    CarouselCard,
    Components,
    Header,
    HeaderFormat,
    LimitedTimeOffer,
    OneTimePassword,
    OtpType,
    ParameterSpec,
    TemplateDefinition,
    UnknownComponent,
    components_summary,
    merge_partial_components,
)
from domain.observations import PARTIAL_COMPONENTS, UNREAD_PARTS, Aspect, ChangeSource, Observation
from domain.rendering import render_definition
from domain.send_values import send_values
from domain.status import TemplateCategory
from domain.templates import Template, TemplateRevision
from fakes import FrozenClock

OTP = Button(ButtonType.OTP, "Copy code", otp=OneTimePassword(OtpType.COPY_CODE))
AUTH = Components(body="", buttons=(OTP,), add_security_recommendation=True, code_expiration_minutes=10)
CARD = CarouselCard(
    header=Header(HeaderFormat.IMAGE, example_media_handles=("4::h",)),
    body="Fresh {{1}} aloe.",
    buttons=(
        Button(ButtonType.QUICK_REPLY, "More"),
        Button(ButtonType.URL, "Shop", url="https://x.com/{{1}}"),
    ),
)
CAROUSEL = Components(body="Hi {{1}}, see these.", carousel=(CARD, CARD))
OTHER = UnknownComponent(1, '{"type":"SIDEBAR"}')


def test_a_partial_edit_keeps_what_the_webhook_cannot_describe() -> None:
    coupon = Button(ButtonType.COPY_CODE, "", example="25OFF")
    old = Components(
        body="Hi {{1}}, see these.",
        header=Header(HeaderFormat.IMAGE, example_media_handles=("4::h",)),
        limited_time_offer=LimitedTimeOffer("Ends soon", True),
        unknown=(OTHER,),
        buttons=(coupon, Button(ButtonType.URL, "Go", url="https://a.com", extra='{"app_deep_link":{}}')),
        meta_json='[{"type":"BODY"}]',
    )
    reported = Components(
        body="Hello {{1}}, see these.",
        # Meta's webhook names the copy-code button without its example: it is the same button.
        buttons=(
            Button(ButtonType.COPY_CODE, "Copy offer code"),
            Button(ButtonType.URL, "Go", url="https://b.com"),
        ),
    )

    merged = merge_partial_components(old, reported)

    assert merged.body == "Hello {{1}}, see these."
    assert merged.header == old.header
    assert merged.limited_time_offer == old.limited_time_offer
    assert merged.unknown == (OTHER,)
    assert merged.buttons == (
        coupon,
        Button(ButtonType.URL, "Go", url="https://b.com", extra='{"app_deep_link":{}}'),
    )
    # Meta's JSON described the old components, not these.
    assert merged.meta_json == ""


def test_a_partial_edit_leaves_the_buttons_of_carousels_and_authentication_templates() -> None:
    reported = Components(
        body="Hey {{1}}.", buttons=(Button(ButtonType.URL, "Copy code", url="https://x.com"),)
    )

    for old in (CAROUSEL, AUTH):
        merged = merge_partial_components(old, reported)
        assert merged.buttons == old.buttons
        assert merged.carousel == old.carousel


def test_the_summary_names_the_parts_of_each_type() -> None:
    summary = components_summary(
        replace(CAROUSEL, limited_time_offer=LimitedTimeOffer("x"), unknown=(OTHER,))
    )

    assert summary == "body 20 chars, 2 cards, limited-time offer, 1 other components"


def template(components: Components) -> Template:
    definition = TemplateDefinition(
        "welcome",
        "en",
        TemplateCategory.MARKETING,
        components,
        parameters=(
            ParameterSpec("1", "Ana"),
            *(ParameterSpec(f"card.{c}.{k}", "x") for c in (0, 1) for k in ("1", "button.1")),
        ),
    )
    created, _ = Template.create(
        template_id="t1", org_id="o", waba_id="w", definition=definition, now=FrozenClock().now()
    )
    return created


def test_metas_copy_is_kept_while_the_components_are_still_what_it_says() -> None:
    ours = template(CAROUSEL)
    with_copy = replace(CAROUSEL, meta_json='[{"type":"BODY","text":"Hi {{1}}, see these."}]')

    assert ours.keep_meta_json(with_copy)
    assert not ours.keep_meta_json(with_copy)  # already kept
    # Sent back unchanged (a client's copy has no JSON of Meta's): the copy stays.
    ours.revise(TemplateRevision(components=CAROUSEL), now=FrozenClock().now())
    assert ours.components.meta_json == with_copy.meta_json
    # Changed: the copy no longer says what the template says.
    ours.revise(
        TemplateRevision(components=replace(CAROUSEL, body="Hey {{1}}, see these.")), now=FrozenClock().now()
    )
    assert ours.components.meta_json == ""
    assert not ours.keep_meta_json(replace(with_copy, body="Other {{1}} text here."))


def test_an_authentication_message_shows_metas_text_with_the_code() -> None:
    definition = TemplateDefinition("login", "en", TemplateCategory.AUTHENTICATION, AUTH)

    message = render_definition(definition, {"code": "482913"})

    assert (
        message.body_text == "*482913* is your verification code. For your security, do not share this code."
    )
    assert message.footer_text == "This code expires in 10 minutes."
    synced = replace(definition, components=replace(AUTH, body="{{1}} is your code."))
    assert render_definition(synced, {"code": "482913"}).body_text == "482913 is your code."


def test_a_carousel_renders_each_card() -> None:
    values = {
        "1": "Ana",
        **{f"card.{c}.{k}": f"v{c}" for c in (0, 1) for k in ("1", "button.1")},
        **{f"card.{c}.header.media": f"https://cdn.example/{c}.jpg" for c in (0, 1)},
    }

    message = render_definition(template(CAROUSEL).definition, values)

    assert message.body_text == "Hi Ana, see these."
    assert [card.body_text for card in message.cards] == ["Fresh v0 aloe.", "Fresh v1 aloe."]
    assert message.cards[1].buttons[1].url == "https://x.com/v1"


def test_each_type_asks_for_its_send_values() -> None:
    keys = [v.key for v in send_values(replace(CAROUSEL, limited_time_offer=LimitedTimeOffer("x", True)))]

    assert keys == [
        "offer.expiration_time_ms",
        "card.0.header.media",
        "card.0.button.0",
        "card.1.header.media",
        "card.1.button.0",
    ]
    assert [(v.key, v.required) for v in send_values(AUTH)] == [("code", True)]


def test_an_edit_webhook_with_a_part_it_could_not_read_asks_for_a_sync() -> None:
    ours = template(CAROUSEL)
    now = FrozenClock().now()

    ours.observe(
        Observation(
            Aspect.COMPONENTS,
            "body",
            ChangeSource.WEBHOOK,
            now,
            components=Components(body=CAROUSEL.body),
            details={PARTIAL_COMPONENTS: True, UNREAD_PARTS: ["message_template_buttons[0]: FLOW"]},
        ),
        received_at=now,
    )

    assert ours.needs_sync
    assert ours.components.carousel == CAROUSEL.carousel
