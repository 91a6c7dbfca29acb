"""List responses measured while they are built, so a page stays under the message size limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from google.protobuf.message import Message

T = TypeVar("T")
M = TypeVar("M", bound=Message)


class ProtoPage(Generic[T, M]):
    """Converts each item to its message once: `size_of` (handed to the query, which cuts the page
    at its byte budget) converts and measures; calling it for the response reuses that message."""

    def __init__(self, convert: Callable[[T], M]) -> None:
        self._convert = convert
        self._converted: dict[int, M] = {}

    def size_of(self, item: T) -> int:
        message = self._converted[id(item)] = self._convert(item)
        return message.ByteSize()

    def __call__(self, item: T) -> M:
        message = self._converted.pop(id(item), None)
        return self._convert(item) if message is None else message
