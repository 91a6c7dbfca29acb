"""Value objects a template definition is built from (header, body, footer, buttons, parameters)."""

from __future__ import annotations

from dataclasses import dataclass
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


class ButtonType(StrEnum):
    QUICK_REPLY = "QUICK_REPLY"
    URL = "URL"
    PHONE_NUMBER = "PHONE_NUMBER"
    COPY_CODE = "COPY_CODE"


class ParameterLocation(StrEnum):
    HEADER = "HEADER"
    BODY = "BODY"
    BUTTON = "BUTTON"


@dataclass(frozen=True, slots=True)
class Header:
    format: HeaderFormat
    text: str = ""
    example_media_handles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Button:
    type: ButtonType
    text: str
    url: str = ""
    phone_number: str = ""
    example: str = ""


@dataclass(frozen=True, slots=True)
class Components:
    body: str
    header: Header | None = None
    footer: str = ""
    buttons: tuple[Button, ...] = ()


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
    one is reported; quick-reply and copy-code buttons stay in place; URL/phone buttons are replaced
    in order by the reported ones (extra reported ones are appended)."""
    header = reported.header
    if header is None and old.header is not None and old.header.format is not HeaderFormat.TEXT:
        header = old.header
    fresh = [b for b in reported.buttons if b.type in _WEBHOOK_BUTTONS]
    buttons: list[Button] = []
    for button in old.buttons:
        if button.type in _WEBHOOK_BUTTONS:
            if fresh:
                buttons.append(fresh.pop(0))
        else:
            buttons.append(button)
    buttons.extend(fresh)
    buttons.extend(b for b in reported.buttons if b.type not in _WEBHOOK_BUTTONS and b not in buttons)
    return Components(body=reported.body, header=header, footer=reported.footer, buttons=tuple(buttons))


def components_summary(components: Components) -> str:
    """A short, stable description of components for history (the full text is in details)."""
    parts = [f"body {len(components.body)} chars"]
    if components.header is not None:
        parts.insert(0, f"header {components.header.format.value}")
    if components.footer:
        parts.append("footer")
    if components.buttons:
        parts.append(f"{len(components.buttons)} buttons")
    return ", ".join(parts)
