"""From interruption rows to one row per (event, unit): the shared first step of every index.

Rows of the same event and unit are the restoration steps of that unit's customers. Each
step's customers are a disjoint group (restored at that step's end), so summing a pair's rows
counts each customer once; the sum is capped at the unit's customers, so data that repeats a
unit's whole customer count on several rows (e.g. one row per reclosing operation) is still
counted once per event. Everything is vectorised: one sort of the rows by (event, unit) (skipped
when the rows already come in that order) and ``np.bincount`` / ``ufunc.reduceat`` over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._kernels import aggregate_pairs, scatter_rows
from openoms.reliability.data import CustomerBase, Interruptions

__all__ = ["Pairs", "build_pairs", "local_day", "local_month", "month_start_utc", "zone"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

_DAY_S = 86_400


def zone(tz: str) -> ZoneInfo:
    """The utility's time zone; a bad name is a ``ValueError`` naming the setting."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Settings.tz: unknown time zone {tz!r}") from exc


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
    """One row per (event, unit) of the interruptions in the reporting window."""

    event: I64
    unit: I64
    day: I64  # local day the event began
    month: I64  # local month the event began, months since 1970-01
    cause: I64  # of the pair's first row
    outage_class: I64  # of the pair's first row
    ci: I64  # customers with a sustained interruption (capped at the unit's customers)
    cmi: F64  # customer-minutes of sustained interruption
    momentary: I64  # customer momentary interruptions (each momentary row counts)
    momentary_ci: I64  # customers with a momentary interruption, once per event (capped)
    long_ci: I64  # customers with one sustained interruption of at least the CELID threshold
    longest_s: I64  # longest sustained step of the pair (0 if none)
    dlt_s: I64  # the unit's duration for DL/T 836: its last restoration (any step)

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

    Two compiled passes (``_kernels``): a counting sort of the rows by event into compact
    records (each event's few records then sorted by unit), and one sequential walk over them
    summing each pair. O(rows), no global sort.
    """

    def column(values: NDArray[Any]) -> I64:
        return np.ascontiguousarray(values, dtype=np.int64)

    kept = int(np.count_nonzero(keep))
    small = max(len(base), len(rows.cause_names), int(rows.customers.max(initial=0))) < 2**31
    offsets = np.zeros(len(rows.event_ids) + 1, dtype=np.int64)
    records = np.empty((kept, 4), dtype=np.int32 if small else np.int64)
    duration = np.empty(kept, dtype=np.int64)
    # events without kept rows keep a kept start, so they do not widen the zone lookups
    filler = int(rows.start[int(np.argmax(keep))]) if kept else 0
    event_start = np.full(len(rows.event_ids), filler, dtype=np.int64)
    n = scatter_rows(
        column(rows.event),
        column(rows.unit),
        column(rows.customers),
        column(rows.start),
        column(rows.end),
        column(rows.cause),
        np.ascontiguousarray(rows.outage_class, dtype=np.int8),
        np.ascontiguousarray(keep, dtype=np.bool_),
        offsets,
        records,
        duration,
        event_start,
    )
    out = np.empty((10, n), dtype=np.int64)
    aggregate_pairs(
        records,
        duration,
        offsets,
        float(sustained_threshold_s),
        sustained_operator == ">=",
        float(celid_threshold_s),
        out,
    )
    del records, duration, offsets
    event, unit, cause, outage_class, sustained, every, customer_s, long, longest_s, dlt_s = out
    cap = base.customers[unit]
    every -= sustained  # momentary customers, in place
    momentary = every
    momentary_ci = np.minimum(momentary, cap)
    np.minimum(sustained, cap, out=sustained)
    np.minimum(long, cap, out=long)
    del cap
    event_day = local_day(event_start, tz)  # per event, then spread to its pairs
    event_month = local_month(event_day)
    day, month = event_day[event], event_month[event]
    del event_day, event_month
    return Pairs(
        event=event,
        unit=unit,
        day=day,
        month=month,
        cause=cause,
        outage_class=outage_class,
        ci=sustained,
        cmi=customer_s / 60.0,
        momentary=momentary,
        momentary_ci=momentary_ci,
        long_ci=long,
        longest_s=longest_s,
        dlt_s=dlt_s,
    )
