"""What field devices and tools really send over MQTT, published with the real Mosquitto
client (``mosquitto_pub``, not OpenOMS's own code) to the real broker, on both databases:

- a retained report that starts with a UTF-8 byte-order mark (Windows tools, some firmware);
- the empty retained message that clears a retained topic: ignored and counted, never a
  dead letter;
- a device time sent in seconds (or microseconds) where milliseconds are expected: refused as
  ``implausible_time`` with a detail that says so, never an event, so never a fault.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from openoms.ingest.intake import Intake
from openoms.store import eventlog
from openoms.store.tables import DeadLetter
from tests.conftest import require_service
from tests.ingest.conftest import Sessions, Subscribers, stored_counts, wait_until

pytestmark = pytest.mark.mqtt

BOM = b"\xef\xbb\xbf"


class MosquittoPub:
    """Publishes with the ``mosquitto_pub`` command; clears every retained topic it set."""

    def __init__(self, broker: tuple[str, int]) -> None:
        self.host, self.port = broker
        self.retained: set[str] = set()

    def __call__(self, topic: str, payload: bytes | None, *, retain: bool = False) -> None:
        """QoS 1; ``payload`` None: the null (zero-length) message ``-n``."""
        command = ["mosquitto_pub", "-h", self.host, "-p", str(self.port), "-q", "1", "-t", topic]
        command += ["-r"] if retain else []
        command += ["-n"] if payload is None else ["-s"]  # -s: the whole of stdin, as bytes
        done = subprocess.run(
            command, check=False, input=payload or b"", capture_output=True, timeout=20
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        if retain:
            self.retained.add(topic)

    def clear(self) -> None:
        for topic in self.retained:
            self(topic, None, retain=True)


@pytest.fixture
def mosquitto_pub(mqtt_broker: tuple[str, int]) -> Iterator[MosquittoPub]:
    require_service(
        "mosquitto_pub", shutil.which("mosquitto_pub") is not None, "the Mosquitto clients"
    )
    publisher = MosquittoPub(mqtt_broker)
    try:
        yield publisher
    finally:
        publisher.clear()


def _client_id() -> str:
    return f"openoms-field-{uuid.uuid4().hex[:12]}"


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _letters(sessions: Sessions) -> list[DeadLetter]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_a_retained_report_with_a_bom_is_stored_and_its_empty_clear_ignored(
    subscribers: Subscribers,
    intake: Intake,
    sessions: Sessions,
    utility: str,
    mosquitto_pub: MosquittoPub,
) -> None:
    topic = f"openoms/{utility}/indicators/D1/report"
    now = datetime.now(UTC)
    report = {"ts": _ms(now - timedelta(seconds=30)), "msg_id": "bom-1", "data": {"outage": 1}}
    mosquitto_pub(topic, BOM + json.dumps(report).encode(), retain=True)  # before we subscribe
    subscriber = subscribers.start(intake, _client_id())
    wait_until(lambda: subscriber.processed == 1)  # the retained message, on subscribing
    assert stored_counts(sessions) == ({"indicator_report": 1}, {})
    with sessions() as session:
        ((_, event),) = eventlog.unprocessed_events(session)
    assert event.idempotency_key == f"m:D1:{report['msg_id']}"
    assert event.payload["loss_of_voltage"] is True

    mosquitto_pub(topic, None, retain=True)  # clear the retained topic: a zero-length message
    wait_until(lambda: subscriber.processed == 2)
    assert stored_counts(sessions) == ({"indicator_report": 1}, {})  # no dead letter
    counts = intake.counts()
    assert (counts.ignored, counts.accepted, counts.rejected_total) == (1, 1, 0)

    # The topic is clear: a second subscriber is delivered nothing retained.
    other = Intake(sessions, intake.network, utility=utility)
    late = subscribers.start(other, _client_id())
    mosquitto_pub(f"openoms/{utility}/indicators/D1/report", json.dumps(report).encode())
    wait_until(lambda: late.processed == 1)  # only the new, non-retained one
    assert other.counts().duplicates == 1
    assert other.counts().ignored == 0


def test_a_device_time_in_seconds_is_refused_as_implausible_never_a_fault(
    subscribers: Subscribers,
    intake: Intake,
    sessions: Sessions,
    utility: str,
    mosquitto_pub: MosquittoPub,
) -> None:
    subscriber = subscribers.start(intake, _client_id())
    now = datetime.now(UTC).replace(microsecond=0)
    seconds = int(now.timestamp())
    trip = {"ts": seconds, "event": "trip", "lockout": True}
    mosquitto_pub(f"openoms/{utility}/switches/CB1/event", json.dumps(trip).encode())
    report = {"ts": _ms(now) * 1000, "data": {"short_circuit_a": 1}}  # microseconds
    mosquitto_pub(f"openoms/{utility}/indicators/D1/report", json.dumps(report).encode())
    retained = {"ts": seconds, "data": {"short_circuit_b": 1}}
    mosquitto_pub(
        f"openoms/{utility}/ftus/D2/report", BOM + json.dumps(retained).encode(), retain=True
    )
    good = {"ts": _ms(now - timedelta(seconds=2)), "data": {"short_circuit_a": 1}}
    mosquitto_pub(f"openoms/{utility}/indicators/D1/report", json.dumps(good).encode())
    wait_until(lambda: subscriber.processed == 4)
    events, dead = stored_counts(sessions)
    assert events == {"indicator_report": 1}  # the good one only: no trip, no fault
    assert dead == {"implausible_time": 3}
    letters = _letters(sessions)
    shown = _iso(now)
    as_ms = _iso(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=seconds))
    assert [letter.detail for letter in letters] == [
        f"ts: {seconds} as milliseconds since 1970 is {as_ms}, before 2000: the device "
        f"probably sent seconds (as seconds it is {shown}); "
        "ts must be integer milliseconds since 1970-01-01 UTC",
        f"ts: {_ms(now) * 1000} as milliseconds since 1970 is beyond the year 9999, after "
        f"2099: the device probably sent microseconds (as microseconds it is {shown}); "
        "ts must be integer milliseconds since 1970-01-01 UTC",
        letters[2].detail,
    ]
    assert "the device probably sent seconds" in letters[2].detail
    assert letters[2].raw == BOM + json.dumps(retained).encode()  # kept as received
    assert [letter.channel for letter in letters] == [
        f"openoms/{utility}/switches/CB1/event",
        f"openoms/{utility}/indicators/D1/report",
        f"openoms/{utility}/ftus/D2/report",
    ]
    assert intake.counts().rejected["implausible_time"] == 3
