"""Conversation windows and outbound message records, with the SQL schema's unique rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from app.message_ports import ContactRef, DeliveryCounts, MessageQuery
from domain.conversations import ConversationWindow
from domain.messages import OutboundMessage, SendOutcome
from fakes.repositories.tables import IntegrityViolation, Tables, clone, require_new_id


class FakeWindowRepository:
    """A contact's wa_id, and its user id, name one window per phone number of an organization."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def find(self, org_id: str, phone_number_id: str, contact_id: str) -> ConversationWindow | None:
        found = [
            w
            for w in self._tables.read.windows.values()
            if (w.org_id, w.phone_number_id) == (org_id, phone_number_id)
            and contact_id in (w.wa_id, w.user_id)
        ]
        found.sort(key=lambda w: (w.wa_id != contact_id, w.id))
        return clone(found[0]) if found else None

    async def lock_for_contacts(self, refs: Sequence[ContactRef]) -> Sequence[ConversationWindow]:
        wanted = {(r.org_id, r.phone_number_id, r.contact_id) for r in refs if r.contact_id}
        found = [
            w
            for w in self._tables.read.windows.values()
            if (w.org_id, w.phone_number_id, w.wa_id) in wanted
            or (w.org_id, w.phone_number_id, w.user_id) in wanted
        ]
        return [clone(w) for w in sorted(found, key=lambda w: w.id)]

    async def add_many(self, windows: Sequence[ConversationWindow]) -> None:
        rows = self._tables.write().windows
        for window in windows:
            require_new_id(rows, window.id, "window")
            self._require_unique(rows, window)
            rows[window.id] = clone(window)

    async def save_many(self, windows: Sequence[ConversationWindow]) -> None:
        rows = self._tables.write().windows
        for window in windows:
            stored = rows.get(window.id)
            if stored is None or stored.org_id != window.org_id:
                continue
            self._require_unique(rows, window)
            rows[window.id] = clone(window)

    async def delete_many(self, window_ids: Sequence[str]) -> None:
        rows = self._tables.write().windows
        for window_id in window_ids:
            rows.pop(window_id, None)

    async def generation(self) -> int:
        return self._tables.read.generations.get("windows", 0)

    async def closed_early(self) -> None:
        generations = self._tables.write().generations
        generations["windows"] = generations.get("windows", 0) + 1

    @staticmethod
    def _require_unique(rows: dict[str, ConversationWindow], window: ConversationWindow) -> None:
        for other in rows.values():
            if other.id == window.id or (other.org_id, other.phone_number_id) != (
                window.org_id,
                window.phone_number_id,
            ):
                continue
            if (window.wa_id and other.wa_id == window.wa_id) or (
                window.user_id and other.user_id == window.user_id
            ):
                raise IntegrityViolation(f"a second window for contact {window.wa_id or window.user_id}")


class FakeMessageRepository:
    """request_id and wamid are unique per organization, as the SQL indexes make them."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, message: OutboundMessage) -> bool:
        rows = self._tables.write().messages
        if message.request_id and await self.get_by_request(message.org_id, message.request_id) is not None:
            return False
        require_new_id(rows, message.id, "message")
        self._require_unique_wamid(rows, message)
        rows[message.id] = clone(message)
        return True

    async def add_new(self, messages: Sequence[OutboundMessage]) -> set[str]:
        return {message.id for message in messages if await self.add(message)}

    async def save(self, message: OutboundMessage) -> None:
        await self.save_many([message])

    async def get(self, org_id: str, message_id: str) -> OutboundMessage | None:
        stored = self._tables.read.messages.get(message_id)
        return clone(stored) if stored is not None and stored.org_id == org_id else None

    async def get_by_request(self, org_id: str, request_id: str) -> OutboundMessage | None:
        return self._first(lambda m: m.org_id == org_id and bool(request_id) and m.request_id == request_id)

    async def get_by_wamid(self, org_id: str, wamid: str) -> OutboundMessage | None:
        return self._first(lambda m: m.org_id == org_id and bool(wamid) and m.wamid == wamid)

    async def delete(self, org_id: str, message_id: str) -> None:
        rows = self._tables.write().messages
        stored = rows.get(message_id)
        if stored is not None and stored.org_id == org_id:
            del rows[message_id]

    async def lock_by_wamids(self, org_id: str, wamids: Sequence[str]) -> Sequence[OutboundMessage]:
        wanted = set(wamids)
        found = [m for m in self._tables.read.messages.values() if m.org_id == org_id and m.wamid in wanted]
        return [clone(m) for m in sorted(found, key=lambda m: m.id)]

    async def add_many(self, messages: Sequence[OutboundMessage]) -> None:
        rows = self._tables.write().messages
        for message in messages:
            require_new_id(rows, message.id, "message")
            self._require_unique_wamid(rows, message)
            rows[message.id] = clone(message)

    async def save_many(self, messages: Sequence[OutboundMessage]) -> None:
        rows = self._tables.write().messages
        for message in messages:
            stored = rows.get(message.id)
            if stored is None or stored.org_id != message.org_id:
                continue
            self._require_unique_wamid(rows, message)
            # The identity and what the caller asked for never change.
            updated = clone(message)
            for name in (
                "waba_id",
                "phone_number_id",
                "to",
                "kind",
                "template_id",
                "template_name",
                "language_code",
                "category",
                "values",
                "text",
                "request_id",
                "request_fingerprint",
                "created_at",
            ):
                setattr(updated, name, getattr(stored, name))
            rows[message.id] = updated

    async def expire_sending(
        self, created_before: datetime, now: datetime, reason: str, *, org_id: str = "", request_id: str = ""
    ) -> int:
        rows = self._tables.write().messages
        expired = 0
        for message in list(rows.values()):
            if (
                message.outcome is SendOutcome.SENDING
                and message.created_at < created_before
                and (not org_id or message.org_id == org_id)
                and (not request_id or message.request_id == request_id)
            ):
                updated = clone(message)
                updated.unknown(reason, now)
                rows[message.id] = updated
                expired += 1
        return expired

    async def list(self, query: MessageQuery) -> Sequence[OutboundMessage]:
        found = [m for m in self._tables.read.messages.values() if _matches(m, query)]
        found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        if query.after is not None:
            found = [m for m in found if (m.created_at, m.id) < query.after]
        return [clone(m) for m in found[: query.limit]]

    async def delivery_counts(
        self, org_id: str, template_id: str, created_from: datetime | None, created_before: datetime | None
    ) -> DeliveryCounts:
        query = MessageQuery(
            org_id, template_id=template_id, created_from=created_from, created_before=created_before
        )
        found = [m for m in self._tables.read.messages.values() if _matches(m, query)]
        return DeliveryCounts(
            total=len(found),
            sent=sum(any(t is not None for t in (m.sent_at, m.delivered_at, m.read_at)) for m in found),
            delivered=sum(m.delivered_at is not None or m.read_at is not None for m in found),
            read=sum(m.read_at is not None for m in found),
            failed=sum(m.failed_at is not None for m in found),
            rejected=sum(m.outcome is SendOutcome.REJECTED for m in found),
            unknown=sum(m.outcome is SendOutcome.UNKNOWN for m in found),
        )

    def _first(self, predicate: Callable[[OutboundMessage], bool]) -> OutboundMessage | None:
        for message in self._tables.read.messages.values():
            if predicate(message):
                return clone(message)
        return None

    @staticmethod
    def _require_unique_wamid(rows: dict[str, OutboundMessage], message: OutboundMessage) -> None:
        if message.wamid and any(
            other.id != message.id and other.org_id == message.org_id and other.wamid == message.wamid
            for other in rows.values()
        ):
            raise IntegrityViolation(f"a second message with wamid {message.wamid}")


def _matches(message: OutboundMessage, query: MessageQuery) -> bool:
    if message.org_id != query.org_id:
        return False
    contact = query.contact.lstrip("+")
    if contact and contact not in (message.to.lstrip("+"), message.wa_id):
        return False
    if query.template_id and message.template_id != query.template_id:
        return False
    if query.phone_number_id and message.phone_number_id != query.phone_number_id:
        return False
    if query.statuses and message.status not in query.statuses:
        return False
    if query.outcomes and message.outcome not in query.outcomes:
        return False
    if query.created_from is not None and message.created_at < query.created_from:
        return False
    return query.created_before is None or message.created_at < query.created_before
