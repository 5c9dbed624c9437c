"""The intake's telemetry path and its empty-payload rule, on both databases."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from openoms.events import TelemetrySample
from openoms.grid.model import Network
from openoms.ingest.intake import Intake
from openoms.ingest.payloads import RejectReason
from openoms.store import telemetry
from openoms.store.tables import DeadLetter
from tests.ingest.conftest import Sessions, stored_counts

AT = datetime(2024, 11, 28, 8, 0, tzinfo=UTC)


def _sample(
    element: str, value: float, *, seconds: float = 0, point: str = "load_current_a"
) -> TelemetrySample:
    return TelemetrySample(
        element_id=element,
        point=point,
        value=value,
        received_at=AT + timedelta(seconds=seconds, milliseconds=200),
        device_time=AT + timedelta(seconds=seconds),
        channel="iec104:RTU1",
    )


def test_telemetry_of_known_elements_is_stored_and_of_unknown_ones_dead_lettered(
    sessions: Sessions, network: Network
) -> None:
    registry = CollectorRegistry()
    intake = Intake(
        sessions, network, utility="u", registry=registry, telemetry_sample=timedelta(seconds=10)
    )
    samples = [_sample("D2", 100.0 + s, seconds=s) for s in range(0, 30, 2)]  # every 2 s
    samples += [_sample("D9", 5.0, seconds=s) for s in (0, 2)]  # not in the network
    samples += [_sample("K1", math.nan, point="active_power_kw")]
    skewed = _sample("D2", 7.0, point="load_current_b")
    samples += [dataclasses.replace(skewed, device_time=AT + timedelta(hours=8))]
    assert intake.accept_telemetry(samples) == 15
    with sessions() as session:
        latest = telemetry.latest_telemetry(session)
        history = telemetry.telemetry_history(session, "D2", "load_current_a")
        letters = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    assert [(r.element_id, r.value) for r in latest] == [("D2", 128.0)]
    assert [r.value for r in history] == [120.0, 110.0, 100.0]  # one per 10 s
    assert [(d.reason, d.source, d.channel) for d in letters] == [
        ("unknown_device", "iec104", "iec104:RTU1"),
        ("malformed", "iec104", "iec104:RTU1"),
        ("clock_skew", "iec104", "iec104:RTU1"),
    ]
    assert letters[2].detail == (
        "telemetry point 'load_current_b' of 'D2': device time 2024-11-28T16:00:00+00:00 is "
        "480.0 min after the receipt time 2024-11-28T08:00:00.200000+00:00 (at most 5.0 min "
        "allowed): its clock is off (1 sample)"
    )
    assert letters[0].detail == (
        "telemetry point 'load_current_a' of 'D9': the element is not in the network "
        "'small' (2 samples)"
    )
    assert [json.loads(line)["value"] for line in letters[0].raw.splitlines()] == [5.0, 5.0]
    assert letters[1].detail == (
        "telemetry sample 'K1' / 'active_power_kw': value nan is not a finite number (1 sample)"
    )
    dead = {"unknown_device": 1, "malformed": 1, "clock_skew": 1}
    assert stored_counts(sessions) == ({}, dead)  # no events
    counts = intake.counts()
    assert (counts.telemetry, counts.accepted) == (15, 0)
    assert counts.rejected["unknown_device"] == 1
    assert registry.get_sample_value("openoms_ingest_telemetry_total", {"source": "iec104"}) == 15
    rejected = {"source": "iec104", "reason": "unknown_device"}
    assert registry.get_sample_value("openoms_ingest_rejected_total", rejected) == 1


def test_nothing_to_store_writes_nothing(sessions: Sessions, network: Network) -> None:
    intake = Intake(sessions, network, utility="u")
    assert intake.accept_telemetry([]) == 0
    with sessions() as session:
        assert telemetry.latest_telemetry(session) == []


def test_an_empty_mqtt_payload_is_ignored_and_counted_not_dead_lettered(
    sessions: Sessions, network: Network
) -> None:
    registry = CollectorRegistry()
    intake = Intake(sessions, network, utility="u", registry=registry)
    ts = int(AT.timestamp() * 1000)
    report = json.dumps({"ts": ts, "data": {"short_circuit_a": 1}}).encode()
    batch = [
        ("openoms/u/indicators/D1/report", b""),  # a retained topic cleared
        ("openoms/u/indicators/D9/report", report),
        ("openoms/u/ftus/D2/report", b""),
        ("openoms/u/indicators/D1/report", report),
    ]
    result = intake.accept_mqtt_batch(batch, received_at=AT)
    assert result.ignored == 2
    assert len(result.accepted) == 1
    assert [(r.index, r.reason) for r in result.rejected] == [(1, RejectReason.UNKNOWN_DEVICE)]
    assert stored_counts(sessions) == ({"indicator_report": 1}, {"unknown_device": 1})
    only_clears = intake.accept_mqtt("openoms/u/indicators/D1/report", b"", received_at=AT)
    assert (only_clears.ignored, only_clears.accepted, only_clears.rejected) == (1, (), ())
    assert intake.counts().ignored == 3
    assert intake.counts().rejected_total == 1
    assert registry.get_sample_value("openoms_ingest_ignored_total", {"source": "mqtt"}) == 3
