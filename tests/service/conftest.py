"""The service as a separate process, as in production (benchmarks/_serve.py), and a field
device stream to feed it over MQTT."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._serve import Service


@pytest.fixture
def served(
    database_url: str, mqtt_broker: tuple[str, int], tmp_path: Path
) -> Iterator[tuple[Service, str]]:
    """``openoms serve`` on ``database_url`` and the MQTT broker, up, and a dispatcher's API
    token; stopped after the test."""
    service = Service.configure(tmp_path, database_url, mqtt_broker)
    token = service.token("test dispatcher", "dispatcher")
    service.start()
    try:
        yield service, token
    finally:
        service.stop()


class IndicatorReports(threading.Thread):
    """Fault indicator reports ("no fault") of ``devices`` in turn at QoS 1, ~50 / s, until
    ``stop_flag`` is set; device times from five minutes ago, 10 ms apart. A report counts, by
    the key of its event in ``acknowledged``, once the broker acknowledged it."""

    def __init__(self, broker: tuple[str, int], utility: str, devices: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{utility}")
        self.client.connect(*broker)
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
            # (docs/events.md). 50 reports/s stays well inside it while a service restarts.
            time.sleep(0.02)
        self.client.loop_stop()
        self.client.disconnect()
