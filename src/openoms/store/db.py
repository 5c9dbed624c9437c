"""Engines, sessions and migrations: the one place that knows how to open the database.

SQLite (the embedded default) and PostgreSQL (production) are both first-class. SQLite gets
the settings a busy single-machine service needs: write-ahead logging (readers never wait
for the writer), foreign keys on, a 10 s busy timeout, ``synchronous=NORMAL`` (durable at
each checkpoint, safe with WAL), and ``BEGIN IMMEDIATE`` for every transaction, so that a
transaction that reads and then writes waits for the write lock at its start instead of
failing half-way with "database is locked". PostgreSQL connections are pinged before use.

The schema is created and changed only by the Alembic migrations in
``openoms/store/migrations`` (run by :func:`upgrade`), never by ``create_all``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from openoms.errors import OpenOMSError

__all__ = [
    "MigrationError",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "migration_config",
    "upgrade",
]

MIGRATIONS = "openoms.store:migrations"
"""Where Alembic finds the migrations: a package resource, so it works from a wheel."""

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA synchronous=NORMAL",
)
# Serialises concurrent `upgrade` runs on one PostgreSQL database (any constant works).
_PG_MIGRATION_LOCK = 0x0_5E_0E_35


class MigrationError(OpenOMSError):
    """The migrations could not be applied, or left the database inconsistent."""


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module (which would not BEGIN before a
    # SELECT or DDL statement); SQLAlchemy's "begin" event below emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    For a SQLite file, its folder is created if it does not exist yet.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; objects stay readable after commit (no expiry)."""
    return sessionmaker(engine, expire_on_commit=False)


def migration_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of OpenOMS, bound to ``connection`` when given.

    Developers use it to write a new migration after changing :mod:`.tables`::

        with make_engine(url).begin() as connection:
            command.revision(migration_config(connection), "what changed", autogenerate=True)
    """
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this version of OpenOMS ships."""
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    if head is None:  # pragma: no cover  (the package always ships migrations)
        raise MigrationError("no migrations found in openoms.store.migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or ``None`` for a database never upgraded."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url_or_engine: str | Engine) -> str:
    """Apply every migration up to the newest and return its revision; a no-op when current.

    All migrations run in one transaction. On PostgreSQL an advisory lock makes concurrent
    runs (two workers starting together) wait for each other. On SQLite, foreign keys are
    switched off while the migrations run, because Alembic's batch mode rebuilds a table by
    copying and dropping it and a drop with foreign keys on would delete (cascade) the rows
    that refer to it; they are checked with ``PRAGMA foreign_key_check`` before commit.
    """
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        if engine.dialect.name == "sqlite":
            _upgrade_sqlite(engine)
        else:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                    )
                command.upgrade(migration_config(connection), "head")
        revision = current_revision(engine)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
    if revision is None:  # pragma: no cover  (Alembic writes the version row or raises)
        raise MigrationError("the migrations ran but left no revision in alembic_version")
    return revision


def _upgrade_sqlite(engine: Engine) -> None:
    with engine.connect() as connection:
        # Outside any transaction (PRAGMA foreign_keys is a no-op inside one).
        _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                command.upgrade(migration_config(connection), "head")
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise MigrationError(
                        f"the migrations left rows with dangling foreign keys: {broken[:10]}"
                    )
        finally:
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    cursor = connection.connection.cursor()  # the DBAPI cursor: no autobegin
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()
