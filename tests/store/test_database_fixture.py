"""The database fixtures: ``empty_database_url`` gives an empty, isolated database and
``database_url`` one migrated to the newest revision, isolated from every other test, on
SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from openoms.store import tokens
from openoms.store.db import current_revision, head_revision, make_engine, make_session_factory
from openoms.store.tables import Base
from tests.store.conftest import T0


def test_tables_can_be_created_in_an_isolated_database(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert inspect(engine).get_table_names() == []
        Base.metadata.create_all(engine)
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables)
    finally:
        engine.dispose()


def test_the_migrated_database_is_at_the_newest_revision(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
        # What one test writes, the next test's copy does not see (checked below).
        with make_session_factory(engine).begin() as session:
            tokens.create_token(session, name="调度员甲", role=tokens.Role.DISPATCHER, now=T0)
    finally:
        engine.dispose()


def test_each_test_gets_its_own_copy(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 0
    finally:
        engine.dispose()
