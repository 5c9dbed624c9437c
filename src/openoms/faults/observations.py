"""What the detectors said in one fault event, and how much to trust each kind of detector.

An :class:`Observation` is one detector's report in one event, already grouped to the event by
the caller (the service turns stored MQTT / IEC 104 reports into observations). "No data"
(offline, no heartbeat in the window, not yet received) is distinct from "no alarm" (known
online, nothing flagged): silence from an event-only GPRS indicator is *not* "no fault".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import permutations
from types import MappingProxyType
from typing import Final, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from openoms.errors import InputError

__all__ = [
    "DEFAULT_FAILURE_RATE_PER_KM",
    "DEFAULT_RATES",
    "NO_TIME",
    "PHASE_NAMES",
    "STATUS_CODES",
    "DetailColumns",
    "DeviceRates",
    "InvalidObservationError",
    "Observation",
    "ObservationColumns",
    "Status",
]

PHASE_NAMES: Final = ("A", "B", "C")
_ZERO: Final = timedelta(0)


class Status(StrEnum):
    ALARM = "alarm"  # the detector flagged this event (see the flags for what it saw)
    NO_ALARM = "no_alarm"  # known online in the event window, nothing flagged
    NO_DATA = "no_data"  # offline or not heard from: carries no evidence either way


class InvalidObservationError(InputError):
    """An observation or a locator setting that cannot be used; names the detector and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Observation:
    """What one detector said in one fault event.

    ``direction`` (directional devices): +1 fault current flowing away from the feeder head
    (downstream), −1 toward it, ``None`` not reported. For earth faults it is the transient
    zero-sequence polarity, oriented so that devices upstream of the fault read +1.
    ``permanent``: the device's own transient / permanent flag when it has one.
    """

    detector: str
    status: Status
    device_time: datetime | None = None  # aware UTC, time tag of the alarm
    fault_phases: tuple[str, ...] = ()  # short-circuit phases "A", "B", "C"
    earth_fault: bool = False
    earth_fault_phases: tuple[str, ...] = ()
    loss_of_voltage_phases: tuple[str, ...] = ()
    direction: int | None = None
    permanent: bool | None = None

    def problems(self) -> list[str]:
        """Every problem of this observation, each naming the detector and the field."""
        out: list[str] = []
        who = f"observation of detector {self.detector!r}"
        try:
            Status(self.status)
        except ValueError:
            out.append(f"{who}: status {self.status!r} is not one of {[s.value for s in Status]}")
        if self.device_time is not None and (
            self.device_time.tzinfo is None or self.device_time.utcoffset() != timedelta(0)
        ):
            out.append(f"{who}: device_time {self.device_time.isoformat()} must be aware UTC")
        for name in ("fault_phases", "earth_fault_phases", "loss_of_voltage_phases"):
            phases = getattr(self, name)
            bad = [p for p in phases if p not in PHASE_NAMES]
            if bad or len(set(phases)) != len(phases):
                out.append(f"{who}: {name} {phases!r} must be distinct phases of A, B, C")
        if self.direction not in (None, 1, -1):
            out.append(f"{who}: direction {self.direction!r} must be +1, -1 or None")
        if self.status is not Status.ALARM and (
            self.fault_phases or self.earth_fault or self.loss_of_voltage_phases
        ):
            out.append(f"{who}: status {self.status.value} but fault flags are set")
        return out


# status codes of ObservationColumns (as the locator's array entry point takes them)
STATUS_CODES: Final[Mapping[Status, int]] = MappingProxyType(
    {Status.ALARM: 1, Status.NO_ALARM: 0, Status.NO_DATA: -1}
)
_STATUS_OF_CODE: Final = {code: status for status, code in STATUS_CODES.items()}
_NOT_A_STATUS: Final = 9  # the code of an observation whose status is not a Status


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
NO_TIME: Final = np.iinfo(np.int64).min  # DetailColumns.time_us where there is no time tag
_PHASE_BIT: Final = {p: 1 << i for i, p in enumerate(PHASE_NAMES)}


def _mask(phases: object) -> int | None:
    """The bits of distinct phases of A, B, C (bit 0 = A); ``None`` when not such phases."""
    if phases.__class__ is tuple:
        return _MASKS.get(phases)
    try:
        bits = [_PHASE_BIT[p] for p in phases]  # type: ignore[attr-defined]
    except (KeyError, TypeError):
        return None
    mask = sum(bits)
    return mask if len(set(bits)) == len(bits) else None


_MASKS: Final = {
    order: sum(_PHASE_BIT[p] for p in order)
    for n in range(4)
    for order in permutations(PHASE_NAMES, n)
}  # every tuple of distinct phases


@dataclass(frozen=True, slots=True, eq=False)
class DetailColumns:
    """What detailed observations say beyond their status, as columns (row ``r`` is
    ``observations[r]``), so that the locator reads many alarms without a Python step each.
    Made by :meth:`of`, one Python pass (a few microseconds an observation); ``problems``:
    row → what :meth:`Observation.problems` says, for the rows that are not valid (their
    other columns are then meaningless)."""

    observations: tuple[Observation, ...]
    status: NDArray[np.int8]  # 1 alarm, 0 no alarm, -1 no data, 9 not a status
    time_us: NDArray[np.int64]  # microseconds since 1970 UTC, NO_TIME without a time tag
    fault_phases: NDArray[np.uint8]  # bit 0 A, bit 1 B, bit 2 C
    earth_fault: NDArray[np.bool_]
    earth_fault_phases: NDArray[np.uint8]
    lost_phases: NDArray[np.uint8]  # loss_of_voltage_phases
    direction: NDArray[np.int8]  # +1, -1, 0 without a direction
    permanent: NDArray[np.int8]  # 1, 0, -1 without the flag
    problems: Mapping[int, list[str]]

    @classmethod
    def of(cls, observations: Sequence[Observation]) -> DetailColumns:
        n = len(observations)
        status = np.empty(n, dtype=np.int8)
        time_us = np.full(n, NO_TIME, dtype=np.int64)
        masks = np.zeros((3, n), dtype=np.uint8)
        earth = np.zeros(n, dtype=np.bool_)
        direction = np.zeros(n, dtype=np.int8)
        permanent = np.full(n, -1, dtype=np.int8)
        problems: dict[int, list[str]] = {}
        for r, o in enumerate(observations):
            code = STATUS_CODES.get(o.status, _NOT_A_STATUS)
            status[r] = code
            t = o.device_time
            ok = (
                o.status is Status.ALARM
                or o.status is Status.NO_ALARM
                or o.status is Status.NO_DATA
            )
            if t is not None:
                if t.tzinfo is not None and t.utcoffset() == _ZERO:
                    time_us[r] = (t - _EPOCH) // _MICROSECOND
                else:
                    ok = False
            fp = _mask(o.fault_phases)
            efp = _mask(o.earth_fault_phases)
            lost = _mask(o.loss_of_voltage_phases)
            ok = ok and fp is not None and efp is not None and lost is not None
            d = o.direction
            ok = ok and d in (None, 1, -1)
            if code != 1 and (o.fault_phases or o.earth_fault or o.loss_of_voltage_phases):
                ok = False
            if not ok:
                found = o.problems()
                if found:
                    problems[r] = found
                    continue
            masks[0, r], masks[1, r], masks[2, r] = fp or 0, efp or 0, lost or 0
            earth[r] = bool(o.earth_fault)
            direction[r] = 0 if d is None else (1 if d > 0 else -1)
            if o.permanent is not None:
                permanent[r] = 1 if o.permanent else 0
        return cls(
            observations=tuple(observations),
            status=status,
            time_us=time_us,
            fault_phases=masks[0],
            earth_fault=earth,
            earth_fault_phases=masks[1],
            lost_phases=masks[2],
            direction=direction,
            permanent=permanent,
            problems=problems,
        )


class ObservationColumns(Sequence[Observation]):
    """The observations of one event as columns: a detector and a status code per report, and
    the full :class:`Observation` only for the reports that say more than their status (time
    tags, phases, flags, direction). What :func:`openoms.faults.reports.group_observations`
    makes and what :meth:`openoms.faults.FaultLocator.locate` reads without a Python step per
    report; otherwise a sequence of observations like any other (indexing and iterating make
    the :class:`Observation` values, equal to the ones the columns stand for).

    ``table``: detector ids, e.g. a network's ``detectors.id`` (the locator takes the indexes
    as they are when it is its network's table, and maps the ids otherwise); ``detectors``:
    one index into ``table`` per report; ``status``: 1 alarm, 0 no alarm, -1 no data;
    ``detail``: report position → its observation, whose detector must be the report's (its
    status is the one that counts).
    """

    __slots__ = ("_codes", "_detail", "_detail_at", "_details", "_detectors", "_table")

    def __init__(
        self,
        table: Sequence[str],
        detectors: ArrayLike,
        status: ArrayLike,
        detail: Mapping[int, Observation] | None = None,
    ) -> None:
        det = np.array(detectors, dtype=np.int64, ndmin=1)
        codes = np.array(status, dtype=np.int64, ndmin=1)
        detail = dict(detail or {})
        problems: list[str] = []
        if det.ndim != 1 or codes.shape != det.shape:
            problems.append(
                f"detectors and status must be 1-D and of one length, got {det.shape} and "
                f"{codes.shape}"
            )
        elif det.size and (det.min() < 0 or det.max() >= len(table)):
            i = int(np.flatnonzero((det < 0) | (det >= len(table)))[0])
            problems.append(f"detectors[{i}] = {det[i]} is outside 0..{len(table) - 1}")
        elif codes.size and (codes.min() < -1 or codes.max() > 1):
            i = int(np.flatnonzero((codes < -1) | (codes > 1))[0])
            problems.append(f"status[{i}] = {codes[i]} is not 1, 0 or -1")
        else:
            for i, obs in sorted(detail.items()):
                if not 0 <= i < det.size:
                    problems.append(f"detail[{i}]: no report {i} (0..{det.size - 1})")
                elif obs.detector != table[int(det[i])]:
                    problems.append(
                        f"detail[{i}]: observation of {obs.detector!r} for a report of "
                        f"{table[int(det[i])]!r}"
                    )
        if problems:
            raise InvalidObservationError(problems)
        at = sorted(detail)
        self._details = DetailColumns.of([detail[i] for i in at])
        self._detail_at = np.asarray(at, dtype=np.int64)
        codes[self._detail_at] = self._details.status  # a detailed observation's status wins
        self._table = table
        self._detectors = det
        self._codes = codes.astype(np.int8)
        self._detail = detail
        for array in (self._detectors, self._codes, self._detail_at):
            array.flags.writeable = False

    @property
    def table(self) -> Sequence[str]:
        return self._table

    @property
    def detector_index(self) -> NDArray[np.int64]:
        """Per report, its detector's index in :attr:`table` (read-only)."""
        return self._detectors

    @property
    def status_codes(self) -> NDArray[np.int8]:
        """Per report, 1 alarm, 0 no alarm, -1 no data (9 where the detailed observation's
        status is not a :class:`Status`; read-only)."""
        return self._codes

    @property
    def detail(self) -> Mapping[int, Observation]:
        """Report position → the full observation, where it says more than its status."""
        return MappingProxyType(self._detail)

    @property
    def detail_columns(self) -> tuple[NDArray[np.int64], DetailColumns]:
        """The positions of the detailed reports (increasing) and what they say, as columns
        (row ``r`` is position ``positions[r]``)."""
        return self._detail_at, self._details

    def __len__(self) -> int:
        return int(self._detectors.shape[0])

    def _make(self, i: int) -> Observation:
        found = self._detail.get(i)
        if found is not None:
            return found
        code = int(self._codes[i])
        return Observation(self._table[int(self._detectors[i])], _STATUS_OF_CODE[code])

    @overload
    def __getitem__(self, index: int) -> Observation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Observation]: ...

    def __getitem__(self, index: int | slice) -> Observation | Sequence[Observation]:
        if isinstance(index, slice):
            return tuple(self._make(i) for i in range(*index.indices(len(self))))
        n = len(self)
        position = index + n if index < 0 else index
        if not 0 <= position < n:
            raise IndexError(f"observation {index} of {n}")
        return self._make(position)

    def __iter__(self) -> Iterator[Observation]:
        return (self._make(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    # compared by value, as a sequence: not hashable
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ObservationColumns({len(self)} reports, {len(self._detail)} detailed)"


@dataclass(frozen=True, slots=True)
class DeviceRates:
    """How often a detector is wrong: ``false_alarm`` (a_d), ``miss`` (m_d), and for
    directional devices ``direction_error`` (δ, reports the wrong direction)."""

    false_alarm: float
    miss: float
    direction_error: float = 0.005

    def problems(self, where: str) -> list[str]:
        out = []
        for name in ("false_alarm", "miss", "direction_error"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 < value < 1.0):
                out.append(f"{where}: {name} {value!r} must be a probability in (0, 1)")
        return out


# Defaults until calibrated: settings, not literature (docs/faults.md, "Settings and their
# defaults").
DEFAULT_RATES: Final[Mapping[str, DeviceRates]] = MappingProxyType(
    {
        "relay": DeviceRates(false_alarm=0.001, miss=0.001),
        "ftu": DeviceRates(false_alarm=0.01, miss=0.03),
        "dtu": DeviceRates(false_alarm=0.01, miss=0.03),
        "fault_indicator": DeviceRates(false_alarm=0.03, miss=0.10),
    }
)

# Relative failure rates per km by section kind for the "length" prior (faults per km·year).
# Settings (confirm): typical 10 kV figures, overhead lines fail about twice as often per km as
# cables; a transformer branch has no length and gets the zone floor (docs/faults.md).
DEFAULT_FAILURE_RATE_PER_KM: Final[Mapping[str, float]] = MappingProxyType(
    {"overhead": 0.10, "cable": 0.05, "transformer": 0.0}
)
