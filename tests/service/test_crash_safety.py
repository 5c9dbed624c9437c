"""Crash safety: SIGKILL the running service in the middle of MQTT and HTTP streams, restart
it, and find every accepted event stored exactly once and every outage consistent.

Real parts only: ``openoms serve`` as a separate process, the Mosquitto broker and the
database (SQLite and PostgreSQL) of the CI machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, func, select

from openoms.grid.load import load_network
from openoms.samples import bundled_path
from openoms.store.tables import EventRow, Outage

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

RUN = [sys.executable, "-c", "from openoms.cli import run; run()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as handle:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                [*RUN, "serve"], env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"service did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def served(
    database_url: str, mqtt_broker: tuple[str, int], tmp_path: Path
) -> Iterator[tuple[Server, dict[str, str], str]]:
    utility = f"crash{uuid.uuid4().hex[:8]}"
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
        [*RUN, "token", "create", "--name", "crash test", "--role", "dispatcher"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = Server(env, port, tmp_path / "serve.log")
    server.start()
    try:
        yield server, env, token
    finally:
        server.stop()


class MqttStream(threading.Thread):
    """Publishes indicator reports at QoS 1; a report counts once the broker acknowledged it."""

    def __init__(self, host: str, port: int, utility: str, devices: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{utility}")
        self.client.connect(host, port)
        self.client.loop_start()
        self.utility, self.devices = utility, devices
        self.acknowledged: list[str] = []
        self.stop_flag = threading.Event()

    def run(self) -> None:
        start = datetime.now(UTC) - timedelta(minutes=5)
        n = 0
        while not self.stop_flag.is_set():
            device = self.devices[n % len(self.devices)]
            msg_id = f"c{n:06d}"
            ts = int((start + timedelta(milliseconds=10 * n)).timestamp() * 1000)
            body = {"sn": device, "ts": ts, "msg_id": msg_id, "data": {"short_circuit_a": 0}}
            info = self.client.publish(
                f"openoms/{self.utility}/indicators/{device}/report", json.dumps(body), qos=1
            )
            info.wait_for_publish(timeout=10)
            if info.is_published():
                self.acknowledged.append(f"m:{device}:{msg_id}")
            n += 1
            # Mosquitto keeps at most max_queued_messages (default 1000) for an offline
            # persistent session and drops the rest after acknowledging them: a broker setting
            # (docs/events.md). 50 reports/s stays well inside it while the service restarts.
            time.sleep(0.02)
        self.client.loop_stop()
        self.client.disconnect()


class HttpStream(threading.Thread):
    """Posts batches of events; keeps retrying a batch the service did not answer."""

    def __init__(self, port: int, token: str, devices: list[str], trips: list[str]) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/api/v1/events/batch"
        self.token, self.devices, self.trips = token, devices, trips
        self.accepted: list[str] = []
        self.rejected = 0
        self.stop_flag = threading.Event()

    def _post(self, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"events": events}).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                result: dict[str, Any] = json.loads(response.read())
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def run(self) -> None:
        start = datetime.now(UTC) - timedelta(minutes=4)
        n = 0
        while not self.stop_flag.is_set():
            events = []
            for i in range(20):
                device = self.devices[(n + i) % len(self.devices)]
                at = start + timedelta(milliseconds=10 * (n + i))
                events.append(
                    {
                        "kind": "indicator_report",
                        "device_id": device,
                        "device_time": at.isoformat(),
                        "idempotency_key": f"h{n + i}",
                        "payload": {"fault_phases": [], "earth_fault": False},
                    }
                )
            if n // 20 < len(self.trips):  # one lockout per feeder breaker, in the stream
                breaker = self.trips[n // 20]
                events.append(
                    {
                        "kind": "breaker_trip",
                        "device_id": breaker,
                        "device_time": (start + timedelta(milliseconds=10 * n)).isoformat(),
                        "idempotency_key": f"trip{n // 20}",
                        "payload": {"lockout": True},
                    }
                )
            while not self.stop_flag.is_set():
                answer = self._post(events)
                if answer is not None:
                    refused = {r["index"] for r in answer["rejected"]}
                    self.rejected += len(refused)
                    for index, event in enumerate(events):
                        if index not in refused:
                            key = f"k:{event['device_id']}:{event['idempotency_key']}"
                            self.accepted.append(key)
                    break
                time.sleep(0.2)  # the service is down: retry the same batch, as a sender does
            n += 20


def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(
    served: tuple[Server, dict[str, str], str], mqtt_broker: tuple[str, int]
) -> None:
    server, env, token = served
    network = load_network(bundled_path("sample:county"))
    indicators = [
        d
        for d, k in zip(network.detectors.id, network.detectors.kind, strict=True)
        if k == "fault_indicator"
    ]
    breakers = [network.edge_id(int(e)) for e in network.feeders.head_edge[:8]]
    mqtt_stream = MqttStream(*mqtt_broker, env["OPENOMS_UTILITY"], indicators[:60])
    http_stream = HttpStream(server.port, token, indicators[60:120], breakers)
    mqtt_stream.start()
    http_stream.start()
    time.sleep(3.0)
    server.kill()  # SIGKILL mid-stream
    time.sleep(2.0)  # MQTT reports keep coming while the service is down
    server.start()
    time.sleep(3.0)
    mqtt_stream.stop_flag.set()
    http_stream.stop_flag.set()
    mqtt_stream.join(timeout=30)
    http_stream.join(timeout=30)

    expected = set(mqtt_stream.acknowledged) | set(http_stream.accepted)
    assert len(mqtt_stream.acknowledged) > 100
    assert len(http_stream.accepted) > 100
    assert http_stream.rejected == 0
    engine = create_engine(env["OPENOMS_DATABASE_URL"])
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as connection:
                keys = connection.scalars(select(EventRow.idempotency_key)).all()
                unprocessed = connection.scalar(
                    select(func.count())
                    .select_from(EventRow)
                    .where(EventRow.processed_at.is_(None))
                )
            if expected <= set(keys) and unprocessed == 0:
                break
            assert time.monotonic() < deadline, (
                f"{len(expected - set(keys))} accepted events missing, {unprocessed} unprocessed"
            )
            time.sleep(0.5)
        assert len(keys) == len(set(keys))  # exactly once
        with engine.connect() as connection:
            trips = connection.scalars(
                select(EventRow.device_id).where(EventRow.kind == "breaker_trip")
            ).all()
            faults = connection.execute(
                select(Outage.operated_device, func.count())
                .where(Outage.kind == "fault")
                .group_by(Outage.operated_device)
            ).all()
        # One outage per lockout, none lost and none doubled by the crash.
        assert len(trips) == len(set(trips)) == 8
        assert {str(device): int(count) for device, count in faults} == dict.fromkeys(
            [str(t) for t in trips], 1
        )
    finally:
        engine.dispose()
