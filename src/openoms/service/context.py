"""What a running OpenOMS holds: settings, database, the current network and its engines.

Built once by :func:`openoms.service.runtime.build_context` (or by a test with its own parts)
and handed to the API factory and the workers; nothing here is global.

The database is reached through separate connection pools, one per kind of work, so that a
storm of HTTP requests cannot take the connections the ingest or the event processor need:
``engine`` / ``sessions`` are the workers' (event processor, crew alerts, SMS outbox),
``http`` the API's and the intake's own sessions (built with it) the MQTT / IEC 104 ingest's.
A context built by hand with one engine uses it for everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openoms.grid.model import Network
from openoms.outages.impact import ImpactAnalyser
from openoms.service.planner_cache import PlannerCache
from openoms.settings import Settings

if TYPE_CHECKING:
    from openoms.ingest.intake import Intake

__all__ = ["Database", "ServiceContext", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Database:
    """One connection pool (an engine) and its session factories: ``sessions`` for
    read-write transactions, ``read_sessions`` for those that only read (on SQLite they
    never take nor wait for the write lock)."""

    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]


@dataclass(slots=True)
class ServiceContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    network: Network
    network_version_id: int
    analyser: ImpactAnalyser  # holds the live topology of the network
    intake: Intake
    clock: Callable[[], datetime] = field(default=utc_now)
    # The live topology is not thread-safe: the event processor changes it while HTTP
    # requests read it. Hold this lock around every use of ``analyser``.
    lock: threading.RLock = field(default_factory=threading.RLock)
    http_database: Database | None = None  # the API's pool; None: ``engine`` / ``sessions``
    ingest_engine: Engine | None = None  # the intake's pool, disposed with the rest
    # the FLISR planner of ``network`` (built on first use; hold ``lock`` while planning: it
    # previews candidates on the live topology)
    planners: PlannerCache = field(default_factory=PlannerCache)

    @property
    def http(self) -> Database:
        """The API's connection pool (the workers' when the context has no own one)."""
        if self.http_database is not None:
            return self.http_database
        return Database(self.engine, self.sessions, self.sessions)

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown)."""
        engines = [self.engine, self.ingest_engine]
        if self.http_database is not None:
            engines.append(self.http_database.engine)
        for engine in engines:
            if engine is not None:
                engine.dispose()
