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


def _capped_sum(inv: I64, weights: I64, n: int, cap: I64) -> I64:
    summed = np.bincount(inv, weights=weights, minlength=n).astype(np.int64)
    return np.minimum(summed, cap)


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
    """Group the rows selected by ``keep`` into (event, unit) pairs."""
    idx = np.flatnonzero(keep)
    event, unit = rows.event[idx], rows.unit[idx]
    key = event * np.int64(max(len(base), 1)) + unit
    if key.size > 1 and not bool((key[1:] >= key[:-1]).all()):
        order = np.argsort(key, kind="stable")
        idx, key, event, unit = idx[order], key[order], event[order], unit[order]
    first = np.ones(key.size, dtype=np.bool_)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    inv = np.cumsum(first, dtype=np.int64) - 1
    n = starts.size

    start = rows.start[idx]
    dur = rows.end[idx] - start
    cust = rows.customers[idx]
    at_least = sustained_operator == ">="
    sus = (dur >= sustained_threshold_s) if at_least else (dur > sustained_threshold_s)
    cap = base.customers[unit[starts]] if n else np.zeros(0, dtype=np.int64)
    sus_cust = np.where(sus, cust, 0)
    mom_cust = cust - sus_cust
    long_cust = np.where(sus & (dur >= celid_threshold_s), cust, 0)
    sus_dur = np.where(sus, dur, 0)

    pair_start = start[starts]
    day = local_day(pair_start, tz)
    empty = np.zeros(0, dtype=np.int64)
    return Pairs(
        event=event[starts],
        unit=unit[starts],
        day=day,
        month=local_month(day),
        cause=rows.cause[idx[starts]],
        outage_class=rows.outage_class[idx[starts]].astype(np.int64),
        ci=_capped_sum(inv, sus_cust, n, cap),
        cmi=np.bincount(inv, weights=sus_cust * sus_dur, minlength=n) / 60.0,
        momentary=np.bincount(inv, weights=mom_cust, minlength=n).astype(np.int64),
        momentary_ci=_capped_sum(inv, mom_cust, n, cap),
        long_ci=_capped_sum(inv, long_cust, n, cap),
        longest_s=np.maximum.reduceat(sus_dur, starts) if n else empty,
        dlt_s=np.maximum.reduceat(dur, starts) if n else empty,
    )
