"""The IEC 60870-5-104 point tables of the county: one unit per FTU / DTU site, one
substation RTU per substation for the feeder breakers' relays.

Units listen on ``127.0.0.1`` so that simulated outstations can stand in for them on one
machine: the substation RTUs first, then the FTU / DTU sites in detector order, take the ports
24040, 24041, … and the common addresses 1, 2, … in that order.

The IOA layout is the usual one of Chinese distribution terminals: remote signals (遥信) from
1, measured values (遥测) from 16385 (0x4001).

- FTU / DTU site: 1–3 ``short_circuit_a``–``_c``, 4 ``earth_fault`` (single points of the
  detector), 5 ``switch_closed`` of its switch (double point); on a recloser also 6–9
  ``protection_trip``, ``lockout``, ``reclose_success``, ``reclose_failure``; 16385–16387
  ``load_current_a``–``_c`` (short floats, A).
- substation RTU: for its k-th feeder breaker (k = 0, 1, …) the IOAs 1 + 5k … 5 + 5k are
  ``switch_closed`` (double point), ``protection_trip``, ``lockout``, ``reclose_success``,
  ``reclose_failure`` of that breaker.

Clocks: a substation RTU keeps Beijing time (``Asia/Shanghai``, from the station's GPS clock)
and is owned by the main SCADA master, so OpenOMS never clock-syncs it (``clock_sync`` false);
the FTU / DTU sites keep UTC and are synchronised by OpenOMS at every connection.
"""

from __future__ import annotations

from typing import Any, Final

from openoms.grid.records import Location, RawNetwork
from openoms.grid.schema import DetectorKind, SwitchKind, TelecontrolAsduType

__all__ = ["FIRST_PORT", "MEASURED_IOA", "add_telecontrol"]

FIRST_PORT: Final = 24040
MEASURED_IOA: Final = 16385  # 0x4001: the first measured value
_HOST: Final = "127.0.0.1"
_STATION_CLOCK: Final = "Asia/Shanghai"
_BREAKER_POINTS: Final = ("protection_trip", "lockout", "reclose_success", "reclose_failure")
_SINGLE, _DOUBLE, _FLOAT = (
    TelecontrolAsduType.SINGLE.value,
    TelecontrolAsduType.DOUBLE.value,
    TelecontrolAsduType.FLOAT.value,
)


def add_telecontrol(raw: RawNetwork, source: str) -> None:
    """Add ``telecontrol_units`` and ``telecontrol_points`` for the detectors of ``raw``."""
    switches = {row["id"]: row for row in raw.table("switches").rows}
    substation_of = {row["head"]: row["substation"] for row in raw.table("feeders").rows}
    units: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []

    def unit(unit_id: str, name: str, *, station: bool = False) -> str:
        units.append(
            {
                "id": unit_id,
                "name": name,
                "host": _HOST,
                "port": FIRST_PORT + len(units),
                "common_address": len(units) + 1,
                # a substation RTU keeps Beijing time from the station's GPS clock and belongs
                # to the main SCADA master (never re-synced by OpenOMS); FTUs / DTUs are ours
                "clock": _STATION_CLOCK if station else "UTC",
                "clock_sync": not station,
            }
        )
        return unit_id

    def point(unit_id: str, ioa: int, asdu: str, element: str, name: str) -> None:
        points.append(
            {
                "unit": unit_id,
                "ioa": ioa,
                "asdu_type": asdu,
                "element": element,
                "point": name,
                "scale": None,
            }
        )

    detectors = raw.table("detectors").rows
    breakers_of: dict[str, list[str]] = {}  # substation → its breakers with a relay, in order
    relay = DetectorKind.RELAY.value
    for d in detectors:
        if d["kind"] == relay and (sub_id := substation_of.get(d["branch"])) is not None:
            breakers_of.setdefault(sub_id, []).append(d["branch"])
    for sub in raw.table("substations").rows:
        rtu = unit(f"TU-{sub['id']}", f"{sub['name']}远动装置", station=True)
        for k, breaker in enumerate(breakers_of.get(sub["id"], [])):
            point(rtu, 1 + 5 * k, _DOUBLE, breaker, "switch_closed")
            for j, name in enumerate(_BREAKER_POINTS):
                point(rtu, 2 + 5 * k + j, _SINGLE, breaker, name)
    for d in detectors:
        if d["kind"] not in (DetectorKind.FTU.value, DetectorKind.DTU.value):
            continue
        site = unit(f"TU-{d['id']}", f"{d['name']}终端")
        for ioa, name in enumerate(("short_circuit_a", "short_circuit_b", "short_circuit_c"), 1):
            point(site, ioa, _SINGLE, d["id"], name)
        point(site, 4, _SINGLE, d["id"], "earth_fault")
        switch = switches.get(d["branch"])
        if switch is not None:
            point(site, 5, _DOUBLE, switch["id"], "switch_closed")
            if switch["kind"] == SwitchKind.RECLOSER.value:
                for j, name in enumerate(_BREAKER_POINTS):
                    point(site, 6 + j, _SINGLE, switch["id"], name)
        for j, phase in enumerate("abc"):
            point(site, MEASURED_IOA + j, _FLOAT, d["id"], f"load_current_{phase}")
    for name, rows in (("telecontrol_units", units), ("telecontrol_points", points)):
        table = raw.table(name)
        table.rows = rows
        table.locations = [
            Location(source, element=row.get("id") or f"{row['unit']} IOA {row['ioa']}")
            for row in rows
        ]
