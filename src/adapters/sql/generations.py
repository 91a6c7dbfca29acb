"""store_generations: one counter per kind of data the hot reads cache (app.template_cache,
app.window_cache), bumped
in the transaction that changes such data, so every process sees a change with a one-row read."""

from __future__ import annotations

import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import SqlConnection

# Templates, and the WABAs they are sent from (their phone numbers).
TEMPLATES = "templates"
# Conversation windows Meta closed early (131047): cached OPEN answers are dropped.
WINDOWS = "windows"

_g = tables.store_generations
_BUMP = sa.update(_g).where(_g.c.name == sa.bindparam("b_name")).values(value=_g.c.value + 1)
_READ = sa.select(_g.c.value).where(_g.c.name == sa.bindparam("b_name"))


async def bump(connection: SqlConnection, name: str = TEMPLATES) -> None:
    await connection.execute(_BUMP, {"b_name": name})


async def read(connection: SqlConnection, name: str = TEMPLATES) -> int:
    return int((await connection.execute(_READ, {"b_name": name})).scalar_one())
