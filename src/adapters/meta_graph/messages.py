"""MessageGateway over the Graph API: template and text sends (POST /{phone_number_id}/messages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.send_payloads import template_payload
from app.errors import MetaUnavailable
from app.meta_ports import MetaSendResult
from domain.rendering import RenderedMessage


class GraphMessageGateway:
    def __init__(self, client: GraphClient) -> None:
        self._client = client

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
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template_payload(template_name, language_code, message),
        }
        return await self._send(phone_number_id, body, callback_data)

    async def send_text(
        self, phone_number_id: str, to: str, text: str, *, preview_url: bool = False, callback_data: str = ""
    ) -> MetaSendResult:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": preview_url, "body": text},
        }
        return await self._send(phone_number_id, body, callback_data)

    async def _send(self, phone_number_id: str, body: dict[str, Any], callback_data: str) -> MetaSendResult:
        if not phone_number_id or "/" in phone_number_id:
            raise ValueError(f"phone number id {phone_number_id!r} is not a Graph object id")
        if callback_data:
            body["biz_opaque_callback_data"] = callback_data
        # Not idempotent: Meta has no idempotency key for sends, so a send that may have reached Meta
        # (a timeout, a server error, an answer we cannot read) is not repeated: the user might get
        # the message twice. Refusals and failures to connect are retried.
        answer = await self._client.post(f"{phone_number_id}/messages", body, idempotent=False)
        sent = _first(answer.get("messages"))
        message_id = sent.get("id")
        if not isinstance(message_id, str) or not message_id:
            error = MetaUnavailable("Meta accepted the send but its answer has no messages[0].id")
            # The message may well be on its way; sending again could deliver it twice.
            error.retryable = False
            error.outcome_unknown = True
            raise error
        contact = _first(answer.get("contacts"))
        return MetaSendResult(
            message_id=message_id,
            message_status=_str(sent.get("message_status")),
            wa_id=_str(contact.get("wa_id")),
        )


def _first(value: object) -> Mapping[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        return value[0]
    return {}


def _str(value: object) -> str:
    return "" if value is None else str(value)
