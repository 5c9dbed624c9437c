"""IEC 60870-5-104 values and addresses ↔ the points of the network's point table.

Shared by the master (:mod:`.iec104`) and the simulated outstation (:mod:`.iec104_sim`):
which (common address, IOA) of a unit is which point of which detector or switch, how a
point's value travels in each ASDU type, and CP56Time2a time tags in UTC.

Time tags: the FTU clocks are set by our clock synchronisation (C_CS_NA_1), and we set them
to UTC; so a CP56Time2a tag here is read and written as UTC, never the local time of the
machine (hat-drivers' own helpers use the local time zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hat.drivers import iec104

from openoms.errors import InputError
from openoms.grid.model import Network
from openoms.grid.schema import TelecontrolAsduType
from openoms.grid.telecontrol import BREAKER_POINTS, POSITION_POINT

__all__ = [
    "PointRef",
    "UnitPoints",
    "UnknownTelecontrolUnitError",
    "data_of",
    "datetime_of",
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
    for row in range(len(tp.point)):
        if int(tp.unit[row]) != u:
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
    return UnitPoints(
        unit_id=unit_id,
        name=units.name[u],
        host=units.host[u],
        port=int(units.port[u]),
        common_address=int(units.common_address[u]),
        by_ioa=by_ioa,
        by_element_point={(r.element_id, r.point): r for r in by_ioa.values()},
    )


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


def time_of(at: datetime) -> Any:
    """A CP56Time2a (seven-octet) time tag of ``at`` in UTC, to the millisecond."""
    utc = at.astimezone(UTC)
    utc = utc.replace(microsecond=0) + timedelta(milliseconds=round(utc.microsecond / 1000))
    return iec104.Time(
        size=iec104.TimeSize.SEVEN,
        milliseconds=utc.second * 1000 + utc.microsecond // 1000,
        invalid=False,
        substituted=False,
        minutes=utc.minute,
        summer_time=False,
        hours=utc.hour,
        day_of_week=utc.isoweekday(),
        day_of_month=utc.day,
        months=utc.month,
        years=utc.year % 100,
    )


def datetime_of(time: Any) -> datetime | None:
    """The aware UTC time of a CP56Time2a tag; ``None`` for shorter or invalid tags."""
    if time is None or time.size != iec104.TimeSize.SEVEN or time.invalid:
        return None
    try:
        return datetime(
            2000 + time.years,
            time.months,
            time.day_of_month,
            time.hours,
            time.minutes,
            time.milliseconds // 1000,
            (time.milliseconds % 1000) * 1000,
            tzinfo=UTC,
        )
    except ValueError:
        return None
