"""The MQTT subscriber against the real Mosquitto broker, on both databases."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from openoms.grid.model import Network
from openoms.ingest.intake import Intake
from openoms.ingest.mqtt import MqttSubscriber
from openoms.store.tables import DeadLetter
from tests.ingest.conftest import (
    FailingCommits,
    Sessions,
    Subscribers,
    publish,
    stored_counts,
    wait_until,
)

pytestmark = pytest.mark.mqtt

NOW = datetime.now(UTC).replace(microsecond=0)


def _report(utility: str, seconds: float, *, device: str = "D1", **extra: str) -> tuple[str, bytes]:
    ts = int((NOW + timedelta(seconds=seconds)).timestamp() * 1000)
    doc = {"sn": device, "ts": ts, "data": {"short_circuit_b": 1}, **extra}
    return f"openoms/{utility}/indicators/{device}/report", json.dumps(doc).encode()


def _client_id() -> str:
    return f"openoms-test-{uuid.uuid4().hex[:12]}"


def _events(sessions: Sessions) -> int:
    return sum(stored_counts(sessions)[0].values())


def test_a_report_is_stored_once_however_often_it_comes(
    subscribers: Subscribers, intake: Intake, sessions: Sessions, utility: str
) -> None:
    subscriber = subscribers.start(intake, _client_id())
    with_id = _report(utility, -60, msg_id="0001")
    without_id = _report(utility, -59)
    publish(subscribers.broker, [with_id, with_id, without_id, without_id])
    wait_until(lambda: subscriber.processed == 4)
    assert stored_counts(sessions) == ({"indicator_report": 2}, {})
    counts = intake.counts()
    assert (counts.accepted, counts.duplicates) == (2, 2)


def test_bad_messages_are_dead_lettered_and_the_stream_goes_on(
    subscribers: Subscribers, intake: Intake, sessions: Sessions, utility: str
) -> None:
    subscriber = subscribers.start(intake, _client_id())
    messages = [
        (f"openoms/{utility}/indicators/D1/report", b"\xffnot json"),
        _report(utility, -30, device="D404"),
        _report(utility, -20),
        _report(utility, -40),  # older than the one before
        (f"openoms/{utility}/things/D1/report", b"{}"),
        _report(utility, -10, msg_id="good"),
    ]
    publish(subscribers.broker, messages)
    wait_until(lambda: subscriber.processed == len(messages))
    events, dead = stored_counts(sessions)
    assert events == {"indicator_report": 2}
    assert dead == {"malformed": 1, "unknown_device": 1, "out_of_order": 1, "unknown_topic": 1}
    with sessions() as session:
        raws = {(d.channel, d.raw) for d in session.scalars(select(DeadLetter))}
    assert raws == {messages[0], messages[1], messages[3], messages[4]}


def test_messages_sent_while_the_service_was_down_are_delivered_when_it_returns(
    subscribers: Subscribers, intake: Intake, sessions: Sessions, utility: str
) -> None:
    client_id = _client_id()
    subscribers.start(intake, client_id).stop()  # the broker now holds the session
    publish(subscribers.broker, [_report(utility, -100 + i, msg_id=f"m{i}") for i in range(50)])
    time.sleep(0.5)
    assert _events(sessions) == 0
    subscriber = subscribers.start(intake, client_id)
    wait_until(lambda: _events(sessions) == 50)
    wait_until(lambda: subscriber.processed == 50)
    assert intake.counts().rejected_total == 0  # delivered in order


def test_a_message_whose_commit_failed_comes_again_after_a_restart(
    subscribers: Subscribers, network: Network, sessions: Sessions, utility: str
) -> None:
    client_id = _client_id()
    failing = FailingCommits(sessions)
    broken = Intake(failing.sessions, network, utility=utility)
    first = subscribers.start(broken, client_id)
    publish(subscribers.broker, [_report(utility, -5, msg_id="precious")])
    wait_until(lambda: failing.attempts >= 2)  # tried, and retried
    assert first.processed == 0
    first.stop()
    assert _events(sessions) == 0
    healthy = Intake(sessions, network, utility=utility)
    second = subscribers.start(healthy, client_id)
    wait_until(lambda: _events(sessions) == 1)
    wait_until(lambda: second.processed == 1)
    assert healthy.counts().accepted == 1


def test_a_database_that_comes_back_gets_the_batch_it_missed(
    subscribers: Subscribers, network: Network, sessions: Sessions, utility: str
) -> None:
    failing = FailingCommits(sessions)
    intake = Intake(failing.sessions, network, utility=utility)
    subscriber = subscribers.start(intake, _client_id(), retry_max_s=0.5)
    publish(subscribers.broker, [_report(utility, -5, msg_id="a"), _report(utility, -4)])
    wait_until(lambda: failing.attempts >= 2)
    failing.failing = False
    wait_until(lambda: subscriber.processed == 2)
    assert _events(sessions) == 2
    assert subscriber.failures >= 1


def test_an_unreachable_broker_neither_raises_nor_blocks_stop(intake: Intake) -> None:
    subscriber = MqttSubscriber(intake, host="127.0.0.1", port=1, client_id=_client_id())
    subscriber.start()
    assert not subscriber.wait_subscribed(0.5)
    assert not subscriber.connected
    started = time.monotonic()
    subscriber.stop()
    assert time.monotonic() - started < 5


def test_on_message_never_raises(
    subscribers: Subscribers, intake: Intake, sessions: Sessions
) -> None:
    subscriber = subscribers.start(intake, _client_id())
    message = mqtt.MQTTMessage(mid=0, topic=b"openoms/\xff/indicators/D1/report")
    message.payload = b"{}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    run = subscriber._run
    assert run is not None
    subscriber._on_message(client, run, message)
    subscriber._on_message(client, run, None)  # type: ignore[arg-type]  # a broken message
    wait_until(lambda: stored_counts(sessions)[1] == {"unknown_topic": 1})
