"""Crash safety: SIGKILL the running service in the middle of MQTT and HTTP streams, restart
it, and find every accepted event stored exactly once and every outage consistent.

Real parts only: ``openoms serve`` as a separate process, the Mosquitto broker and the
database (SQLite and PostgreSQL) of the CI machine.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from benchmarks._serve import Service, fault_indicators
from openoms.grid.load import load_network
from openoms.samples import bundled_path
from openoms.store.tables import EventRow, Outage
from tests.service.conftest import IndicatorReports

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


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
    served: tuple[Service, str], mqtt_broker: tuple[str, int]
) -> None:
    server, token = served
    network = load_network(bundled_path("sample:county"))
    indicators = fault_indicators(network)
    breakers = [network.edge_id(int(e)) for e in network.feeders.head_edge[:8]]
    mqtt_stream = IndicatorReports(mqtt_broker, server.utility, indicators[:60])
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
    engine = create_engine(server.url)
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
