"""Campaigns, their history, their audience, and each organization's campaign policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from adapters.sql import outbound_tables, tables
from adapters.sql.engine import SqlConnection
from adapters.sql.statements import for_update, insert_or_skip
from app.campaign_ports import AudienceWindows, CampaignQuery, StoredTransition
from domain.campaigns import Campaign, CampaignPolicy, CampaignState, CampaignTransition, PauseReason
from domain.conversations import ConversationWindow, window_status

_C = outbound_tables.campaigns
_T = outbound_tables.campaign_transitions
_A = outbound_tables.campaign_audience
_W = tables.conversation_windows
_S = outbound_tables.organization_settings
_ACTIVE = (CampaignState.RUNNING.value, CampaignState.PAUSED.value)
_SAVE = (
    sa.update(_C)
    .where(_C.c.id == sa.bindparam("b_id"), _C.c.org_id == sa.bindparam("b_org_id"))
    .values(
        state=sa.bindparam("state"),
        pause_reason=sa.bindparam("pause_reason"),
        scheduled_at=sa.bindparam("scheduled_at"),
        updated_at=sa.bindparam("updated_at"),
        version=_C.c.version + 1,
    )
)


class SqlCampaignRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def add(self, campaign: Campaign) -> bool:
        statement = insert_or_skip(self._connection, _C).values(
            id=campaign.id,
            org_id=campaign.org_id,
            waba_id=campaign.waba_id,
            phone_number_id=campaign.phone_number_id,
            template_id=campaign.template_id,
            template_name=campaign.template_name,
            language_code=campaign.language_code,
            display_name=campaign.display_name,
            created_at=campaign.created_at,
            created_by=campaign.created_by,
            request_id=campaign.request_id or None,
            request_fingerprint=campaign.request_fingerprint,
            version=campaign.version,
            **_state(campaign),
        )
        if campaign.request_id:
            statement = statement.on_conflict_do_nothing(index_elements=["org_id", "request_id"])
        if not (await self._connection.execute(statement)).rowcount:
            return False
        await self._append_history([campaign])
        return True

    async def get(self, org_id: str, campaign_id: str) -> Campaign | None:
        row = (
            await self._connection.execute(sa.select(_C).where(_C.c.org_id == org_id, _C.c.id == campaign_id))
        ).one_or_none()
        return None if row is None else _campaign(row)

    async def get_by_request(self, org_id: str, request_id: str) -> Campaign | None:
        if not request_id:
            return None
        row = (
            await self._connection.execute(
                sa.select(_C).where(_C.c.org_id == org_id, _C.c.request_id == request_id)
            )
        ).one_or_none()
        return None if row is None else _campaign(row)

    async def lock(self, org_id: str, campaign_id: str) -> Campaign | None:
        statement = for_update(
            self._connection, sa.select(_C).where(_C.c.org_id == org_id, _C.c.id == campaign_id)
        )
        row = (await self._connection.execute(statement)).one_or_none()
        return None if row is None else _campaign(row)

    async def lock_active_for_templates(self, template_ids: Sequence[str]) -> Sequence[Campaign]:
        if not template_ids:
            return []
        statement = for_update(
            self._connection,
            sa.select(_C)
            .where(_C.c.template_id.in_(sorted(set(template_ids))), _C.c.state.in_(_ACTIVE))
            .order_by(_C.c.id),
        )
        return [_campaign(row) for row in await self._connection.execute(statement)]

    async def save_many(self, campaigns: Sequence[Campaign]) -> None:
        if not campaigns:
            return
        await self._connection.execute(
            _SAVE, [{"b_id": c.id, "b_org_id": c.org_id, **_state(c)} for c in campaigns]
        )
        await self._append_history(campaigns)
        for campaign in campaigns:
            campaign.version += 1

    async def _append_history(self, campaigns: Sequence[Campaign]) -> None:
        rows = [
            {
                "campaign_id": t.campaign_id,
                "org_id": campaign.org_id,
                "from_state": None if t.from_state is None else t.from_state.value,
                "to_state": t.to_state.value,
                "reason": None if t.reason is None else t.reason.value,
                "actor": t.actor,
                "at": t.at,
                "detail": t.detail,
            }
            for campaign in campaigns
            for t in campaign.new_transitions
        ]
        if rows:
            await self._connection.execute(sa.insert(_T), rows)
        for campaign in campaigns:
            campaign.new_transitions.clear()

    async def list(self, query: CampaignQuery) -> Sequence[Campaign]:
        conditions: list[sa.ColumnElement[bool]] = [_C.c.org_id == query.org_id]
        if query.states:
            conditions.append(_C.c.state.in_(sorted(s.value for s in query.states)))
        if query.template_id:
            conditions.append(_C.c.template_id == query.template_id)
        if query.after is not None:
            conditions.append(sa.tuple_(_C.c.created_at, _C.c.id) < sa.tuple_(*query.after))
        rows = await self._connection.execute(
            sa.select(_C)
            .where(*conditions)
            .order_by(_C.c.created_at.desc(), _C.c.id.desc())
            .limit(query.limit)
        )
        return [_campaign(row) for row in rows]

    async def history(
        self, org_id: str, campaign_id: str, *, after_seq: int = 0, limit: int = 50
    ) -> Sequence[StoredTransition]:
        rows = await self._connection.execute(
            sa.select(_T)
            .where(_T.c.org_id == org_id, _T.c.campaign_id == campaign_id, _T.c.seq > after_seq)
            .order_by(_T.c.seq)
            .limit(limit)
        )
        return [
            StoredTransition(
                row.seq,
                CampaignTransition(
                    campaign_id=row.campaign_id,
                    from_state=None if row.from_state is None else CampaignState(row.from_state),
                    to_state=CampaignState(row.to_state),
                    actor=row.actor,
                    at=row.at,
                    reason=None if row.reason is None else PauseReason(row.reason),
                    detail=row.detail,
                ),
            )
            for row in rows
        ]

    async def add_audience(self, campaign_id: str, contacts: Sequence[str]) -> int:
        unique = sorted(set(contacts))
        if not unique:
            return 0
        # RETURNING counts what was new on both dialects (an executemany's rowcount does not).
        result = await self._connection.execute(
            insert_or_skip(self._connection, _A).on_conflict_do_nothing().returning(_A.c.contact),
            [{"campaign_id": campaign_id, "contact": contact} for contact in unique],
        )
        return len(result.scalars().all())

    async def audience_size(self, campaign_id: str) -> int:
        count = sa.select(sa.func.count()).select_from(_A).where(_A.c.campaign_id == campaign_id)
        return int((await self._connection.execute(count)).scalar_one())

    async def audience_windows(
        self, org_id: str, phone_number_id: str, campaign_id: str, now: datetime
    ) -> AudienceWindows:
        # A contact's window: the one known by its phone-based id, else by its user id.
        window = (
            sa.select(_W.c.last_inbound_at, _W.c.closed_by_meta_at)
            .where(
                _W.c.org_id == org_id,
                _W.c.phone_number_id == phone_number_id,
                sa.or_(_W.c.wa_id == _A.c.contact, _W.c.user_id == _A.c.contact),
            )
            .limit(1)
            .correlate(_A)
        )
        last = window.with_only_columns(_W.c.last_inbound_at).scalar_subquery()
        closed = window.with_only_columns(_W.c.closed_by_meta_at).scalar_subquery()
        rows = (
            await self._connection.execute(sa.select(last, closed).where(_A.c.campaign_id == campaign_id))
        ).all()
        total = open_now = closing = 0
        for last_inbound, closed_early in rows:
            total += 1
            known = ConversationWindow("", org_id, phone_number_id, last_inbound_at=last_inbound)
            known.closed_by_meta_at = closed_early
            status = window_status(known, now)
            if not status.open or status.closes_at is None:
                continue
            if status.closes_at - now <= timedelta(hours=1):
                closing += 1
            else:
                open_now += 1
        return AudienceWindows(total, open_now, closing, total - open_now - closing)


class SqlCampaignSettingsRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    async def get(self, org_id: str) -> CampaignPolicy:
        row = (await self._connection.execute(sa.select(_S).where(_S.c.org_id == org_id))).one_or_none()
        if row is None:
            return CampaignPolicy()
        return CampaignPolicy(row.pause_on_quality_red, row.pause_on_marketing_category, row.auto_resume)

    async def save(self, org_id: str, policy: CampaignPolicy, now: datetime) -> None:
        values = {
            "pause_on_quality_red": policy.pause_on_quality_red,
            "pause_on_marketing_category": policy.pause_on_marketing_category,
            "auto_resume": policy.auto_resume,
            "updated_at": now,
        }
        # One statement: two admins saving an organization's first settings at once do not clash.
        await self._connection.execute(
            insert_or_skip(self._connection, _S)
            .values(org_id=org_id, **values)
            .on_conflict_do_update(index_elements=["org_id"], set_=values)
        )


def _state(campaign: Campaign) -> dict[str, Any]:
    return {
        "state": campaign.state.value,
        "pause_reason": None if campaign.pause_reason is None else campaign.pause_reason.value,
        "scheduled_at": campaign.scheduled_at,
        "updated_at": campaign.updated_at or campaign.created_at,
    }


def _campaign(row: sa.Row[Any]) -> Campaign:
    return Campaign(
        id=row.id,
        org_id=row.org_id,
        waba_id=row.waba_id,
        phone_number_id=row.phone_number_id,
        template_id=row.template_id,
        template_name=row.template_name,
        language_code=row.language_code,
        display_name=row.display_name,
        created_at=row.created_at,
        created_by=row.created_by,
        state=CampaignState(row.state),
        pause_reason=None if row.pause_reason is None else PauseReason(row.pause_reason),
        scheduled_at=row.scheduled_at,
        updated_at=row.updated_at,
        request_id=row.request_id or "",
        request_fingerprint=row.request_fingerprint,
        version=row.version,
    )
