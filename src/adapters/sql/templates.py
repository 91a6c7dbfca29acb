"""The Template aggregate's table, with explicit mapping between rows and the aggregate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql import generations, tables
from adapters.sql.engine import SqlConnection
from adapters.sql.serialization import (
    components_from_json,
    components_to_json,
    parameters_from_json,
    parameters_to_json,
)
from adapters.sql.statements import for_update, insert_or_skip
from app.errors import AlreadyExists, ConcurrentModification
from app.ports import TemplateQuery
from domain.components import ParameterFormat
from domain.observations import Aspect
from domain.status import TemplateCategory, TemplateQuality, TemplateStatus
from domain.templates import Template


class SqlTemplateRepository:
    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection
        # The definition (immutable objects) of each template lock_by_meta_ids read: update_many
        # leaves those columns alone when a template still holds the very same objects, which
        # spares re-encoding its components for every status or quality change (the inbox's case).
        self._read_definitions: dict[str, tuple[object, object, ParameterFormat]] = {}

    async def add(self, template: Template) -> None:
        t = tables.templates
        # The conflict target is the natural key only: a clash on the generated id is a bug and
        # should surface as an IntegrityError, not as "already exists".
        statement = (
            insert_or_skip(self._connection, t)
            .values(
                id=template.id,
                org_id=template.org_id,
                waba_id=template.waba_id,
                display_name=template.display_name,
                language_code=template.language_code,
                created_at=template.created_at,
                version=template.version,
                **_template_state(template),
            )
            .on_conflict_do_nothing(index_elements=["org_id", "waba_id", "display_name", "language_code"])
        )
        result = await self._connection.execute(statement)
        if result.rowcount == 0:
            raise AlreadyExists("template", f"{template.display_name}.{template.language_code}")
        await generations.bump(self._connection)

    async def get(self, org_id: str, template_id: str) -> Template | None:
        t = tables.templates
        row = (
            await self._connection.execute(sa.select(t).where(t.c.org_id == org_id, t.c.id == template_id))
        ).one_or_none()
        return None if row is None else _template(row)

    async def get_by_key(
        self, org_id: str, waba_id: str, display_name: str, language_code: str
    ) -> Template | None:
        t = tables.templates
        row = (
            await self._connection.execute(
                sa.select(t).where(
                    t.c.org_id == org_id,
                    t.c.waba_id == waba_id,
                    t.c.display_name == display_name,
                    t.c.language_code == language_code,
                )
            )
        ).one_or_none()
        return None if row is None else _template(row)

    async def update(self, template: Template) -> None:
        """Writes everything but the identity (id, org, WABA, name, language, created_at), which the
        domain never changes once a template exists."""
        t = tables.templates
        result = await self._connection.execute(
            sa.update(t)
            .where(t.c.id == template.id, t.c.org_id == template.org_id, t.c.version == template.version)
            .values(version=t.c.version + 1, **_template_state(template))
        )
        if result.rowcount == 0:
            raise ConcurrentModification(template.name)
        await generations.bump(self._connection)
        template.version += 1

    async def update_many(self, templates: Sequence[Template]) -> None:
        """update() for several templates in one executemany. The caller loaded them with
        lock_by_meta_ids (or holds the history lock every template writer takes first), so their
        versions cannot move meanwhile; where the driver reports an executemany's row count
        (SQLite), a mismatch still raises ConcurrentModification."""
        if not templates:
            return
        same: list[Template] = []
        changed: list[Template] = []
        for t in templates:
            unchanged = _same_definition(self._read_definitions.get(t.id), t)
            (same if unchanged else changed).append(t)
        updated = 0
        for group, state in ((same, _template_state_but_definition), (changed, _template_state)):
            if group:
                result = await self._connection.execute(
                    _UPDATE_VERSIONED,
                    [{"b_id": t.id, "b_org_id": t.org_id, "b_version": t.version, **state(t)} for t in group],
                )
                updated += result.rowcount
        if self._connection.dialect.supports_sane_multi_rowcount and updated != len(templates):
            raise ConcurrentModification(", ".join(t.name for t in templates[:3]))
        await generations.bump(self._connection)
        for template in templates:
            template.version += 1

    async def save_meta_call(self, template: Template) -> None:
        """Stores only whether a Meta call is awaiting its answer: not an edit of the template, so
        the version (and the etag a caller holds) stays."""
        t = tables.templates
        await self._connection.execute(
            sa.update(t)
            .where(t.c.id == template.id, t.c.org_id == template.org_id)
            .values(needs_sync=template.needs_sync, meta_call_started_at=template.meta_call_started_at)
        )
        await generations.bump(self._connection)

    async def delete(self, template: Template) -> None:
        t = tables.templates
        result = await self._connection.execute(
            sa.delete(t).where(
                t.c.id == template.id, t.c.org_id == template.org_id, t.c.version == template.version
            )
        )
        if result.rowcount == 0:
            raise ConcurrentModification(template.name)
        await generations.bump(self._connection)

    async def generation(self) -> int:
        return await generations.read(self._connection)

    async def get_by_meta_id(self, waba_id: str, meta_template_id: str) -> Template | None:
        t = tables.templates
        row = (
            await self._connection.execute(
                sa.select(t).where(t.c.waba_id == waba_id, t.c.meta_template_id == meta_template_id).limit(1)
            )
        ).one_or_none()
        return None if row is None else _template(row)

    async def lock_by_meta_ids(self, waba_id: str, meta_template_ids: Sequence[str]) -> Sequence[Template]:
        t = tables.templates
        if not meta_template_ids:
            return []
        statement = for_update(
            self._connection,
            sa.select(t)
            .where(t.c.waba_id == waba_id, t.c.meta_template_id.in_(sorted(set(meta_template_ids))))
            .order_by(t.c.id),
        )
        found = [_template(row) for row in await self._connection.execute(statement)]
        for template in found:
            self._read_definitions[template.id] = (
                template.components,
                template.parameters,
                template.parameter_format,
            )
        return found

    async def list(self, query: TemplateQuery) -> Sequence[Template]:
        t = tables.templates
        conditions: list[sa.ColumnElement[bool]] = [t.c.org_id == query.org_id]
        if query.waba_id is not None:
            conditions.append(t.c.waba_id == query.waba_id)
        if query.statuses:
            conditions.append(t.c.status.in_(sorted(s.value for s in query.statuses)))
        if query.categories:
            conditions.append(t.c.category.in_(sorted(c.value for c in query.categories)))
        if query.language_codes:
            conditions.append(t.c.language_code.in_(sorted(query.language_codes)))
        if query.qualities:
            conditions.append(t.c.quality.in_(sorted(q.value for q in query.qualities)))
        if query.parameter_formats:
            conditions.append(t.c.parameter_format.in_(sorted(f.value for f in query.parameter_formats)))
        if query.display_name_prefix:
            prefix = query.display_name_prefix
            # LIKE is case-insensitive on SQLite and needs escaping; an exact code-point prefix
            # test behaves the same on both dialects, and the lower bound keeps it on the index.
            conditions.append(t.c.display_name >= prefix)
            conditions.append(sa.func.substr(t.c.display_name, 1, len(prefix)) == prefix)
        if query.after is not None:
            cursor = query.after
            conditions.append(
                sa.tuple_(t.c.display_name, t.c.language_code, t.c.id)
                > sa.tuple_(
                    sa.literal(cursor.display_name, t.c.display_name.type),
                    sa.literal(cursor.language_code, t.c.language_code.type),
                    sa.literal(cursor.template_id, t.c.id.type),
                )
            )
        statement = (
            sa.select(t)
            .where(*conditions)
            .order_by(t.c.display_name, t.c.language_code, t.c.id)
            .limit(query.limit)
        )
        rows = await self._connection.execute(statement)
        return [_template(row) for row in rows]


_UPDATE_VERSIONED = (
    sa.update(tables.templates)
    .where(
        tables.templates.c.id == sa.bindparam("b_id"),
        tables.templates.c.org_id == sa.bindparam("b_org_id"),
        tables.templates.c.version == sa.bindparam("b_version"),
    )
    .values(version=tables.templates.c.version + 1)
)


def _template_state(template: Template) -> dict[str, Any]:
    """The columns an update may change."""
    return {
        **_template_state_but_definition(template),
        "parameter_format": template.parameter_format.value,
        "components": components_to_json(template.components),
        "parameters": parameters_to_json(template.parameters),
    }


def _template_state_but_definition(template: Template) -> dict[str, Any]:
    """_template_state without the definition's columns, for a template whose definition is as read."""
    return {
        "category": None if template.category is None else template.category.value,
        "status": template.status.value,
        "raw_status": template.raw_status,
        "quality": template.quality.value,
        "rejection_reason": template.rejection_reason,
        "meta_template_id": template.meta_template_id,
        "updated_at": template.updated_at,
        "observed_at": _moments(template),
        "meta_edit_times": [moment.astimezone(UTC).isoformat() for moment in template.meta_edit_times],
        "needs_sync": template.needs_sync,
        "meta_call_started_at": template.meta_call_started_at,
    }


def _same_definition(read: tuple[object, object, ParameterFormat] | None, template: Template) -> bool:
    """Whether the template still holds the very (immutable) components and parameters objects it
    was read with, and its format. The objects are kept, so an identity is never reused."""
    return (
        read is not None
        and read[0] is template.components
        and read[1] is template.parameters
        and read[2] is template.parameter_format
    )


def _moments(template: Template) -> dict[str, str]:
    return {
        aspect.value: moment.astimezone(UTC).isoformat() for aspect, moment in template.observed_at.items()
    }


def _template(row: sa.Row[Any]) -> Template:
    return Template(
        id=row.id,
        org_id=row.org_id,
        waba_id=row.waba_id,
        display_name=row.display_name,
        language_code=row.language_code,
        category=None if row.category is None else TemplateCategory(row.category),
        parameter_format=ParameterFormat(row.parameter_format),
        components=components_from_json(row.components),
        parameters=parameters_from_json(row.parameters),
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=TemplateStatus(row.status),
        raw_status=row.raw_status,
        quality=TemplateQuality(row.quality),
        rejection_reason=row.rejection_reason,
        meta_template_id=row.meta_template_id,
        observed_at={
            Aspect(aspect): datetime.fromisoformat(moment)
            for aspect, moment in (row.observed_at or {}).items()
        },
        meta_edit_times=tuple(datetime.fromisoformat(moment) for moment in (row.meta_edit_times or [])),
        needs_sync=bool(row.needs_sync),
        meta_call_started_at=row.meta_call_started_at,
        version=row.version,
    )
