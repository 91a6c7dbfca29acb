"""Commands: requests to change state, one handler each (see app.handlers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.auth import Principal
from app.inbox import InboxChange
from app.resource_names import TemplateKey
from domain.alerts import Alert
from domain.components import TemplateDefinition
from domain.lint import Violation
from domain.messages import OutboundMessage
from domain.templates import Template, TemplateRevision
from domain.tenancy import Role

# Covariant: R_co only describes the handler's result, so a Command[Template] is a Command[object].
R_co = TypeVar("R_co", covariant=True)


class Command(Generic[R_co]):
    """Marker base; R_co is what the handler returns."""


@dataclass(frozen=True, slots=True)
class CreateOrganization(Command["OrganizationCreated"]):
    slug: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class OrganizationCreated:
    org_id: str
    slug: str


@dataclass(frozen=True, slots=True)
class CreateApiKey(Command["ApiKeyCreated"]):
    org_slug: str
    role: Role


@dataclass(frozen=True, slots=True)
class ApiKeyCreated:
    key_id: str
    prefix: str
    # Shown once; only its hash is stored.
    secret: str


@dataclass(frozen=True, slots=True)
class RevokeApiKey(Command[None]):
    prefix: str


@dataclass(frozen=True, slots=True)
class AddWaba(Command[None]):
    org_slug: str
    waba_id: str
    display_name: str = ""
    phone_number_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreateTemplate(Command["TemplateWritten"]):
    principal: Principal
    waba_id: str
    definition: TemplateDefinition
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class UpdateTemplate(Command["TemplateWritten"]):
    principal: Principal
    key: TemplateKey
    revision: TemplateRevision
    etag: str = ""


@dataclass(frozen=True, slots=True)
class TemplateWritten:
    template: Template
    warnings: tuple[Violation, ...]


@dataclass(frozen=True, slots=True)
class DeleteTemplate(Command[None]):
    principal: Principal
    key: TemplateKey
    etag: str = ""


@dataclass(frozen=True, slots=True)
class SubmitTemplate(Command[Template]):
    """Send a linted DRAFT template to Meta for review."""

    principal: Principal
    key: TemplateKey


@dataclass(frozen=True, slots=True)
class SyncTemplates(Command["SyncReport"]):
    """Pull every template of a WABA from Meta and reconcile the local copies."""

    principal: Principal
    waba_id: str


@dataclass(frozen=True, slots=True)
class SyncReport:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    # Submitted templates Meta no longer lists (recorded as DELETED).
    vanished: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendTemplateMessage(Command["SentMessage"]):
    principal: Principal
    key: TemplateKey
    to: str
    values: Mapping[str, str]
    # Empty: the WABA's first registered phone number.
    phone_number_id: str = ""
    callback_data: str = ""
    # The same request_id never sends twice (the record of the first send answers a repeat).
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class SendTextMessage(Command["SentMessage"]):
    """A free-form text message: only inside the contact's customer service window."""

    principal: Principal
    phone_number_id: str
    to: str
    text: str
    preview_url: bool = False
    callback_data: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class ExpireStaleSends(Command[int]):
    """The service's own housekeeping (the inbox worker runs it): sends whose process died before
    Meta answered become UNKNOWN."""


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str
    message_status: str
    wa_id: str
    phone_number_id: str
    # The service's record of the send.
    record: OutboundMessage


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert(Command[Alert]):
    principal: Principal
    alert_id: str


@dataclass(frozen=True, slots=True)
class ApplyInboxChanges(Command[int]):
    """Applies these claimed webhook changes to their templates, in one transaction that also marks
    each one DONE (or DEAD, SKIPPED, PARKED with why); still PENDING ones only; returns how many of
    them exist. Any failure rolls
    back all of them: the inbox worker then applies them one at a time."""

    change_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApplyDueInboxChanges(Command[int]):
    """Takes up to `limit` due PENDING changes (locked, skipping any another worker holds) and applies
    them in one transaction, as ApplyInboxChanges does; returns how many it took. Needs no lease: a
    crash rolls the transaction back and frees them. Any failure rolls back all of them: the inbox
    worker then claims them with a lease and applies them one at a time."""

    limit: int


@dataclass(frozen=True, slots=True)
class ReplayInboxChange(Command[InboxChange]):
    """Puts a DEAD, PARKED or SKIPPED change back in the queue. `org_id` None: the operator's CLI,
    which sees every change; otherwise only changes of the organization's WABAs."""

    org_id: str | None
    change_id: str
