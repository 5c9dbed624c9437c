"""Starting and running the service: database, network, workers, HTTP.

``build_context`` brings the database to the latest migration, loads the current network
version (importing the configured network on first start), builds the topology and rebuilds
the live switch states from the event log. ``Service`` runs the event processor (and the MQTT
subscriber when a broker is configured) in background threads beside uvicorn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from openoms.grid.load import check_raw, read_network_records
from openoms.grid.problems import InvalidNetworkError
from openoms.ingest.intake import Intake
from openoms.outages.impact import ImpactAnalyser
from openoms.samples import network_path
from openoms.service.context import ServiceContext, utc_now
from openoms.service.processor import EventProcessor
from openoms.settings import Settings
from openoms.store import db, networks

__all__ = ["Service", "build_context"]

log = logging.getLogger("openoms.service")


def build_context(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, actor: str = "system"
) -> ServiceContext:
    """Everything a running OpenOMS needs, from its settings."""
    url = settings.resolved_database_url
    engine = db.make_engine(url)
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    with sessions.begin() as session:
        current = networks.load_current_network(session)
        if current is None:
            raw = read_network_records(network_path(settings.network))
            counts = {name: len(table) for name, table in raw.tables.items()}
            version_id, _ = networks.save_network_version(
                session,
                raw,
                source=settings.network,
                actor=actor,
                now=clock(),
                summary=counts,
            )
        else:
            version_id, raw = current
    result = check_raw(raw)
    if result.network is None:
        raise InvalidNetworkError(raw.name, result.problems)
    network = result.network
    analyser = ImpactAnalyser(network)
    intake = Intake(sessions, network, utility=settings.utility)
    return ServiceContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        network=network,
        network_version_id=version_id,
        analyser=analyser,
        intake=intake,
        clock=clock,
    )


@dataclass
class Service:
    """The background workers of a running OpenOMS."""

    context: ServiceContext
    poll_s: float = 0.05
    processor: EventProcessor = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)
    _mqtt: object | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.processor = EventProcessor(self.context)
        with self.context.sessions() as session:
            self.processor.rebuild_live_state(session)

    def start(self) -> None:
        worker = threading.Thread(target=self._process_loop, name="openoms-processor", daemon=True)
        worker.start()
        self._threads.append(worker)
        settings = self.context.settings
        if settings.mqtt_host:
            from openoms.ingest.mqtt import MqttSubscriber  # noqa: PLC0415

            subscriber = MqttSubscriber(
                self.context.intake,
                host=settings.mqtt_host,
                port=settings.mqtt_port,
                client_id=settings.resolved_mqtt_client_id,
                utility=settings.utility,
                clock=self.context.clock,
            )
            subscriber.start()
            self._mqtt = subscriber

    def stop(self) -> None:
        self._stop.set()
        if self._mqtt is not None:
            self._mqtt.stop()  # type: ignore[attr-defined]
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def mqtt_connected(self) -> bool | None:
        if self._mqtt is None:
            return None
        return bool(getattr(self._mqtt, "connected", False))

    def _process_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.processor.process_pending() == 0:
                    time.sleep(self.poll_s)
            except Exception:
                log.exception("event processing failed; retrying")
                time.sleep(1.0)
