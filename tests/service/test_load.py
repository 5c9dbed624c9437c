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
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select

from benchmarks._serve import Connection, Service, fault_indicators, http_get, http_post, once
from openoms.grid.load import load_network
from openoms.samples import bundled_path
from openoms.store.tables import EventRow
from tests.service.conftest import IndicatorReports

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

CONNECTIONS = 200
STORM_S = 5.0
DEADLINE_S = 20.0  # an answer later than this is a hang
RECOVERY_S = 5.0
ANSWERS = frozenset({200, 201, 202, 429, 503})


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
                raw = http_get("/api/v1/outages?limit=20", token)
            else:
                key = f"c{index}-{n}"
                event = {
                    "kind": "trouble_call",
                    "device_time": datetime.now(UTC).isoformat(),
                    "idempotency_key": key,
                    "payload": {"address": f"storm {index}"},
                }
                raw = http_post("/api/v1/events", token, event)
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
    served: tuple[Service, str], mqtt_broker: tuple[str, int]
) -> None:
    service, token = served
    network = load_network(bundled_path("sample:county"))
    indicators = fault_indicators(network)
    reports = IndicatorReports(mqtt_broker, service.utility, indicators[:50])
    reports.start()
    try:
        time.sleep(0.5)
        statuses, hangs, errors, acknowledged = asyncio.run(_storm(service.port, token))
    finally:
        reports.stop_flag.set()
        reports.join(timeout=20)
    stormed = time.monotonic()

    assert hangs == 0, f"{hangs} requests without an answer within {DEADLINE_S} s"
    assert not errors, f"connections dropped without an answer: {dict(errors)}"
    assert set(statuses) <= ANSWERS, dict(statuses)
    assert statuses[200] + statuses[202] > 0, dict(statuses)  # it served, not only refused

    # After the storm: answered at once.
    while asyncio.run(once(service.port, http_get("/api/v1/outages?limit=1", token), 2))[0] != 200:
        assert time.monotonic() - stormed < RECOVERY_S, "no answer within 5 s of the storm"
        time.sleep(0.1)

    # Every report the broker took, and every event acknowledged, is stored.
    expected = set(reports.acknowledged) | acknowledged
    assert len(reports.acknowledged) > 50
    engine = create_engine(service.url)
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
