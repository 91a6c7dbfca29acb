"""Conversation windows: one row per contact of a business phone number of an organization."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sql import generations, tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import for_update
from app.message_ports import ContactRef
from domain.conversations import ConversationWindow

_W = tables.conversation_windows

# Bound by parameter name so one compiled statement serves every row of an executemany.
_SAVE = (
    sa.update(_W)
    .where(_W.c.id == sa.bindparam("b_id"), _W.c.org_id == sa.bindparam("b_org_id"))
    .values(
        {
            column: sa.bindparam(column)
            for column in (
                "wa_id",
                "user_id",
                "last_inbound_at",
                "last_inbound_message_id",
                "closed_by_meta_at",
                "referral_at",
                "referral_source_id",
                "free_entry_opened_at",
                "last_system_at",
                "last_system_type",
                "last_system_body",
                "updated_at",
            )
        }
    )
)


class SqlWindowRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def find(self, org_id: str, phone_number_id: str, contact_id: str) -> ConversationWindow | None:
        rows = await self._connection.execute(
            sa.select(_W).where(
                _W.c.org_id == org_id,
                _W.c.phone_number_id == phone_number_id,
                sa.or_(_W.c.wa_id == contact_id, _W.c.user_id == contact_id),
            )
        )
        found = [_window(row) for row in rows]
        # Two rows only while a merge is pending (never committed): the one known by the id asked.
        found.sort(key=lambda w: (w.wa_id != contact_id, w.id))
        return found[0] if found else None

    async def lock_for_contacts(self, refs: Sequence[ContactRef]) -> Sequence[ConversationWindow]:
        by_number: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        for ref in refs:
            if ref.contact_id:
                by_number[(ref.org_id, ref.phone_number_id)].add(ref.contact_id)
        found: list[ConversationWindow] = []
        for (org_id, phone_number_id), ids in sorted(by_number.items()):
            wanted = sorted(ids)
            statement = for_update(
                self._connection,
                sa.select(_W)
                .where(
                    _W.c.org_id == org_id,
                    _W.c.phone_number_id == phone_number_id,
                    sa.or_(_W.c.wa_id.in_(wanted), _W.c.user_id.in_(wanted)),
                )
                .order_by(_W.c.id),
            )
            found.extend(_window(row) for row in await self._connection.execute(statement))
        return found

    async def add_many(self, windows: Sequence[ConversationWindow]) -> None:
        if windows:
            await self._connection.execute(
                sa.insert(_W),
                [
                    {"id": w.id, "org_id": w.org_id, "phone_number_id": w.phone_number_id, **_state(w)}
                    for w in windows
                ],
            )

    async def save_many(self, windows: Sequence[ConversationWindow]) -> None:
        if windows:
            await self._connection.execute(
                _SAVE, [{"b_id": w.id, "b_org_id": w.org_id, **_state(w)} for w in windows]
            )

    async def delete_many(self, window_ids: Sequence[str]) -> None:
        if window_ids:
            await self._connection.execute(sa.delete(_W).where(_W.c.id.in_(sorted(set(window_ids)))))

    async def generation(self) -> int:
        return await generations.read(self._connection, generations.WINDOWS)

    async def closed_early(self) -> None:
        await generations.bump(self._connection, generations.WINDOWS)


def _state(window: ConversationWindow) -> dict[str, Any]:
    return {
        # NULL, not '': the unique indexes must not see two windows without a user id as the same.
        "wa_id": window.wa_id or None,
        "user_id": window.user_id or None,
        "last_inbound_at": window.last_inbound_at,
        "last_inbound_message_id": window.last_inbound_message_id,
        "closed_by_meta_at": window.closed_by_meta_at,
        "referral_at": window.referral_at,
        "referral_source_id": window.referral_source_id,
        "free_entry_opened_at": window.free_entry_opened_at,
        "last_system_at": window.last_system_at,
        "last_system_type": window.last_system_type,
        "last_system_body": window.last_system_body,
        "updated_at": window.updated_at,
    }


def _window(row: sa.Row[Any]) -> ConversationWindow:
    return ConversationWindow(
        id=row.id,
        org_id=row.org_id,
        phone_number_id=row.phone_number_id,
        wa_id=row.wa_id or "",
        user_id=row.user_id or "",
        last_inbound_at=row.last_inbound_at,
        last_inbound_message_id=row.last_inbound_message_id,
        closed_by_meta_at=row.closed_by_meta_at,
        referral_at=row.referral_at,
        referral_source_id=row.referral_source_id,
        free_entry_opened_at=row.free_entry_opened_at,
        last_system_at=row.last_system_at,
        last_system_type=row.last_system_type,
        last_system_body=row.last_system_body,
        updated_at=row.updated_at,
    )
