"""From interruption rows to one row per (event, unit): the shared first step of every index.

Rows of the same event and unit are the restoration steps of that unit's customers. Each
step's customers are a disjoint group (restored at that step's end), so summing a pair's rows
counts each customer once; the sum is capped at the unit's customers, so data that repeats a
unit's whole customer count on several rows (e.g. one row per reclosing operation) is still
counted once per event. Two compiled passes (``_kernels``) make the pairs, grouped by unit and
then by event, in int32 columns where the values fit (half the memory of int64, and as fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._kernels import (
    PAIR_INTS,
    RECORD_FIELDS,
    aggregate_pairs,
    scatter_rows,
)
from openoms.reliability.data import CustomerBase, Interruptions, ReliabilityArgumentError

__all__ = ["Pairs", "build_pairs", "local_day", "local_month", "month_start_utc", "zone"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Ints = NDArray[np.signedinteger[Any]]  # int32, or int64 for values that do not fit

_DAY_S = 86_400
_INT32 = 2**31


def zone(tz: str) -> ZoneInfo:
    """The utility's time zone; a bad name is a :class:`ReliabilityArgumentError` (a
    ``ValueError``) naming the setting."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReliabilityArgumentError(
            "Settings.tz", f"Settings.tz: unknown time zone {tz!r}"
        ) from exc


def _offsets(t: I64, tz: str) -> I64:
    """UTC offset in seconds of ``tz`` at each instant ``t``.

    One zoneinfo call per UTC day spanned, and one per hour only on days whose offset changes
    (daylight saving; China has none), so it costs nothing per row.
    """
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    zi = zone(tz)
    lo, hi = int(t.min()) // _DAY_S, int(t.max()) // _DAY_S

    def offset(second: int) -> int:
        delta = datetime.fromtimestamp(second, UTC).astimezone(zi).utcoffset()
        return 0 if delta is None else int(delta.total_seconds())

    days = np.arange(lo, hi + 2, dtype=np.int64)
    day_off = np.array([offset(int(d) * _DAY_S) for d in days], dtype=np.int64)
    if (day_off[1:] == day_off[:-1]).all():
        return np.full(t.shape, day_off[0], dtype=np.int64)
    result = day_off[t // _DAY_S - lo]
    for d in np.flatnonzero(day_off[1:] != day_off[:-1]):  # rare: one day per DST change
        base = int(days[d]) * _DAY_S
        hours = np.array([offset(base + h * 3600) for h in range(25)], dtype=np.int64)
        on_day = (t >= base) & (t < base + _DAY_S)
        result[on_day] = hours[(t[on_day] - base) // 3600]
    return result


def local_day(t: I64, tz: str) -> I64:
    """Local calendar day of each instant, as days since 1970-01-01."""
    return (t + _offsets(t, tz)) // _DAY_S


def local_month(day: I64) -> I64:
    """Months since 1970-01 of each local day."""
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start_utc(month: I64, tz: str) -> I64:
    """The UTC second at which each local month (months since 1970-01) begins."""
    midnight = month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * _DAY_S
    return midnight - _offsets(midnight, tz)


@dataclass(frozen=True, slots=True, eq=False)
class Pairs:
    """One row per (event, unit) of the interruptions in the reporting window, grouped by unit
    (ascending) and, within a unit, by event (ascending), whatever the order of the rows.

    Integer columns are int32 unless a value does not fit (a unit of 2**31 customers, a step
    of 68 years), then int64; ``outage_class`` is int8, ``momentary`` int64."""

    event: Ints
    unit: Ints
    day: Ints  # local day the event began, days since 1970-01-01
    month: Ints  # local month the event began, months since 1970-01
    cause: Ints  # of the pair's first row
    outage_class: NDArray[np.int8]  # of the pair's first row
    ci: Ints  # customers with a sustained interruption (capped at the unit's customers)
    cmi: F64  # customer-minutes of sustained interruption
    momentary: I64  # customer momentary interruptions (each momentary row counts)
    momentary_ci: Ints  # customers with a momentary interruption, once per event (capped)
    long_ci: Ints  # customers with one sustained interruption of at least the CELID threshold
    longest_s: Ints  # longest sustained step of the pair (0 if none)
    dlt_s: Ints  # the unit's duration for DL/T 836: its last restoration (any step)

    def __len__(self) -> int:
        return len(self.event)


def build_pairs(
    rows: Interruptions,
    base: CustomerBase,
    *,
    keep: NDArray[np.bool_],
    tz: str,
    sustained_threshold_s: float,
    sustained_operator: Literal[">", ">="],
    celid_threshold_s: float,
) -> Pairs:
    """Group the rows selected by ``keep`` into (event, unit) pairs.

    Two compiled passes (``_kernels``): two counting sorts of the rows, by event then by unit,
    into compact records (no comparison sort), and one sequential walk over them writing each
    pair's columns. O(rows); at most the records grouped by unit (20 bytes a kept row) and the
    pairs' columns (about 60 bytes a pair) are alive at once.
    """

    def column(values: NDArray[Any]) -> I64:
        return np.ascontiguousarray(values, dtype=np.int64)

    kept = int(np.count_nonzero(keep))
    n_events, n_units = len(rows.event_ids), len(base)
    longest = int(rows.end.max()) - int(rows.start.min()) if len(rows) else 0  # any step ≤
    largest = max(n_events, n_units, len(rows.cause_names), longest)
    small = max(largest, int(base.customers.max(initial=0))) < _INT32
    ints = np.int32 if small else np.int64
    unit_offsets = np.zeros(n_units + 1, dtype=np.int64)
    by_unit = np.empty((kept, RECORD_FIELDS), dtype=ints)
    # the pairs' integer columns, room for one pair per kept row (pages never written are
    # never resident); the records grouped by event (scratch) live in its first half, so
    # that the memory they touch is reused by the columns rather than freed and faulted in
    # afresh (on a busy machine, fresh pages of huge arrays cost as much as the work)
    columns = np.empty((PAIR_INTS, kept), dtype=ints)
    by_event = columns.reshape(-1)[: kept * RECORD_FIELDS].reshape(kept, RECORD_FIELDS)
    # events without kept rows keep a kept start, so they do not widen the zone lookups
    filler = int(rows.start[int(np.argmax(keep))]) if kept else 0
    event_start = np.full(n_events, filler, dtype=np.int64)
    n = scatter_rows(
        column(rows.event),
        column(rows.unit),
        column(rows.customers),
        column(rows.start),
        column(rows.end),
        column(rows.cause),
        np.ascontiguousarray(rows.outage_class, dtype=np.int8),
        np.ascontiguousarray(keep, dtype=np.bool_),
        np.zeros(n_events + 1, dtype=np.int64),
        unit_offsets,
        by_event,
        by_unit,
        event_start,
    )
    event_day = local_day(event_start, tz)  # per event, spread to its pairs by the kernel
    event_month = local_month(event_day)
    del by_event
    momentary = np.empty(n, dtype=np.int64)
    cmi = np.empty(n, dtype=np.float64)
    outage_class = np.empty(n, dtype=np.int8)
    aggregate_pairs(
        by_unit,
        unit_offsets,
        float(sustained_threshold_s),
        sustained_operator == ">=",
        float(celid_threshold_s),
        column(base.customers),
        event_day.astype(ints),
        event_month.astype(ints),
        columns,
        momentary,
        cmi,
        outage_class,
    )
    del by_unit
    event, unit, day, month, cause, ci, momentary_ci, long_ci, longest_s, dlt_s = columns[:, :n]
    return Pairs(
        event=event,
        unit=unit,
        day=day,
        month=month,
        cause=cause,
        outage_class=outage_class,
        ci=ci,
        cmi=cmi,
        momentary=momentary,
        momentary_ci=momentary_ci,
        long_ci=long_ci,
        longest_s=longest_s,
        dlt_s=dlt_s,
    )
