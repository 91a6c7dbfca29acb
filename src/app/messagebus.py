"""Routes each command to its one handler; handlers get their dependencies bound at bootstrap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from app.commands import Command

R = TypeVar("R")
Handler = Callable[[Any], Awaitable[Any]]


class UnknownCommand(LookupError):
    """A command with no registered handler: a wiring mistake in bootstrap."""


# Told of every command handled: the command, its result (None when it failed) and its error.
Observer = Callable[[Any, Any, BaseException | None], Awaitable[None]]


class MessageBus:
    def __init__(
        self, handlers: Mapping[type[Command[Any]], Handler], observer: Observer | None = None
    ) -> None:
        self._handlers = dict(handlers)
        self._observer = observer

    async def handle(self, command: Command[R]) -> R:
        try:
            handler = self._handlers[type(command)]
        except KeyError:
            raise UnknownCommand(f"no handler for {type(command).__name__}") from None
        if self._observer is None:
            return cast("R", await handler(command))
        try:
            result = await handler(command)
        except Exception as exc:
            await self._observer(command, None, exc)
            raise
        await self._observer(command, result, None)
        return cast("R", result)
