"""The telecontrol point table: names a point may have, and the checks of the two tables.

``telecontrol_units`` and ``telecontrol_points`` (declared in :mod:`.schema`) say which IEC
60870-5-104 information object address of which unit carries which point of which detector or
switch. A point is named like the points of an indicator or FTU report (the report point
table of ``openoms.ingest.points``, documented in ``docs/events.md``) or is one of the
breaker points of a substation relay (:data:`BREAKER_POINTS`).

The grid package is pure and imports nothing from ``ingest``, so the report point names are
listed here once more as (stem, value type, per phase, per collecting unit, FTU only); a test
holds this list equal to ``openoms.ingest.points.POINTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openoms.grid.parse import ParsedNetwork
from openoms.grid.problems import Problem, ProblemKind
from openoms.grid.schema import DetectorKind, SwitchKind, TelecontrolAsduType

__all__ = [
    "BREAKER_POINTS",
    "COMMAND_POINTS",
    "FLAG_ASDU_TYPES",
    "NUMBER_ASDU_TYPES",
    "POSITION_POINT",
    "REPORT_POINTS",
    "TIMED_COMMAND_POINT",
    "PointValue",
    "TelecontrolPoint",
    "check_telecontrol",
    "clock_problem",
    "clock_zone",
    "telecontrol_point",
]


class PointValue(StrEnum):
    FLAG = "flag"  # 0 / 1: single or double point
    NUMBER = "number"  # a measured value


@dataclass(frozen=True, slots=True)
class TelecontrolPoint:
    name: str
    value: PointValue
    ftu_only: bool = False  # FTU / DTU points a fault indicator does not have
    breaker: bool = False  # a breaker point: the element is a breaker or recloser


_F, _N = PointValue.FLAG, PointValue.NUMBER

# stem, value, per phase, per collecting unit, FTU / DTU only (as openoms.ingest.points._STEMS)
_REPORT_STEMS: Final = (
    ("short_circuit", _F, True, True, False),
    ("transient_short_circuit", _F, True, False, False),
    ("permanent_short_circuit", _F, True, False, False),
    ("earth_fault", _F, True, True, False),
    ("transient_earth_fault", _F, True, False, False),
    ("permanent_earth_fault", _F, True, False, False),
    ("outage", _F, True, True, False),
    ("reclose", _F, True, False, False),
    ("load_current", _N, True, False, False),
    ("fault_current", _N, True, False, False),
    ("earth_fault_current", _N, True, False, False),
    ("electric_field", _N, True, False, False),
    ("temperature", _N, True, False, False),
    ("battery_v", _N, True, True, False),
    ("fault_direction", _N, False, True, False),  # -1 / 0 / 1: a number, not a flag
    ("earth_fault_direction", _N, False, True, False),
    ("wave_record_complete", _F, False, True, False),
    ("signal_dbm", _N, False, True, False),
    ("gps_lon_deg", _N, False, True, False),
    ("gps_lat_deg", _N, False, True, False),
    ("switch_closed", _F, False, True, True),
    ("voltage_kv", _N, True, False, True),
    ("zero_sequence_current", _N, False, True, True),
    ("zero_sequence_voltage_kv", _N, False, True, True),
    ("active_power_kw", _N, False, True, True),
    ("reactive_power_kvar", _N, False, True, True),
)


def _report_points() -> dict[str, TelecontrolPoint]:
    out: dict[str, TelecontrolPoint] = {}
    for stem, value, per_phase, per_unit, ftu_only in _REPORT_STEMS:
        names = ([stem] if per_unit else []) + ([f"{stem}_{p}" for p in "abc"] if per_phase else [])
        for name in names:
            out[name] = TelecontrolPoint(name, value, ftu_only=ftu_only)
    return out


REPORT_POINTS: Final = _report_points()
"""Points of an indicator or FTU / DTU report, by name."""

POSITION_POINT: Final = "switch_closed"
"""On a switch: its position (1 = closed), sent as a ``switch_position`` event."""

BREAKER_POINTS: Final = {
    name: TelecontrolPoint(name, PointValue.FLAG, breaker=True)
    for name in ("protection_trip", "lockout", "reclose_success", "reclose_failure")
}
"""Substation relay points of a breaker or recloser: a trip (reclose to follow), a trip to
lockout, a successful and a failed reclose. Each sets ``1`` when it happens."""

COMMAND_POINT: Final = "switch_command"
TIMED_COMMAND_POINT: Final = "switch_command_timed"
COMMAND_POINTS: Final = {
    name: TelecontrolPoint(name, PointValue.FLAG) for name in (COMMAND_POINT, TIMED_COMMAND_POINT)
}
"""Control direction (遥控) of a switch: the IOA OpenOMS sends select-before-operate commands
to (``single``: C_SC_NA_1 / 45, ``double``: C_DC_NA_1 / 46; ``switch_command_timed``: the
time-tagged C_SC_TA_1 / 58, C_DC_TA_1 / 59). Never sent by the unit."""

FLAG_ASDU_TYPES: Final = frozenset({TelecontrolAsduType.SINGLE, TelecontrolAsduType.DOUBLE})
NUMBER_ASDU_TYPES: Final = frozenset(
    {TelecontrolAsduType.NORMALIZED, TelecontrolAsduType.SCALED, TelecontrolAsduType.FLOAT}
)
_BREAKERS: Final = frozenset({SwitchKind.BREAKER.value, SwitchKind.RECLOSER.value})


def telecontrol_point(name: str) -> TelecontrolPoint | None:
    """The point called ``name`` (a report, breaker or command point), or ``None``."""
    return REPORT_POINTS.get(name) or BREAKER_POINTS.get(name) or COMMAND_POINTS.get(name)


def _detector_problem(point: TelecontrolPoint, kind: str) -> str | None:
    """Why ``point`` cannot belong to a detector of ``kind`` (None: it can)."""
    if point.breaker:
        return f"{point.name} is a breaker point: its element must be a breaker or recloser"
    if point.name in COMMAND_POINTS:
        return f"{point.name} is a switch's command address: its element must be a switch"
    if kind == DetectorKind.RELAY.value:
        return "a relay detector reports through its breaker: name the breaker as element"
    if point.ftu_only and kind == DetectorKind.FAULT_INDICATOR.value:
        return f"{point.name} is an FTU / DTU point; a fault indicator does not have it"
    return None


def _element_problem(point: TelecontrolPoint, table: str, kind: str) -> str | None:
    """Why ``point`` cannot belong to an element of ``table`` of ``kind`` (None: it can)."""
    if table == "detectors":
        return _detector_problem(point, kind)
    if point.breaker:
        return None if kind in _BREAKERS else f"{point.name} needs a breaker or recloser"
    if point.name != POSITION_POINT and point.name not in COMMAND_POINTS:
        return (
            f"a switch only has the points {POSITION_POINT}, {', '.join(COMMAND_POINTS)} and "
            f"{', '.join(BREAKER_POINTS)}; {point.name} belongs to a detector"
        )
    return None


def clock_zone(name: str | None) -> tzinfo:
    """The zone of a unit's ``clock`` setting (``None`` or ``UTC``: UTC); raises
    ``ValueError`` naming the setting for a name that is no IANA zone."""
    if name is None or name.strip().upper() in {"UTC", "Z"}:
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"clock {name!r} is neither UTC nor an IANA time zone name (e.g. Asia/Shanghai)"
        ) from exc


def clock_problem(name: str | None) -> str | None:
    """Why ``name`` cannot be a unit's ``clock`` (None: it can)."""
    try:
        clock_zone(name)
    except ValueError as exc:
        return str(exc)
    return None


def check_telecontrol(parsed: ParsedNetwork, problems: list[Problem]) -> None:
    """Add the problems of the point table: repeated addresses, unknown points, points whose
    ASDU type or element does not fit, repeated station addresses, unit clocks that are no
    time zone. Runs after the reference
    check, which has already set unknown ``unit`` and ``element`` references to ``None``."""
    units = parsed.tables["telecontrol_units"]
    stations: dict[tuple[str, int, int], int] = {}
    for i, (row, location) in enumerate(zip(units.rows, units.locations, strict=True)):
        why = clock_problem(row.get("clock"))
        if why is not None:
            problems.append(
                Problem(
                    ProblemKind.BAD_VALUE,
                    "telecontrol_units",
                    location,
                    why,
                    field="clock",
                    element_id=row["id"],
                )
            )
        if row["host"] is None or row["port"] is None or row["common_address"] is None:
            continue
        key = (row["host"], row["port"], row["common_address"])
        if key in stations:
            problems.append(
                Problem(
                    ProblemKind.DUPLICATE_POINT,
                    "telecontrol_units",
                    location,
                    f"{row['host']}:{row['port']} common address {row['common_address']} is "
                    f"already unit {units.rows[stations[key]]['id']!r}",
                    field="common_address",
                    element_id=row["id"],
                )
            )
        else:
            stations[key] = i
    kinds = {
        row["id"]: (name, row["kind"])
        for name in ("detectors", "switches")
        for row in parsed.tables[name].rows
    }
    points = parsed.tables["telecontrol_points"]
    seen: dict[tuple[str, int], int] = {}
    for i, (row, location) in enumerate(zip(points.rows, points.locations, strict=True)):

        def problem(kind: ProblemKind, field: str, message: str) -> None:
            problems.append(
                Problem(kind, "telecontrol_points", location, message, field=field)  # noqa: B023
            )

        unit, ioa = row["unit"], row["ioa"]
        if unit is not None and ioa is not None:
            first = seen.setdefault((unit, ioa), i)
            if first != i:
                problem(
                    ProblemKind.DUPLICATE_POINT,
                    "ioa",
                    f"unit {unit!r} already has IOA {ioa} at {points.locations[first]}",
                )
        if row["point"] is None:
            continue
        point = telecontrol_point(row["point"])
        if point is None:
            problem(
                ProblemKind.UNKNOWN_POINT,
                "point",
                f"{row['point']!r} is not a point name (see the report point table in "
                "docs/events.md and the breaker points in docs/formats.md)",
            )
            continue
        asdu = row["asdu_type"]
        if asdu is not None:
            wanted = FLAG_ASDU_TYPES if point.value is PointValue.FLAG else NUMBER_ASDU_TYPES
            if TelecontrolAsduType(asdu) not in wanted:
                problem(
                    ProblemKind.POINT_TYPE_MISMATCH,
                    "asdu_type",
                    f"{point.name} is a {point.value}; it is sent as "
                    f"{' or '.join(sorted(wanted))}, not {asdu}",
                )
        element = kinds.get(row["element"]) if row["element"] is not None else None
        if element is not None:
            why = _element_problem(point, *element)
            if why is not None:
                problem(ProblemKind.POINT_ELEMENT_MISMATCH, "element", f"{row['element']!r}: {why}")
