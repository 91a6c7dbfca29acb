"""Every template type survives the database whole: typed parts, parts this version does not know,
and Meta's own components JSON (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import replace

from adapters.meta_graph.creation_payload import definition_to_meta
from adapters.meta_graph.payloads import definition_from_meta
from adapters.sql.engine import SqlEngine
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from domain.templates import Template
from support.store_samples import NOW, ORG_A, WABA_A1, add_organizations_and_wabas
from support.template_fixtures import fixture_names, load


async def test_every_documented_template_comes_back_from_the_database_as_it_went_in(
    sql_engine: SqlEngine,
) -> None:
    factory = SqlUnitOfWorkFactory(sql_engine)
    await add_organizations_and_wabas(factory)
    templates = {}
    for index, name in enumerate(fixture_names()):
        document = load(name)
        # A part a later Meta version adds, at the end of the list and inside the first button list.
        document["components"].append({"type": "SUMMARY", "lines": ["a", "b"]})
        # Two of Meta's examples share a name: each is stored under its file's.
        definition = replace(definition_from_meta(document), display_name=name)
        templates[name] = (
            Template.imported(
                template_id=f"t{index:03}",
                org_id=ORG_A,
                waba_id=WABA_A1,
                definition=definition,
                meta_template_id=str(9000 + index),
                now=NOW,
            ),
            document,
        )
    async with factory() as uow:
        for template, _ in templates.values():
            await uow.templates.add(template)
        await uow.commit()

    async with factory() as uow:
        for name, (template, document) in templates.items():
            stored = await uow.templates.get(ORG_A, template.id)
            assert stored is not None, name
            assert stored.components == template.components, name
            assert stored.components.meta_json == template.components.meta_json, name
            assert stored.parameters == template.parameters, name
            sent = definition_to_meta(stored.definition)["components"]
            assert json.dumps(sent) == json.dumps(document["components"]), name
