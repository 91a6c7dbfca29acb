"""The rules of each kind of template beyond the basic one: authentication, carousel, limited-time
offer, catalog and product messages, and the parts this version does not know."""

from __future__ import annotations

import re

from domain.components import (
    Button,
    ButtonType,
    CarouselCard,
    Components,
    HeaderFormat,
    TemplateDefinition,
    UnknownComponent,
)
from domain.lint.buttons import lint_buttons
from domain.lint.report import BODY, BUTTONS, FOOTER, HEADER, Findings, shorten
from domain.lint.texts import lint_body, lint_header
from domain.meta_rules import (
    CARD_BODY_MAX,
    CARD_BUTTONS_MAX,
    CARDS_MAX,
    CARDS_MIN,
    CODE_EXPIRATION_MINUTES,
    OFFER_BODY_MAX,
    OFFER_TEXT_MAX,
)
from domain.status import TemplateCategory

CARDS = "template.components.cards"
OFFER = "template.components.limited_time_offer"
_CARD_HEADERS = frozenset({HeaderFormat.IMAGE, HeaderFormat.VIDEO, HeaderFormat.PRODUCT})
_CARD_BUTTONS = frozenset({ButtonType.QUICK_REPLY, ButtonType.URL, ButtonType.PHONE_NUMBER, ButtonType.SPM})
_OFFER_BUTTONS = frozenset({ButtonType.COPY_CODE, ButtonType.URL})
# Pictographs, dingbats, flags and the joiners and selectors emoji are built with.
_EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff\u200d\ufe0f]")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


def lint_authentication(definition: TemplateDefinition, out: Findings) -> None:
    """Meta writes an authentication template's body ("{{1}} is your verification code") and footer;
    the business picks the options and the one-time password button, and writes nothing else."""
    components = definition.components
    is_authentication = definition.category is TemplateCategory.AUTHENTICATION
    if not components.is_authentication:
        if is_authentication:
            out.error(
                "AUTH_OTP_BUTTON_REQUIRED",
                BUTTONS,
                "an AUTHENTICATION template needs one OTP button (COPY_CODE, ONE_TAP or ZERO_TAP)",
            )
        if components.add_security_recommendation or components.code_expiration_minutes is not None:
            out.error(
                "AUTH_OPTIONS_NOT_ALLOWED",
                "template.components",
                "add_security_recommendation and code_expiration_minutes are for authentication "
                "templates (with an OTP button) only",
            )
        return
    if definition.category is not None and not is_authentication:
        out.error(
            "OTP_BUTTON_NOT_AUTHENTICATION",
            BUTTONS,
            f"an OTP button belongs in an AUTHENTICATION template, not {definition.category}",
        )
    if components.header is not None:
        out.error(
            "AUTH_HEADER_NOT_ALLOWED",
            HEADER,
            "authentication templates have no header (no text, no media)",
        )
    others = [i for i, b in enumerate(components.buttons) if b.type is not ButtonType.OTP]
    if others:
        out.error(
            "AUTH_BUTTONS_ONLY_OTP",
            f"{BUTTONS}[{others[0]}]",
            "an authentication template has its OTP button only (no URL, quick reply or other button)",
        )
    if components.body.strip():
        out.warning(
            "AUTH_BODY_WRITTEN_BY_META",
            BODY,
            "Meta writes the body of authentication templates; this text is not submitted (use "
            "add_security_recommendation for the security line)",
        )
    if components.footer.strip():
        out.warning(
            "AUTH_FOOTER_WRITTEN_BY_META",
            FOOTER,
            "Meta writes the footer of authentication templates; this text is not submitted (use "
            "code_expiration_minutes for the expiry line)",
        )
    minutes = components.code_expiration_minutes
    if minutes is not None and minutes not in CODE_EXPIRATION_MINUTES:
        out.error(
            "CODE_EXPIRATION_INVALID",
            "template.components.code_expiration_minutes",
            f"code_expiration_minutes is {minutes}; Meta allows {CODE_EXPIRATION_MINUTES.start} to "
            f"{CODE_EXPIRATION_MINUTES.stop - 1}",
        )
    for index, button in enumerate(components.buttons):
        _lint_written_by_business(button, f"{BUTTONS}[{index}]", out)


def _lint_written_by_business(button: Button, field: str, out: Findings) -> None:
    texts = [("text", button.text)]
    if button.otp is not None:
        texts.append(("otp.autofill_text", button.otp.autofill_text))
    for name, text in texts:
        if _EMOJI.search(text):
            out.error(
                "AUTH_EMOJI_NOT_ALLOWED",
                f"{field}.{name}",
                f"{shorten(text)!r}: authentication templates may not contain emojis",
            )
        if _URL.search(text):
            out.error(
                "AUTH_URL_NOT_ALLOWED",
                f"{field}.{name}",
                f"{shorten(text)!r}: authentication templates may not contain URLs",
            )


def lint_carousel(components: Components, out: Findings) -> None:
    """A carousel: a body, then 2-10 cards that look alike (one header format, the same buttons)."""
    cards = components.carousel
    if cards is None:
        return
    if components.header is not None:
        out.error(
            "CAROUSEL_HEADER_NOT_ALLOWED", HEADER, "a carousel template has no header; cards have one each"
        )
    if components.footer:
        out.error("CAROUSEL_FOOTER_NOT_ALLOWED", FOOTER, "a carousel template has no footer")
    if components.buttons:
        out.error(
            "CAROUSEL_BUTTONS_NOT_ALLOWED",
            BUTTONS,
            "a carousel template has no buttons of its own; cards have them",
        )
    if not CARDS_MIN <= len(cards) <= CARDS_MAX:
        code = "CAROUSEL_CARDS_TOO_FEW" if len(cards) < CARDS_MIN else "CAROUSEL_CARDS_TOO_MANY"
        out.error(code, CARDS, f"carousel has {len(cards)} cards; Meta allows {CARDS_MIN} to {CARDS_MAX}")
    for index, card in enumerate(cards):
        _lint_card(card, f"{CARDS}[{index}]", out)
    if not cards:
        return
    first = cards[0]
    formats = {card.header.format for card in cards if card.header is not None}
    if len(formats) > 1:
        out.error(
            "CAROUSEL_HEADERS_DIFFER",
            CARDS,
            f"cards use {', '.join(sorted(formats))} headers; every card of a carousel has the same format",
        )
    with_body = [index for index, card in enumerate(cards) if card.body.strip()]
    if with_body and len(with_body) != len(cards):
        out.error(
            "CAROUSEL_CARD_BODIES_DIFFER",
            CARDS,
            f"cards {', '.join(map(str, with_body))} have a body and the others not; Meta wants a body "
            "on every card or on none (cards keep one height)",
        )
    shape = [b.type for b in first.buttons]
    for index, card in enumerate(cards[1:], start=1):
        if [b.type for b in card.buttons] != shape:
            out.error(
                "CAROUSEL_BUTTONS_DIFFER",
                f"{CARDS}[{index}].buttons",
                f"card {index} has buttons {_types(card.buttons)} but card 0 has {_types(first.buttons)}; "
                "every card has the same number and types of buttons, in the same order",
            )


def _lint_card(card: CarouselCard, field: str, out: Findings) -> None:
    header = card.header
    if header is None:
        out.error(
            "CAROUSEL_CARD_HEADER_REQUIRED",
            f"{field}.header",
            "every card needs an IMAGE, VIDEO or PRODUCT header",
        )
    elif header.format not in _CARD_HEADERS:
        out.error(
            "CAROUSEL_CARD_HEADER_INVALID",
            f"{field}.header.format",
            f"a card header is IMAGE, VIDEO or PRODUCT, not {header.format}",
        )
    else:
        lint_header(header, out, f"{field}.header")
    if card.body:
        lint_body(card.body, out, field=f"{field}.body", limit=CARD_BODY_MAX, where="card body")
    if not card.buttons:
        out.error("CAROUSEL_CARD_BUTTONS_REQUIRED", f"{field}.buttons", "every card needs 1 or 2 buttons")
    elif len(card.buttons) > CARD_BUTTONS_MAX:
        out.error(
            "CAROUSEL_CARD_BUTTONS_TOO_MANY",
            f"{field}.buttons",
            f"card has {len(card.buttons)} buttons; Meta allows at most {CARD_BUTTONS_MAX}",
        )
    for index, button in enumerate(card.buttons):
        if button.type not in _CARD_BUTTONS and button.type is not ButtonType.OTHER:
            out.error(
                "CAROUSEL_CARD_BUTTON_INVALID",
                f"{field}.buttons[{index}].type",
                f"a card button is QUICK_REPLY, URL, PHONE_NUMBER or SPM, not {button.type}",
            )
    lint_buttons(card.buttons, out, f"{field}.buttons")
    lint_unknown(card.unknown, f"{field}.other_components", out)


def lint_limited_time_offer(definition: TemplateDefinition, out: Findings) -> None:
    components = definition.components
    offer = components.limited_time_offer
    if offer is None:
        return
    if not offer.text.strip():
        out.error("OFFER_TEXT_REQUIRED", f"{OFFER}.text", "a limited-time offer needs its offer text")
    elif len(offer.text) > OFFER_TEXT_MAX:
        out.error(
            "OFFER_TEXT_TOO_LONG",
            f"{OFFER}.text",
            f"offer text is {len(offer.text)} characters; Meta allows at most {OFFER_TEXT_MAX}",
        )
    if definition.category not in (None, TemplateCategory.MARKETING):
        out.error("OFFER_NOT_MARKETING", "template.category", "limited-time offers are MARKETING templates")
    if components.header is not None and components.header.format not in (
        HeaderFormat.IMAGE,
        HeaderFormat.VIDEO,
    ):
        out.error(
            "OFFER_HEADER_INVALID",
            f"{HEADER}.format",
            f"a limited-time offer's header is an IMAGE or a VIDEO, not {components.header.format}",
        )
    if components.footer:
        out.error("OFFER_FOOTER_NOT_ALLOWED", FOOTER, "a limited-time offer has no footer")
    if len(components.body) > OFFER_BODY_MAX:
        out.error(
            "OFFER_BODY_TOO_LONG",
            BODY,
            f"body is {len(components.body)} characters; a limited-time offer's body has at most "
            f"{OFFER_BODY_MAX}",
        )
    kinds = [b.type for b in components.buttons]
    if ButtonType.URL not in kinds:
        out.error("OFFER_URL_BUTTON_REQUIRED", BUTTONS, "a limited-time offer needs a URL button")
    for index, kind in enumerate(kinds):
        if kind not in _OFFER_BUTTONS:
            out.error(
                "OFFER_BUTTON_INVALID",
                f"{BUTTONS}[{index}].type",
                f"a limited-time offer's buttons are COPY_CODE and URL, not {kind}",
            )


def lint_product_messages(components: Components, out: Findings) -> None:
    """Catalog, multi-product and single-product templates: one such button, alone, with the
    header each needs."""
    kinds = [b.type for b in components.buttons]
    header = components.header
    for kind, name in ((ButtonType.CATALOG, "catalog"), (ButtonType.MPM, "multi-product")):
        if kind in kinds and len(kinds) > 1:
            out.error(
                f"{kind}_BUTTON_NOT_ALONE", BUTTONS, f"a {name} template has its {kind} button and no other"
            )
    if ButtonType.MPM in kinds and (header is None or header.format is not HeaderFormat.TEXT):
        out.error("MPM_HEADER_REQUIRED", HEADER, "a multi-product template needs a TEXT header")
    if ButtonType.CATALOG in kinds and header is not None and header.format is not HeaderFormat.TEXT:
        out.error(
            "CATALOG_HEADER_INVALID",
            f"{HEADER}.format",
            f"a catalog template's header is TEXT (the catalog shows its own image), not {header.format}",
        )
    product_header = header is not None and header.format is HeaderFormat.PRODUCT
    if ButtonType.SPM in kinds and not product_header:
        out.error("SPM_HEADER_REQUIRED", HEADER, "a single-product template needs a PRODUCT header")
    if product_header and ButtonType.SPM not in kinds:
        out.error(
            "PRODUCT_HEADER_WITHOUT_SPM",
            f"{HEADER}.format",
            "a PRODUCT header shows the product of a single-product (SPM) button; add one",
        )


def lint_unknown(parts: tuple[UnknownComponent, ...], field: str, out: Findings) -> None:
    for part in parts:
        out.warning(
            "COMPONENT_NOT_CHECKED",
            f"{field}[{part.position}]",
            f"component {shorten(part.json)} is not one this version knows; it is kept and submitted as "
            "it is, but not checked by this version",
        )


def _types(buttons: tuple[Button, ...]) -> str:
    return "[" + ", ".join(b.type.value for b in buttons) + "]"
