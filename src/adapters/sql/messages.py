"""Outbound message records: written before Meta is called, updated by Meta's status webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import for_update, insert_or_skip
from app.message_ports import DeliveryCounts, MessageQuery
from domain.messages import DeliveryStatus, MessageKind, OutboundMessage, Pricing, SendOutcome

_M = tables.messages

# What a save may change: everything but the identity and what the caller asked for.
_MUTABLE = (
    "outcome",
    "wamid",
    "wa_id",
    "meta_message_status",
    "error_code",
    "error_title",
    "status",
    "status_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "pricing_billable",
    "pricing_model",
    "pricing_type",
    "pricing_category",
    "callback_data",
    "updated_at",
)
_SAVE = (
    sa.update(_M)
    .where(_M.c.id == sa.bindparam("b_id"), _M.c.org_id == sa.bindparam("b_org_id"))
    .values({column: sa.bindparam(column) for column in _MUTABLE})
)


class SqlMessageRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, message: OutboundMessage) -> bool:
        statement = insert_or_skip(self._connection, _M).values(**_row(message))
        if message.request_id:
            # Only the request_id rule may be skipped: any other clash is a bug and raises.
            statement = statement.on_conflict_do_nothing(index_elements=["org_id", "request_id"])
        result = await self._connection.execute(statement)
        return bool(result.rowcount)

    async def add_new(self, messages: Sequence[OutboundMessage]) -> set[str]:
        if not messages:
            return set()
        # Only the request_id rule may be skipped: any other clash is a bug and raises.
        result = await self._connection.execute(
            insert_or_skip(self._connection, _M)
            .on_conflict_do_nothing(index_elements=["org_id", "request_id"])
            .returning(_M.c.id),
            [_row(m) for m in messages],
        )
        return set(result.scalars().all())

    async def save(self, message: OutboundMessage) -> None:
        await self.save_many([message])

    async def get(self, org_id: str, message_id: str) -> OutboundMessage | None:
        return await self._one(_M.c.org_id == org_id, _M.c.id == message_id)

    async def get_by_request(self, org_id: str, request_id: str) -> OutboundMessage | None:
        return await self._one(_M.c.org_id == org_id, _M.c.request_id == request_id) if request_id else None

    async def get_by_wamid(self, org_id: str, wamid: str) -> OutboundMessage | None:
        return await self._one(_M.c.org_id == org_id, _M.c.wamid == wamid) if wamid else None

    async def delete(self, org_id: str, message_id: str) -> None:
        await self._connection.execute(sa.delete(_M).where(_M.c.org_id == org_id, _M.c.id == message_id))

    async def lock_by_wamids(self, org_id: str, wamids: Sequence[str]) -> Sequence[OutboundMessage]:
        if not wamids:
            return []
        statement = for_update(
            self._connection,
            sa.select(_M).where(_M.c.org_id == org_id, _M.c.wamid.in_(sorted(set(wamids)))).order_by(_M.c.id),
        )
        return [_message(row) for row in await self._connection.execute(statement)]

    async def add_many(self, messages: Sequence[OutboundMessage]) -> None:
        if messages:
            await self._connection.execute(sa.insert(_M), [_row(m) for m in messages])

    async def save_many(self, messages: Sequence[OutboundMessage]) -> None:
        if messages:
            await self._connection.execute(
                _SAVE,
                [{"b_id": m.id, "b_org_id": m.org_id, **_mutable(m)} for m in messages],
            )

    async def expire_sending(
        self, created_before: datetime, now: datetime, reason: str, *, org_id: str = "", request_id: str = ""
    ) -> int:
        conditions = [_M.c.outcome == SendOutcome.SENDING.value, _M.c.created_at < created_before]
        if org_id:
            conditions.append(_M.c.org_id == org_id)
        if request_id:
            conditions.append(_M.c.request_id == request_id)
        result = await self._connection.execute(
            sa.update(_M)
            .where(*conditions)
            .values(outcome=SendOutcome.UNKNOWN.value, error_title=reason, updated_at=now)
        )
        return int(result.rowcount)

    async def list(self, query: MessageQuery) -> Sequence[OutboundMessage]:
        conditions = _filters(query)
        if query.after is not None:
            conditions.append(sa.tuple_(_M.c.created_at, _M.c.id) < sa.tuple_(*query.after))
        rows = await self._connection.execute(
            sa.select(_M)
            .where(*conditions)
            .order_by(_M.c.created_at.desc(), _M.c.id.desc())
            .limit(query.limit)
        )
        return [_message(row) for row in rows]

    async def delivery_counts(
        self, org_id: str, template_id: str, created_from: datetime | None, created_before: datetime | None
    ) -> DeliveryCounts:
        conditions = _filters(
            MessageQuery(
                org_id, template_id=template_id, created_from=created_from, created_before=created_before
            )
        )
        row = (
            await self._connection.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.count(sa.func.coalesce(_M.c.sent_at, _M.c.delivered_at, _M.c.read_at)),
                    sa.func.count(sa.func.coalesce(_M.c.delivered_at, _M.c.read_at)),
                    sa.func.count(_M.c.read_at),
                    sa.func.count(_M.c.failed_at),
                    sa.func.count(sa.case((_M.c.outcome == SendOutcome.REJECTED.value, 1))),
                    sa.func.count(sa.case((_M.c.outcome == SendOutcome.UNKNOWN.value, 1))),
                ).where(*conditions)
            )
        ).one()
        return DeliveryCounts(*(int(value) for value in row))

    async def _one(self, *conditions: sa.ColumnElement[bool]) -> OutboundMessage | None:
        row = (await self._connection.execute(sa.select(_M).where(*conditions))).one_or_none()
        return None if row is None else _message(row)


def _filters(query: MessageQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [_M.c.org_id == query.org_id]
    if query.contact:
        contact = query.contact.lstrip("+")
        conditions.append(sa.or_(_M.c.contact == contact, _M.c.wa_id == contact))
    if query.template_id:
        conditions.append(_M.c.template_id == query.template_id)
    if query.phone_number_id:
        conditions.append(_M.c.phone_number_id == query.phone_number_id)
    if query.statuses:
        conditions.append(_M.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.outcomes:
        conditions.append(_M.c.outcome.in_(sorted(o.value for o in query.outcomes)))
    if query.created_from is not None:
        conditions.append(_M.c.created_at >= query.created_from)
    if query.created_before is not None:
        conditions.append(_M.c.created_at < query.created_before)
    return conditions


def _row(message: OutboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "org_id": message.org_id,
        "waba_id": message.waba_id,
        "phone_number_id": message.phone_number_id,
        "contact": message.to.lstrip("+"),
        "kind": message.kind.value,
        "template_id": message.template_id,
        "template_name": message.template_name,
        "language_code": message.language_code,
        "category": message.category,
        "parameter_values": dict(message.values),
        "text": message.text,
        "request_id": message.request_id or None,
        "request_fingerprint": message.request_fingerprint,
        "created_at": message.created_at,
        **_mutable(message),
    }


def _mutable(message: OutboundMessage) -> dict[str, Any]:
    pricing = message.pricing or Pricing()
    return {
        "outcome": message.outcome.value,
        "wamid": message.wamid or None,
        "wa_id": message.wa_id,
        "meta_message_status": message.meta_message_status,
        "error_code": message.error_code,
        "error_title": message.error_title,
        "status": None if message.status is None else message.status.value,
        "status_at": message.status_at,
        "sent_at": message.sent_at,
        "delivered_at": message.delivered_at,
        "read_at": message.read_at,
        "failed_at": message.failed_at,
        "pricing_billable": pricing.billable,
        "pricing_model": pricing.model,
        "pricing_type": pricing.type,
        "pricing_category": pricing.category,
        "callback_data": message.callback_data,
        "updated_at": message.updated_at or message.created_at,
    }


def _message(row: sa.Row[Any]) -> OutboundMessage:
    has_pricing = (
        row.pricing_billable is not None or row.pricing_model or row.pricing_type or row.pricing_category
    )
    return OutboundMessage(
        id=row.id,
        org_id=row.org_id,
        waba_id=row.waba_id,
        phone_number_id=row.phone_number_id,
        to=row.contact,
        kind=MessageKind(row.kind),
        created_at=row.created_at,
        outcome=SendOutcome(row.outcome),
        template_id=row.template_id,
        template_name=row.template_name,
        language_code=row.language_code,
        category=row.category,
        values=dict(row.parameter_values or {}),
        text=row.text,
        request_id=row.request_id or "",
        request_fingerprint=row.request_fingerprint,
        callback_data=row.callback_data,
        wamid=row.wamid or "",
        wa_id=row.wa_id,
        meta_message_status=row.meta_message_status,
        error_code=row.error_code,
        error_title=row.error_title,
        status=None if row.status is None else DeliveryStatus(row.status),
        status_at=row.status_at,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        failed_at=row.failed_at,
        pricing=Pricing(row.pricing_billable, row.pricing_model, row.pricing_type, row.pricing_category)
        if has_pricing
        else None,
        updated_at=row.updated_at,
    )
