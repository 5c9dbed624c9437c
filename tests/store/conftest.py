"""Store fixtures: a migrated database (SQLite and PostgreSQL) and sessions on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openoms.store.db import make_engine, make_session_factory

T0 = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
"""A fixed "now" for the store tests (repositories never read the clock)."""


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
