"""In-memory fakes of the Meta gateway ports, for use-case tests (the HTTP adapter is tested against
the fake Graph server instead)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.errors import MetaError
from app.meta_ports import MetaSendResult, MetaSubmission, MetaTemplateState
from domain.components import TemplateDefinition
from domain.rendering import RenderedMessage


@dataclass
class FakeTemplateGateway:
    """Remembers what was created/edited/deleted; `listed` is what list_all returns."""

    listed: list[MetaTemplateState] = field(default_factory=list)
    created: list[tuple[str, TemplateDefinition]] = field(default_factory=list)
    edits: list[tuple[str, TemplateDefinition, bool]] = field(default_factory=list)
    deleted: list[tuple[str, str, str]] = field(default_factory=list)
    # Raised (once each, in order) by the next calls.
    errors: list[MetaError] = field(default_factory=list)
    submission_status: str = "PENDING"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(918273645500100))

    def _maybe_fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    async def create(self, waba_id: str, definition: TemplateDefinition) -> MetaSubmission:
        self._maybe_fail()
        self.created.append((waba_id, definition))
        category = definition.category.value if definition.category else ""
        return MetaSubmission(str(next(self._ids)), self.submission_status, category)

    async def list_all(self, waba_id: str) -> Sequence[MetaTemplateState]:
        self._maybe_fail()
        return list(self.listed)

    async def edit(
        self, meta_template_id: str, definition: TemplateDefinition, *, include_category: bool
    ) -> None:
        self._maybe_fail()
        self.edits.append((meta_template_id, definition, include_category))

    async def delete(self, waba_id: str, meta_template_id: str, display_name: str) -> None:
        self._maybe_fail()
        self.deleted.append((waba_id, meta_template_id, display_name))


@dataclass(frozen=True)
class SentTemplate:
    phone_number_id: str
    to: str
    template_name: str
    language_code: str
    message: RenderedMessage
    callback_data: str


@dataclass(frozen=True)
class SentText:
    phone_number_id: str
    to: str
    text: str
    preview_url: bool
    callback_data: str


@dataclass
class FakeMessageGateway:
    sent: list[SentTemplate] = field(default_factory=list)
    texts: list[SentText] = field(default_factory=list)
    errors: list[MetaError] = field(default_factory=list)
    message_status: str = "accepted"

    async def send_text(
        self, phone_number_id: str, to: str, text: str, *, preview_url: bool = False, callback_data: str = ""
    ) -> MetaSendResult:
        if self.errors:
            raise self.errors.pop(0)
        self.texts.append(SentText(phone_number_id, to, text, preview_url, callback_data))
        return MetaSendResult(f"wamid.text{len(self.texts)}", "", to.lstrip("+"))

    async def send_template(
        self,
        phone_number_id: str,
        to: str,
        template_name: str,
        language_code: str,
        message: RenderedMessage,
        *,
        callback_data: str = "",
    ) -> MetaSendResult:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(
            SentTemplate(phone_number_id, to, template_name, language_code, message, callback_data)
        )
        return MetaSendResult(f"wamid.fake{len(self.sent)}", self.message_status, to.lstrip("+"))


class FakeSendPayloads:
    """app.ports.SendPayloads: a plain, readable stand-in for Meta's JSON (the real one is the Graph
    adapter's, tested there)."""

    def template(self, name: str, language_code: str, message: RenderedMessage) -> dict[str, object]:
        return {"name": name, "language": language_code, "values": [p.value for p in message.parameters]}
