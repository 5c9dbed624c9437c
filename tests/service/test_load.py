"""200 concurrent HTTP connections against ``openoms serve`` while MQTT reports flow: every
request is answered (2xx, 429 or 503) within a deadline, every MQTT report the broker took is
stored, and after the storm the service answers at once (issue 10: it used to wedge).

Real parts only, as in production: the service as a separate process, the Mosquitto broker,
SQLite and PostgreSQL. The full measurement (1 to 1,000 connections, rates, recovery) is
``benchmarks/load.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, select

from openoms.grid.load import load_network
from openoms.samples import bundled_path
from openoms.store.tables import EventRow

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

RUN = [sys.executable, "-c", "from openoms.cli import run; run()"]
CONNECTIONS = 200
STORM_S = 5.0
DEADLINE_S = 20.0  # an answer later than this is a hang
RECOVERY_S = 5.0
ANSWERS = frozenset({200, 201, 202, 429, 503})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Connection:
    """A keep-alive HTTP/1.1 connection over asyncio streams (lighter than any client
    library: the client must not be what limits 200 connections on a small machine)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection":
                close = value.strip().lower() == b"close"
        body = await reader.readexactly(length) if length else b""
        if close:
            self.close()
        return int(head[9:12]), body

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def _get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def _post(path: str, token: str, document: object) -> bytes:
    body = json.dumps(document).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.fixture
def served(
    database_url: str, mqtt_broker: tuple[str, int], tmp_path: Path
) -> Iterator[tuple[int, str, str, dict[str, str]]]:
    utility = f"load{uuid.uuid4().hex[:8]}"
    port = _free_port()
    env = {
        **os.environ,
        "OPENOMS_DATA_DIR": str(tmp_path),
        "OPENOMS_DATABASE_URL": database_url,
        "OPENOMS_NETWORK": "sample:county",
        "OPENOMS_UTILITY": utility,
        "OPENOMS_MQTT_HOST": mqtt_broker[0],
        "OPENOMS_MQTT_PORT": str(mqtt_broker[1]),
        "OPENOMS_MQTT_CLIENT_ID": f"openoms-{utility}",
        "OPENOMS_HTTP_PORT": str(port),
    }
    token = subprocess.run(
        [*RUN, "token", "create", "--name", "load test", "--role", "dispatcher"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    log = tmp_path / "serve.log"
    with log.open("ab") as handle:
        process = subprocess.Popen([*RUN, "serve"], env=env, stdout=handle, stderr=handle)
    try:
        deadline = time.monotonic() + 60
        while asyncio.run(_status(port, _get("/api/v1/health", token), 2)) != 200:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"did not come up:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield port, token, utility, env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _status(port: int, raw: bytes, timeout: float) -> int | None:
    connection = Connection(port)
    try:
        status, _ = await asyncio.wait_for(connection.request(raw), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None
    finally:
        connection.close()
    return status


class Reports(threading.Thread):
    """Indicator reports at QoS 1, ~50 / s; a report counts once the broker acknowledged it."""

    def __init__(self, broker: tuple[str, int], utility: str, devices: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{utility}")
        self.client.connect(*broker)
        self.client.loop_start()
        self.utility, self.devices = utility, devices
        self.acknowledged: list[str] = []
        self.stop_flag = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop_flag.is_set():
            device = self.devices[n % len(self.devices)]
            body = {"sn": device, "ts": int(time.time() * 1000), "msg_id": f"r{n}"}
            body["data"] = {"short_circuit_a": 0}
            info = self.client.publish(
                f"openoms/{self.utility}/indicators/{device}/report", json.dumps(body), qos=1
            )
            info.wait_for_publish(timeout=10)
            if info.is_published():
                self.acknowledged.append(f"m:{device}:r{n}")
            n += 1
            time.sleep(0.02)
        self.client.loop_stop()
        self.client.disconnect()


async def _storm(port: int, token: str) -> tuple[Counter[int], int, Counter[str], set[str]]:
    """(answers by status, hangs, connection errors, keys of events acknowledged)."""
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    acknowledged: set[str] = set()
    hangs = 0
    stop_at = time.monotonic() + STORM_S

    async def client(index: int) -> None:
        nonlocal hangs
        connection = Connection(port)
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            key = None
            if (index + n) % 2:
                raw = _get("/api/v1/outages?limit=20", token)
            else:
                key = f"c{index}-{n}"
                event = {
                    "kind": "trouble_call",
                    "device_time": datetime.now(UTC).isoformat(),
                    "idempotency_key": key,
                    "payload": {"address": f"storm {index}"},
                }
                raw = _post("/api/v1/events", token, event)
            try:
                status, body = await asyncio.wait_for(connection.request(raw), DEADLINE_S)
            except TimeoutError:
                hangs += 1
                connection.close()
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                connection.close()
                continue
            statuses[status] += 1
            if status == 202 and key is not None and json.loads(body)["accepted"] == 1:
                acknowledged.add(f"k::{key}")
        connection.close()

    await asyncio.gather(*(client(i) for i in range(CONNECTIONS)))
    return statuses, hangs, errors, acknowledged


def test_200_connections_are_all_answered_and_mqtt_ingest_goes_on(
    served: tuple[int, str, str, dict[str, str]], mqtt_broker: tuple[str, int]
) -> None:
    port, token, utility, env = served
    network = load_network(bundled_path("sample:county"))
    indicators = [
        d
        for d, k in zip(network.detectors.id, network.detectors.kind, strict=True)
        if k == "fault_indicator"
    ]
    reports = Reports(mqtt_broker, utility, indicators[:50])
    reports.start()
    try:
        time.sleep(0.5)
        statuses, hangs, errors, acknowledged = asyncio.run(_storm(port, token))
    finally:
        reports.stop_flag.set()
        reports.join(timeout=20)
    stormed = time.monotonic()

    assert hangs == 0, f"{hangs} requests without an answer within {DEADLINE_S} s"
    assert not errors, f"connections dropped without an answer: {dict(errors)}"
    assert set(statuses) <= ANSWERS, dict(statuses)
    assert statuses[200] + statuses[202] > 0, dict(statuses)  # it served, not only refused

    # After the storm: answered at once.
    while asyncio.run(_status(port, _get("/api/v1/outages?limit=1", token), 2)) != 200:
        assert time.monotonic() - stormed < RECOVERY_S, "no answer within 5 s of the storm"
        time.sleep(0.1)

    # Every report the broker took, and every event acknowledged, is stored.
    expected = set(reports.acknowledged) | acknowledged
    assert len(reports.acknowledged) > 50
    engine = create_engine(env["OPENOMS_DATABASE_URL"])
    try:
        deadline = time.monotonic() + 20
        while True:
            with engine.connect() as connection:
                keys = set(connection.scalars(select(EventRow.idempotency_key)))
            missing = expected - keys
            if not missing:
                break
            assert time.monotonic() < deadline, f"{len(missing)} acknowledged events not stored"
            time.sleep(0.5)
    finally:
        engine.dispose()
