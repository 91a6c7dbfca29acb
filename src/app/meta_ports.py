"""The ports toward Meta: the Graph API's template and message gateways, the send request's shape,
and the webhook's translator (implemented by adapters.meta_graph and adapters.http.webhook)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.inbox import IgnoredChange, MessagesChange, RawChange, TemplateChange
from domain.components import TemplateDefinition
from domain.rendering import RenderedMessage


@dataclass(frozen=True, slots=True)
class MetaSubmission:
    """Meta's answer to a template creation."""

    meta_template_id: str
    status: str
    category: str


@dataclass(frozen=True, slots=True)
class MetaTemplateState:
    """One template as Meta lists it. Values are Meta's verbatim (liberal parse happens in domain)."""

    meta_template_id: str
    definition: TemplateDefinition
    status: str
    category: str
    quality: str
    rejected_reason: str = ""


@dataclass(frozen=True, slots=True)
class MetaSendResult:
    message_id: str
    # accepted | held_for_quality_assessment | paused (Meta's pacing signal; "" if absent).
    message_status: str
    wa_id: str = ""


class TemplateGateway(Protocol):
    """Template management at Meta (Graph API). Errors are app.errors.MetaError subclasses."""

    async def create(self, waba_id: str, definition: TemplateDefinition) -> MetaSubmission: ...

    async def list_all(self, waba_id: str) -> Sequence[MetaTemplateState]:
        """Every template of the WABA, following Meta's paging to the end."""
        ...

    async def edit(
        self, meta_template_id: str, definition: TemplateDefinition, *, include_category: bool
    ) -> None:
        """Replaces components (and the category when include_category) of a submitted template."""
        ...

    async def delete(self, waba_id: str, meta_template_id: str, display_name: str) -> None:
        """Deletes one language of a template (by hsm_id and name)."""
        ...


class MessageGateway(Protocol):
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
        """Sends the rendered template message (its parameters in send order) to `to`."""
        ...

    async def send_text(
        self, phone_number_id: str, to: str, text: str, *, preview_url: bool = False, callback_data: str = ""
    ) -> MetaSendResult:
        """Sends a free-form text message (Meta accepts it only inside the service window)."""
        ...


class SendPayloads(Protocol):
    """How Meta's send request spells a rendered message (shown by RenderTemplate, so a caller can
    send it through Meta itself)."""

    def template(self, name: str, language_code: str, message: RenderedMessage) -> Mapping[str, object]:
        """The `template` object of a send: name, language and components."""
        ...


class WebhookTranslator(Protocol):
    """Meta's webhook JSON -> inbox changes -> template changes (implemented by the webhook adapter)."""

    def split(self, body: bytes) -> Sequence[RawChange]:
        """Every change of every entry, with its idempotency key; raises MalformedDelivery when the
        body is not a whatsapp_business_account envelope with entries."""
        ...

    def translate(
        self, change: RawChange, received_at: datetime
    ) -> TemplateChange | MessagesChange | IgnoredChange:
        """Routes on `field` and on the shape of `value`; raises UntranslatableChange with a reason.
        Observations use Meta's time (entry.time, or a message's own timestamp), else `received_at`."""
        ...
