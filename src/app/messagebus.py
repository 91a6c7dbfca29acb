"""Routes each command to its one handler; handlers get their dependencies bound at bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from app.commands import Command

R = TypeVar("R")
Handler = Callable[[Any], Awaitable[Any]]


class UnknownCommand(LookupError):
    """A command with no registered handler: a wiring mistake in bootstrap."""


class MessageBus:
    def __init__(self, handlers: Mapping[type[Command[Any]], Handler]) -> None:
        self._handlers = dict(handlers)

    async def handle(self, command: Command[R]) -> R:
        try:
            handler = self._handlers[type(command)]
        except KeyError:
            raise UnknownCommand(f"no handler for {type(command).__name__}") from None
        return cast("R", await handler(command))
