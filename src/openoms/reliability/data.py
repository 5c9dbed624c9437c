"""The reliability input model: who is connected (``CustomerBase``), who was cut off and for
how long (``Interruptions``) and what was kept on (``Avoided``).

Pure and array-shaped: every column is a numpy array of one row per item, so the engine can
group with ``np.bincount`` and friends without Python loops over rows. Each class checks its
columns on construction and raises :class:`ReliabilityDataError` (a ``ValueError``) naming the
field and the first offending rows; nothing half-built escapes.

Times are seconds since the Unix epoch, UTC. Days and months are taken in the utility's zone by
the engine (``Settings.tz``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from openoms.errors import InputError

__all__ = [
    "Avoided",
    "CustomerBase",
    "Interruptions",
    "OutageClass",
    "ReliabilityArgumentError",
    "ReliabilityDataError",
    "RestoredBy",
]

_SHOWN_ROWS = 5


class ReliabilityDataError(InputError, ValueError):
    """Columns of a reliability input that do not fit together; names the field and rows."""

    def __init__(self, model: str, field: str, message: str, rows: NDArray[np.int64]) -> None:
        shown = ", ".join(str(int(r)) for r in rows[:_SHOWN_ROWS])
        more = f" (+{rows.size - _SHOWN_ROWS} more)" if rows.size > _SHOWN_ROWS else ""
        where = f" at row {shown}{more}" if rows.size else ""
        super().__init__(f"{model}.{field}: {message}{where}")
        self.model = model
        self.field = field
        self.rows = tuple(int(r) for r in rows)


class ReliabilityArgumentError(InputError, ValueError):
    """An argument or setting of the engine that cannot be used: ``argument`` names it
    (``Settings.tz``, ``by``, ``period``, ``med_threshold``, ``daily_saidi_min``)."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


class OutageClass(IntEnum):
    """DL/T 836 classification of an interruption."""

    FAULT_INTERNAL = 0  # 故障停电-内部
    FAULT_EXTERNAL = 1  # 故障停电-外部 (outside the utility's network: excluded by RS-2)
    PLANNED = 2  # 预安排-计划停电
    TEMPORARY = 3  # 预安排-临时停电
    LOAD_LIMITING = 4  # 预安排-限电 (system shortage: excluded by RS-3)


class RestoredBy(IntEnum):
    """How a restoration step (or an avoided interruption) came about."""

    REPAIR = 0  # repair or manual switching
    AUTOMATIC = 1  # automatic restoration (FLISR)
    LIVE_LINE = 2  # live-line work (带电作业)


_EMPTY = np.zeros(0, dtype=np.int64)


def _rows(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    return np.flatnonzero(mask).astype(np.int64)


def _check_lengths(model: str, columns: dict[str, NDArray[np.generic]]) -> int:
    lengths = {name: len(col) for name, col in columns.items()}
    first_name, n = next(iter(lengths.items()))
    for name, length in lengths.items():
        if length != n:
            raise ReliabilityDataError(
                model, name, f"has {length} rows but {first_name} has {n}", _EMPTY
            )
    return n


def _check_index(
    model: str, field: str, values: NDArray[np.int64], size: int, *, allow_unknown: bool = False
) -> None:
    low = -1 if allow_unknown else 0
    bad = (values < low) | (values >= size)
    if bad.any():
        allowed = f"-1..{size - 1}" if allow_unknown else f"0..{size - 1}"
        raise ReliabilityDataError(model, field, f"index out of range {allowed}", _rows(bad))


def _check_dtype(model: str, field: str, values: NDArray[np.generic], kind: str) -> None:
    if values.ndim != 1 or values.dtype.kind not in kind:
        raise ReliabilityDataError(
            model,
            field,
            f"must be a one-dimensional array of kind {kind!r}, got {values.dtype} "
            f"with shape {values.shape}",
            _EMPTY,
        )


@dataclass(frozen=True, slots=True, eq=False)
class CustomerBase:
    """The units customers are counted in: transformer areas (TA) and HV customers.

    DL/T 836 counts each unit as one 10 kV user; IEEE 1366 counts ``customers`` (the LV
    customers behind a TA, 1 for an HV customer).
    """

    unit_id: tuple[str, ...]
    is_hv: NDArray[np.bool_]
    customers: NDArray[np.int64]
    load_kva: NDArray[np.float64]
    feeder: NDArray[np.int64]
    feeder_ids: tuple[str, ...]
    substation: NDArray[np.int64]
    substation_ids: tuple[str, ...]
    grid_cell: NDArray[np.int64]  # -1 unknown
    grid_cell_ids: tuple[str, ...]
    village: NDArray[np.int64]  # -1 unknown
    village_names: tuple[str, ...]

    def __post_init__(self) -> None:
        model = "CustomerBase"
        _check_dtype(model, "is_hv", self.is_hv, "b")
        for name in ("customers", "feeder", "substation", "grid_cell", "village"):
            _check_dtype(model, name, getattr(self, name), "iu")
        _check_dtype(model, "load_kva", self.load_kva, "fiu")
        n = len(self.unit_id)
        _check_lengths(
            model,
            {
                "unit_id": np.empty(n),
                "is_hv": self.is_hv,
                "customers": self.customers,
                "load_kva": self.load_kva,
                "feeder": self.feeder,
                "substation": self.substation,
                "grid_cell": self.grid_cell,
                "village": self.village,
            },
        )
        seen: dict[str, int] = {}
        for row, uid in enumerate(self.unit_id):
            if uid in seen:
                raise ReliabilityDataError(
                    model, "unit_id", f"{uid!r} repeats row {seen[uid]}", np.array([row])
                )
            seen[uid] = row
        if (bad := self.customers < 0).any():
            raise ReliabilityDataError(model, "customers", "must be >= 0", _rows(bad))
        if (bad := ~np.isfinite(self.load_kva) | (self.load_kva < 0)).any():
            raise ReliabilityDataError(model, "load_kva", "must be finite and >= 0", _rows(bad))
        _check_index(model, "feeder", self.feeder, len(self.feeder_ids))
        _check_index(model, "substation", self.substation, len(self.substation_ids))
        _check_index(
            model, "grid_cell", self.grid_cell, len(self.grid_cell_ids), allow_unknown=True
        )
        _check_index(model, "village", self.village, len(self.village_names), allow_unknown=True)

    def __len__(self) -> int:
        return len(self.unit_id)


@dataclass(frozen=True, slots=True, eq=False)
class Interruptions:
    """One row per (interruption event, unit, restoration step).

    ``customers`` are the customers of ``unit`` restored at this row's ``end``; a unit restored
    in two steps has two rows of the same event. ``start`` is the event's start, the same for
    every row of the event.
    """

    event: NDArray[np.int64]  # dense event index; event_ids[event] is the utility's id
    event_ids: tuple[str, ...]
    unit: NDArray[np.int64]  # index into CustomerBase
    customers: NDArray[np.int64]
    start: NDArray[np.int64]  # seconds since the Unix epoch, UTC
    end: NDArray[np.int64]  # this step's restoration, seconds since the Unix epoch, UTC
    outage_class: NDArray[np.int8]  # OutageClass
    cause: NDArray[np.int64]
    cause_names: tuple[str, ...]
    restored_by: NDArray[np.int8]  # RestoredBy

    def __post_init__(self) -> None:
        model = "Interruptions"
        for name in ("event", "unit", "customers", "start", "end", "cause"):
            _check_dtype(model, name, getattr(self, name), "iu")
        for name in ("outage_class", "restored_by"):
            _check_dtype(model, name, getattr(self, name), "iu")
        _check_lengths(
            model,
            {
                "event": self.event,
                "unit": self.unit,
                "customers": self.customers,
                "start": self.start,
                "end": self.end,
                "outage_class": self.outage_class,
                "cause": self.cause,
                "restored_by": self.restored_by,
            },
        )
        _check_index(model, "event", self.event, len(self.event_ids))
        if (bad := self.unit < 0).any():
            raise ReliabilityDataError(model, "unit", "must be >= 0", _rows(bad))
        if (bad := self.customers < 0).any():
            raise ReliabilityDataError(model, "customers", "must be >= 0", _rows(bad))
        if (bad := self.end < self.start).any():
            raise ReliabilityDataError(model, "end", "is before start", _rows(bad))
        _check_index(model, "outage_class", self.outage_class.astype(np.int64), len(OutageClass))
        _check_index(model, "restored_by", self.restored_by.astype(np.int64), len(RestoredBy))
        _check_index(model, "cause", self.cause, len(self.cause_names))
        if len(self.event):
            first = np.full(len(self.event_ids), np.iinfo(np.int64).max, dtype=np.int64)
            last = np.full(len(self.event_ids), np.iinfo(np.int64).min, dtype=np.int64)
            np.minimum.at(first, self.event, self.start)
            np.maximum.at(last, self.event, self.start)
            if (bad := first[self.event] != last[self.event]).any():
                raise ReliabilityDataError(
                    model, "start", "differs between rows of the same event", _rows(bad)
                )

    def __len__(self) -> int:
        return len(self.event)

    def check_against(self, base: CustomerBase) -> None:
        """Raise unless every ``unit`` exists in ``base`` and no row restores more customers
        than the unit has."""
        model = "Interruptions"
        _check_index(model, "unit", self.unit, len(base))
        if (bad := self.customers > base.customers[self.unit]).any():
            raise ReliabilityDataError(
                model, "customers", "exceeds the unit's customers in the base", _rows(bad)
            )


@dataclass(frozen=True, slots=True, eq=False)
class Avoided:
    """Customer-hours kept on: interruptions avoided by live-line work or shortened by
    automatic restoration (one row per record)."""

    unit: NDArray[np.int64]
    customers: NDArray[np.int64]
    hours: NDArray[np.float64]
    how: NDArray[np.int8]  # RestoredBy.AUTOMATIC or RestoredBy.LIVE_LINE
    at: NDArray[np.int64]  # seconds since the Unix epoch, UTC

    def __post_init__(self) -> None:
        model = "Avoided"
        for name in ("unit", "customers", "how", "at"):
            _check_dtype(model, name, getattr(self, name), "iu")
        _check_dtype(model, "hours", self.hours, "fiu")
        _check_lengths(
            model,
            {
                "unit": self.unit,
                "customers": self.customers,
                "hours": self.hours,
                "how": self.how,
                "at": self.at,
            },
        )
        if (bad := self.unit < 0).any():
            raise ReliabilityDataError(model, "unit", "must be >= 0", _rows(bad))
        if (bad := self.customers < 0).any():
            raise ReliabilityDataError(model, "customers", "must be >= 0", _rows(bad))
        if (bad := ~np.isfinite(self.hours) | (self.hours < 0)).any():
            raise ReliabilityDataError(model, "hours", "must be finite and >= 0", _rows(bad))
        allowed = (self.how == RestoredBy.AUTOMATIC) | (self.how == RestoredBy.LIVE_LINE)
        if (bad := ~allowed).any():
            raise ReliabilityDataError(
                model, "how", "must be 1 (automatic restoration) or 2 (live-line work)", _rows(bad)
            )

    def __len__(self) -> int:
        return len(self.unit)
