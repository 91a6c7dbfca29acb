"""The audit log: every action a person takes through the API or the CLI (creating, changing and
deleting templates, submitting, sending, acknowledging, moving campaigns, settings, channels, API
keys and WABAs), with who, what, on which resource, the request id, when, and how it ended.

The message bus reports each command it handled; the trail writes one event per command, after it,
in groups (app.group_commit), append-only, and the caller's answer waits for it. It is written after
the command's own commit: a crash between the two loses that one event (it is logged when the
write fails), and a call the client cancels mid-way is not recorded. Commands the service gives
itself (applying webhooks, sweeping sends) are not a person's actions and are not recorded here
(their effects are in the templates' and campaigns' histories).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from app import campaign_commands as cc
from app import commands as c
from app.audit_ports import AuditEvent
from app.group_commit import GroupCommit, together_else_alone
from app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from app.resource_names import (
    alert_name,
    campaign_name,
    channel_name,
    inbox_change_name,
    message_name,
    notification_name,
    template_name,
    waba_name,
)

log = logging.getLogger(__name__)

# The caller's request id (x-request-id, or the request's own request_id), set by the API.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")
CLI_ACTOR = "cli"


class AuditTrail:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._writes = GroupCommit(self._write)

    async def record(self, command: object, result: object, error: BaseException | None) -> None:
        """Called by the bus after each command; never raises (the action itself already happened)."""
        try:
            described = await self._describe(command, result)
            if described is None:
                return
            org_id, actor, action, resource = described
            event = AuditEvent(
                # Time-ordered: events of the same instant list in the order they were recorded.
                id=f"{time.time_ns():020d}-{secrets.token_hex(4)}",
                org_id=org_id,
                actor=actor,
                action=action,
                resource=resource,
                request_id=request_id_var.get() or str(getattr(command, "request_id", "") or ""),
                outcome="OK" if error is None else _outcome(error),
                at=self._clock.now(),
            )
            await self._writes.submit(event)
        except Exception:
            log.exception("an audit event could not be written for %s", type(command).__name__)

    async def _write(self, events: Sequence[AuditEvent]) -> Sequence[Exception | None]:
        return await together_else_alone(events, self._append)

    async def _append(self, events: Sequence[AuditEvent]) -> None:
        async with self._uow_factory() as uow:
            await uow.audit.add_many(events)
            await uow.commit()

    async def _describe(self, command: object, result: object) -> tuple[str, str, str, str] | None:
        principal = getattr(command, "principal", None)
        action = type(command).__name__
        if isinstance(command, cc.MoveCampaign):
            action = f"MoveCampaign.{command.move.value}"
        resource = _resource(command, result)
        if principal is not None:
            actor = CLI_ACTOR if principal.key_id == CLI_ACTOR else principal.label
            return principal.org_id, actor, action, resource
        if not isinstance(command, _OPERATOR_COMMANDS):
            return None  # a command the service gives itself (the inbox worker's, the sweeper's)
        # The operator's own commands (organizations, keys, WABAs, replays from the CLI).
        org_id = await self._org_of(command, result)
        return None if org_id is None else (org_id, CLI_ACTOR, action, resource)

    async def _org_of(self, command: object, result: object) -> str | None:
        async with self._uow_factory(read_only=True) as uow:
            return await _operator_org(uow, command, result)


_OPERATOR_COMMANDS = (c.CreateOrganization, c.CreateApiKey, c.RevokeApiKey, c.AddWaba, c.ReplayInboxChange)


async def _operator_org(uow: UnitOfWork, command: object, result: object) -> str | None:
    match command:
        case c.CreateOrganization():
            return getattr(result, "org_id", None)
        case c.CreateApiKey() | c.AddWaba():
            org = await uow.organizations.get_by_slug(command.org_slug)
            return org.id if org is not None else None
        case c.RevokeApiKey():
            key = await uow.api_keys.get_by_prefix(command.prefix)
            return key.org_id if key is not None else None
        case c.ReplayInboxChange():
            # The replayed change names its WABA (a change that failed names none: no organization).
            waba_id = getattr(result, "waba_id", "")
            waba = await uow.wabas.get(waba_id) if waba_id else None
            return waba.org_id if waba is not None else None
    return None  # a command the service gives itself: not a person's action


def _resource(command: object, result: Any) -> str:
    match command:
        case c.CreateTemplate():
            definition = command.definition
            return template_name(command.waba_id, definition.display_name, definition.language_code)
        case c.UpdateTemplate() | c.DeleteTemplate() | c.SubmitTemplate():
            return str(command.key)
        case c.SyncTemplates():
            return waba_name(command.waba_id)
        case c.SendTemplateMessage() | c.SendTextMessage():
            record = getattr(result, "record", None)
            return message_name(record.id) if record is not None else ""
        case c.AcknowledgeAlert():
            return alert_name(command.alert_id)
        case c.ReplayInboxChange():
            return inbox_change_name(command.change_id)
        case c.CreateApiKey():
            prefix = getattr(result, "prefix", "")
            return f"apiKeys/{prefix}" if prefix else ""
        case c.RevokeApiKey():
            return f"apiKeys/{command.prefix}"
        case c.AddWaba():
            return waba_name(command.waba_id)
        case c.CreateOrganization():
            return f"organizations/{command.slug}"
        case cc.CreateCampaign():
            return campaign_name(result.id) if result is not None else ""
        case cc.MoveCampaign() | cc.AddCampaignAudience():
            return campaign_name(command.campaign_id)
        case cc.UpdateCampaignPolicy():
            return "settings"
        case cc.CreateChannel():
            return channel_name(result.id) if result is not None else ""
        case cc.DeleteChannel():
            return channel_name(command.channel_id)
        case cc.ReplayNotification():
            return notification_name(command.notification_id)
    return ""


def _outcome(error: BaseException) -> str:
    reason = getattr(error, "reason", "")
    if isinstance(reason, str) and reason:
        return reason
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).upper()
