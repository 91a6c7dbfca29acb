"""Explicit JSON documents for the template value objects stored in JSON columns.

Written by hand rather than with dataclasses.asdict so the stored shape is a deliberate format:
renaming a Python field must not silently change (or break reading) rows already in the database.
Readers fill absent optional keys with the domain defaults, so documents written before a field
existed still load.
"""

from __future__ import annotations

from typing import Any

from domain.components import (
    Button,
    ButtonType,
    Components,
    Header,
    HeaderFormat,
    ParameterLocation,
    ParameterSpec,
)

JsonObject = dict[str, Any]


def components_to_json(components: Components) -> JsonObject:
    return {
        "body": components.body,
        "header": None if components.header is None else _header_to_json(components.header),
        "footer": components.footer,
        "buttons": [_button_to_json(button) for button in components.buttons],
    }


def components_from_json(document: JsonObject) -> Components:
    header = document.get("header")
    return Components(
        body=document["body"],
        header=None if header is None else _header_from_json(header),
        footer=document.get("footer", ""),
        buttons=tuple(_button_from_json(button) for button in document.get("buttons", ())),
    )


def parameters_to_json(parameters: tuple[ParameterSpec, ...]) -> list[JsonObject]:
    return [
        {
            "key": spec.key,
            "example": spec.example,
            "max_length": spec.max_length,
            "pattern": spec.pattern,
            "optional": spec.optional,
            "default_value": spec.default_value,
            "locations": [location.value for location in spec.locations],
        }
        for spec in parameters
    ]


def parameters_from_json(document: list[JsonObject]) -> tuple[ParameterSpec, ...]:
    return tuple(
        ParameterSpec(
            key=spec["key"],
            example=spec.get("example", ""),
            max_length=spec.get("max_length", 0),
            pattern=spec.get("pattern", ""),
            optional=spec.get("optional", False),
            default_value=spec.get("default_value", ""),
            locations=tuple(ParameterLocation(location) for location in spec.get("locations", ())),
        )
        for spec in document
    )


def _header_to_json(header: Header) -> JsonObject:
    return {
        "format": header.format.value,
        "text": header.text,
        "example_media_handles": list(header.example_media_handles),
    }


def _header_from_json(document: JsonObject) -> Header:
    return Header(
        format=HeaderFormat(document["format"]),
        text=document.get("text", ""),
        example_media_handles=tuple(document.get("example_media_handles", ())),
    )


def _button_to_json(button: Button) -> JsonObject:
    return {
        "type": button.type.value,
        "text": button.text,
        "url": button.url,
        "phone_number": button.phone_number,
        "example": button.example,
    }


def _button_from_json(document: JsonObject) -> Button:
    return Button(
        type=ButtonType(document["type"]),
        text=document["text"],
        url=document.get("url", ""),
        phone_number=document.get("phone_number", ""),
        example=document.get("example", ""),
    )
