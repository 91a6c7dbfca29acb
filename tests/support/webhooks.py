"""Meta webhook bodies as tests post them: a `messages` change (inbound messages or statuses)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def messages_delivery(value: Mapping[str, Any], waba: str, phone_number_id: str) -> bytes:
    """One delivery with one `messages` change of `waba`, for `phone_number_id`, holding `value`."""
    change_value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": phone_number_id},
        **value,
    }
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba, "changes": [{"field": "messages", "value": change_value}]}],
        }
    ).encode()
