"""Starting and running the service: database, network, workers, HTTP.

``build_context`` brings the database to the latest migration, loads the current network
version (importing the configured network on first start), builds the topology and rebuilds
the live switch states from the event log. It opens three connection pools, sized by the
settings: the API's, the ingest's (MQTT, IEC 104) and the workers' (event processor, alerts,
outbox), so that HTTP load cannot starve the ingest or the processor of connections.
``Service`` runs the event processor (and the MQTT subscriber when a broker is configured)
in background threads beside uvicorn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from openoms.grid.load import check_raw, read_network_records
from openoms.grid.problems import InvalidNetworkError
from openoms.ingest.iec104 import Iec104Master, UnitStatus
from openoms.ingest.intake import Intake
from openoms.ingest.mqtt import MqttSubscriber
from openoms.notify.cmpp import CmppSender, cmpp_sender_from_settings
from openoms.notify.smpp import SmppSender, sender_from_settings
from openoms.notify.worker import OutboxWorker
from openoms.outages.impact import ImpactAnalyser
from openoms.samples import network_path
from openoms.service.context import Database, ServiceContext, utc_now
from openoms.service.crew_alert import CrewAlerter
from openoms.service.fault_notices import publish_fault_notices
from openoms.service.notices import NoticeWorker, build_adapters
from openoms.service.processor import EventProcessor
from openoms.service.switching_exec import SwitchingExecutor
from openoms.settings import Settings, SettingsError
from openoms.store import db, networks

__all__ = ["Service", "Subscriber", "Worker", "build_context", "pool_settings"]

log = logging.getLogger("openoms.service")

FAULT_NOTICES_EVERY_S = 5.0
"""How often the service looks for fault notices to publish (notice_fault_outages)."""


def pool_settings(settings: Settings, kind: str) -> db.PoolSettings:
    """The connection pool of ``kind`` (``http``, ``ingest`` or ``worker``) from settings."""
    size = {
        "http": settings.db_http_pool_size,
        "ingest": settings.db_ingest_pool_size,
        "worker": settings.db_worker_pool_size,
    }[kind]
    return db.PoolSettings(
        size=size,
        overflow=size // 2,
        timeout_s=settings.db_pool_timeout_s,
        statement_timeout_s=settings.db_statement_timeout_s,
        busy_timeout_s=settings.db_busy_timeout_s,
        name=f"openoms-{kind}",
        priority={"ingest": 0, "worker": 1, "http": 2}[kind],
    )


def build_context(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, actor: str = "system"
) -> ServiceContext:
    """Everything a running OpenOMS needs, from its settings."""
    url = settings.resolved_database_url
    engine = db.make_engine(url, pool_settings(settings, "worker"))
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
    unknown = sorted(set(settings.flisr_modes) - set(network.feeders.id))
    if unknown:
        engine.dispose()
        raise SettingsError(
            f"flisr_modes names feeders the network {raw.name!r} does not have: "
            f"{', '.join(unknown)}"
        )
    analyser = ImpactAnalyser(network)
    ingest_engine = db.make_engine(url, pool_settings(settings, "ingest"))
    intake = Intake(
        db.make_session_factory(ingest_engine),
        network,
        utility=settings.utility,
        telemetry_sample=timedelta(seconds=settings.telemetry_sample_s),
    )
    http_engine = db.make_engine(url, pool_settings(settings, "http"))
    http = Database(
        http_engine,
        db.make_session_factory(http_engine),
        db.make_session_factory(http_engine, read_only=True),
    )
    return ServiceContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        network=network,
        network_version_id=version_id,
        analyser=analyser,
        intake=intake,
        clock=clock,
        http_database=http,
        ingest_engine=ingest_engine,
    )


class Worker(Protocol):
    """A background part of the service: started once, stopped once."""

    def stop(self) -> None: ...


class Subscriber(Worker, Protocol):
    """The MQTT subscriber as the service sees it."""

    @property
    def connected(self) -> bool: ...


class Service:
    """The background workers of a running OpenOMS: the event processor (with the fault
    workflow), the MQTT subscriber, the IEC 104 master and the outbox worker, each started
    by :meth:`start` when its settings ask for it and stopped, last started first, by
    :meth:`stop`."""

    def __init__(self, context: ServiceContext, *, poll_s: float = 0.05, tick_s: float = 0.1):
        self.context = context
        self.poll_s = poll_s
        self.tick_s = tick_s  # how often due fault alerts and final locations are looked for
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: list[Worker] = []
        self._mqtt: Subscriber | None = None
        self._iec104: Iec104Master | None = None
        self._outbox: OutboxWorker | None = None
        self._sender: SmppSender | CmppSender | None = None
        self.notices: NoticeWorker | None = None  # customer notices (service/notices.py)
        self.alerter = CrewAlerter(context, wake=self._wake_outbox)
        self.processor = EventProcessor(context, send_alert=self.alerter)
        with context.sessions() as session:
            self.processor.rebuild_live_state(session)

    def _wake_outbox(self) -> None:
        if self._outbox is not None:
            self._outbox.wake()

    def start(self) -> None:
        settings = self.context.settings
        sms_host = settings.cmpp_host if settings.sms_protocol == "cmpp" else settings.smpp_host
        if sms_host:
            self._start_outbox(sms_host)
        # Customer notices: e-mail, group robots, the media feed, and SMS into the outbox
        # (sent by the outbox worker when an SMSC is configured).
        self.notices = NoticeWorker(
            self.context, build_adapters(self.context, wake_sms=self._wake_outbox)
        )
        self.notices.start()
        worker = threading.Thread(target=self._process_loop, name="openoms-processor", daemon=True)
        worker.start()
        self._threads.append(worker)
        if settings.mqtt_host:
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
            self._workers.append(subscriber)
        if settings.iec104_enabled:
            master = Iec104Master(
                self.context.intake,
                self.context.network,
                clock=self.context.clock,
                units=settings.iec104_units,
                select_timeout_s=settings.iec104_select_timeout_s,
                execute_timeout_s=settings.iec104_execute_timeout_s,
                feedback_timeout_s=settings.iec104_feedback_timeout_s,
                termination_timeout_s=settings.iec104_termination_timeout_s,
            )
            master.start()
            self._iec104 = master
            self._workers.append(master)
            # FLISR execution over the master (service/switching_exec.py); stopped first
            executor = SwitchingExecutor(self.context, master)
            executor.start()
            self._workers.append(executor)

    def _start_outbox(self, host: str) -> None:
        settings = self.context.settings
        # hat-drivers logs whole PDUs (phone numbers included) at DEBUG: never below INFO.
        logging.getLogger("hat.drivers").setLevel(max(logging.INFO, log.getEffectiveLevel()))
        sender: SmppSender | CmppSender
        if settings.sms_protocol == "cmpp":  # cmpp_host == host
            sender = cmpp_sender_from_settings(settings).start()
        else:  # smpp_host == host
            sender = sender_from_settings(settings).start()
        self._outbox = OutboxWorker(self.context.sessions, sender, self.context.clock)
        self._outbox.start()
        self._sender = sender

    def stop(self) -> None:
        self._stop.set()
        for worker in reversed(self._workers):
            worker.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.notices is not None:
            self.notices.stop()
        if self._outbox is not None:
            self._outbox.stop()
        if self._sender is not None:
            self._sender.close()

    def _publish_fault_notices(self) -> None:
        """Tell the customers of fault outages what changed (service/fault_notices.py)."""
        if not self.context.settings.notice_fault_outages:
            return
        try:
            with self.context.sessions.begin() as session, self.context.lock:
                published = publish_fault_notices(self.context, session, now=self.context.clock())
        except Exception:  # never in the way of event processing
            log.exception("fault notices not published; trying again later")
            return
        if published and self.notices is not None:
            self.notices.wake()

    def iec104_status(self) -> dict[str, UnitStatus]:
        """The IEC 104 master's link per unit (empty without a master), for the metrics."""
        return {} if self._iec104 is None else self._iec104.status()

    @property
    def mqtt_connected(self) -> bool | None:
        """None without MQTT; else whether the subscriber holds a broker connection."""
        return None if self._mqtt is None else self._mqtt.connected

    def _process_loop(self) -> None:
        next_tick = next_notices = 0.0
        while not self._stop.is_set():
            try:
                done = self.processor.process_pending()
                if time.monotonic() >= next_tick:
                    self.processor.tick()
                    next_tick = time.monotonic() + self.tick_s
                if time.monotonic() >= next_notices:
                    self._publish_fault_notices()
                    next_notices = time.monotonic() + FAULT_NOTICES_EVERY_S
                if done == 0:
                    time.sleep(self.poll_s)
            except Exception:
                log.exception("event processing failed; retrying")
                time.sleep(1.0)
