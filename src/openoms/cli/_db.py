"""The database for the commands that need one (kept apart so that others skip SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from openoms.settings import Settings
from openoms.store import db

__all__ = ["database"]


@contextmanager
def database(settings: Settings, url: str | None = None) -> Iterator[sessionmaker[Session]]:
    """The settings' database (or ``url``), migrated to the latest revision, disposed after."""
    engine = db.make_engine(url or settings.resolved_database_url)
    try:
        db.upgrade(engine)
        yield db.make_session_factory(engine)
    finally:
        engine.dispose()
