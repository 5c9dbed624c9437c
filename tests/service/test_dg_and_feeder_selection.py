"""Distributed generation and earth-fault feeder selection through the entry points people
use: ``openoms locate`` on recorded messages and the running service's fault workflow.

DG: the feeder, fault, reports and hand-derived posteriors of tests/faults/dg_feeder.py. With
the generator declared in the network's ``generators`` table, both entry points put the fault
in zone D1 (where it is) with the posteriors of the table there; without it, in zone D3.

Feeder selection: the small network's substation SA (isolated neutral) with a third feeder F4
and a directional FTU at every feeder head (H1 on CB1, H2 on CB2, H4 on CB4). An earth fault
on F1 beyond D2: the heads read F1 +1, F2 −1, F4 −1 (tests/faults/test_feeder_selection.py
derives why), D1 flags the earth fault and D2 reads +1. Exactly one fault event opens, on F1;
F2 and F4 get none. On a resistance-earthed bus the selection does not apply (such a fault
trips) and every alarmed feeder opens its own event, as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from openoms.cli import main
from openoms.events import Event, EventKind, EventSource
from openoms.grid.native import write_csv_folder
from openoms.store import faults as fault_store
from openoms.store.tables import EventRow
from tests.faults.dg_feeder import FEEDER, POSTERIORS, TRUE_ZONE, ZONES, dg_rows
from tests.grid.small import small_raw, small_rows
from tests.service.test_faults import Rig, _at, _lockout, _make_rig

FTU, IND = EventKind.FTU_REPORT, EventKind.INDICATOR_REPORT
TS = 1_764_300_000_000


def _event(kind: EventKind, device: str, seconds: float, **payload: Any) -> Event:
    base = {"short_circuit": False, "earth_fault": False, "fault_phases": []}
    return Event(kind, EventSource.MQTT, device, _at(seconds), base | payload)


def _short(kind: EventKind, device: str, seconds: float, direction: int | None = None) -> Event:
    extra = {} if direction is None else {"fault_direction": direction}
    return _event(kind, device, seconds, short_circuit=True, fault_phases=["A", "B"], **extra)


def _posteriors(location: dict[str, Any]) -> dict[str, float]:
    return {c["zone"]: c["posterior"] for c in location["candidates"]}


def _expected(q: float) -> dict[str, float]:
    return dict(zip(ZONES, POSTERIORS[q], strict=True))


def _fault_events(rig: Rig) -> list[fault_store.FaultEventRecord]:
    with rig.context.sessions() as session:
        return fault_store.list_fault_events(session)


# -- distributed generation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "zone", "q"), [("synchronous", TRUE_ZONE, 0.95), (None, "D3", 0.0)]
)
def test_the_service_locates_with_the_network_s_generators(
    database_url: str, tmp_path: Path, kind: str | None, zone: str, q: float
) -> None:
    rig = _make_rig(database_url, tmp_path, dg_rows(kind))
    try:
        rig.feed(
            _short(FTU, "D1", 0.05, 1),
            _short(FTU, "D2", 0.06, -1),
            _short(IND, "D3", 0.07),
            _lockout(0.2),
        )
        [fault] = _fault_events(rig)
        assert (fault.feeder_id, fault.located_zone) == (FEEDER, zone)
        assert fault.location is not None
        assert _posteriors(dict(fault.location)) == pytest.approx(_expected(q), abs=1e-6)
    finally:
        rig.context.dispose()


def _message(channel: str, device: str, ms: int, **data: int) -> dict[str, Any]:
    return {
        "topic": f"openoms/demo/{channel}/{device}/report",
        "payload": {"sn": device, "ts": TS + ms, "data": data},
    }


@pytest.mark.parametrize(
    ("kind", "zone", "q"),
    [("inverter", TRUE_ZONE, 0.3), ("synchronous", TRUE_ZONE, 0.95), (None, "D3", 0.0)],
)
def test_openoms_locate_uses_the_network_s_generators(
    tmp_path: Path, kind: str | None, zone: str, q: float
) -> None:
    folder = tmp_path / "dg"
    write_csv_folder(small_raw(dg_rows(kind)), folder)
    ab = {"short_circuit_a": 1, "short_circuit_b": 1}
    messages = [
        _message("ftus", "D1", 50, fault_direction=1, **ab),
        _message("ftus", "D2", 60, fault_direction=-1, **ab),
        _message("indicators", "D3", 70, **ab),
        {
            "topic": "openoms/demo/switches/CB1/event",
            "payload": {"sn": "CB1", "ts": TS + 200, "event": "trip", "lockout": True},
        },
    ]
    reports = tmp_path / "fault.jsonl"
    reports.write_text("\n".join(json.dumps(m) for m in messages), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["locate", str(folder), "--reports", str(reports), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    location = json.loads(result.stdout)["location"]
    assert location["best"] == [zone]
    assert _posteriors(location) == pytest.approx(_expected(q), abs=1e-6)


# -- earth-fault feeder selection ------------------------------------------------------------


def _bus_rows(earthing: str) -> dict[str, list[dict[str, Any]]]:
    rows = small_rows()
    rows["substations"][0]["neutral_earthing"] = earthing
    rows["feeders"].append({"id": "F4", "name": "甲Ⅲ线", "substation": "SA", "head": "CB4"})
    for node in ("E1", "E2"):
        rows["nodes"].append({"id": node, "kind": "pole", "grid_cell": "G1"})
    rows["switches"].append(
        {
            "id": "CB4",
            "from_node": "A0",
            "to_node": "E1",
            "kind": "breaker",
            "normal_state": "closed",
            "remote": True,
        }
    )
    rows["sections"].append(
        {"id": "s9", "from_node": "E1", "to_node": "E2", "kind": "overhead", "length_km": 1.0}
    )
    rows["transformer_areas"].append(
        {"id": "TA6", "node": "E2", "rated_kva": 100.0, "lv_customers": 10}
    )
    rows["detectors"] += [
        {"id": h, "kind": "ftu", "branch": cb, "directional": True}
        for h, cb in (("H1", "CB1"), ("H2", "CB2"), ("H4", "CB4"))
    ]
    return rows


def _earth(kind: EventKind, device: str, seconds: float, polarity: int | None) -> Event:
    extra = {} if polarity is None else {"earth_fault_direction": polarity}
    return _event(kind, device, seconds, earth_fault=True, earth_fault_phases=["C"], **extra)


EARTH_FAULT_ON_F1 = (
    _earth(FTU, "H2", 0.00, -1),
    _earth(FTU, "H1", 0.01, 1),
    _earth(FTU, "H4", 0.02, -1),
    _earth(IND, "D1", 0.03, None),
    _earth(FTU, "D2", 0.04, 1),
)


@pytest.fixture
def isolated_bus(database_url: str, tmp_path: Path) -> Iterator[Rig]:
    rig = _make_rig(database_url, tmp_path, _bus_rows("isolated"))
    yield rig
    rig.context.dispose()


def test_reports_arriving_together_open_one_fault_event_on_the_selected_feeder(
    isolated_bus: Rig,
) -> None:
    rig = isolated_bus
    rig.feed(*EARTH_FAULT_ON_F1)
    [fault] = _fault_events(rig)
    # every directional device on the path H1 → D2 reads +1 and D1 flags: the deepest zone
    # on that path, D2 (nothing below it), has the largest path sum
    assert (fault.feeder_id, fault.located_zone, fault.trigger) == ("F1", "D2", "alarm")
    assert fault.fault_type == "single_phase_earth"
    rig.later(6)  # the advisory of an earth fault without a trip: only F1's
    [fault] = _fault_events(rig)
    assert fault.advisory is not None


def test_reports_one_at_a_time_open_one_fault_event_on_the_selected_feeder(
    isolated_bus: Rig,
) -> None:
    rig = isolated_bus
    rig.feed(EARTH_FAULT_ON_F1[0])  # H2 −1 alone: not selected yet, and H2 says "not here"
    assert _fault_events(rig) == []
    rig.feed(EARTH_FAULT_ON_F1[1])  # H1 +1: F1
    rig.feed(EARTH_FAULT_ON_F1[2])  # H4 −1: healthy
    rig.feed(*EARTH_FAULT_ON_F1[3:])
    [fault] = _fault_events(rig)
    assert (fault.feeder_id, fault.located_zone) == ("F1", "D2")
    assert fault.reports == 3  # H1 (it opened the event), D1 and D2; not H2, H4
    with rig.context.sessions() as session:
        outcomes = {row.device_id: row.outcome for row in _event_rows(session)}
    assert outcomes["H2"].startswith("earth fault, feeder not selected yet")
    assert outcomes["H4"].startswith("earth fault selected on feeder F1")
    assert "F4 is healthy: no fault event" in outcomes["H4"]


def _event_rows(session: Any) -> list[Any]:
    return list(session.execute(select(EventRow)).scalars())


def test_on_a_resistance_earthed_bus_every_alarmed_feeder_has_its_event(
    database_url: str, tmp_path: Path
) -> None:
    rig = _make_rig(database_url, tmp_path, _bus_rows("resistance"))
    try:
        rig.feed(*EARTH_FAULT_ON_F1)
        assert sorted(f.feeder_id for f in _fault_events(rig)) == ["F1", "F2", "F4"]
    finally:
        rig.context.dispose()


def test_openoms_locate_puts_an_earth_fault_on_the_selected_feeder(tmp_path: Path) -> None:
    # F2 has a second device here, an indicator D4 that flags the earth fault too (a healthy
    # feeder's indicator picking up its own capacitive transient): by alarm count F2 (2) would
    # win over F1 (1: only its head H1 reported). The heads read F1 +1, F2 −1, F4 −1: F1.
    rows = _bus_rows("isolated")
    rows["detectors"].append({"id": "D4", "kind": "fault_indicator", "branch": "s4"})
    folder = tmp_path / "bus"
    write_csv_folder(small_raw(rows), folder)
    earth = {"earth_fault_c": 1}
    messages = [
        _message("ftus", "H2", 0, earth_fault_direction=-1, **earth),
        _message("indicators", "D4", 5, **earth),
        _message("ftus", "H1", 10, earth_fault_direction=1, **earth),
        _message("ftus", "H4", 20, earth_fault_direction=-1, **earth),
    ]
    reports = tmp_path / "earth.jsonl"
    reports.write_text("\n".join(json.dumps(m) for m in messages), encoding="utf-8")
    args = ["locate", str(folder), "--reports", str(reports), "--json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["feeder"] == "F1"
    assert answer["location"]["fault_type"] == "single_phase_earth"
    # the same recording on a resistance-earthed bus: no selection, the most alarms win
    rows["substations"][0]["neutral_earthing"] = "resistance"
    write_csv_folder(small_raw(rows), folder)
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert json.loads(result.stdout)["feeder"] == "F2"
