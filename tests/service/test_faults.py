"""The fault workflow on SQLite and PostgreSQL: reports grouped around the trip, located on
the tree as it was before the breaker opened, the section on the outage record, one crew SMS
in the outbox once reports go quiet, a correction when late reports move the fault, patrol
advisories for transient faults and earth faults without a trip.

Network: ``tests/grid/small.py``. Feeder F1 = CB1 (no relay: the implicit root zone "CB1":
s3, FU1), D1 (indicator on s1: zone s1), D2 (FTU on K1: zone K1, s2 with TA2 and the
nursing home). Grid cell G1 for every node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openoms.events import Event, EventKind, EventSource
from openoms.grid.native import write_csv_folder
from openoms.service.context import ServiceContext
from openoms.service.crew_alert import CrewAlerter
from openoms.service.processor import EventProcessor
from openoms.service.runtime import build_context
from openoms.settings import Settings
from openoms.store import eventlog, outages, outbox, roster
from openoms.store import faults as fault_store
from tests.grid.small import small_raw, small_rows

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
ROSTER = (
    "grid_cell,crew,person,phone,starts_at,ends_at,fallback\n"
    "G1,城关抢修一班,王师傅,13800001111,2026-11-28T08:00,2026-11-28T20:00,no\n"
    "G1,城关抢修值班组,李站长,13800002222,,,yes\n"
)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    context: ServiceContext
    clock: Clock
    processor: EventProcessor
    woken: list[int]

    def feed(self, *events: Event, received: datetime | None = None) -> None:
        with self.context.sessions.begin() as session:
            eventlog.append_events(session, events, received_at=received or self.clock.now)
        while self.processor.process_pending():
            pass

    def later(self, seconds: float) -> int:
        self.clock.now += timedelta(seconds=seconds)
        return self.processor.tick()


def _make_rig(
    database_url: str,
    tmp_path: Path,
    rows: dict[str, list[dict[str, Any]]] | None = None,
    **settings: Any,
) -> Rig:
    write_csv_folder(small_raw(rows), tmp_path / "small")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    chosen = Settings(
        data_dir=tmp_path, database_url=database_url, network=str(tmp_path / "small"), **settings
    )
    clock = Clock(T0 + timedelta(seconds=1))
    context = build_context(chosen, clock=clock)
    with context.sessions.begin() as session:
        roster.import_roster(session, tmp_path / "roster.csv", grid_cells={"G1"})
    woken: list[int] = []
    alerter = CrewAlerter(context, wake=lambda: woken.append(1))
    return Rig(context, clock, EventProcessor(context, send_alert=alerter), woken)


@pytest.fixture
def rig(database_url: str, tmp_path: Path) -> Iterator[Rig]:
    made = _make_rig(database_url, tmp_path)
    yield made
    made.context.dispose()


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _report(device: str, seconds: float, kind: EventKind = EventKind.FTU_REPORT, **p: Any) -> Event:
    payload = {"short_circuit": False, "earth_fault": False, "fault_phases": []} | p
    return Event(kind, EventSource.MQTT, device, _at(seconds), payload)


def _alarm(device: str, seconds: float, kind: EventKind = EventKind.FTU_REPORT) -> Event:
    return _report(device, seconds, kind, short_circuit=True, fault_phases=["A", "B"])


def _lockout(seconds: float) -> Event:
    return Event(EventKind.BREAKER_TRIP, EventSource.MQTT, "CB1", _at(seconds), {"lockout": True})


def _fault_events(rig: Rig) -> list[fault_store.FaultEventRecord]:
    with rig.context.sessions() as session:
        return fault_store.list_fault_events(session)


def _messages(rig: Rig) -> list[outbox.OutboxItem]:
    with rig.context.sessions() as session:
        return outbox.list_messages(session)


IND = EventKind.INDICATOR_REPORT


def test_lockout_and_alarms_locate_the_fault_and_queue_one_crew_sms(rig: Rig) -> None:
    rig.feed(_alarm("D1", 0.05, IND), _alarm("D2", 0.06), _lockout(0.2))
    [fault] = _fault_events(rig)
    assert (fault.feeder_id, fault.state, fault.breaker, fault.lockout) == (
        "F1",
        "located",
        "CB1",
        True,
    )
    assert fault.located_zone == "D2"
    assert fault.fault_type == "phase_to_phase"
    assert fault.location is not None
    assert fault.location["best"] == ["D2"]
    # the breaker opened after the fault: the location is on the tree from before
    assert fault.open_edges == (rig.context.network.edge_index("T1"),)
    assert fault.outage_id is not None
    with rig.context.sessions() as session:
        record = outages.get_outage(session, fault.outage_id)
    assert record.located_section == "D2"
    assert _messages(rig) == []  # reports may still come: not yet quiet
    rig.clock.now = _at(12 * 3600)  # 20:00 Beijing time is 12:00 UTC: the day shift has ended
    rig.later(0)
    [message] = _messages(rig)
    assert message.recipient_name == "李站长"  # no one on shift: the fallback contact
    assert "甲Ⅰ线" in message.body
    assert "AB相" in message.body
    assert "李村敬老院" in message.body  # the sensitive customer off
    assert message.trigger_at is not None
    assert rig.woken == [1]
    rig.later(1)
    assert len(_messages(rig)) == 1  # once


def test_the_shift_on_duty_gets_the_sms(rig: Rig) -> None:
    rig.clock.now = _at(3 * 3600)  # 11:00 Beijing time
    rig.feed(_alarm("D1", 0.05, IND), _lockout(0.2), received=_at(3 * 3600 - 5))
    rig.later(1)
    [message] = _messages(rig)
    assert message.recipient_name == "王师傅"
    [fault] = _fault_events(rig)
    assert fault.alert_state == "sent"


def test_an_online_ftu_without_alarm_puts_the_fault_above_it(rig: Rig) -> None:
    heartbeat = _report("D2", -600)
    rig.feed(heartbeat, _alarm("D1", 0.05, IND), _lockout(0.2))
    [fault] = _fault_events(rig)
    assert fault.located_zone == "D1"
    assert fault.location is not None
    assert fault.location["contradictions"] == []


def test_a_late_report_moves_the_fault_and_sends_a_correction(rig: Rig) -> None:
    rig.feed(_alarm("D1", 0.05, IND), _lockout(0.2))
    rig.later(1)
    [first] = _messages(rig)
    alerted = _fault_events(rig)[0].alerted_zone
    assert alerted == "D1"  # D2 (an FTU) sent nothing and is not known online: no data
    rig.feed(_alarm("D2", 0.07))  # device time inside the window, received 1 s late
    [fault] = _fault_events(rig)
    assert fault.located_zone == "D2"
    rig.later(61)  # the final location
    [fault] = _fault_events(rig)
    assert fault.state == "final"
    messages = _messages(rig)
    assert len(messages) == 2
    correction = next(m for m in messages if m.id != first.id)
    assert correction.body.startswith("【更正】")
    assert not first.body.startswith("【更正】")


def test_a_successful_reclose_is_transient_with_a_patrol_advisory_and_no_sms(rig: Rig) -> None:
    rig.feed(
        _alarm("D1", 0.05, IND),
        _alarm("D2", 0.06),
        Event(EventKind.BREAKER_TRIP, EventSource.MQTT, "CB1", _at(0.2), {"lockout": False}),
        Event(EventKind.BREAKER_RECLOSE, EventSource.MQTT, "CB1", _at(1.5), {"success": True}),
    )
    rig.later(1)
    [fault] = _fault_events(rig)
    assert (fault.reclosed, fault.located_zone, fault.alert_state) == (True, "D2", "skipped")
    assert fault.advisory is not None
    assert "瞬时性故障" in fault.advisory["zh"]
    assert fault.advisory["region"]
    assert fault.location is not None
    assert fault.location["permanent"] is False
    assert _messages(rig) == []
    with rig.context.sessions() as session:
        [record] = outages.list_outages(session)
    assert record.momentary
    assert record.id == fault.outage_id


def test_a_lockout_after_a_successful_reclose_still_alerts_the_crew(rig: Rig) -> None:
    # trip → reclose succeeds (transient: advisory, no SMS) → the fault comes back 20 s later
    # and the breaker locks out, inside fault_lockout_window_s (60 s) of the first trip: the
    # same fault event, now permanent, so the crew on duty gets the SMS after all
    rig.clock.now = _at(3 * 3600)  # 11:00 Beijing time: the day shift
    trip = Event(EventKind.BREAKER_TRIP, EventSource.MQTT, "CB1", _at(0.2), {"lockout": False})
    reclose = Event(EventKind.BREAKER_RECLOSE, EventSource.MQTT, "CB1", _at(1.5), {"success": True})
    rig.feed(_alarm("D1", 0.05, IND), _alarm("D2", 0.06), trip, reclose, received=_at(10790))
    rig.later(1)
    [fault] = _fault_events(rig)
    assert fault.alert_state == "skipped"
    assert _messages(rig) == []
    rig.feed(_lockout(20.0), received=rig.clock.now)
    rig.later(1)
    [fault] = _fault_events(rig)
    assert (fault.lockout, fault.alert_state) == (True, "sent")
    [message] = _messages(rig)
    assert message.recipient_name == "王师傅"
    assert fault.outage_id is not None
    with rig.context.sessions() as session:
        record = outages.get_outage(session, fault.outage_id)
    assert not record.momentary
    rig.later(1)
    assert len(_messages(rig)) == 1  # once


def test_an_earth_fault_without_a_trip_raises_an_advisory(rig: Rig) -> None:
    earth: dict[str, Any] = {
        "earth_fault": True,
        "earth_fault_phases": ["C"],
        "earth_fault_direction": 1,
    }
    rig.feed(_report("D1", 0.0, IND, **earth), _report("D2", 0.1, **earth))
    rig.later(1)
    assert _fault_events(rig)[0].advisory is None  # a trip may still come: wait 5 s
    rig.later(5)
    [fault] = _fault_events(rig)
    assert (fault.trigger, fault.breaker, fault.located_zone) == ("alarm", None, "D2")
    assert fault.fault_type == "single_phase_earth"
    assert fault.advisory is not None
    assert fault.advisory["kind"] == "patrol"
    assert _messages(rig) == []
    with rig.context.sessions() as session:
        assert outages.list_outages(session) == []


def test_reports_outside_the_window_start_nothing(rig: Rig) -> None:
    rig.feed(_lockout(0.2), _report("D1", 30.0, IND))  # a no-alarm report 30 s later
    [fault] = _fault_events(rig)
    assert fault.reports == 0


def test_confirmed_locations_calibrate_the_indicator_that_keeps_missing(rig: Rig) -> None:
    """Twelve faults in zone D2 (confirmed by the crew): the FTU D2 alarms every time, the
    indicator D1 above it (online: it heartbeats) never does. Laplace's rule (docs/faults.md,
    "Calibration"):
    m_D1 = (misses + 1) / (expected alarms + 2) = (12 + 1) / (12 + 2) = 0.929; the FTU's
    m_D2 = (0 + 1) / (12 + 2) = 0.071 (its kind's default is 0.03)."""
    for i in range(12):
        t = i * 600.0
        rig.feed(_report("D1", t - 60, IND), _alarm("D2", t + 0.06), _lockout(t + 0.2))
        with rig.context.sessions.begin() as session:
            fault = fault_store.list_fault_events(session, limit=1)[0]
            fault_store.confirm_fault_event(
                session, fault.id, zone="D2", actor="王师傅", role="crew", at=rig.clock.now
            )
        # the crew closes the breaker again after the repair
        rig.feed(
            Event(
                EventKind.SWITCH_POSITION, EventSource.HTTP, "CB1", _at(t + 300), {"closed": True}
            )
        )
    with rig.context.sessions.begin() as session:
        assert rig.processor.faults.calibrate(session) == 2
    rates = rig.processor.faults.device_rates
    assert rates["D1"].miss == pytest.approx(13 / 14)
    assert rates["D2"].miss == pytest.approx(1 / 14)
    with rig.context.sessions.begin() as session:  # nothing new confirmed: nothing recomputed
        assert rig.processor.faults.calibrate(session) == 2


def test_two_simultaneous_faults_when_the_setting_asks_for_them(
    database_url: str, tmp_path: Path
) -> None:
    """An FTU D3 on s3 (the branch A1–A5) and an indicator D4 on the fuse FU1 below it as
    well: D1, D2 on one branch and D3, D4 on the other all alarm. Weights (docs/faults.md,
    "The observation model"):
    an FTU alarm ln(0.97 / 0.01) = 4.575, an indicator alarm ln(0.90 / 0.03) = 3.401. One
    fault at D2 leaves D3 and D4 as false alarms; a second fault at D4 explains them for
    4.575 + 3.401 = 7.976 > λ = ln(0.99 / 0.01) = 4.595, so with ``fault_max_faults = 2`` the
    tree DP names both {D2, D4}. (A second branch with one FTU alone, 4.575 < 4.595, would
    not be worth a second fault: see the README's note on several faults.)"""
    rows = small_rows()
    rows["detectors"] += [
        {"id": "D3", "kind": "ftu", "branch": "s3"},
        {"id": "D4", "kind": "fault_indicator", "branch": "FU1"},
    ]
    made = _make_rig(database_url, tmp_path, rows, fault_max_faults=2)
    try:
        made.feed(
            _alarm("D1", 0.05, IND),
            _alarm("D2", 0.06),
            _alarm("D3", 0.06),
            _alarm("D4", 0.07, IND),
            _lockout(0.2),
        )
        [fault] = _fault_events(made)
        assert fault.location is not None
        assert sorted(fault.location["best"]) == ["D2", "D4"]
        made.clock.now = _at(12 * 3600)
        made.later(0)
        assert len(_messages(made)) == 2  # one SMS per fault
    finally:
        made.context.dispose()


def test_indicators_before_the_rtu_still_get_the_crew_sms(rig: Rig) -> None:
    """The indicators' alarms arrive over MQTT and open the fault event; the substation's
    trip and lockout come over IEC 104 a second later. No advisory in between (a trip may
    still come), and the lockout alerts the crew."""
    rig.feed(_alarm("D1", 0.05, IND), _alarm("D2", 0.06))
    rig.later(0.6)  # quiet: but no trip yet
    [fault] = _fault_events(rig)
    assert (fault.trigger, fault.advisory, fault.alert_state) == ("alarm", None, "none")
    rig.feed(_lockout(0.2))
    rig.clock.now = _at(12 * 3600)
    rig.later(0)
    [fault] = _fault_events(rig)
    assert (fault.trigger, fault.lockout, fault.alert_state) == ("trip", True, "sent")
    assert len(_messages(rig)) == 1
