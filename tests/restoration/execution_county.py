"""The sample county with command addresses, simulated FTUs / DTUs / RTU and the running
service, for the FLISR execution tests (tests/restoration/test_execution*.py).

The county's CSV files are copied and changed only where these tests need it: the units of
the fault of tests/api/test_restoration_plans.py (the DTUs of 城关Ⅰ线 ring main units 2–5 and
城关变's RTU) listen on free ports; each of the four switches the plan operates gets a
command address (``switch_command``, a double command at IOA 24577 + k, the usual 遥控 range
of Chinese terminals); the tie K14, which has no terminal in the county, gets one
(TU-CG-F01-K14: its position at IOA 1, its command at 24577). Everything else is the county
as shipped.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openoms.ingest.iec104_sim import SimulatedOutstation
from openoms.samples import network_path
from openoms.service.context import ServiceContext
from openoms.service.runtime import Service, build_context
from openoms.settings import Settings
from openoms.store import faults as fault_store
from tests.ingest.iec104_network import free_port

K14_UNIT = "TU-CG-F01-K14"
K13_UNIT = "TU-CG-F01-K13"
DTU_UNITS = tuple(f"TU-CG-F01-K0{k}-DTU" for k in (2, 3, 4, 5))
UNITS = ("TU-CG", *DTU_UNITS, K14_UNIT)
COMMANDS = {  # switch → (unit, command IOA)
    "CG-F01-K01": ("TU-CG", 24577),
    "CG-F01-K04": ("TU-CG-F01-K04-DTU", 24577),
    "CG-F01-K05": ("TU-CG-F01-K05-DTU", 24577),
    "CG-F01-K14": (K14_UNIT, 24577),
}
WIDER = {  # with widen=True also: K06 (its FTU) and the tie K13 (a terminal of its own)
    "CG-F01-K06": ("TU-CG-F01-K06-FTU", 24577),
    "CG-F01-K13": (K13_UNIT, 24577),
}


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or ()), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)


def county_with_commands(target: Path, *, widen: bool = False) -> dict[str, int]:
    """Copy the county to ``target`` with the changes of the module docstring (``widen``: and
    :data:`WIDER`); returns the port of each unit simulated."""
    shutil.copytree(network_path("sample:county"), target)
    units_used = _units(widen)
    ports = {unit: free_port() for unit in units_used}
    fields, units = _rows(target / "telecontrol_units.csv")
    for row in units:
        if row["id"] in ports:
            row["port"] = str(ports[row["id"]])
    address = max(int(row["common_address"]) for row in units)
    ties = {K14_UNIT: "CG-F01-K14"} | ({K13_UNIT: "CG-F01-K13"} if widen else {})
    for unit, tie in ties.items():
        address += 1
        units.append(
            {"id": unit, "name": f"{tie}终端", "host": "127.0.0.1", "port": str(ports[unit]),
             "common_address": str(address), "clock": "UTC", "clock_sync": "true"}
        )  # fmt: skip
    _write(target / "telecontrol_units.csv", fields, units)
    fields, points = _rows(target / "telecontrol_points.csv")
    for unit, tie in ties.items():
        points.append(
            {"unit": unit, "ioa": "1", "asdu_type": "double", "element": tie,
             "point": "switch_closed", "scale": ""}
        )  # fmt: skip
    for switch, (unit, ioa) in (COMMANDS | (WIDER if widen else {})).items():
        points.append(
            {"unit": unit, "ioa": str(ioa), "asdu_type": "double", "element": switch,
             "point": "switch_command", "scale": ""}
        )  # fmt: skip
    _write(target / "telecontrol_points.csv", fields, points)
    return ports


def _units(widen: bool) -> tuple[str, ...]:
    return UNITS + ((*(unit for unit, _ in WIDER.values()),) if widen else ())


@dataclass
class Running:
    """The running service with its simulated units."""

    context: ServiceContext
    service: Service
    sims: dict[str, SimulatedOutstation]
    stopped: list[Callable[[], None]] = field(default_factory=list)

    def wait(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out")
            time.sleep(0.05)

    def outage_id(self) -> int | None:
        with self.context.http.read_sessions() as session:
            faults = fault_store.list_fault_events(session)
        return faults[0].outage_id if faults else None

    def fault_on_cg_f01(self) -> None:
        """The fault of tests/api/test_restoration_plans.py, sent by the units themselves:
        the DTUs of K02, K03 and K04 see it, K01 locks out (its RTU)."""
        now = datetime.now(UTC)
        for k in (2, 3, 4):
            self.sims[f"TU-CG-F01-K0{k}-DTU"].set_points(
                f"CG-F01-K0{k}-DTU", {"short_circuit_a": 1, "short_circuit_b": 1}, at=now
            )
        # the relay's lockout, then the breaker's position (its own time tag, 20 ms later)
        self.sims["TU-CG"].set_point("CG-F01-K01", "lockout", 1, now + timedelta(milliseconds=10))
        self.sims["TU-CG"].set_point(
            "CG-F01-K01", "switch_closed", 0, now + timedelta(milliseconds=30)
        )


def running_county(
    tmp_path: Path,
    database_url: str,
    *,
    modes: dict[str, str],
    widen: bool = False,
    **settings: Any,
) -> Iterator[Running]:
    """The service on the county copy, every unit of :data:`UNITS` simulated (``widen``: and
    those of :data:`WIDER`), the IEC 104 master polling them; ``modes``: ``flisr_modes``."""
    ports = county_with_commands(tmp_path / "county", widen=widen)
    chosen = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        network=str(tmp_path / "county"),
        iec104_enabled=True,
        iec104_units=list(ports),
        flisr_modes=modes,
        iec104_feedback_timeout_s=3.0,
        iec104_termination_timeout_s=0.5,
        **settings,
    )
    context = build_context(chosen)
    sims = {}
    for unit in ports:
        sim = SimulatedOutstation(unit, context.network, port=ports[unit])
        sim.start()
        sims[unit] = sim
    service = Service(context, poll_s=0.02, tick_s=0.05)
    service.start()
    running = Running(context, service, sims)
    try:
        running.wait(
            lambda: (
                all(s.interrogations >= 1 for s in sims.values())
                and all(u.interrogations >= 1 for u in service.iec104_status().values())
            )
        )
        yield running
    finally:
        service.stop()
        for sim in sims.values():
            sim.stop()
        context.dispose()
