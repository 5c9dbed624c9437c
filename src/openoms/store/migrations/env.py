"""Alembic environment: runs the migrations on the connection :func:`~openoms.store.db.upgrade`
passes in ``config.attributes["connection"]``; without one, on ``sqlalchemy.url``.

Batch mode is on so that every migration also works on SQLite (which cannot alter most
things in place); types are compared so that autogenerate sees a changed column type.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from openoms.store.db import make_engine
from openoms.store.tables import Base, UTCDateTime


def _render_item(type_: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations are frozen history: they spell out plain SQLAlchemy types and never import
    # the live model, which will have changed by the time an old migration runs.
    if type_ == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database: pass a connection in config.attributes['connection'] "
            "(openoms.store.db.upgrade does) or set sqlalchemy.url"
        )
    engine = make_engine(url)
    try:
        with engine.begin() as own:
            _run(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("OpenOMS migrations run online only (openoms db upgrade)")
_main()
