"""Engines, sessions and migrations: the one place that knows how to open the database.

SQLite (the embedded default) and PostgreSQL (production) are both first-class. SQLite gets
the settings a busy single-machine service needs: write-ahead logging (readers never wait
for the writer), foreign keys on, a busy timeout (10 s unless told), ``synchronous=NORMAL``
(durable at each checkpoint, safe with WAL), and ``BEGIN IMMEDIATE`` for every read-write
transaction, so that a transaction that reads and then writes waits for the write lock at
its start instead of failing half-way with "database is locked". Sessions made with
``make_session_factory(engine, read_only=True)`` begin a plain (deferred) transaction
instead: they never take the write lock, so readers never queue behind writers.

SQLite has one writer at a time. Within one process the engines of one database file wait
for it at a gate of their own (:class:`_WriteGate`) before ``BEGIN IMMEDIATE``: a waiter is
woken when the writer commits (SQLite's busy handler would sleep and poll, and under load
lose its turn again and again), and a writer of a higher priority (``PoolSettings.priority``:
the ingest, then the event processor, then HTTP) goes first, so that many HTTP writers cannot
starve the ingest. The wait is bounded by ``busy_timeout_s`` like SQLite's own ("database is
locked" after it); writers of other processes are still met by SQLite's busy timeout.
PostgreSQL connections are pinged before use and, with :class:`PoolSettings`, get a
statement timeout and an idle-in-transaction timeout from the server.

Every engine has a bounded pool: :class:`PoolSettings` says how many connections and how
long a checkout may wait (then ``sqlalchemy.exc.TimeoutError``: never an endless wait). A
running service builds one engine per kind of work (HTTP, ingest, the event processor), so
that one kind cannot take every connection of another.

The schema is created and changed only by the Alembic migrations in
``openoms/store/migrations`` (run by :func:`upgrade`), never by ``create_all``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from openoms.errors import OpenOMSError

__all__ = [
    "MigrationError",
    "PoolSettings",
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
    "PRAGMA synchronous=NORMAL",
)
_READ_ONLY = "openoms_read_only"  # execution option of the read-only session factories
_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2"})
# Serialises concurrent `upgrade` runs on one PostgreSQL database (any constant works).
_PG_MIGRATION_LOCK = 0x0_5E_0E_35


class MigrationError(OpenOMSError):
    """The migrations could not be applied, or left the database inconsistent."""


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The connection pool of one engine and the timeouts of its connections.

    ``size`` connections are kept, ``overflow`` more may be opened under load; a checkout
    waits at most ``timeout_s``. ``statement_timeout_s`` (PostgreSQL) cancels a statement
    that runs longer (waiting for a row lock included); ``busy_timeout_s`` (SQLite) is how
    long a transaction waits for the write lock. ``name``: PostgreSQL's
    ``application_name``, so that ``pg_stat_activity`` tells the pools apart.
    """

    size: int = 5
    overflow: int = 10
    timeout_s: float = 30.0
    statement_timeout_s: float | None = None
    busy_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    name: str | None = None
    priority: int = 1  # SQLite: lower writes first (ingest 0, workers 1, HTTP 2)


_GATE_HELD = "openoms_write_gate"  # in Connection.info while the gate is held


class _WriteGate:
    """SQLite's single writer, mirrored in this process (see the module docstring)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._held = False
        self._waiting: Counter[int] = Counter()  # priority → threads waiting

    def acquire(self, priority: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._condition:
            self._waiting[priority] += 1
            try:
                while self._held or any(n for p, n in self._waiting.items() if p < priority and n):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._condition.notify_all()  # those behind only me may go on
                        return False
                    self._condition.wait(remaining)
                self._held = True
                return True
            finally:
                self._waiting[priority] -= 1

    def release(self) -> None:
        with self._condition:
            self._held = False
            self._condition.notify_all()


_GATES: dict[str, _WriteGate] = {}
_GATES_LOCK = threading.Lock()


def _gate_of(path: str) -> _WriteGate:
    key = os.path.realpath(os.path.expanduser(path))
    with _GATES_LOCK:
        return _GATES.setdefault(key, _WriteGate())


def _sqlite_connect(busy_timeout_ms: int) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module (which would not BEGIN before a
        # SELECT or DDL statement); SQLAlchemy's "begin" event below emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in (*_SQLITE_PRAGMAS, f"PRAGMA busy_timeout={busy_timeout_ms}"):
                cursor.execute(pragma)
        finally:
            cursor.close()

    return connect


def _sqlite_begin(gate: _WriteGate | None, priority: int, timeout_s: float) -> Any:
    def begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # deferred: a read lock only, not the writer's
            return
        if gate is not None:
            if not gate.acquire(priority, timeout_s):
                raise OperationalError(
                    "BEGIN IMMEDIATE",
                    None,
                    sqlite3.OperationalError(
                        f"database is locked (no turn to write within {timeout_s:g} s)"
                    ),
                )
            connection.info[_GATE_HELD] = gate
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _sqlite_end(connection)
            raise

    return begin


def _sqlite_end(connection: Connection) -> None:
    """After commit or rollback: the next writer's turn."""
    gate = connection.info.pop(_GATE_HELD, None)
    if gate is not None:
        gate.release()


def _postgresql_options(parsed: URL, pool: PoolSettings) -> dict[str, Any]:
    """libpq connection parameters: server-side timeouts added to the URL's own options."""
    if parsed.get_driver_name() not in _LIBPQ_DRIVERS:
        return {}
    given = parsed.query.get("options", "")
    options = [given] if isinstance(given, str) else list(given)
    if pool.statement_timeout_s is not None:
        ms = max(1, round(pool.statement_timeout_s * 1000))
        options += [
            f"-c statement_timeout={ms}",
            # a transaction left open (a stuck worker) releases its locks in the end
            f"-c idle_in_transaction_session_timeout={max(60_000, 5 * ms)}",
        ]
    arguments: dict[str, Any] = {}
    if any(options):
        arguments["options"] = " ".join(option for option in options if option)
    if "connect_timeout" not in parsed.query:
        arguments["connect_timeout"] = max(1, round(pool.connect_timeout_s))
    if pool.name is not None and "application_name" not in parsed.query:
        arguments["application_name"] = pool.name
    return arguments


def make_engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    ``pool``: its connection pool and timeouts (default: SQLAlchemy's pool of 5 + 10, a 30 s
    checkout wait, a 10 s SQLite busy timeout, no statement timeout). For a SQLite file,
    its folder is created if it does not exist yet.
    """
    parsed = make_url(url)
    settings = pool or PoolSettings()
    sizes = {
        "pool_size": settings.size,
        "max_overflow": settings.overflow,
        "pool_timeout": settings.timeout_s,
    }
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args=_postgresql_options(parsed, settings)
            if parsed.get_backend_name() == "postgresql"
            else {},
            **sizes,
        )
    database = parsed.database
    in_memory = not database or database == ":memory:" or "mode=memory" in str(parsed)
    if database and not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # An in-memory database lives in one connection: SQLAlchemy's single-connection pools.
    engine = create_engine(parsed) if in_memory else create_engine(parsed, **sizes)
    busy_ms = max(0, round(settings.busy_timeout_s * 1000))
    gate = None if in_memory or not database else _gate_of(database.removeprefix("file:"))
    event.listen(engine, "connect", _sqlite_connect(busy_ms))
    event.listen(engine, "begin", _sqlite_begin(gate, settings.priority, settings.busy_timeout_s))
    event.listen(engine, "commit", _sqlite_end)
    event.listen(engine, "rollback", _sqlite_end)
    return engine


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; objects stay readable after commit (no expiry).

    ``read_only``: for transactions that only read. On SQLite they begin deferred (no write
    lock: they never wait for a writer, nor make one wait); a write in one may fail with
    "database is locked" instead of waiting. On PostgreSQL nothing differs.
    """
    bind = engine.execution_options(**{_READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)


def migration_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of OpenOMS, bound to ``connection`` when given.

    Developers use it to write a new migration after changing a table (:mod:`.tables`)::

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
