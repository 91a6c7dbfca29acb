"""Webhook translators for tests: the real one, made to fail on demand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.http.webhook.translators import MetaWebhookTranslator
from app.inbox import IgnoredChange, MessagesChange, RawChange, TemplateChange


class FailingTranslator:
    """The real translator, except that translating fails with `error` while `failing` (a fault
    the worker did not see coming: a bug, a database that broke mid-change). `calls` counts tries."""

    def __init__(self, error: Exception | None = None) -> None:
        self.real = MetaWebhookTranslator()
        self.failing = True
        self.error = error or RuntimeError("boom: the change could not be applied")
        self.calls = 0

    def split(self, body: bytes) -> Sequence[RawChange]:
        return self.real.split(body)

    def translate(
        self, change: RawChange, received_at: datetime
    ) -> TemplateChange | MessagesChange | IgnoredChange:
        self.calls += 1
        if self.failing:
            raise self.error
        return self.real.translate(change, received_at)
