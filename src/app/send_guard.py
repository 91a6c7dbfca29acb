"""May I send this message, now, to this person? The window (CheckWindow) and every reason a send
would fail at Meta, each with the error code Meta would answer (ValidateMessage), before any call.

Nothing here writes. Templates and phone numbers come from the template cache (a pause on another
replica is seen within its recheck time), windows from the window cache (an OPEN answer from memory
is right until the window's own closing time unless Meta closed it early, which every process learns
within the same recheck time; a CLOSED one is always read again).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.auth import Principal
from app.denials import Denial
from app.errors import NotFound
from app.ports import Clock
from app.resource_names import TemplateKey
from app.template_cache import TemplateCache
from app.window_cache import WindowCache
from domain.conversations import ConversationWindow, WindowStatus, window_status
from domain.errors import InvalidParameterValues, TemplateLifecycleError
from domain.messages import WINDOW_CLOSED_CODE
from domain.rendering import RenderedMessage
from domain.status import TemplateStatus
from domain.templates import Template
from domain.tenancy import Role

# Meta's limits on free-form text: a text body, and a media caption.
TEXT_MAX = 4096
CAPTION_MAX = 1024
# Meta's codes for what the guard refuses (see the fact sheet's error table).
_PARAMETER_COUNT = 132000
_TEMPLATE_MISSING = 132001
_HYDRATED_TOO_LONG = 132005
_TEMPLATE_PAUSED = 132015
_TEMPLATE_DISABLED = 132016
_VALUE_FORMAT = 132018
_PARAMETER_MISSING = 131008
_PARAMETER_INVALID = 131009
_INVALID = 100


class FreeFormType(StrEnum):
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    DOCUMENT = "DOCUMENT"
    STICKER = "STICKER"
    LOCATION = "LOCATION"
    CONTACTS = "CONTACTS"
    INTERACTIVE = "INTERACTIVE"
    REACTION = "REACTION"


_CAPTIONED = frozenset({FreeFormType.IMAGE, FreeFormType.VIDEO, FreeFormType.DOCUMENT})


@dataclass(frozen=True, slots=True)
class FreeFormDraft:
    type: FreeFormType
    # The body of a TEXT message, or the caption of an image, video or document.
    text: str = ""


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    key: TemplateKey
    values: Mapping[str, str]


Draft = FreeFormDraft | TemplateDraft


@dataclass(frozen=True, slots=True)
class WindowCheck:
    phone_number_id: str
    contact: str
    # Both ids of the contact, as far as the service knows them.
    wa_id: str
    user_id: str
    at: datetime
    status: WindowStatus


@dataclass(frozen=True, slots=True)
class Validation:
    window: WindowCheck
    denials: tuple[Denial, ...]
    # Whether the message would go out inside an open service window (a pricing hint for templates).
    inside_service_window: bool
    template: Template | None = None
    rendered: RenderedMessage | None = None

    @property
    def allowed(self) -> bool:
        return not self.denials


@dataclass(frozen=True, slots=True)
class ValidationRequest:
    phone_number_id: str
    contact: str
    draft: Draft
    at: datetime | None = None


class SendGuard:
    def __init__(self, clock: Clock, template_cache: TemplateCache, window_cache: WindowCache) -> None:
        self._clock = clock
        self._cache = template_cache
        self._windows = window_cache

    async def check_window(
        self, principal: Principal, phone_number_id: str, contact: str, at: datetime | None = None
    ) -> WindowCheck:
        principal.require(Role.VIEWER)
        await self._require_phone_number(principal, phone_number_id)
        contact_id = contact_key(contact)
        when = at or self._clock.now()
        window = await self._windows.find((principal.org_id, phone_number_id, contact_id), when)
        return self._check(phone_number_id, contact_id, window, when)

    async def validate(self, principal: Principal, request: ValidationRequest) -> Validation:
        """One message's verdict; a phone number the organization did not register is NotFound."""
        await self._require_phone_number(principal, request.phone_number_id)
        [validation] = await self.validate_many(principal, [request])
        return validation

    async def validate_many(
        self, principal: Principal, requests: Sequence[ValidationRequest]
    ) -> list[Validation]:
        """Every request's verdict (an unregistered phone number denies that message only); the
        windows that are not in memory are read in one transaction."""
        principal.require(Role.VIEWER)
        now = self._clock.now()
        keys = [(principal.org_id, r.phone_number_id, contact_key(r.contact)) for r in requests]
        windows = await self._windows.find_many(
            [(key, r.at or now) for key, r in zip(keys, requests, strict=True)]
        )
        results = []
        for key, request in zip(keys, requests, strict=True):
            check = self._check(request.phone_number_id, key[2], windows[key], request.at or now)
            if await self._cache.waba_of_phone_number(principal, request.phone_number_id) is None:
                denial = Denial(
                    "PHONE_NUMBER_NOT_FOUND",
                    0,
                    f"phone number {request.phone_number_id} is not registered to your organization",
                    field="phone_number_id",
                )
                results.append(Validation(check, (denial,), False))
            else:
                results.append(await self._validate(principal, request, check))
        return results

    async def _validate(
        self, principal: Principal, request: ValidationRequest, check: WindowCheck
    ) -> Validation:
        inside = check.status.open
        draft = request.draft
        if isinstance(draft, FreeFormDraft):
            denials = list(_free_form_denials(draft))
            if not inside:
                denials.insert(0, _window_closed(check))
            return Validation(check, tuple(denials), inside)
        waba_id = await self._cache.waba_of_phone_number(principal, request.phone_number_id)
        template: Template | None = None
        with contextlib.suppress(NotFound):
            template = (await self._cache.get(principal, draft.key)).template
        if template is None or draft.key.waba_id != waba_id:
            why = (
                "does not exist in that language"
                if template is None
                else f"belongs to another WABA than phone number {request.phone_number_id}"
            )
            denial = Denial("TEMPLATE_NOT_FOUND", _TEMPLATE_MISSING, f"template {draft.key} {why}")
            return Validation(check, (denial,), inside)
        denials = []
        if status_denial := _status_denial(template):
            denials.append(status_denial)
        rendered: RenderedMessage | None = None
        try:
            rendered = template.render(draft.values)
        except InvalidParameterValues as exc:
            denials.extend(_value_denial(v.code, v.key, v.message) for v in exc.violations)
        except TemplateLifecycleError as exc:
            denials.append(Denial("TEMPLATE_UNUSABLE", 0, str(exc), detail=exc.reason))
        return Validation(check, tuple(denials), inside, template, rendered)

    def _check(
        self, phone_number_id: str, contact_id: str, window: ConversationWindow | None, when: datetime
    ) -> WindowCheck:
        return WindowCheck(
            phone_number_id,
            contact_id,
            window.wa_id if window is not None else "",
            window.user_id if window is not None else "",
            when,
            window_status(window, when),
        )

    async def _require_phone_number(self, principal: Principal, phone_number_id: str) -> None:
        if await self._cache.waba_of_phone_number(principal, phone_number_id) is None:
            raise NotFound("phone number", phone_number_id)


# What people write inside phone numbers; Meta ignores it too.
PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


def contact_key(contact: str) -> str:
    """How windows know a contact: a phone number's digits (its wa_id), or a user id as given."""
    stripped = contact.strip()
    digits = PHONE_PUNCTUATION.sub("", stripped).removeprefix("+")
    return digits if digits.isdigit() and digits.isascii() else stripped


def _window_closed(check: WindowCheck) -> Denial:
    last = check.status.last_inbound_at
    if check.status.closed_by_meta_at is not None:
        why = f"Meta refused a message with 131047 at {check.status.closed_by_meta_at.isoformat()}"
    elif last is None:
        why = "the contact never wrote to this number"
    else:
        why = f"the contact last wrote at {last.isoformat()}, more than 24 hours before"
    return Denial(
        "CUSTOMER_SERVICE_WINDOW_CLOSED",
        WINDOW_CLOSED_CODE,
        f"the customer service window is closed ({why}); only a template can be sent",
    )


def _free_form_denials(draft: FreeFormDraft) -> list[Denial]:
    if draft.type is FreeFormType.TEXT:
        if not draft.text.strip():
            return [Denial("TEXT_EMPTY", _PARAMETER_MISSING, "a text message needs a body", "text")]
        if len(draft.text) > TEXT_MAX:
            return [
                Denial(
                    "TEXT_TOO_LONG",
                    _INVALID,
                    f"the text is {len(draft.text)} characters; Meta allows at most {TEXT_MAX}",
                    "text",
                )
            ]
    elif draft.type in _CAPTIONED and len(draft.text) > CAPTION_MAX:
        return [
            Denial(
                "TEXT_TOO_LONG",
                _INVALID,
                f"the caption is {len(draft.text)} characters; Meta allows at most {CAPTION_MAX}",
                "text",
            )
        ]
    return []


def _status_denial(template: Template) -> Denial | None:
    if template.sendable:
        return None
    status = template.raw_status or template.status.value
    if template.status is TemplateStatus.PAUSED:
        return Denial("TEMPLATE_PAUSED", _TEMPLATE_PAUSED, f"template {template.name} is paused by Meta")
    if template.status is TemplateStatus.DISABLED:
        return Denial(
            "TEMPLATE_DISABLED", _TEMPLATE_DISABLED, f"template {template.name} is disabled by Meta"
        )
    return Denial(
        "TEMPLATE_NOT_APPROVED", _TEMPLATE_MISSING, f"template {template.name} is {status}, not approved"
    )


# Value rules -> (reason, Meta's code).
_VALUE_REASONS = {
    "VALUE_MISSING": ("PARAMETERS_MISMATCH", _PARAMETER_COUNT),
    "VALUE_UNKNOWN": ("PARAMETERS_MISMATCH", _PARAMETER_COUNT),
    "VALUE_FORBIDDEN_WHITESPACE": ("VALUE_FORMAT", _VALUE_FORMAT),
    "VALUE_TOO_LONG": ("VALUE_TOO_LONG", _PARAMETER_INVALID),
    "HEADER_VALUE_TOO_LONG": ("VALUE_TOO_LONG", _PARAMETER_INVALID),
    "BODY_TOO_LONG_AFTER_RENDER": ("TEXT_TOO_LONG", _HYDRATED_TOO_LONG),
    "HEADER_TOO_LONG_AFTER_RENDER": ("TEXT_TOO_LONG", _HYDRATED_TOO_LONG),
    "VALUE_EMPTY": ("VALUE_INVALID", _PARAMETER_MISSING),
}


def _value_denial(code: str, key: str, message: str) -> Denial:
    # Our own rules (an author's pattern) have no Meta code: Meta would send it.
    reason, meta_code = _VALUE_REASONS.get(code, ("VALUE_INVALID", 0))
    return Denial(reason, meta_code, message, field=key, detail=code)
