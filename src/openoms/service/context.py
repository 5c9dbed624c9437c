"""What a running OpenOMS holds: settings, database, the current network and its engines.

Built once by :func:`openoms.service.app.build_context` (or by a test with its own parts) and
handed to the API factory and the workers; nothing here is global.
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
from openoms.settings import Settings

if TYPE_CHECKING:
    from openoms.ingest.intake import Intake

__all__ = ["ServiceContext", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
