"""The database fixture gives an empty, isolated database on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from openoms.store.tables import Base


def test_tables_can_be_created_in_an_isolated_database(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
        Base.metadata.create_all(engine)
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables)
    finally:
        engine.dispose()
