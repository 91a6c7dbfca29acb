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
