"""Value objects a template definition is built from: header, body, footer, buttons, the parts of
authentication, carousel and limited-time-offer templates, and parameters.

Meta adds component and button types over time. What this version does not model is kept verbatim
(UnknownComponent, ButtonType.OTHER, Button.extra), so a template never loses a part of itself by
passing through the service; lint reports such parts as not checked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum

from domain.status import TemplateCategory


class ParameterFormat(StrEnum):
    NAMED = "NAMED"
    POSITIONAL = "POSITIONAL"


class HeaderFormat(StrEnum):
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    DOCUMENT = "DOCUMENT"
    LOCATION = "LOCATION"
    # A catalog product, chosen at send time (single-product templates, product carousel cards).
    PRODUCT = "PRODUCT"


MEDIA_HEADERS = frozenset({HeaderFormat.IMAGE, HeaderFormat.VIDEO, HeaderFormat.DOCUMENT})


class ButtonType(StrEnum):
    QUICK_REPLY = "QUICK_REPLY"
    URL = "URL"
    PHONE_NUMBER = "PHONE_NUMBER"
    COPY_CODE = "COPY_CODE"
    # Authentication templates' one-time password button (copy code, one-tap or zero-tap).
    OTP = "OTP"
    FLOW = "FLOW"
    CATALOG = "CATALOG"
    # Multi-product and single-product message buttons.
    MPM = "MPM"
    SPM = "SPM"
    VOICE_CALL = "VOICE_CALL"
    # A button type this version does not know: kept verbatim in Button.extra, never checked.
    OTHER = "OTHER"


class OtpType(StrEnum):
    COPY_CODE = "COPY_CODE"
    ONE_TAP = "ONE_TAP"
    ZERO_TAP = "ZERO_TAP"


class FlowAction(StrEnum):
    NAVIGATE = "NAVIGATE"
    DATA_EXCHANGE = "DATA_EXCHANGE"


class ParameterLocation(StrEnum):
    HEADER = "HEADER"
    BODY = "BODY"
    BUTTON = "BUTTON"
    # The body of a carousel card (Meta allows at most 160 characters there).
    CARD_BODY = "CARD_BODY"


@dataclass(frozen=True, slots=True)
class Header:
    format: HeaderFormat
    text: str = ""
    example_media_handles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SupportedApp:
    """An Android app a one-tap or zero-tap code is handed to."""

    package_name: str
    signature_hash: str


@dataclass(frozen=True, slots=True)
class OneTimePassword:
    """What an OTP button does beyond its label."""

    otp_type: OtpType
    # One-tap and zero-tap: the label of the autofill button in the app.
    autofill_text: str = ""
    supported_apps: tuple[SupportedApp, ...] = ()
    # Zero-tap: the business accepted Meta's zero-tap terms (Meta refuses the template otherwise).
    zero_tap_terms_accepted: bool = False
    # Meta's older shape put one app's package_name/signature_hash on the button itself.
    apps_on_button: bool = False


@dataclass(frozen=True, slots=True)
class FlowButton:
    """Which WhatsApp Flow a FLOW button opens: exactly one of flow_id, flow_name and flow_json."""

    flow_id: str = ""
    flow_name: str = ""
    flow_json: str = ""
    # "" leaves it to Meta (NAVIGATE).
    flow_action: FlowAction | None = None
    navigate_screen: str = ""
    icon: str = ""


@dataclass(frozen=True, slots=True)
class Button:
    type: ButtonType
    text: str
    url: str = ""
    phone_number: str = ""
    # COPY_CODE: the example code for Meta's review.
    example: str = ""
    otp: OneTimePassword | None = None
    flow: FlowButton | None = None
    # The button's JSON keys this version does not model, as a JSON object text ("" when none); for
    # an OTHER button, the whole button. Sent back to Meta as they came.
    extra: str = ""


@dataclass(frozen=True, slots=True)
class CarouselCard:
    """One card of a carousel: a media or product header, an optional body and 1-2 buttons."""

    header: Header | None
    body: str = ""
    buttons: tuple[Button, ...] = ()
    unknown: tuple[UnknownComponent, ...] = ()


@dataclass(frozen=True, slots=True)
class LimitedTimeOffer:
    """The offer line of a limited-time-offer template and whether it shows a countdown."""

    text: str
    has_expiration: bool = False


@dataclass(frozen=True, slots=True)
class UnknownComponent:
    """A component this version does not know, verbatim, at its place in Meta's component list."""

    position: int
    json: str


@dataclass(frozen=True, slots=True)
class Components:
    body: str
    header: Header | None = None
    footer: str = ""
    buttons: tuple[Button, ...] = ()
    # Authentication templates: Meta writes the body and footer; the business picks these.
    add_security_recommendation: bool = False
    code_expiration_minutes: int | None = None
    # Carousel templates: the cards (None: not a carousel; an empty tuple is a carousel without cards).
    carousel: tuple[CarouselCard, ...] | None = None
    limited_time_offer: LimitedTimeOffer | None = None
    # Asks the customer for permission to call them on WhatsApp.
    call_permission_request: bool = False
    unknown: tuple[UnknownComponent, ...] = ()
    # Meta's components JSON exactly as it came (a sync, a file), while these components are still
    # what it says: submitted back unchanged, byte for byte. Not part of the value.
    meta_json: str = field(default="", compare=False)

    @property
    def is_authentication(self) -> bool:
        """Meta writes the body of templates with a one-time password button."""
        return any(button.type is ButtonType.OTP for button in self.buttons)

    @property
    def is_carousel(self) -> bool:
        return self.carousel is not None


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One placeholder's example and value rules.

    `key` is the value key: the name for NAMED templates ("first_name"), "1".."n" for a positional
    body, "header.1" for a positional header, "button.<index>" for a URL button variable.
    """

    key: str
    example: str = ""
    max_length: int = 0
    pattern: str = ""
    optional: bool = False
    default_value: str = ""
    locations: tuple[ParameterLocation, ...] = ()


@dataclass(frozen=True, slots=True)
class TemplateDefinition:
    """What an author writes: the input of lint, create and update."""

    display_name: str
    language_code: str
    category: TemplateCategory | None
    components: Components
    parameters: tuple[ParameterSpec, ...] = ()
    # None: detect from the text.
    parameter_format: ParameterFormat | None = None


# What Meta's edit webhook can describe; everything else of the old components is kept.
_WEBHOOK_BUTTONS = frozenset({ButtonType.URL, ButtonType.PHONE_NUMBER})


def merge_partial_components(old: Components, reported: Components) -> Components:
    """Merges an edit webhook's components into the known ones: a media header stays unless a text
    one is reported; URL/phone buttons are replaced in order by the reported ones (extra reported
    ones are appended; what Meta's JSON of a replaced button held beyond the model is carried over);
    every other button stays in place, and a reported one of another type is added only when the
    template has fewer of that type. The buttons of authentication templates (Meta's own) and of
    carousels (on the cards) are not the webhook's to change."""
    header = reported.header
    if header is None and old.header is not None and old.header.format is not HeaderFormat.TEXT:
        header = old.header
    buttons = old.buttons if old.is_authentication or old.is_carousel else _merged_buttons(old, reported)
    # Everything the webhook cannot describe (authentication settings, cards, the offer, parts this
    # version does not know) stays; Meta's JSON of the old components no longer describes them.
    return replace(
        old, body=reported.body, header=header, footer=reported.footer, buttons=buttons, meta_json=""
    )


def _merged_buttons(old: Components, reported: Components) -> tuple[Button, ...]:
    fresh = [b for b in reported.buttons if b.type in _WEBHOOK_BUTTONS]
    buttons: list[Button] = []
    for button in old.buttons:
        if button.type not in _WEBHOOK_BUTTONS:
            buttons.append(button)
        elif fresh:
            new = fresh.pop(0)
            buttons.append(replace(new, extra=button.extra) if new.type is button.type else new)
    buttons.extend(fresh)
    present = Counter(b.type for b in old.buttons if b.type not in _WEBHOOK_BUTTONS)
    for button in reported.buttons:
        if button.type in _WEBHOOK_BUTTONS:
            continue
        if present[button.type]:
            present[button.type] -= 1
        else:
            buttons.append(button)
    return tuple(buttons)


def components_summary(components: Components) -> str:
    """A short, stable description of components for history (the full text is in details)."""
    parts = [f"body {len(components.body)} chars"]
    if components.header is not None:
        parts.insert(0, f"header {components.header.format.value}")
    if components.footer:
        parts.append("footer")
    if components.buttons:
        parts.append(f"{len(components.buttons)} buttons")
    if components.carousel is not None:
        parts.append(f"{len(components.carousel)} cards")
    if components.limited_time_offer is not None:
        parts.append("limited-time offer")
    if components.unknown:
        parts.append(f"{len(components.unknown)} other components")
    return ", ".join(parts)
