"""Applying `messages` changes in bulk: inbound messages move conversation windows, statuses move
message records, and a few failures say something about a template or a window.

A batch reads every window and record it touches in one statement per phone number (windows) and
per organization (records), decides in memory, and writes each changed row once. Meta's timestamps
drive every decision, so order and duplicates within or across batches do not matter.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.inbox import MessagesChange, TemplateChange
from app.message_ports import ContactRef
from app.ports import UnitOfWork
from domain.conversations import ConversationWindow
from domain.messages import (
    TEMPLATE_DISABLED_CODE,
    TEMPLATE_PAUSED_CODE,
    WINDOW_CLOSED_CODE,
    DeliveryStatus,
    MessageKind,
    OutboundMessage,
    StatusUpdate,
    observed_message,
)
from domain.observations import Aspect, ChangeSource, Observation
from domain.tenancy import Waba

# Meta's pricing type for a message inside a free entry point window.
FREE_ENTRY_POINT = "free_entry_point"
_TEMPLATE_STATUS_FOR_CODE = {TEMPLATE_PAUSED_CODE: "PAUSED", TEMPLATE_DISABLED_CODE: "DISABLED"}


@dataclass(frozen=True, slots=True)
class TemplateFailure:
    """A status said the template cannot be sent (132015 paused, 132016 disabled)."""

    waba_id: str
    change: TemplateChange


class ConversationBatch:
    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self._uow = uow
        self._now = now
        self._by_wa_id: dict[tuple[str, str, str], ConversationWindow] = {}
        self._by_user_id: dict[tuple[str, str, str], ConversationWindow] = {}
        self._loaded_windows: dict[str, ConversationWindow] = {}
        self._new_windows: dict[str, ConversationWindow] = {}
        self._changed_windows: set[str] = set()
        self._merged_windows: set[str] = set()
        self._messages: dict[tuple[str, str], OutboundMessage] = {}
        self._new_messages: dict[str, OutboundMessage] = {}
        self._changed_messages: set[str] = set()
        self._closed_early = False

    @classmethod
    async def load(
        cls, uow: UnitOfWork, changes: Sequence[tuple[Waba, MessagesChange]], now: datetime
    ) -> ConversationBatch:
        batch = cls(uow, now)
        refs: list[ContactRef] = []
        wamids: dict[str, set[str]] = {}
        for waba, change in changes:
            org, phone = waba.org_id, change.phone_number_id
            for message in change.inbound:
                refs.extend(ContactRef(org, phone, i) for i in (message.wa_id, message.user_id) if i)
            for status in change.statuses:
                wamids.setdefault(org, set()).add(status.wamid)
                if _touches_window(status):
                    refs.extend(
                        ContactRef(org, phone, i)
                        for i in (status.recipient_id, status.recipient_user_id)
                        if i
                    )
        for window in await uow.windows.lock_for_contacts(refs):
            batch._loaded_windows[window.id] = window
            batch._index(window)
        for org_id, ids in sorted(wamids.items()):
            for record in await uow.messages.lock_by_wamids(org_id, sorted(ids)):
                batch._messages[(org_id, record.wamid)] = record
        return batch

    def apply(self, waba: Waba, change: MessagesChange) -> list[TemplateFailure]:
        """Applies one change; returns what its statuses say about templates."""
        org, phone = waba.org_id, change.phone_number_id
        for inbound in change.inbound:
            window = self._window(org, phone, inbound.wa_id, inbound.user_id)
            if inbound.is_system:
                changed = window.system_message(inbound.at, inbound.system_type, inbound.system_body)
            else:
                changed = window.inbound(
                    inbound.message_id, inbound.at, referral_source_id=inbound.referral_source_id
                )
            self._touched(window, changed)
        failures: list[TemplateFailure] = []
        for status in change.statuses:
            record = self._record(waba, status)
            if record.apply_status(status, self._now):
                self._changed_messages.add(record.id)
            if _touches_window(status) and (status.recipient_id or status.recipient_user_id):
                window = self._window(org, phone, status.recipient_id, status.recipient_user_id)
                if status.error_code == WINDOW_CLOSED_CODE:
                    closed = window.closed_by_meta(status.at)
                    self._closed_early = self._closed_early or closed
                    self._touched(window, closed)
                else:
                    self._touched(window, window.free_entry_opened(status.at))
            if failure := _template_failure(record, status):
                failures.append(failure)
        return failures

    async def save(self) -> None:
        windows = self._uow.windows
        # Merged-away windows go first: the survivor takes over their ids (unique indexes).
        await windows.delete_many(sorted(self._merged_windows))
        await windows.save_many(
            [w for w_id, w in sorted(self._loaded_windows.items()) if w_id in self._changed_windows]
        )
        await windows.add_many([w for _, w in sorted(self._new_windows.items())])
        if self._closed_early:
            await windows.closed_early()  # cached OPEN answers everywhere are dropped
        loaded = [m for m in self._messages.values() if m.id not in self._new_messages]
        await self._uow.messages.save_many(
            sorted((m for m in loaded if m.id in self._changed_messages), key=lambda m: m.id)
        )
        await self._uow.messages.add_many([m for _, m in sorted(self._new_messages.items())])

    # ---- windows ----------------------------------------------------------------------------

    def _window(self, org: str, phone: str, wa_id: str, user_id: str) -> ConversationWindow:
        by_wa = self._by_wa_id.get((org, phone, wa_id)) if wa_id else None
        by_user = self._by_user_id.get((org, phone, user_id)) if user_id else None
        # Two windows, one per id, are the same contact unless each already knows another id.
        if (
            by_wa is not None
            and by_user is not None
            and by_wa is not by_user
            and by_wa.user_id in ("", user_id)
            and by_user.wa_id in ("", wa_id)
        ):
            self._merge(by_user, into=by_wa)
        window = by_wa or by_user
        if window is None:
            window = ConversationWindow(secrets.token_hex(16), org, phone, updated_at=self._now)
            self._new_windows[window.id] = window
        # An id another window holds (the two could not be merged) stays with that window.
        taken_wa = self._by_wa_id.get((org, phone, wa_id)) if wa_id else None
        taken_user = self._by_user_id.get((org, phone, user_id)) if user_id else None
        learned = window.learn_ids(
            wa_id if taken_wa is None or taken_wa is window else "",
            user_id if taken_user is None or taken_user is window else "",
        )
        self._touched(window, learned)
        self._index(window)
        return window

    def _merge(self, gone: ConversationWindow, *, into: ConversationWindow) -> None:
        for index in (self._by_wa_id, self._by_user_id):
            for key in [k for k, w in index.items() if w is gone]:
                del index[key]
        if gone.id in self._new_windows:
            del self._new_windows[gone.id]
        else:
            self._loaded_windows.pop(gone.id, None)
            self._merged_windows.add(gone.id)
        into.absorb(gone)
        if gone.closed_by_meta_at is not None:
            # The survivor may have been answered OPEN from a cache and is now closed early.
            self._closed_early = True
        self._touched(into, True)

    def _index(self, window: ConversationWindow) -> None:
        if window.wa_id:
            self._by_wa_id.setdefault((window.org_id, window.phone_number_id, window.wa_id), window)
        if window.user_id:
            self._by_user_id.setdefault((window.org_id, window.phone_number_id, window.user_id), window)

    def _touched(self, window: ConversationWindow, changed: bool) -> None:
        if changed:
            window.updated_at = self._now
            self._changed_windows.add(window.id)

    # ---- message records --------------------------------------------------------------------

    def _record(self, waba: Waba, status: StatusUpdate) -> OutboundMessage:
        key = (waba.org_id, status.wamid)
        record = self._messages.get(key)
        if record is None:
            # A message another tool sent, or ours whose answer from Meta is not recorded yet (the
            # send path takes these statuses over when it records the wamid).
            record = observed_message(status, secrets.token_hex(16), waba.org_id, waba.waba_id, self._now)
            self._messages[key] = record
            self._new_messages[record.id] = record
        return record


def _touches_window(status: StatusUpdate) -> bool:
    if status.status is DeliveryStatus.FAILED:
        return status.error_code == WINDOW_CLOSED_CODE
    return status.pricing is not None and status.pricing.type == FREE_ENTRY_POINT


def _template_failure(record: OutboundMessage, status: StatusUpdate) -> TemplateFailure | None:
    verdict = _TEMPLATE_STATUS_FOR_CODE.get(status.error_code or 0)
    if (
        verdict is None
        or status.status is not DeliveryStatus.FAILED
        or record.kind is not MessageKind.TEMPLATE
        or not (record.template_name and record.language_code)
    ):
        return None
    observation = Observation(
        Aspect.STATUS,
        verdict,
        ChangeSource.MESSAGE_STATUS,
        status.at,
        reason=f"MESSAGE_FAILED_{status.error_code}",
        explanation=status.error_title,
        details={"wamid": status.wamid, "messageId": record.id},
    )
    return TemplateFailure(
        record.waba_id,
        TemplateChange(
            waba_id=record.waba_id,
            meta_template_id="",
            display_name=record.template_name,
            language_code=record.language_code,
            observations=(observation,),
        ),
    )
