"""Numba kernels of the reliability engine (private: used by :mod:`openoms.reliability._pairs`,
``ieee``, ``dlt836`` and ``ranking``).

Compiled with ``njit(cache=True)`` like :mod:`openoms.grid._kernels`: machine code is cached in
``__pycache__`` beside this file (or, where that folder cannot be written, numba's per-user
cache; ``NUMBA_CACHE_DIR`` overrides both), so only the first run after an install or an edit
compiles. Each kernel is compiled for one set of dtypes: int32 for the rows' records and the
pairs' columns (int64 only for data whose values do not fit, which then compiles once more),
int32 group numbers, float64 sums. Every array the size of the rows or of the pairs is
allocated by the caller (so ``tracemalloc`` sees the engine's memory); the kernels allocate
only scratch the size of the events, units or groups. The annotations are the typed wrappers
mypy checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "aggregate_pairs",
    "dlt_sums",
    "ieee_sums",
    "scatter_rows",
    "unit_totals",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Ints = NDArray[np.signedinteger[Any]]
_F = TypeVar("_F", bound=Callable[..., Any])

RECORD_FIELDS = 5  # a record: event (unit while grouped by event), customers, cause, class, s
PAIR_INTS = 10  # event, unit, day, month, cause, ci, momentary ci, long ci, longest s, dlt s


def _kernel(fn: _F) -> _F:
    """Compile ``fn`` in nopython mode, cached on disk, keeping its Python signature for mypy."""
    return cast(_F, njit(cache=True, nogil=True)(fn))


@_kernel
def scatter_rows(  # noqa: PLR0917  (numba: no keyword-only parameters)
    event: I64,
    unit: I64,
    customers: I64,
    start: I64,
    end: I64,
    cause: I64,
    outage_class: NDArray[np.int8],
    keep: NDArray[np.bool_],
    event_offsets: I64,
    unit_offsets: I64,
    by_event: Ints,
    by_unit: Ints,
    event_start: I64,
) -> int:
    """Group the kept rows by unit and, within a unit, by event, in two stable counting sorts
    (by event into ``by_event``, then by unit into ``by_unit``): no comparison sort, and the
    rows of one (unit, event) keep their input order. ``by_unit`` (kept × 5) gets per row:
    event, customers, cause, class, duration (seconds); ``by_event`` is scratch of the same
    shape. ``event_offsets`` (n_events + 1) and ``unit_offsets`` (n_units + 1) are zeros in;
    ``unit_offsets`` gets each unit's slice of ``by_unit``, ``event_start`` each event's start.
    Returns the number of distinct (unit, event) pairs.

    The rows are read in order and each lands in one record (one cache line), so a shuffled
    input costs one random write per row and pass rather than one random read per column."""
    n_events = event_offsets.size - 1
    n_units = unit_offsets.size - 1
    for i in range(event.size):
        if keep[i]:
            event_offsets[event[i] + 1] += 1
            unit_offsets[unit[i] + 1] += 1
    for e in range(n_events):
        event_offsets[e + 1] += event_offsets[e]
    for u in range(n_units):
        unit_offsets[u + 1] += unit_offsets[u]
    cursor = event_offsets[:-1].copy()
    for i in range(event.size):
        if keep[i]:
            e = event[i]
            k = cursor[e]
            cursor[e] += 1
            by_event[k, 0] = unit[i]
            by_event[k, 1] = customers[i]
            by_event[k, 2] = cause[i]
            by_event[k, 3] = outage_class[i]
            by_event[k, 4] = end[i] - start[i]
            event_start[e] = start[i]
    cursor = unit_offsets[:-1].copy()
    for e in range(n_events):
        for k in range(event_offsets[e], event_offsets[e + 1]):
            u = by_event[k, 0]
            j = cursor[u]
            cursor[u] += 1
            by_unit[j, 0] = e
            for f in range(1, RECORD_FIELDS):
                by_unit[j, f] = by_event[k, f]
    pairs = 0
    for u in range(n_units):
        for j in range(unit_offsets[u], unit_offsets[u + 1]):
            if j == unit_offsets[u] or by_unit[j, 0] != by_unit[j - 1, 0]:
                pairs += 1
    return pairs


@_kernel
def aggregate_pairs(  # noqa: PLR0917  (numba: no keyword-only parameters)
    records: Ints,
    unit_offsets: I64,
    threshold_s: float,
    at_least: bool,
    celid_s: float,
    unit_customers: I64,
    event_day: Ints,
    event_month: Ints,
    ints: Ints,
    momentary: I64,
    cmi: F64,
    outage_class: NDArray[np.int8],
) -> None:
    """One sequential pass over the records of :func:`scatter_rows` (grouped by unit, then
    event): one pair per (unit, event), in that order. ``ints`` (10, ≥ pairs) gets per pair:
    event, unit, local day and month of the event, cause and class (of its first row; class in
    ``outage_class``), sustained customers, momentary customers (once per event) and customers
    of sustained steps of at least ``celid_s``, each capped at the unit's customers, the
    longest sustained step and the last step (seconds); ``momentary`` the momentary customers
    (every momentary row counts), ``cmi`` the sustained customer-minutes."""
    p = 0
    for u in range(unit_offsets.size - 1):
        cap = np.int64(unit_customers[u])
        k, hi = unit_offsets[u], unit_offsets[u + 1]
        while k < hi:
            e = records[k, 0]
            ints[4, p] = records[k, 2]
            outage_class[p] = records[k, 3]
            sustained = np.int64(0)
            every = np.int64(0)
            customer_s = np.int64(0)
            long = np.int64(0)
            longest = np.int64(0)
            last = np.int64(0)
            while k < hi and records[k, 0] == e:
                c = np.int64(records[k, 1])
                seconds = np.int64(records[k, 4])
                every += c
                last = max(last, seconds)
                if seconds > threshold_s or (at_least and seconds == threshold_s):
                    sustained += c
                    customer_s += c * seconds
                    longest = max(longest, seconds)
                    if seconds >= celid_s:
                        long += c
                k += 1
            ints[0, p] = e
            ints[1, p] = u
            ints[2, p] = event_day[e]
            ints[3, p] = event_month[e]
            ints[5, p] = min(sustained, cap)
            ints[6, p] = min(every - sustained, cap)
            ints[7, p] = min(long, cap)
            ints[8, p] = longest
            ints[9, p] = last
            momentary[p] = every - sustained
            cmi[p] = customer_s / 60.0
            p += 1


_INSERTION_SORT_MAX = 64


@_kernel
def _sort_by_key(keys: I64, which: I64, values: I64, m: int) -> None:
    """Sort the first ``m`` entries of ``keys`` ascending, ``which`` and ``values`` alongside:
    insertion sort in place for the few events of a unit (no allocation), argsort beyond."""
    if m <= _INSERTION_SORT_MAX:
        for i in range(1, m):
            key, w, v = keys[i], which[i], values[i]
            j = i - 1
            while j >= 0 and keys[j] > key:
                keys[j + 1], which[j + 1], values[j + 1] = keys[j], which[j], values[j]
                j -= 1
            keys[j + 1], which[j + 1], values[j + 1] = key, w, v
        return
    order = np.argsort(keys[:m])
    keys[:m] = keys[:m][order]
    which[:m] = which[:m][order]
    values[:m] = values[:m][order]


@_kernel
def ieee_sums(  # noqa: PLR0917  (numba: no keyword-only parameters)
    group: NDArray[np.int32],
    event_groups: int,
    unit: Ints,
    ci: Ints,
    cmi: F64,
    momentary: I64,
    momentary_ci: Ints,
    long_ci: Ints,
    longest_s: Ints,
    kva_per_customer: F64,
    unit_customers: I64,
    more_than: I64,
    celid_s: float,
    by_group: F64,
    distinct: I64,
) -> None:
    """One pass over the pairs, which come grouped by unit (``group`` -1 skips a pair; the
    groups of one unit's pairs differ only in ``group % event_groups``, the event dimensions).

    ``by_group`` (n_groups, 6) gets ΣCI, ΣCMI, Σmomentary, Σmomentary events, ΣkVA
    interrupted, ΣkVA-minutes. ``distinct`` (n_groups, 3 + 2 × levels) gets, per group, the
    customers counted once, estimated per unit as if its events hit **the same customers as
    far as possible** (nested: an event of c customers hits the c customers most often hit
    before; the data say how many of a unit's customers, not which):

    0. CN: the most customers of the unit interrupted in one event;
    1. customers with one sustained interruption of at least ``celid_s``: the most in one event;
    2. customers whose total sustained duration is at least ``celid_s``: with the unit's
       sustained events sorted by customers c_1 ≥ c_2 ≥ …, the customer ranked k is in every
       event with c ≥ k, so the count is c_j of the first j whose longest steps add up to
       ``celid_s``;
    3 …: per level n of ``more_than``, customers with more than n sustained interruptions:
       c_(n+1), the (n+1)-th largest (0 if the unit has n or fewer); then the same counting
       momentary events too (each pair's customers hit, sustained or momentary, capped).

    Each count is at most CN and at most the unit's customers, so CEMIn ≤ CN / N_T."""
    # scratch per event group (np.empty and a loop: np.full would take a second to compile)
    seen = np.empty(event_groups, dtype=np.int64)  # the unit whose numbers a slot holds
    for s in range(event_groups):
        seen[s] = -1
    slot_group = np.empty(event_groups, dtype=np.int64)
    # per slot: CN, CELID-s, sustained events, events, Σ longest steps (zeroed at first use)
    slot = np.empty((event_groups, 5), dtype=np.int64)
    touched = np.empty(event_groups, dtype=np.int64)
    levels = more_than.size
    n = group.size
    widest = 0  # the most pairs of one unit: the size of the sort scratch
    p = 0
    while p < n:
        q = p
        while q < n and unit[q] == unit[p]:
            q += 1
        widest = max(widest, q - p)
        p = q
    keys = np.empty(widest, dtype=np.int64)
    which = np.empty(widest, dtype=np.int64)
    values = np.empty(widest, dtype=np.int64)
    p = 0
    while p < n:
        u = unit[p]
        first = p
        share = kva_per_customer[u]
        cap = np.int64(unit_customers[u])
        n_touched = 0
        # the fewest and most customers of the unit's events (sustained, any): when they are
        # equal (whole-unit events, the usual case) the order does not matter, no sort
        lo0, hi0, lo1, hi1 = cap + 1, np.int64(0), cap + 1, np.int64(0)
        while p < n and unit[p] == u:
            g = group[p]
            if g >= 0:
                by_group[g, 0] += ci[p]
                by_group[g, 1] += cmi[p]
                by_group[g, 2] += momentary[p]
                by_group[g, 3] += momentary_ci[p]
                by_group[g, 4] += ci[p] * share
                by_group[g, 5] += cmi[p] * share
                s = g % event_groups
                if seen[s] != u:
                    seen[s] = u
                    slot_group[s] = g
                    for f in range(5):
                        slot[s, f] = 0
                    touched[n_touched] = s
                    n_touched += 1
                slot[s, 0] = max(slot[s, 0], ci[p])
                slot[s, 1] = max(slot[s, 1], long_ci[p])
                c = np.int64(ci[p])
                if c > 0:
                    slot[s, 2] += 1
                    slot[s, 4] += longest_s[p]
                    lo0, hi0 = min(lo0, c), max(hi0, c)
                h = min(c + np.int64(momentary_ci[p]), cap)
                if h > 0:
                    slot[s, 3] += 1
                    lo1, hi1 = min(lo1, h), max(hi1, h)
            p += 1
        if p < n and unit[p] < u:
            raise ValueError("ieee_sums: the pairs must come grouped by unit, in unit order")
        for t in range(n_touched):
            s = touched[t]
            g = slot_group[s]
            distinct[g, 0] += slot[s, 0]
            distinct[g, 1] += slot[s, 1]
        # the unit's events per slot, most customers first: sustained (0), then any (1)
        for kind in range(2):
            lo, hi = (lo0, hi0) if kind == 0 else (lo1, hi1)
            if hi == 0:  # no such event
                continue
            if lo == hi:  # every event of the same size: counts per slot suffice
                for t in range(n_touched):
                    s = touched[t]
                    g = slot_group[s]
                    events = slot[s, 2 + kind]
                    if kind == 0 and events > 0 and slot[s, 4] >= celid_s:
                        distinct[g, 2] += hi
                    for level in range(levels):
                        if events > more_than[level]:
                            distinct[g, 3 + kind * levels + level] += hi
                continue
            m = 0
            for k in range(first, p):
                g = group[k]
                if g < 0:
                    continue
                hit = np.int64(ci[k])
                if kind == 1:
                    hit = min(hit + np.int64(momentary_ci[k]), cap)
                if hit <= 0:
                    continue
                keys[m] = (g % event_groups) * (cap + 1) + (cap - hit)
                which[m] = k
                values[m] = hit
                m += 1
            if m == 0:
                continue
            _sort_by_key(keys, which, values, m)
            rank = 0
            total_s = np.int64(0)
            for r in range(m):
                k = which[r]
                if r > 0 and keys[r] // (cap + 1) != keys[r - 1] // (cap + 1):
                    rank = 0
                    total_s = np.int64(0)
                g = group[k]
                hit = values[r]
                if kind == 0:
                    before = total_s
                    total_s += longest_s[k]
                    if before < celid_s <= total_s:
                        distinct[g, 2] += hit
                for level in range(levels):
                    if rank == more_than[level]:
                        distinct[g, 3 + kind * levels + level] += hit
                rank += 1


@_kernel
def dlt_sums(  # noqa: PLR0917  (numba: no keyword-only parameters)
    group: NDArray[np.int32],
    outage_class: NDArray[np.int8],
    duration_s: Ints,
    short_s: float,
    user_hours: F64,
    users_off: I64,
) -> None:
    """User-hours and users off per (group, class), leaving out durations ≤ ``short_s`` when
    ``short_s`` > 0 and pairs of group -1."""
    for p in range(group.size):
        g = group[p]
        if g < 0 or (short_s > 0 and duration_s[p] <= short_s):
            continue
        user_hours[g, outage_class[p]] += duration_s[p] / 3600.0
        users_off[g, outage_class[p]] += 1


@_kernel
def unit_totals(  # noqa: PLR0917  (numba: no keyword-only parameters)
    unit: Ints, ci: Ints, cmi: F64, dlt_s: Ints, short_s: float, out: F64
) -> None:
    """Per unit (``out`` n_units × 4): ΣCI, ΣCMI, sustained interruptions, and hours off as
    DL/T 836 counts them (interruptions of at most ``short_s`` left out when it is > 0)."""
    for p in range(unit.size):
        u = unit[p]
        out[u, 0] += ci[p]
        out[u, 1] += cmi[p]
        if ci[p] > 0:
            out[u, 2] += 1.0
        if short_s <= 0 or dlt_s[p] > short_s:
            out[u, 3] += dlt_s[p] / 3600.0
