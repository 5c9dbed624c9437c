"""Telemetry in the database: latest value per point and a sampled history, both databases."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.errors import InputError
from openoms.events import EventSource, TelemetrySample
from openoms.store.tables import TelemetryHistoryRow
from openoms.store.telemetry import (
    latest_telemetry,
    record_telemetry,
    slot_of,
    telemetry_history,
)
from tests.store.conftest import T0

Sessions = sessionmaker[Session]
MINUTE = timedelta(seconds=60)


def _sample(
    seconds: float, value: float, *, point: str = "load_current_a", **kw: object
) -> TelemetrySample:
    at = T0 + timedelta(seconds=seconds)
    return TelemetrySample(
        element_id=str(kw.pop("element_id", "D2")),
        point=point,
        value=value,
        received_at=at + timedelta(milliseconds=300),
        device_time=at,
        channel="iec104:RTU1",
        **kw,  # type: ignore[arg-type]
    )


def _history_rows(sessions: Sessions) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(TelemetryHistoryRow)) or 0)


def test_a_two_second_feed_writes_one_history_row_a_minute(sessions: Sessions) -> None:
    samples = [_sample(2 * i, 100.0 + i) for i in range(1800)]  # one hour, every 2 s
    written = 0
    for start in range(0, len(samples), 45):  # in calls of 90 s, as the master flushes
        with sessions.begin() as session:
            written += record_telemetry(session, samples[start : start + 45], sample_every=MINUTE)
    assert written == 60
    assert _history_rows(sessions) == 60
    with sessions() as session:
        latest = latest_telemetry(session)
        history = telemetry_history(session, "D2", "load_current_a")
    assert [(r.element_id, r.point, r.value) for r in latest] == [("D2", "load_current_a", 1899.0)]
    assert latest[0].at == T0 + timedelta(seconds=3598)
    assert latest[0].channel == "iec104:RTU1"
    # newest first, the first sample of each minute
    assert [r.value for r in history[:3]] == [1870.0, 1840.0, 1810.0]
    assert history[-1].at == T0
    assert history[-1].value == 100.0


def test_an_older_sample_does_not_replace_the_latest_but_fills_its_history_slot(
    sessions: Sessions,
) -> None:
    with sessions.begin() as session:
        assert record_telemetry(session, [_sample(300, 7.0)], sample_every=MINUTE) == 1
    with sessions.begin() as session:  # a buffered value from four minutes earlier
        assert record_telemetry(session, [_sample(60, 3.0)], sample_every=MINUTE) == 1
    with sessions.begin() as session:  # the same minute again: no second history row
        assert record_telemetry(session, [_sample(301, 8.0)], sample_every=MINUTE) == 0
    with sessions() as session:
        assert [r.value for r in latest_telemetry(session, element_id="D2")] == [8.0]
        history = telemetry_history(session, "D2", "load_current_a")
        assert [r.value for r in history] == [7.0, 3.0]
        window = telemetry_history(
            session, "D2", "load_current_a", since=T0 + MINUTE, until=T0 + 5 * MINUTE
        )
        assert [r.value for r in window] == [3.0]  # until is exclusive


def test_the_receipt_time_stands_in_without_a_device_time(sessions: Sessions) -> None:
    sample = TelemetrySample("K1", "active_power_kw", 12.5, received_at=T0, quality_ok=False)
    with sessions.begin() as session:
        record_telemetry(session, [sample, _sample(0, 1.0)])
    with sessions() as session:
        (reading,) = latest_telemetry(session, element_id="K1")
        assert (reading.at, reading.device_time, reading.quality_ok) == (T0, None, False)
        assert reading.source == EventSource.IEC104.value
        assert [r.element_id for r in latest_telemetry(session)] == ["D2", "K1"]
        assert [r.point for r in latest_telemetry(session, limit=1, offset=1)] == [
            "active_power_kw"
        ]


@pytest.mark.parametrize(
    ("sample", "named"),
    [
        (_sample(0, math.nan), "not a finite number"),
        (_sample(0, math.inf), "not a finite number"),
        (_sample(0, 1.0, element_id="x" * 101), "element_id"),
        (_sample(0, 1.0, point=""), "point"),
    ],
)
def test_a_sample_that_cannot_be_stored_is_refused_whole(
    sessions: Sessions, sample: TelemetrySample, named: str
) -> None:
    with pytest.raises(InputError, match=named), sessions.begin() as session:
        record_telemetry(session, [_sample(0, 1.0), sample])
    with sessions() as session:
        assert latest_telemetry(session) == []
    assert _history_rows(sessions) == 0


def test_slots_are_counted_from_1970_utc() -> None:
    at = datetime(2025, 1, 15, 8, 0, 59, 999_999, tzinfo=UTC)
    assert slot_of(at, MINUTE) == datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    assert slot_of(at + timedelta(microseconds=1), MINUTE) == datetime(
        2025, 1, 15, 8, 1, tzinfo=UTC
    )
    assert slot_of(at, timedelta(minutes=15)) == datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
