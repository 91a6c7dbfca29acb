"""The API's resource names (AIP-122), formatted and parsed in one place.

    wabas/{waba_id}                               a WhatsApp Business Account (wabas/-: all the caller's)
    wabas/{waba_id}/templates/{name}.{language}   one template, in one language
    alerts/{alert_id}                             a template health alert
    inboxChanges/{change_id}                      one change of a Meta webhook delivery
    messages/{message_id}                         a message sent through the service (or seen in
                                                  Meta's status webhooks)
    campaigns/{campaign_id}                       a campaign
    channels/{channel_id}, notifications/{id}     a notification channel, a notification

Parsing refuses anything else with InvalidArgument naming the field (reason INVALID_RESOURCE_NAME).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import FieldViolation, InvalidArgument

WILDCARD = "-"
_TEMPLATE = re.compile(r"wabas/(?P<waba>[0-9]{1,32})/templates/(?P<name>[^./]+)\.(?P<lang>[^./]+)")
_WABA = re.compile(r"wabas/(?P<waba>[0-9]{1,32}|-)")
_ALERT = re.compile(r"alerts/(?P<id>[^/]+)")
_INBOX_CHANGE = re.compile(r"inboxChanges/(?P<id>[^/]+)")
_MESSAGE = re.compile(r"messages/(?P<id>[^/]+)")
_CAMPAIGN = re.compile(r"campaigns/(?P<id>[^/]+)")


@dataclass(frozen=True, slots=True)
class TemplateKey:
    """A template's natural identity: one (WABA, Meta name, language)."""

    waba_id: str
    display_name: str
    language_code: str

    def __str__(self) -> str:
        return template_name(self.waba_id, self.display_name, self.language_code)


def waba_name(waba_id: str) -> str:
    return f"wabas/{waba_id}"


def template_name(waba_id: str, display_name: str, language_code: str) -> str:
    return f"{waba_name(waba_id)}/templates/{display_name}.{language_code}"


def qualified_template_name(waba_id: str, name_and_language: str) -> str:
    """The resource name from a WABA and a template's "name.language" (as history records it)."""
    return f"{waba_name(waba_id)}/templates/{name_and_language}"


def alert_name(alert_id: str) -> str:
    return f"alerts/{alert_id}"


def inbox_change_name(change_id: str) -> str:
    return f"inboxChanges/{change_id}"


def message_name(message_id: str) -> str:
    return f"messages/{message_id}"


def campaign_name(campaign_id: str) -> str:
    return f"campaigns/{campaign_id}"


def channel_name(channel_id: str) -> str:
    return f"channels/{channel_id}"


def notification_name(notification_id: str) -> str:
    return f"notifications/{notification_id}"


def parse_simple_name(name: str, collection: str, field: str = "name") -> str:
    """`{collection}/{id}` -> id (channels, notifications)."""
    prefix = f"{collection}/"
    found = name[len(prefix) :] if name.startswith(prefix) else ""
    if not found or "/" in found:
        raise _invalid(field, name, f"a {collection[:-1]} name", f"{collection}/{{id}}")
    return found


def parse_template_name(name: str, field: str = "name") -> TemplateKey:
    match = _TEMPLATE.fullmatch(name)
    if match is None:
        raise _invalid(field, name, "a template name", "wabas/{waba_id}/templates/{name}.{language}")
    return TemplateKey(match["waba"], match["name"], match["lang"])


def parse_waba_name(name: str, *, allow_wildcard: bool, field: str = "parent") -> str | None:
    """`wabas/{id}` -> id; `wabas/-` -> None (every WABA of the caller) where allowed."""
    match = _WABA.fullmatch(name)
    if match is None or (match["waba"] == WILDCARD and not allow_wildcard):
        expected = "wabas/{waba_id}" + (" or wabas/-" if allow_wildcard else "")
        raise _invalid(field, name, "a WABA", expected)
    return None if match["waba"] == WILDCARD else match["waba"]


def parse_alert_name(name: str, field: str = "name") -> str:
    match = _ALERT.fullmatch(name)
    if match is None:
        raise _invalid(field, name, "an alert name", "alerts/{alert_id}")
    return match["id"]


def parse_inbox_change_name(name: str, field: str = "name") -> str:
    match = _INBOX_CHANGE.fullmatch(name)
    if match is None:
        raise _invalid(field, name, "an inbox change name", "inboxChanges/{change_id}")
    return match["id"]


def parse_message_name(name: str, field: str = "name") -> str:
    match = _MESSAGE.fullmatch(name)
    if match is None:
        raise _invalid(field, name, "a message name", "messages/{message_id}")
    return match["id"]


def parse_campaign_name(name: str, field: str = "name") -> str:
    match = _CAMPAIGN.fullmatch(name)
    if match is None:
        raise _invalid(field, name, "a campaign name", "campaigns/{campaign_id}")
    return match["id"]


def _invalid(field: str, given: str, what: str, expected: str) -> InvalidArgument:
    description = f"{given!r} is not {what}; expected {expected}"
    return InvalidArgument(
        f"{field}: {description}",
        [FieldViolation(field, description, "INVALID_RESOURCE_NAME")],
        reason="INVALID_RESOURCE_NAME",
    )
