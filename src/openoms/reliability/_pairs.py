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
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

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

    Memory: the rows are visited through one index array in (event, unit) order; sums and
    maxima are ``ufunc.reduceat`` over runs of that order, and temporaries are dropped early.
    """
    take = np.flatnonzero(keep)
    key = rows.event[take] * np.int64(max(len(base), 1)) + rows.unit[take]
    if key.size > 1 and not bool((key[1:] >= key[:-1]).all()):
        order = np.argsort(key)
        take, key = take[order], key[order]
        del order
    first = np.ones(key.size, dtype=np.bool_)
    first[1:] = key[1:] != key[:-1]
    del key
    starts = np.flatnonzero(first)
    del first
    head = take[starts]  # the first row of each pair
    n = starts.size
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return Pairs(e, e, e, e, e, e, e, np.zeros(0, dtype=np.float64), e, e, e, e, e)

    dur = rows.end[take] - rows.start[take]
    cust = rows.customers[take]
    del take
    at_least = sustained_operator == ">="
    sus = (dur >= sustained_threshold_s) if at_least else (dur > sustained_threshold_s)
    dlt_s = np.maximum.reduceat(dur, starts)
    dur *= sus  # sustained duration, 0 for momentary steps
    longest_s = np.maximum.reduceat(dur, starts)
    cust_all = np.add.reduceat(cust, starts)
    cust *= sus  # sustained customers
    del sus
    ci_raw = np.add.reduceat(cust, starts)
    cmi = np.add.reduceat(cust * dur, starts) / 60.0
    cust *= dur >= celid_threshold_s
    long_raw = np.add.reduceat(cust, starts)
    del cust, dur

    unit = rows.unit[head]
    cap = base.customers[unit]
    momentary = cust_all - ci_raw
    day = local_day(rows.start[head], tz)
    return Pairs(
        event=rows.event[head],
        unit=unit,
        day=day,
        month=local_month(day),
        cause=rows.cause[head],
        outage_class=rows.outage_class[head].astype(np.int64),
        ci=np.minimum(ci_raw, cap),
        cmi=cmi,
        momentary=momentary,
        momentary_ci=np.minimum(momentary, cap),
        long_ci=np.minimum(long_raw, cap),
        longest_s=longest_s,
        dlt_s=dlt_s,
    )
