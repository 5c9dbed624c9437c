"""Fixtures of the ingest tests: the small network, a migrated database, the real broker.

Every test gets its own utility code and client ids, so that tests never see each other's
messages or broker sessions; the broker's persistent sessions are removed after each test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from openoms.grid import network_from_raw
from openoms.grid.model import Network
from openoms.ingest.intake import Intake
from openoms.ingest.mqtt import MqttSubscriber
from openoms.store import deadletters, eventlog
from openoms.store.db import make_engine, make_session_factory
from tests.grid.small import small_raw

Sessions = sessionmaker[Session]


@pytest.fixture(scope="session")
def network() -> Network:
    """The small network: D1 fault indicator, D2 FTU, breakers CB1–CB3, switch K1, fuse FU1."""
    return network_from_raw(small_raw())


@pytest.fixture
def utility() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sessions(database_url: str) -> Iterator[Sessions]:
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def intake(sessions: Sessions, network: Network, utility: str) -> Intake:
    return Intake(sessions, network, utility=utility)


class FailingCommits:
    """Sessions on the same database whose commits fail while ``failing`` is true."""

    def __init__(self, sessions: Sessions) -> None:
        self.failing = True
        self.attempts = 0
        self.sessions: Sessions = sessionmaker(sessions.kw["bind"], expire_on_commit=False)
        sa_event.listen(self.sessions, "before_commit", self._refuse)

    def _refuse(self, _session: Session) -> None:
        self.attempts += 1
        if self.failing:
            raise OperationalError("COMMIT", {}, Exception("the disk is full"))


def stored_counts(sessions: Sessions) -> tuple[dict[str, int], dict[str, int]]:
    """(events by kind, dead letters by reason)."""
    with sessions() as session:
        return eventlog.event_counts(session), deadletters.dead_letter_counts(session)


def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.05)


def publish(broker: tuple[str, int], messages: list[tuple[str, bytes]], *, qos: int = 1) -> None:
    """Publish and wait until the broker has taken every message (PUBACK for QoS 1)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"pub-{uuid.uuid4().hex[:12]}",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(100)
    client.connect(*broker)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=20)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def forget_session(broker: tuple[str, int], client_id: str) -> None:
    """Remove the broker's persistent session of ``client_id`` (connect with a clean one)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=True,
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.connect(*broker)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@dataclass
class Subscribers:
    """Makes subscribers on the test broker; stops them and forgets their sessions after."""

    broker: tuple[str, int]
    started: list[MqttSubscriber] = field(default_factory=list)
    client_ids: set[str] = field(default_factory=set)

    def start(self, intake: Intake, client_id: str, **options: Any) -> MqttSubscriber:
        subscriber = MqttSubscriber(
            intake, host=self.broker[0], port=self.broker[1], client_id=client_id, **options
        )
        subscriber.start()
        self.started.append(subscriber)
        self.client_ids.add(client_id)
        assert subscriber.wait_subscribed(10), "no subscription within 10 s"
        return subscriber

    def close(self) -> None:
        for subscriber in self.started:
            subscriber.stop()
        for client_id in self.client_ids:
            forget_session(self.broker, client_id)


@pytest.fixture
def subscribers(mqtt_broker: tuple[str, int]) -> Iterator[Subscribers]:
    made = Subscribers(mqtt_broker)
    try:
        yield made
    finally:
        made.close()
