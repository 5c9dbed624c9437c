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
from openoms.service.crew_alert import CrewAlerter
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
    """The background workers of a running OpenOMS: the event processor (with the fault
    workflow), the MQTT subscriber, the IEC 104 master and the outbox worker, each started
    when its settings ask for it."""

    context: ServiceContext
    poll_s: float = 0.05
    tick_s: float = 0.1  # how often due fault alerts and final locations are looked for
    processor: EventProcessor = field(init=False)
    alerter: CrewAlerter = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)
    _mqtt: object | None = field(default=None, init=False)
    _iec104: object | None = field(default=None, init=False)
    _outbox: object | None = field(default=None, init=False)
    _sender: object | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.alerter = CrewAlerter(self.context)
        self.processor = EventProcessor(self.context, send_alert=self.alerter)
        with self.context.sessions() as session:
            self.processor.rebuild_live_state(session)

    def start(self) -> None:
        settings = self.context.settings
        if settings.smpp_host:
            self._start_outbox()
        worker = threading.Thread(target=self._process_loop, name="openoms-processor", daemon=True)
        worker.start()
        self._threads.append(worker)
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
        if settings.iec104_enabled:
            from openoms.ingest.iec104 import Iec104Master  # noqa: PLC0415

            master = Iec104Master(
                self.context.intake,
                self.context.network,
                clock=self.context.clock,
                units=settings.iec104_units,
            )
            master.start()
            self._iec104 = master

    def _start_outbox(self) -> None:
        from openoms.notify.smpp import SmppSender  # noqa: PLC0415
        from openoms.notify.worker import OutboxWorker  # noqa: PLC0415

        settings = self.context.settings
        assert settings.smpp_host is not None
        # hat-drivers logs whole PDUs (phone numbers included) at DEBUG: never below INFO.
        logging.getLogger("hat.drivers").setLevel(max(logging.INFO, log.getEffectiveLevel()))
        sender = SmppSender(
            settings.smpp_host,
            settings.smpp_port,
            settings.smpp_system_id,
            settings.smpp_password,
            settings.smpp_source_addr,
        ).start()
        outbox_worker = OutboxWorker(self.context.sessions, sender, self.context.clock)
        outbox_worker.start()
        self.alerter.wake = outbox_worker.wake
        self._sender, self._outbox = sender, outbox_worker

    def stop(self) -> None:
        self._stop.set()
        if self._mqtt is not None:
            self._mqtt.stop()  # type: ignore[attr-defined]
        if self._iec104 is not None:
            self._iec104.stop()  # type: ignore[attr-defined]
        for thread in self._threads:
            thread.join(timeout=5)
        if self._outbox is not None:
            self._outbox.stop()  # type: ignore[attr-defined]
        if self._sender is not None:
            self._sender.close()  # type: ignore[attr-defined]

    @property
    def mqtt_connected(self) -> bool | None:
        if self._mqtt is None:
            return None
        return bool(getattr(self._mqtt, "connected", False))

    def _process_loop(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                done = self.processor.process_pending()
                if time.monotonic() >= next_tick:
                    self.processor.tick()
                    next_tick = time.monotonic() + self.tick_s
                if done == 0:
                    time.sleep(self.poll_s)
            except Exception:
                log.exception("event processing failed; retrying")
                time.sleep(1.0)
