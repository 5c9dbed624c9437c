"""Loading the data-driven fault location cases of ``tests/cases/locate/<case>/``.

Each case folder holds ``case.json`` (the network: a bundled name plus the detectors added for
the case; the locator settings; the ``locate`` options; the observations), ``expected.json``
(hand-derived answers) and ``README.md`` (the arithmetic).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from openoms.faults import FaultLocator, Observation, Status
from openoms.grid import Location, Network, Topology, network_from_raw
from openoms.grid.load import read_network_records
from openoms.samples import network_path

CASES = Path(__file__).parent.parent / "cases" / "locate"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "case.json").is_file())


def case_network(case: dict[str, Any], name: str) -> Network:
    raw = read_network_records(network_path(case["network"]))
    for i, row in enumerate(case.get("detectors", [])):
        raw.add("detectors", row, Location(f"cases/locate/{name}/case.json#detectors", row=i))
    return network_from_raw(raw)


def observation(row: dict[str, Any]) -> Observation:
    time = row.get("device_time")
    return Observation(
        detector=row["detector"],
        status=Status(row["status"]),
        device_time=datetime.fromisoformat(time) if time else None,
        fault_phases=tuple(row.get("fault_phases", ())),
        earth_fault=bool(row.get("earth_fault", False)),
        earth_fault_phases=tuple(row.get("earth_fault_phases", ())),
        loss_of_voltage_phases=tuple(row.get("loss_of_voltage_phases", ())),
        direction=row.get("direction"),
        permanent=row.get("permanent"),
    )


def load_case(name: str) -> tuple[FaultLocator, dict[str, Any], list[Observation], dict[str, Any]]:
    """(locator, locate options with the feeder, observations, expected answer)."""
    folder = CASES / name
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    network = case_network(case, name)
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    locator = FaultLocator(network, topology, **case.get("locator", {}))
    observations = [observation(row) for row in case["observations"]]
    return locator, case["locate"], observations, expected
