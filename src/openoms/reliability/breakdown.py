"""Breakdowns: which group each (event, unit) pair falls in, and each group's denominators.

Dimensions of the unit (feeder, substation, grid cell, village) split the customer base: a
group's N_T, kVA and users are those of its units. Dimensions of the event (cause, month,
class, planned) split the interruptions: a group's indices are its share of the whole base's
(their sum over the groups is the system index), except that a month's ASAI and RS use that
month's hours. Several dimensions combine (``("feeder", "month")``): unit dimensions first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._pairs import Pairs, local_day, local_month, month_start_utc
from openoms.reliability.data import CustomerBase, OutageClass, ReliabilityArgumentError

__all__ = ["DIMENSIONS", "EVENT_DIMENSIONS", "UNIT_DIMENSIONS", "Grouping", "grouping"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

UNIT_DIMENSIONS = ("feeder", "substation", "grid_cell", "village")
EVENT_DIMENSIONS = ("cause", "month", "class", "planned")
DIMENSIONS = UNIT_DIMENSIONS + EVENT_DIMENSIONS
UNKNOWN = "(unknown)"
_MAX_GROUPS = 2**31  # group numbers are int32


@dataclass(frozen=True, slots=True, eq=False)
class Grouping:
    """Pair → group, and per group the denominators; labels per dimension."""

    dims: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]  # per dimension, the name of each code
    group: NDArray[np.int32]  # per pair
    n_groups: int
    customers: I64
    kva: F64
    users: I64
    hours: F64
    unit_level: bool  # only unit dimensions
    event_groups: int  # groups per combination of the unit dimensions (1 if only those)

    def codes(self, g: I64) -> list[I64]:
        """Per dimension, the code of each group in ``g``."""
        out: list[I64] = []
        rest = g.copy()
        for names in reversed(self.labels):
            out.append(rest % len(names))
            rest = rest // len(names)
        return out[::-1]

    def label(self, g: int) -> tuple[str, ...]:
        codes = self.codes(np.array([g], dtype=np.int64))
        return tuple(names[int(c[0])] for names, c in zip(self.labels, codes, strict=True))


def _unit_codes(base: CustomerBase, dim: str) -> tuple[I64, tuple[str, ...]]:
    codes, names = {
        "feeder": (base.feeder, base.feeder_ids),
        "substation": (base.substation, base.substation_ids),
        "grid_cell": (base.grid_cell, base.grid_cell_ids),
        "village": (base.village, base.village_names),
    }[dim]
    if dim in ("grid_cell", "village"):
        return np.where(codes < 0, len(names), codes).astype(np.int64), (*names, UNKNOWN)
    return codes.astype(np.int64), names


def _month_label(month: int) -> str:
    year, index = divmod(month, 12)
    return f"{1970 + year:04d}-{index + 1:02d}"


def grouping(
    pairs: Pairs,
    base: CustomerBase,
    *,
    dims: tuple[str, ...],
    cause_names: tuple[str, ...],
    start: int,
    end: int,
    tz: str,
) -> Grouping:
    """Group the pairs of the period [start, end) by ``dims``; months are local to ``tz``."""
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ReliabilityArgumentError(
                "by", f"by: unknown breakdown {dim!r}; choose from {', '.join(DIMENSIONS)}"
            )
    if len(set(dims)) != len(dims):
        raise ReliabilityArgumentError(
            "by", f"by: a breakdown repeats a dimension: {', '.join(dims)}"
        )
    unit_dims = tuple(d for d in dims if d in UNIT_DIMENSIONS)
    event_dims = tuple(d for d in dims if d in EVENT_DIMENSIONS)
    ordered = unit_dims + event_dims

    unit_code = np.zeros(len(base), dtype=np.int64)
    labels: list[tuple[str, ...]] = []
    for dim in unit_dims:
        codes, names = _unit_codes(base, dim)
        unit_code = unit_code * len(names) + codes
        labels.append(names)
    n_unit = int(np.prod([len(n) for n in labels])) if labels else 1
    customers = np.bincount(unit_code, weights=base.customers, minlength=n_unit)
    kva = np.bincount(unit_code, weights=base.load_kva, minlength=n_unit)
    users = np.bincount(unit_code, minlength=n_unit)

    period_h = (end - start) / 3600.0
    event_hours = np.array([period_h])
    parts: list[tuple[NDArray[np.integer[Any]], int]] = []  # codes of the pairs, how many
    for dim in event_dims:
        code: NDArray[np.integer[Any]]
        if dim == "cause":
            code, names = pairs.cause, cause_names
        elif dim == "class":
            code, names = pairs.outage_class, tuple(c.name.lower() for c in OutageClass)
        elif dim == "planned":
            code = (pairs.outage_class >= OutageClass.PLANNED).view(np.int8)
            names = ("fault", "prearranged")
        else:  # month
            first, last = local_month(local_day(np.array([start, end - 1], dtype=np.int64), tz))
            code = pairs.month - first
            names = tuple(_month_label(m) for m in range(first, last + 1))
            bounds = month_start_utc(np.arange(first, last + 2, dtype=np.int64), tz)
            hours = (np.minimum(bounds[1:], end) - np.maximum(bounds[:-1], start)) / 3600.0
        parts.append((code, len(names)))
        if dim == "month":  # the only dimension whose groups have their own hours
            event_hours = np.tile(hours, event_hours.size)
        else:
            event_hours = np.repeat(event_hours, len(names))
        labels.append(names)
    n_event = event_hours.size
    n_groups = n_unit * n_event
    if n_groups >= _MAX_GROUPS:
        sizes = " × ".join(f"{len(names):,}" for names in labels)
        raise ReliabilityArgumentError(
            "by", f"by: {sizes} = {n_groups:,} groups, more than {_MAX_GROUPS - 1:,}"
        )
    # unit code × n_event + event code, in place in int32 (every step stays below n_groups)
    group = unit_code.astype(np.int32)[pairs.unit]
    for code, size in parts:
        group *= size
        group += code
    return Grouping(
        dims=ordered,
        labels=tuple(labels),
        group=group,
        n_groups=n_groups,
        customers=np.repeat(customers, n_event).astype(np.int64),
        kva=np.repeat(kva, n_event).astype(np.float64),
        users=np.repeat(users, n_event).astype(np.int64),
        hours=np.tile(event_hours, n_unit).astype(np.float64),
        unit_level=not event_dims,
        event_groups=n_event,
    )
