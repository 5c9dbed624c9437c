"""Engines and migrations: the migrations build exactly the model, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from openoms.store import tokens
from openoms.store.db import (
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    migration_config,
    upgrade,
)
from openoms.store.tables import ApiToken, Base, Outage
from tests.store.conftest import T0


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_builds_exactly_the_tables_of_the_model(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(empty_database_url) == head_revision()
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_the_comparison_would_see_a_difference(empty_database_url: str) -> None:
    """Guards the test above: a schema that differs from the model is reported."""
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_outages_operated_device"))
        assert [d[0] for d in _differences(engine)] == ["add_index"]  # type: ignore[index]
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        tokens.create_token(session, name="调度员甲", role=tokens.Role.DISPATCHER, now=T0)
    assert upgrade(engine) == head_revision()
    assert upgrade(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (head_revision(),)
        ]
    with sessions() as session:
        assert [t.name for t in tokens.list_tokens(session)] == ["调度员甲"]


def test_foreign_keys_are_enforced_after_upgrade(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    # On SQLite, upgrade switches foreign keys off while it runs and must switch them back on
    # before the connection goes back to the pool.
    upgrade(engine)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            Outage(
                kind="fault",
                state="detected",
                network_version_id=999,
                momentary=False,
                started_at=T0,
                summary={},
                created_at=T0,
                updated_at=T0,
            )
        )


def test_savepoints_roll_back_only_their_part(sessions: sessionmaker[Session]) -> None:
    # The event processor runs each event in a savepoint (SQLite needs BEGIN from SQLAlchemy).
    with sessions.begin() as session:
        tokens.create_token(session, name="kept", role=tokens.Role.VIEWER, now=T0)
        nested = session.begin_nested()
        tokens.create_token(session, name="dropped", role=tokens.Role.VIEWER, now=T0)
        nested.rollback()
    with sessions() as session:
        assert [t.name for t in tokens.list_tokens(session)] == ["kept"]


def test_concurrent_read_then_write_transactions_all_succeed(
    sessions: sessionmaker[Session],
) -> None:
    # Each transaction reads, then writes. With SQLite's default deferred BEGIN, a writer that
    # committed in between would make the second one fail at once with "database is locked";
    # BEGIN IMMEDIATE makes it wait its turn instead.
    def work(worker: int) -> None:
        for n in range(15):
            with sessions.begin() as session:
                tokens.list_tokens(session)
                tokens.create_token(session, name=f"w{worker}-{n}", role=tokens.Role.VIEWER, now=T0)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(4)))
    with sessions() as session:
        assert len(tokens.list_tokens(session)) == 60


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "openoms.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert path.parent.is_dir()
        assert pragmas == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": 10000,
            "synchronous": 1,  # NORMAL
        }
    finally:
        engine.dispose()


def test_sessions_keep_objects_readable_after_commit(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        tokens.create_token(session, name="甲", role=tokens.Role.ADMIN, now=T0)
        row = session.query(ApiToken).one()
    assert row.name == "甲"  # no expiry on commit: no lazy load on a closed session
    assert make_session_factory(sessions.kw["bind"]).kw["expire_on_commit"] is False


def test_migrations_ship_inside_the_package() -> None:
    scripts = ScriptDirectory.from_config(migration_config())
    package = Path(str(files("openoms.store").joinpath("migrations")))
    assert Path(scripts.dir).resolve() == package.resolve()
    revisions = [s.revision for s in scripts.walk_revisions()]  # newest first, one line
    assert revisions[0] == head_revision()
    assert revisions[-1] == "0001"
    assert revisions == sorted(revisions, reverse=True)
    assert (package / "script.py.mako").is_file()
