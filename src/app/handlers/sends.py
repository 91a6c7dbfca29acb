"""Sending through Meta, with a record of every send written before Meta is called.

The record is committed (SENDING) before the call, then says what came of it: ACCEPTED with Meta's
id, REJECTED with Meta's error, or UNKNOWN when Meta may or may not have the message (a timeout, a
crash in between). A caller's request_id finds the first record, so a repeat never sends again: an
accepted send answers with the same message, anything else says why it is not resent.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from app.auth import Principal
from app.commands import ExpireStaleSends, SendTemplateMessage, SendTextMessage, SentMessage
from app.errors import (
    FieldViolation,
    InvalidArgument,
    MetaError,
    MetaTemplateDisabled,
    MetaTemplatePaused,
    NotFound,
    RequestIdReused,
    SendAlreadyAttempted,
    SendRefused,
)
from app.handlers.meta import require_gateway
from app.handlers.templates import load_template
from app.meta_ports import MessageGateway, MetaSendResult
from app.ports import Clock, UnitOfWorkFactory
from app.resource_names import TemplateKey, message_name
from app.send_guard import PHONE_PUNCTUATION, FreeFormDraft, FreeFormType, SendGuard, ValidationRequest
from app.send_records import SendRecords
from app.template_cache import TemplateCache
from app.window_cache import WindowCache
from domain.messages import MessageKind, OutboundMessage, SendOutcome
from domain.observations import Aspect, ChangeSource, Observation, Outcome
from domain.tenancy import Role

# E.164 digits, with an optional leading "+" (spaces, dashes, dots and brackets are stripped first).
RECIPIENT = re.compile(r"^\+?[0-9]{6,20}$")
# A record still SENDING this long after it was written lost its answer: the Graph client gives up
# well within it (timeouts and retries included), so the process that sent it died on the way.
SEND_IN_FLIGHT = timedelta(minutes=5)
LOST_ANSWER = "no answer from Meta was recorded (the sending process stopped); it is not sent again"


async def expire_stale_sends(command: ExpireStaleSends, uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Sends still SENDING long after any answer could have come: their process died between the
    record and Meta's answer. They become UNKNOWN (never resent), so lists and counts say so."""
    now = clock.now()
    async with uow_factory() as uow:
        expired = await uow.messages.expire_sending(now - SEND_IN_FLIGHT, now, LOST_ANSWER)
        await uow.commit()
    return expired


async def send_template_message(
    command: SendTemplateMessage,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    message_gateway: MessageGateway | None,
    template_cache: TemplateCache,
    send_records: SendRecords,
) -> SentMessage:
    gateway, to = _ready_to_send(command.principal, message_gateway, command.to)
    fingerprint = _fingerprint(
        "template", command.key, to, command.values, command.phone_number_id, command.callback_data
    )
    if replayed := await _replay(uow_factory, clock, command.principal, command.request_id, fingerprint):
        return replayed
    # From memory while current (a pause on any replica is seen within the cache's recheck time).
    cached = await template_cache.get(command.principal, command.key)
    template = cached.template
    phone_number_id = _sender(command, cached.phone_number_ids)
    template.require_sendable()
    rendered = template.render(command.values)
    record = OutboundMessage(
        id=secrets.token_hex(16),
        org_id=command.principal.org_id,
        waba_id=template.waba_id,
        phone_number_id=phone_number_id,
        to=to.lstrip("+"),
        kind=MessageKind.TEMPLATE,
        created_at=clock.now(),
        template_id=template.id,
        template_name=template.display_name,
        language_code=template.language_code,
        category=template.category.value if template.category is not None else "",
        values=dict(command.values),
        request_id=command.request_id,
        request_fingerprint=fingerprint,
        callback_data=command.callback_data,
    )

    async def call_meta() -> MetaSendResult:
        return await gateway.send_template(
            phone_number_id,
            to,
            template.display_name,
            template.language_code,
            rendered,
            callback_data=command.callback_data,
        )

    try:
        return await _send(uow_factory, clock, send_records, command.principal, record, call_meta)
    except (MetaTemplatePaused, MetaTemplateDisabled) as exc:
        # Meta just told us the template cannot be sent: record it now, so campaigns can react
        # before the status webhook arrives.
        await _record_send_evidence(uow_factory, clock, command.principal, command.key, exc)
        raise


async def send_text_message(
    command: SendTextMessage,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    message_gateway: MessageGateway | None,
    template_cache: TemplateCache,
    send_records: SendRecords,
) -> SentMessage:
    gateway, to = _ready_to_send(command.principal, message_gateway, command.to)
    fingerprint = _fingerprint(
        "text", command.phone_number_id, to, command.text, command.preview_url, command.callback_data
    )
    if replayed := await _replay(uow_factory, clock, command.principal, command.request_id, fingerprint):
        return replayed
    # The window is read from the store, never from a cache: this is the send itself.
    guard = SendGuard(clock, template_cache, WindowCache(uow_factory, max_age_seconds=0))
    validation = await guard.validate(
        command.principal,
        ValidationRequest(command.phone_number_id, to, FreeFormDraft(FreeFormType.TEXT, command.text)),
    )
    text_problems = [d for d in validation.denials if d.field == "text"]
    if text_problems:
        raise InvalidArgument(
            text_problems[0].message,
            [FieldViolation("text", d.message, d.reason) for d in text_problems],
            reason=text_problems[0].reason,
        )
    if not validation.allowed:
        raise SendRefused(validation.denials[0].message, validation.denials)
    waba_id = await template_cache.waba_of_phone_number(command.principal, command.phone_number_id)
    record = OutboundMessage(
        id=secrets.token_hex(16),
        org_id=command.principal.org_id,
        waba_id=waba_id or "",
        phone_number_id=command.phone_number_id,
        to=to.lstrip("+"),
        kind=MessageKind.TEXT,
        created_at=clock.now(),
        text=command.text,
        request_id=command.request_id,
        request_fingerprint=fingerprint,
        callback_data=command.callback_data,
    )

    async def call_meta() -> MetaSendResult:
        return await gateway.send_text(
            command.phone_number_id,
            to,
            command.text,
            preview_url=command.preview_url,
            callback_data=command.callback_data,
        )

    return await _send(uow_factory, clock, send_records, command.principal, record, call_meta)


def _ready_to_send(
    principal: Principal, message_gateway: MessageGateway | None, raw_to: str
) -> tuple[MessageGateway, str]:
    """The checks every send starts with: the caller may send, Meta is configured, `to` is a number."""
    principal.require(Role.OPERATOR)
    return require_gateway(message_gateway), recipient(raw_to)


def recipient(raw: str) -> str:
    to = PHONE_PUNCTUATION.sub("", raw)
    if not RECIPIENT.fullmatch(to):
        raise InvalidArgument(
            f"{raw!r} is not a WhatsApp phone number",
            [
                FieldViolation(
                    "to", "an international number: optional '+', then 6-20 digits", "INVALID_RECIPIENT"
                )
            ],
            reason="INVALID_RECIPIENT",
        )
    return to


async def _send(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    records: SendRecords,
    principal: Principal,
    record: OutboundMessage,
    call_meta: Callable[[], Awaitable[MetaSendResult]],
) -> SentMessage:
    if not await records.add(record):
        # Another request with this request_id got there first (between our replay check and now).
        async with uow_factory(read_only=True) as uow:
            first = await uow.messages.get_by_request(principal.org_id, record.request_id)
        if first is None:  # pragma: no cover - the unique index said it exists
            raise RequestIdReused(record.request_id)
        return _answer_for(first, record.request_fingerprint, clock)
    try:
        result = await call_meta()
    except MetaError as exc:
        if exc.outcome_unknown:
            record.unknown(str(exc), clock.now())
        else:
            record.rejected(exc.code or None, str(exc), clock.now())
        await records.store_outcome(record)
        raise
    except BaseException as exc:
        # Cancelled (the caller went away, shutdown) or a bug: Meta may have the message.
        record.unknown(f"the send was interrupted: {type(exc).__name__}", clock.now())
        await asyncio.shield(records.store_outcome(record))
        raise
    record.accepted(result.message_id, result.wa_id, result.message_status, clock.now())
    # Meta has the message now: its id is recorded even if the caller goes away meanwhile.
    await asyncio.shield(records.store_outcome(record))
    return _sent(record)


async def _replay(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, request_id: str, fingerprint: str
) -> SentMessage | None:
    """The answer a repeat of an earlier request_id gets (None: no earlier one, or no request_id)."""
    if not request_id:
        return None
    async with uow_factory(read_only=True) as uow:
        first = await uow.messages.get_by_request(principal.org_id, request_id)
    if first is None:
        return None
    if first.outcome is SendOutcome.SENDING and clock.now() - first.created_at >= SEND_IN_FLIGHT:
        async with uow_factory() as uow:
            await uow.messages.expire_sending(
                clock.now() - SEND_IN_FLIGHT,
                clock.now(),
                LOST_ANSWER,
                org_id=principal.org_id,
                request_id=request_id,
            )
            await uow.commit()
        async with uow_factory(read_only=True) as uow:
            first = await uow.messages.get_by_request(principal.org_id, request_id) or first
    return _answer_for(first, fingerprint, clock)


def _answer_for(first: OutboundMessage, fingerprint: str, clock: Clock) -> SentMessage:
    if first.request_fingerprint != fingerprint:
        raise RequestIdReused(first.request_id)
    name = message_name(first.id)
    match first.outcome:
        case SendOutcome.ACCEPTED:
            return _sent(first)
        case SendOutcome.REJECTED:
            raise SendAlreadyAttempted(
                "SEND_REJECTED",
                first.id,
                f"this request_id was sent and Meta refused it ({first.error_title}); see {name}",
            )
        case SendOutcome.SENDING:
            raise SendAlreadyAttempted(
                "SEND_IN_PROGRESS", first.id, f"this request_id is being sent right now; see {name}"
            )
        case _:
            raise SendAlreadyAttempted(
                "SEND_OUTCOME_UNKNOWN",
                first.id,
                f"this request_id was sent but Meta's answer was lost; it is not sent again (the status "
                f"webhooks will tell whether it arrived); see {name}",
            )


def _sent(record: OutboundMessage) -> SentMessage:
    return SentMessage(record.wamid, record.meta_message_status, record.wa_id, record.phone_number_id, record)


def _fingerprint(*parts: object) -> str:
    """What a repeat of the request must match (values compared as a set of pairs)."""
    material = repr([sorted(p.items()) if isinstance(p, Mapping) else p for p in parts])
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _sender(command: SendTemplateMessage, registered: Sequence[str]) -> str:
    if command.phone_number_id:
        if command.phone_number_id not in registered:
            raise NotFound("phone number", command.phone_number_id)
        return command.phone_number_id
    if not registered:
        raise InvalidArgument(
            f"WABA {command.key.waba_id} has no registered phone number to send from",
            [FieldViolation("phone_number_id", "register one with `watemplates waba add --phone-number-id`")],
            reason="NO_PHONE_NUMBER",
        )
    return registered[0]


async def _record_send_evidence(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, key: TemplateKey, error: MetaError
) -> None:
    status = "PAUSED" if isinstance(error, MetaTemplatePaused) else "DISABLED"
    now = clock.now()
    async with uow_factory() as uow:
        template = await load_template(uow, principal, key)
        event = template.observe(
            Observation(
                Aspect.STATUS,
                status,
                ChangeSource.SEND_ERROR,
                now,
                reason=f"Meta error {error.code} on send",
                details={"code": error.code, "fbtraceId": error.fbtrace_id, "message": str(error)},
            ),
            received_at=now,
        )
        if event.outcome is Outcome.APPLIED:
            await uow.templates.update(template)
        await uow.commit()
