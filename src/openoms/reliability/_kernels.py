"""Numba kernels of the reliability engine (private: used by :mod:`openoms.reliability._pairs`).

Compiled with ``njit(cache=True)`` like :mod:`openoms.grid._kernels`: machine code is cached in
``__pycache__`` beside this file. Every array is allocated by the caller (so ``tracemalloc``
sees the engine's memory) except the small per-event sort buffers. The annotations are the
typed wrappers mypy checks; numba compiles for the dtypes actually passed.
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
    "slot_sums",
    "unit_slots",
    "unit_totals",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])

_INSERTION = 32  # events with more rows than this sort their rows with np.argsort


def _kernel(fn: _F) -> _F:
    """Compile ``fn`` in nopython mode, cached on disk, keeping its Python signature for mypy."""
    return cast(_F, njit(cache=True, nogil=True)(fn))


@_kernel
def unit_slots(  # noqa: PLR0917  (numba: no keyword-only parameters)
    unit: I64, group: I64, offsets: I64, order: I64, slot: I64, slot_group: I64, slot_unit: I64
) -> int:
    """Number the distinct (unit, group) of the pairs whose group is not -1: ``slot[p]`` is
    pair p's number, ``slot_group`` / ``slot_unit`` describe each number; returns how many.
    ``offsets`` (n_units + 1 zeros) and ``order`` (one per kept pair) are scratch: a counting
    sort by unit, then each unit's few pairs sorted by group."""
    n_units = offsets.size - 1
    for p in range(unit.size):
        if group[p] >= 0:
            offsets[unit[p] + 1] += 1
    for u in range(n_units):
        offsets[u + 1] += offsets[u]
    cursor = offsets[:-1].copy()
    for p in range(unit.size):
        if group[p] >= 0:
            order[cursor[unit[p]]] = p
            cursor[unit[p]] += 1
    n = 0
    for u in range(n_units):
        lo, hi = offsets[u], offsets[u + 1]
        if hi - lo > _INSERTION:
            segment = order[lo:hi].copy()
            by_group = np.argsort(group[segment], kind="mergesort")
            for k in range(hi - lo):
                order[lo + k] = segment[by_group[k]]
        else:
            for k in range(lo + 1, hi):
                p = order[k]
                j = k - 1
                while j >= lo and group[order[j]] > group[p]:
                    order[j + 1] = order[j]
                    j -= 1
                order[j + 1] = p
        for k in range(lo, hi):
            p = order[k]
            if k == lo or group[p] != group[order[k - 1]]:
                slot_group[n] = group[p]
                slot_unit[n] = u
                n += 1
            slot[p] = n - 1
    return n


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
    offsets: I64,
    records: NDArray[Any],
    duration: I64,
    event_start: I64,
) -> int:
    """Copy the kept rows into ``records`` (rows × 4: unit, customers, cause, class; int32
    when the values fit) and ``duration`` (seconds), grouped by event and, within an event,
    sorted by unit; return the number of distinct (event, unit) pairs. ``offsets``
    (n_events + 1 zeros) gets each event's slice; ``event_start`` each event's start.

    The rows are read in order and each lands in one record (one cache line), so a shuffled
    input costs one random write per row rather than one random read per column."""
    n_events = offsets.size - 1
    for i in range(event.size):
        if keep[i]:
            offsets[event[i] + 1] += 1
    for e in range(n_events):
        offsets[e + 1] += offsets[e]
    cursor = offsets[:-1].copy()
    for i in range(event.size):
        if keep[i]:
            e = event[i]
            k = cursor[e]
            cursor[e] += 1
            records[k, 0] = unit[i]
            records[k, 1] = customers[i]
            records[k, 2] = cause[i]
            records[k, 3] = outage_class[i]
            duration[k] = end[i] - start[i]
            event_start[e] = start[i]
    pairs = 0
    for e in range(n_events):
        lo, hi = offsets[e], offsets[e + 1]
        if hi - lo > _INSERTION:
            segment = records[lo:hi].copy()
            seconds = duration[lo:hi].copy()
            by_unit = np.argsort(segment[:, 0], kind="mergesort")
            for k in range(hi - lo):
                records[lo + k] = segment[by_unit[k]]
                duration[lo + k] = seconds[by_unit[k]]
        else:
            for k in range(lo + 1, hi):
                if records[k - 1, 0] <= records[k, 0]:
                    continue  # already in place (always, for rows that came sorted)
                u, c, cause_k, class_k = records[k, 0], records[k, 1], records[k, 2], records[k, 3]
                seconds_k = duration[k]
                j = k - 1
                while j >= lo and records[j, 0] > u:
                    for f in range(4):
                        records[j + 1, f] = records[j, f]
                    duration[j + 1] = duration[j]
                    j -= 1
                records[j + 1, 0] = u
                records[j + 1, 1] = c
                records[j + 1, 2] = cause_k
                records[j + 1, 3] = class_k
                duration[j + 1] = seconds_k
        for k in range(lo, hi):
            if k == lo or records[k, 0] != records[k - 1, 0]:
                pairs += 1
    return pairs


@_kernel
def aggregate_pairs(  # noqa: PLR0917  (numba: no keyword-only parameters)
    records: NDArray[Any],
    duration: I64,
    offsets: I64,
    threshold_s: float,
    at_least: bool,
    celid_s: float,
    out: I64,
) -> None:
    """One sequential pass over the records and durations of :func:`scatter_rows`. ``out``
    (10, pairs) gets per pair: event, unit, cause, class (of its first row), sustained
    customers, all customers, sustained customer-seconds, customers of sustained steps of at least
    ``celid_s``, the longest sustained step and the last step (seconds)."""
    p = -1
    for e in range(offsets.size - 1):
        for k in range(offsets[e], offsets[e + 1]):
            if k == offsets[e] or records[k, 0] != records[k - 1, 0]:
                p += 1
                out[0, p] = e
                out[1, p] = records[k, 0]
                out[2, p] = records[k, 2]
                out[3, p] = records[k, 3]
                for f in range(4, 10):
                    out[f, p] = 0
            c = np.int64(records[k, 1])
            seconds = duration[k]
            out[5, p] += c
            out[9, p] = max(out[9, p], seconds)
            if seconds > threshold_s or (at_least and seconds == threshold_s):
                out[4, p] += c
                out[6, p] += c * seconds
                out[8, p] = max(out[8, p], seconds)
                if seconds >= celid_s:
                    out[7, p] += c


@_kernel
def ieee_sums(  # noqa: PLR0917  (numba: no keyword-only parameters)
    group: I64,
    slot: I64,
    unit: I64,
    ci: I64,
    cmi: F64,
    momentary: I64,
    momentary_ci: I64,
    long_ci: I64,
    longest_s: I64,
    kva_per_customer: F64,
    by_group: F64,
    by_slot: I64,
) -> None:
    """One pass over the pairs (``group`` -1 skips a pair). ``by_group`` (n_groups, 6) gets
    ΣCI, ΣCMI, Σmomentary, Σmomentary events, ΣkVA interrupted, ΣkVA-minutes; ``by_slot``
    (n_slots, 5), one slot per distinct (group, unit), gets max CI, max long CI, sustained
    events, sustained-or-momentary events and the total of the longest sustained steps."""
    for p in range(group.size):
        g = group[p]
        if g < 0:
            continue
        share = kva_per_customer[unit[p]]
        by_group[g, 0] += ci[p]
        by_group[g, 1] += cmi[p]
        by_group[g, 2] += momentary[p]
        by_group[g, 3] += momentary_ci[p]
        by_group[g, 4] += ci[p] * share
        by_group[g, 5] += cmi[p] * share
        s = slot[p]
        by_slot[s, 0] = max(by_slot[s, 0], ci[p])
        by_slot[s, 1] = max(by_slot[s, 1], long_ci[p])
        if ci[p] > 0:
            by_slot[s, 2] += 1
            by_slot[s, 4] += longest_s[p]
        if ci[p] > 0 or momentary[p] > 0:
            by_slot[s, 3] += 1


@_kernel
def dlt_sums(  # noqa: PLR0917  (numba: no keyword-only parameters)
    group: I64,
    outage_class: I64,
    duration_s: I64,
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
def slot_sums(  # noqa: PLR0917  (numba: no keyword-only parameters)
    slot_group: I64,
    slot_customers: I64,
    by_slot: I64,
    more_than: int,
    celid_s: float,
    out: I64,
) -> None:
    """Per group (``out`` n_groups × 5): ΣCN, Σ customers with a sustained interruption of at
    least ``celid_s``, customers with more than ``more_than`` sustained interruptions, the same
    counting momentary events too, and customers whose total duration is at least ``celid_s``
    (a unit's customers share its counts)."""
    for s in range(slot_group.size):
        g = slot_group[s]
        out[g, 0] += by_slot[s, 0]
        out[g, 1] += by_slot[s, 1]
        if by_slot[s, 2] > more_than:
            out[g, 2] += slot_customers[s]
        if by_slot[s, 3] > more_than:
            out[g, 3] += slot_customers[s]
        if by_slot[s, 4] >= celid_s:
            out[g, 4] += slot_customers[s]


@_kernel
def unit_totals(  # noqa: PLR0917  (numba: no keyword-only parameters)
    unit: I64, ci: I64, cmi: F64, dlt_s: I64, short_s: float, out: F64
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
