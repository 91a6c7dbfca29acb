"""Template authoring use cases: create (idempotent), update (etag), delete."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict

from app.auth import Principal
from app.commands import CreateTemplate, DeleteTemplate, TemplateWritten, UpdateTemplate
from app.errors import (
    AlreadyExists,
    ConcurrentModification,
    MetaError,
    MetaNotConfigured,
    MetaTemplateNotFound,
    NotFound,
    RequestIdReused,
)
from app.etags import require_etag
from app.meta_ports import TemplateGateway
from app.ports import Clock, IdempotencyRecord, UnitOfWork, UnitOfWorkFactory
from app.resource_names import TemplateKey, waba_name
from domain.lint import lint
from domain.status import TemplateStatus
from domain.templates import Template
from domain.tenancy import Role

CREATE_TEMPLATE = "CreateTemplate"


async def create_template(
    command: CreateTemplate, uow_factory: UnitOfWorkFactory, clock: Clock
) -> TemplateWritten:
    command.principal.require(Role.OPERATOR)
    fingerprint = _fingerprint(command)
    try:
        async with uow_factory() as uow:
            if command.request_id and (replay := await _replay(uow, command, fingerprint)) is not None:
                return replay
            await require_waba(uow, command.principal, command.waba_id)
            template, warnings = Template.create(
                template_id=secrets.token_hex(16),
                org_id=command.principal.org_id,
                waba_id=command.waba_id,
                definition=command.definition,
                now=clock.now(),
            )
            await uow.templates.add(template)
            if command.request_id:
                await uow.idempotency.add(
                    IdempotencyRecord(
                        org_id=command.principal.org_id,
                        operation=CREATE_TEMPLATE,
                        request_id=command.request_id,
                        request_fingerprint=fingerprint,
                        resource_id=template.id,
                        created_at=clock.now(),
                    )
                )
            await uow.commit()
            return TemplateWritten(template, warnings)
    except AlreadyExists:
        # A concurrent twin with the same request_id may have won the race: answer with its result.
        if command.request_id:
            async with uow_factory(read_only=True) as uow:
                if (replay := await _replay(uow, command, fingerprint)) is not None:
                    return replay
        raise


async def update_template(
    command: UpdateTemplate,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    template_gateway: TemplateGateway | None = None,
) -> TemplateWritten:
    """A draft changes locally. A submitted template is edited at Meta first (within Meta's edit
    rules, checked beforehand) and goes back to review."""
    command.principal.require(Role.OPERATOR)
    async with uow_factory() as uow:
        template = await load_template(uow, command.principal, command.key)
        _check_etag(template, command.key, command.etag)
        if not template.meta_template_id:
            template.require_known_submission()
            warnings = template.revise(command.revision, now=clock.now())
            await uow.templates.update(template)
            await uow.commit()
            return TemplateWritten(template, warnings)
    if template_gateway is None:
        raise MetaNotConfigured()
    template.check_meta_edit(command.revision, now=clock.now())
    was_current = await expect_meta_change(uow_factory, clock, template)
    category_before = template.category
    warnings = template.revise(command.revision, now=clock.now())
    try:
        await template_gateway.edit(
            template.meta_template_id,
            template.definition,
            include_category=template.category is not category_before,
        )
    except MetaError as exc:
        if not exc.outcome_unknown:
            await meta_change_refused(uow_factory, command.principal, command.key, was_current)
        raise
    async with uow_factory() as uow:
        fresh = await load_template(uow, command.principal, command.key)
        if fresh.version != template.version:
            # Meta has the edit; our copy moved meanwhile. A sync (or the webhook) reconciles it,
            # and the mark left before the call says so meanwhile.
            raise ConcurrentModification(str(command.key))
        fresh.revise(command.revision, now=clock.now())
        # Meta now has exactly what this copy has.
        fresh.meta_change_recorded()
        fresh.record_meta_edit(now=clock.now())
        await uow.templates.update(fresh)
        await uow.commit()
    return TemplateWritten(fresh, warnings)


async def delete_template(
    command: DeleteTemplate,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    template_gateway: TemplateGateway | None = None,
) -> None:
    """A submitted template is deleted at Meta first (that language only), then here."""
    command.principal.require(Role.OPERATOR)
    async with uow_factory(read_only=True) as uow:
        template = await load_template(uow, command.principal, command.key)
        _check_etag(template, command.key, command.etag)
    if not template.meta_template_id:
        template.require_known_submission()
    elif template.status is not TemplateStatus.DELETED:
        template.require_deletable_at_meta()
        if template_gateway is None:
            raise MetaNotConfigured()
        was_current = await expect_meta_change(uow_factory, clock, template)
        try:
            await template_gateway.delete(template.waba_id, template.meta_template_id, template.display_name)
        except MetaTemplateNotFound:
            pass  # already gone at Meta: deleting here finishes the job
        except MetaError as exc:
            if not exc.outcome_unknown:
                await meta_change_refused(uow_factory, command.principal, command.key, was_current)
            raise
    async with uow_factory() as uow:
        template = await load_template(uow, command.principal, command.key)
        _check_etag(template, command.key, command.etag)
        template.mark_deleted(now=clock.now())
        await uow.templates.delete(template)
        await uow.commit()


async def expect_meta_change(uow_factory: UnitOfWorkFactory, clock: Clock, template: Template) -> bool:
    """Stores, before Meta is called, that this copy may be out of date if no answer is recorded
    (see Template.expect_meta_change). Not an edit: the version and etag stay. Returns the flag as
    it was."""
    async with uow_factory() as uow:
        was = template.expect_meta_change(now=clock.now())
        await uow.templates.save_meta_call(template)
        await uow.commit()
    return was


async def meta_change_refused(
    uow_factory: UnitOfWorkFactory, principal: Principal, key: TemplateKey, was: bool
) -> None:
    """Meta answered that it made no change: the mark left before the call goes."""
    async with uow_factory() as uow:
        template = await load_template(uow, principal, key)
        template.meta_change_refused(was)
        await uow.templates.save_meta_call(template)
        await uow.commit()


async def require_waba(uow: UnitOfWork, principal: Principal, waba_id: str) -> None:
    waba = await uow.wabas.get(waba_id)
    # Another organization's WABA is reported exactly like a missing one.
    if waba is None or waba.org_id != principal.org_id:
        raise NotFound("waba", waba_name(waba_id))


async def load_template(uow: UnitOfWork, principal: Principal, key: TemplateKey) -> Template:
    template = await uow.templates.get_by_key(
        principal.org_id, key.waba_id, key.display_name, key.language_code
    )
    if template is None:
        raise NotFound("template", str(key))
    return template


def _check_etag(template: Template, key: TemplateKey, etag: str) -> None:
    require_etag(str(key), etag, template.etag)


async def _replay(uow: UnitOfWork, command: CreateTemplate, fingerprint: str) -> TemplateWritten | None:
    record = await uow.idempotency.get(command.principal.org_id, CREATE_TEMPLATE, command.request_id)
    if record is None:
        return None
    if record.request_fingerprint != fingerprint:
        raise RequestIdReused(command.request_id)
    template = await uow.templates.get(command.principal.org_id, record.resource_id)
    if template is None:
        raise NotFound("template", f"created by request_id {command.request_id!r} and since deleted")
    return TemplateWritten(template, lint(template.definition).warnings)


def _fingerprint(command: CreateTemplate) -> str:
    material = repr((command.waba_id, asdict(command.definition)))
    return hashlib.sha256(material.encode()).hexdigest()
