"""The point table of fault indicator and FTU / DTU reports, declared once.

A report's ``data`` object maps point names to values (the State Grid Q/GDW 436 family of
point tables, carried over MQTT as ``{sn, ts, data{point: value}}``; docs/faults.md,
"Background and sources").
Per-phase points end in ``_a``, ``_b`` or ``_c``; the same name without a phase suffix is the
collecting unit's own point (for flags: "any phase"). Names that start with ``x_`` are
vendor points: kept in the event as received and otherwise ignored. Any other name is an
error, so that a misspelt fault flag is refused instead of silently read as "no fault".

:func:`normalised_report` says what the points of a report mean for fault location (the
event payload). The parser (:mod:`.payloads`), the JSON Schemas shipped beside this module
and the point table in ``docs/events.md`` are generated from :data:`POINTS`; a test keeps
them in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "PHASES",
    "POINTS",
    "POINTS_BY_NAME",
    "VENDOR_PREFIX",
    "Phase",
    "Point",
    "PointType",
    "flag_value",
    "is_number",
    "normalised_report",
]

VENDOR_PREFIX: Final = "x_"


class Phase(StrEnum):
    A = "A"
    B = "B"
    C = "C"


PHASES: Final = (Phase.A, Phase.B, Phase.C)


class PointType(StrEnum):
    FLAG = "flag"  # 0 / 1, or false / true
    NUMBER = "number"  # a finite JSON number


@dataclass(frozen=True, slots=True)
class Point:
    """One point of the table. ``stem`` is the name without the phase suffix."""

    name: str
    stem: str
    phase: Phase | None
    type: PointType
    unit: str | None
    meaning: str
    meaning_zh: str
    minimum: float | None = None
    maximum: float | None = None
    ftu_only: bool = False


@dataclass(frozen=True, slots=True)
class _Stem:
    stem: str
    type: PointType
    unit: str | None
    meaning: str
    meaning_zh: str
    per_phase: bool
    per_unit: bool
    minimum: float | None = None
    maximum: float | None = None
    ftu_only: bool = False


F, N = PointType.FLAG, PointType.NUMBER

# stem, type, unit, meaning, 中文, per phase, per collecting unit (unphased name)
_STEMS: Final = (
    _Stem("short_circuit", F, None, "short-circuit fault current seen (type not stated); "
          "unphased: any phase", "短路（未分瞬时/永久）；无相别：总短路", True, True),
    _Stem("transient_short_circuit", F, None, "transient short circuit: fault current, then "
          "voltage back after the reclose", "瞬时性短路", True, False),
    _Stem("permanent_short_circuit", F, None, "permanent short circuit: fault current, line "
          "still dead after the reclose", "永久性短路", True, False),
    _Stem("earth_fault", F, None, "earth fault (type not stated); unphased: any phase",
          "接地（未分瞬时/永久）；无相别：总接地", True, True),
    _Stem("transient_earth_fault", F, None, "transient earth fault", "瞬时性接地", True, False),
    _Stem("permanent_earth_fault", F, None, "permanent earth fault", "永久性接地", True, False),
    _Stem("outage", F, None, "line outage: loss of voltage (electric field gone); unphased: "
          "any phase", "线路停电（失压）；无相别：总停电", True, True),
    _Stem("reclose", F, None, "the line was reclosed: voltage lost and restored within the "
          "reclose time", "重合闸", True, False),
    _Stem("load_current", N, "A", "load current", "负荷电流", True, False, minimum=0),
    _Stem("fault_current", N, "A", "fault current (RMS, during the fault)", "故障电流",
          True, False, minimum=0),
    _Stem("earth_fault_current", N, "A", "earth-fault (zero-sequence transient) current",
          "接地电流", True, False, minimum=0),
    _Stem("electric_field", N, "V/m", "electric field strength at the sensor", "电场强度",
          True, False, minimum=0),
    _Stem("temperature", N, "°C", "conductor / sensor temperature", "温度", True, False),
    _Stem("battery_v", N, "V", "battery voltage of the phase unit; unphased: of the "
          "collecting unit", "电池电压", True, True, minimum=0),
    _Stem("fault_direction", N, None, "direction of the fault current the unit saw "
          "(directional units): 1 = away from the substation (the fault is beyond the unit), "
          "-1 = toward it, 0 = none",
          "故障电流方向（1：背离变电站/故障在后方，-1：指向变电站，0：无）",
          False, True, minimum=-1, maximum=1),
    _Stem("earth_fault_direction", N, None, "transient zero-sequence polarity of an earth "
          "fault, oriented so that a unit between the substation and the fault reads 1; -1 "
          "= the other way, 0 = none", "接地暂态零序极性（1：接地点在后方，-1：反向，0：无）",
          False, True, minimum=-1, maximum=1),
    _Stem("wave_record_complete", F, None, "a fault wave record is complete and can be "
          "fetched", "录波完成", False, True),
    _Stem("signal_dbm", N, "dBm", "radio signal strength of the collecting unit",
          "信号强度", False, True),
    _Stem("gps_lon_deg", N, "°", "GPS longitude (WGS 84)", "GPS经度", False, True,
          minimum=-180, maximum=180),
    _Stem("gps_lat_deg", N, "°", "GPS latitude (WGS 84)", "GPS纬度", False, True,
          minimum=-90, maximum=90),
    _Stem("switch_closed", F, None, "position of the switch the terminal sits on (1 = closed)",
          "开关位置（合位）", False, True, ftu_only=True),
    _Stem("voltage_kv", N, "kV", "phase-to-earth voltage", "相电压", True, False,
          minimum=0, ftu_only=True),
    _Stem("zero_sequence_current", N, "A", "zero-sequence current", "零序电流", False, True,
          minimum=0, ftu_only=True),
    _Stem("zero_sequence_voltage_kv", N, "kV", "zero-sequence voltage", "零序电压", False,
          True, minimum=0, ftu_only=True),
    _Stem("active_power_kw", N, "kW", "three-phase active power through the switch",
          "有功功率", False, True, ftu_only=True),
    _Stem("reactive_power_kvar", N, "kvar", "three-phase reactive power through the switch",
          "无功功率", False, True, ftu_only=True),
)  # fmt: skip


def _point(stem: _Stem, phase: Phase | None) -> Point:
    return Point(
        name=stem.stem if phase is None else f"{stem.stem}_{phase.lower()}",
        stem=stem.stem,
        phase=phase,
        type=stem.type,
        unit=stem.unit,
        meaning=stem.meaning,
        meaning_zh=stem.meaning_zh,
        minimum=stem.minimum,
        maximum=stem.maximum,
        ftu_only=stem.ftu_only,
    )


def _expand() -> tuple[Point, ...]:
    points: list[Point] = []
    for stem in _STEMS:
        if stem.per_unit:
            points.append(_point(stem, None))
        if stem.per_phase:
            points.extend(_point(stem, phase) for phase in PHASES)
    return tuple(points)


POINTS: Final = _expand()
POINTS_BY_NAME: Final = {p.name: p for p in POINTS}


def is_number(value: object) -> bool:
    """A JSON number (a bool is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def flag_value(value: object) -> bool | None:
    """0 / 1 / false / true as a bool (1.0 counts as 1, as in JSON Schema); else None."""
    if isinstance(value, bool):
        return value
    if is_number(value) and value in (0, 1):
        return bool(value)
    return None


_FAULT_STEMS: Final = frozenset(
    {"short_circuit", "transient_short_circuit", "permanent_short_circuit"}
)
_EARTH_STEMS: Final = frozenset({"earth_fault", "transient_earth_fault", "permanent_earth_fault"})
_PERMANENT_STEMS: Final = frozenset({"permanent_short_circuit", "permanent_earth_fault"})


# What a point means for the normalised payload (plain ints: compared per point of a report).
_MEASUREMENT: Final = 0  # a number: kept in "measurements"
_UNIT_FLAG: Final = 1  # a collecting unit's flag (no phase)
_FAULT: Final = 2  # a short-circuit flag of a phase
_EARTH: Final = 3  # an earth-fault flag of a phase
_DEAD: Final = 4  # an outage (loss of voltage) flag of a phase
_RECLOSE: Final = 5  # a reclose flag of a phase
_OTHER_FLAG: Final = 6  # a phase flag of none of these (none yet)


_PHASE_FLAG_ROLES: Final = {
    **dict.fromkeys(_FAULT_STEMS, _FAULT),
    **dict.fromkeys(_EARTH_STEMS, _EARTH),
    "outage": _DEAD,
    "reclose": _RECLOSE,
}


def _role(point: Point) -> tuple[int, str, bool]:
    """(what the point is, the stem or phase it sets, whether it means a permanent fault)."""
    permanent = point.stem in _PERMANENT_STEMS
    if point.type is PointType.NUMBER:
        return _MEASUREMENT, point.name, permanent
    if point.phase is None:
        return _UNIT_FLAG, point.stem, permanent
    return _PHASE_FLAG_ROLES.get(point.stem, _OTHER_FLAG), str(point.phase), permanent


# Worked out once from POINTS: the report normaliser looks each point up here.
_ROLES: Final = {p.name: _role(p) for p in POINTS}


def _phase_list(phases: set[str]) -> list[str]:
    return [phase for phase in ("A", "B", "C") if phase in phases] if phases else []


def normalised_report(data: Mapping[str, Any], *, ftu: bool) -> dict[str, Any]:
    """The normalised payload of an indicator or FTU report (documented in docs/events.md).

    ``data`` has been checked: every point name is known or a vendor point, every value fits
    (a flag is set when it equals 1: ``1``, ``1.0`` or ``true``).
    """
    fault: set[str] = set()
    earth: set[str] = set()
    dead: set[str] = set()
    unit_flags: set[str] = set()  # collecting-unit flags set
    permanent = reclose = False
    measurements: dict[str, float] = {}
    roles = _ROLES
    for name, value in data.items():
        found = roles.get(name)
        if found is None:  # a vendor point
            continue
        role, what, permanent_fault = found
        if role == _MEASUREMENT:
            measurements[name] = float(value)
        elif value == 1:  # a flag that is set
            if role == _UNIT_FLAG:
                unit_flags.add(what)
            elif role == _FAULT:
                fault.add(what)
            elif role == _EARTH:
                earth.add(what)
            elif role == _DEAD:
                dead.add(what)
            elif role == _RECLOSE:
                reclose = True
            permanent = permanent or permanent_fault
    payload: dict[str, Any] = {
        "fault_phases": _phase_list(fault),
        "short_circuit": bool(fault) or "short_circuit" in unit_flags,
        "earth_fault": bool(earth) or "earth_fault" in unit_flags,
        "earth_fault_phases": _phase_list(earth),
        "permanent_fault": permanent,
        "loss_of_voltage_phases": _phase_list(dead),
        "loss_of_voltage": bool(dead) or "outage" in unit_flags,
        "reclose": reclose,
        "measurements": measurements,
        "points": dict(data),
    }
    for stem in ("fault_direction", "earth_fault_direction"):
        value = measurements.get(stem)
        payload[stem] = None if value is None else (value > 0) - (value < 0)
    if ftu:
        payload["switch_closed"] = (
            "switch_closed" in unit_flags if "switch_closed" in data else None
        )
    return payload
