"""IEC 60870-5-104 values and addresses ↔ the points of the network's point table.

Shared by the master (:mod:`.iec104`) and the simulated outstation (:mod:`.iec104_sim`):
which (common address, IOA) of a unit is which point of which detector or switch, how a
point's value travels in each ASDU type, which points are telemetry, and CP56Time2a time
tags in the unit's clock zone.

Time tags: each unit's ``clock`` (network data, default UTC) is the zone its clock keeps: a
CP56Time2a tag is read and written as wall-clock time in that zone (an RTU on Beijing time:
Asia/Shanghai), never the local time of the machine (hat-drivers' own helpers use the local
time zone). Our clock synchronisation (C_CS_NA_1) sets the unit to that zone's time, unless
its ``clock_sync`` is false (a unit the main SCADA master owns).

Telemetry (:attr:`PointRef.is_telemetry`): the measured values that are plain measurements
of the line and the device (:data:`TELEMETRY_STEMS`: load currents, voltages, power,
temperature, battery, radio, position) are sampled quantities, not fault data. Fault data
numbers (fault currents, earth-fault currents, directions, zero-sequence quantities) belong
to the reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from hat.drivers import iec104

from openoms.errors import InputError
from openoms.grid.model import Network
from openoms.grid.schema import TelecontrolAsduType
from openoms.grid.telecontrol import (
    BREAKER_POINTS,
    COMMAND_POINTS,
    POSITION_POINT,
    TIMED_COMMAND_POINT,
    clock_zone,
)
from openoms.ingest.iec104_asdu import InfoObject

__all__ = [
    "TELEMETRY_STEMS",
    "CommandRef",
    "PointRef",
    "UnitPoints",
    "UnknownTelecontrolUnitError",
    "data_of",
    "datetime_of",
    "object_value",
    "time_of",
    "unit_points",
    "value_of",
]

_GOOD_INDICATION = iec104.IndicationQuality(
    invalid=False, not_topical=False, substituted=False, blocked=False
)
_GOOD_MEASUREMENT = iec104.MeasurementQuality(
    invalid=False, not_topical=False, substituted=False, blocked=False, overflow=False
)

TELEMETRY_STEMS: Final = frozenset(
    {
        "load_current",
        "electric_field",
        "temperature",
        "battery_v",
        "signal_dbm",
        "gps_lon_deg",
        "gps_lat_deg",
        "voltage_kv",
        "active_power_kw",
        "reactive_power_kvar",
    }
)
"""Stems of the number points that are telemetry (a point is ``stem`` or ``stem_<phase>``)."""

_NUMBER_KINDS: Final = frozenset({"normalized", "scaled", "float"})


@dataclass(frozen=True, slots=True)
class PointRef:
    """One row of the point table, resolved."""

    ioa: int
    asdu_type: TelecontrolAsduType
    element_id: str
    is_detector: bool
    detector_kind: str | None  # fault_indicator, ftu, dtu (detectors only)
    point: str
    scale: float

    @property
    def is_breaker_point(self) -> bool:
        return self.point in BREAKER_POINTS

    @property
    def is_position(self) -> bool:
        return not self.is_detector and self.point == POSITION_POINT

    @property
    def is_number(self) -> bool:
        return self.asdu_type.value in _NUMBER_KINDS

    @property
    def is_telemetry(self) -> bool:
        """A plain measurement (see the module docstring): sampled, never an event."""
        stem = self.point[:-2] if self.point[-2:] in ("_a", "_b", "_c") else self.point
        return self.is_number and stem in TELEMETRY_STEMS


@dataclass(frozen=True, slots=True)
class CommandRef:
    """The remote control (遥控) address of a switch: a ``switch_command`` row of the point
    table (``switch_command_timed``: the time-tagged variant).

    ``double``: a double command (C_DC_NA_1, 46; timed C_DC_TA_1, 59), else a single command
    (C_SC_NA_1, 45; timed C_SC_TA_1, 58). ``feedback_ioa``: the switch's ``switch_closed``
    point in the same unit, whose change to the commanded position confirms the operation
    (``None``: the unit does not report it; a command to it can never be confirmed)."""

    unit_id: str
    switch_id: str
    ioa: int
    double: bool
    timed: bool
    feedback_ioa: int | None

    @property
    def type_id(self) -> int:
        return (59 if self.double else 58) if self.timed else (46 if self.double else 45)

    @property
    def type_name(self) -> str:
        kind = "DC" if self.double else "SC"
        return f"C_{kind}_{'TA' if self.timed else 'NA'}_1"


class UnknownTelecontrolUnitError(InputError, KeyError):
    """A unit id (a setting, a command-line argument) that is not a telecontrol unit of the
    network."""

    def __init__(self, unit_id: str, *, network: str) -> None:
        super().__init__(f"{unit_id!r} is not a telecontrol unit of {network!r}")
        self.unit_id = unit_id
        self.network = network

    def __str__(self) -> str:  # the sentence, not KeyError's repr of it
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class UnitPoints:
    """A unit of ``telecontrol_units`` and its points by IOA."""

    unit_id: str
    name: str | None
    host: str
    port: int
    common_address: int
    by_ioa: dict[int, PointRef]
    by_element_point: dict[tuple[str, str], PointRef]
    clock: str = "UTC"  # the unit's clock setting, as written in the network data
    zone: tzinfo = UTC  # ... as a zone
    clock_sync: bool = True  # OpenOMS sets the unit's clock
    commands: dict[str, CommandRef] = field(default_factory=dict)  # by switch id


def unit_points(network: Network, unit_id: str) -> UnitPoints:
    """The point table of ``unit_id``; raises :class:`UnknownTelecontrolUnitError` (a
    ``KeyError``) for an unknown unit."""
    units = network.telecontrol_units
    try:
        u = units.id.index(unit_id)
    except ValueError:
        raise UnknownTelecontrolUnitError(unit_id, network=network.name) from None
    tp = network.telecontrol_points
    by_ioa: dict[int, PointRef] = {}
    command_rows: list[int] = []
    for row in range(len(tp.point)):
        if int(tp.unit[row]) != u:
            continue
        if tp.point[row] in COMMAND_POINTS:  # control direction: not a point the unit sends
            command_rows.append(row)
            continue
        detector = int(tp.detector[row])
        ref = PointRef(
            ioa=int(tp.ioa[row]),
            asdu_type=TelecontrolAsduType(tp.asdu_type[row]),
            element_id=tp.element_id(network, row),
            is_detector=detector >= 0,
            detector_kind=network.detectors.kind[detector] if detector >= 0 else None,
            point=tp.point[row],
            scale=float(tp.scale[row]) if tp.scale[row] == tp.scale[row] else 1.0,
        )
        by_ioa[ref.ioa] = ref
    by_element_point = {(r.element_id, r.point): r for r in by_ioa.values()}
    commands: dict[str, CommandRef] = {}
    for row in command_rows:
        switch_id = tp.element_id(network, row)
        feedback = by_element_point.get((switch_id, POSITION_POINT))
        commands[switch_id] = CommandRef(
            unit_id=unit_id,
            switch_id=switch_id,
            ioa=int(tp.ioa[row]),
            double=tp.asdu_type[row] == TelecontrolAsduType.DOUBLE.value,
            timed=tp.point[row] == TIMED_COMMAND_POINT,
            feedback_ioa=None if feedback is None else feedback.ioa,
        )
    clock = units.clock[u] if u < len(units.clock) else None
    return UnitPoints(
        unit_id=unit_id,
        name=units.name[u],
        host=units.host[u],
        port=int(units.port[u]),
        common_address=int(units.common_address[u]),
        by_ioa=by_ioa,
        by_element_point=by_element_point,
        clock=clock or "UTC",
        zone=clock_zone(clock),  # checked when the network was loaded
        clock_sync=bool(units.clock_sync[u]) if u < len(units.clock_sync) else True,
        commands=commands,
    )


def object_value(ref: PointRef, obj: InfoObject) -> float | None:
    """The point value of a decoded element: 0 / 1 for flags, a number (times the point's
    scale for scaled and normalized values) for measured values; ``None`` for a double point
    in transit or faulty (DPI 00 / 11) and for an element whose type does not fit the point
    (a flag on a measured-value point or a number on a flag point)."""
    if obj.kind == "single":
        return None if ref.is_number else obj.value
    if obj.kind == "double":
        if ref.is_number or obj.value not in (1.0, 2.0):
            return None
        return 1.0 if obj.value == 2.0 else 0.0
    if not ref.is_number:
        return None
    return obj.value if obj.kind == "float" else obj.value * ref.scale


def value_of(ref: PointRef, data: Any) -> float | int | None:
    """The point value of received ``data`` (a hat ``*Data``): 0 / 1 for flags, a number for
    measured values; ``None`` for a double point in transit or faulty (00 / 11), and for data
    of a type that does not fit the point."""
    if isinstance(data, iec104.SingleData):
        return 1 if data.value == iec104.SingleValue.ON else 0
    if isinstance(data, iec104.DoubleData):
        if data.value == iec104.DoubleValue.ON:
            return 1
        return 0 if data.value == iec104.DoubleValue.OFF else None
    if isinstance(data, iec104.FloatingData):
        return float(data.value.value)
    if isinstance(data, iec104.ScaledData | iec104.NormalizedData):
        return float(data.value.value) * ref.scale
    return None


def data_of(ref: PointRef, value: float) -> Any:
    """The hat ``*Data`` that carries ``value`` of ``ref`` in its ASDU type."""
    match ref.asdu_type:
        case TelecontrolAsduType.SINGLE:
            on = iec104.SingleValue.ON if value else iec104.SingleValue.OFF
            return iec104.SingleData(value=on, quality=_GOOD_INDICATION)
        case TelecontrolAsduType.DOUBLE:
            on2 = iec104.DoubleValue.ON if value else iec104.DoubleValue.OFF
            return iec104.DoubleData(value=on2, quality=_GOOD_INDICATION)
        case TelecontrolAsduType.FLOAT:
            return iec104.FloatingData(
                value=iec104.FloatingValue(float(value)), quality=_GOOD_MEASUREMENT
            )
        case TelecontrolAsduType.SCALED:
            scaled = iec104.ScaledValue(round(value / ref.scale))
            return iec104.ScaledData(value=scaled, quality=_GOOD_MEASUREMENT)
        case TelecontrolAsduType.NORMALIZED:
            normal = iec104.NormalizedValue(value / ref.scale)
            return iec104.NormalizedData(value=normal, quality=_GOOD_MEASUREMENT)


def time_of(at: datetime, zone: tzinfo = UTC) -> Any:
    """A CP56Time2a (seven-octet, hat-drivers) time tag of ``at`` as wall-clock time in
    ``zone``, to the millisecond; SU set while ``zone`` keeps daylight saving time."""
    utc = at.astimezone(UTC)
    utc = utc.replace(microsecond=0) + timedelta(milliseconds=round(utc.microsecond / 1000))
    wall = utc.astimezone(zone)
    dst = wall.dst()
    return iec104.Time(
        size=iec104.TimeSize.SEVEN,
        milliseconds=wall.second * 1000 + wall.microsecond // 1000,
        invalid=False,
        substituted=False,
        minutes=wall.minute,
        summer_time=bool(dst),
        hours=wall.hour,
        day_of_week=wall.isoweekday(),
        day_of_month=wall.day,
        months=wall.month,
        years=wall.year % 100,
    )


def datetime_of(time: Any, zone: tzinfo = UTC) -> datetime | None:
    """The aware UTC time of a (hat-drivers) CP56Time2a tag read in ``zone``; ``None`` for
    shorter or invalid tags."""
    if time is None or time.size != iec104.TimeSize.SEVEN or time.invalid:
        return None
    try:
        wall = datetime(
            2000 + time.years,
            time.months,
            time.day_of_month,
            time.hours,
            time.minutes,
            time.milliseconds // 1000,
            (time.milliseconds % 1000) * 1000,
            tzinfo=zone,
            fold=0 if time.summer_time else 1,
        )
    except ValueError:
        return None
    return wall.astimezone(UTC)
