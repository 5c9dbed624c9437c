"""What the fault locator is measured against, on the detector trees of ``_locate_cases``.

- :func:`distort`: seeded distortion sets (a miss, a false alarm, or no data), the same for
  every method.
- :func:`matrix_method`: the classic matrix algorithm (network description matrix D,
  fault information matrix G, fault judgement matrix P = D·G): the section below device i
  is faulted when i alarms and none of the devices directly below it does. Exact only when
  no report is distorted; it knows alarm / no alarm only, so no data reads as no alarm.
- :func:`exhaustive_single` and :func:`exhaustive_multi`: the minimum weighted-Hamming
  search a user would write: for every candidate zone (every pair, every triple) the
  expected alarm vector, and ``H = Σ_d |w_d|·[expected_d ≠ observed_d]`` (+ ``λ`` per fault
  and ``−ln prior``), which is minus the log-likelihood up to a constant.

Status codes: ``ALARM`` 1, ``NO_ALARM`` 0, ``NO_DATA`` -1.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Final

import numpy as np
import scipy.sparse
from numpy.typing import NDArray

Int64s = NDArray[np.int64]
Int8s = NDArray[np.int8]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

ALARM: Final = 1
NO_ALARM: Final = 0
NO_DATA: Final = -1
DENSE_UP_TO: Final = 2_000  # zones: dense matrices as published; sparse beyond
CHUNK_CELLS: Final = 4_000_000  # expected-vector cells per chunk of the exhaustive search

__all__ = [
    "ALARM",
    "NO_ALARM",
    "NO_DATA",
    "Distortion",
    "description_matrix",
    "distort",
    "exhaustive_multi",
    "exhaustive_single",
    "hamming_costs",
    "matrix_method",
    "multi_objective",
]

Distortion = tuple[int, str]  # (zone of the distorted detector, "miss" / "false_alarm" / "no_data")


def distort(
    expected: Bools, k: int, rng: np.random.Generator, *, no_data_share: float = 1 / 3
) -> tuple[Int8s, list[Distortion]]:
    """The observed statuses: ``expected`` with ``k`` distinct detectors distorted, each to no
    data with probability ``no_data_share``, else flipped (an expected alarm missed, an
    expected silence turned into a false alarm)."""
    status = expected.astype(np.int8)
    chosen = rng.choice(expected.size, size=min(k, expected.size), replace=False)
    done: list[Distortion] = []
    for d in chosen.tolist():
        if rng.random() < no_data_share:
            status[d] = NO_DATA
            done.append((d, "no_data"))
        elif expected[d]:
            status[d] = NO_ALARM
            done.append((d, "miss"))
        else:
            status[d] = ALARM
            done.append((d, "false_alarm"))
    return status, done


def hamming_costs(status: Int8s, false_alarm: Floats, miss: Floats) -> tuple[Floats, Floats]:
    """Per detector, the cost of expecting an alarm and of expecting silence (0 for the one
    that matches the report, ``|w_d|`` for the other; both 0 without data).

    ``w_d = ln((1 − m)/a)`` for an alarm, ``ln(m/(1 − a))`` for a reported silence."""
    w_alarm = np.log((1 - miss) / false_alarm)
    w_silent = np.log(miss / (1 - false_alarm))
    cost_if_alarm = np.where(status == NO_ALARM, -w_silent, 0.0)
    cost_if_silent = np.where(status == ALARM, w_alarm, 0.0)
    return cost_if_alarm, cost_if_silent


def exhaustive_single(
    size: Int64s, cost_if_alarm: Floats, cost_if_silent: Floats, log_prior: Floats
) -> Floats:
    """``H(z)`` for every candidate zone ``z`` (lower is better): its expected alarm vector
    (detector ``d`` alarms when ``d`` is on the path root → z, i.e. ``d ≤ z < d + size[d]``
    in preorder) against the reports, weighted, minus ``ln prior(z)``. O(n²), in chunks."""
    n = size.size
    zones = np.arange(n)
    end = zones + size
    h = np.empty(n, dtype=np.float64)
    step = max(1, CHUNK_CELLS // max(n, 1))
    for lo in range(0, n, step):
        z = zones[lo : lo + step, None]
        expected = (zones[None, :] <= z) & (z < end[None, :])
        h[lo : lo + step] = np.where(expected, cost_if_alarm, cost_if_silent).sum(axis=1)
    return h - log_prior


def multi_objective(
    faults: Int64s, size: Int64s, cost_if_alarm: Floats, cost_if_silent: Floats, lam: float
) -> float:
    """``H(F) + λ·|F|`` of one fault set (the objective of the several-fault search)."""
    zones = np.arange(size.size)
    expected = np.zeros(size.size, dtype=np.bool_)
    for f in np.asarray(faults).tolist():
        expected |= (zones <= f) & (f < zones + size)
    return float(np.where(expected, cost_if_alarm, cost_if_silent).sum() + lam * len(faults))


def exhaustive_multi(
    size: Int64s,
    cost_if_alarm: Floats,
    cost_if_silent: Floats,
    *,
    lam: float,
    max_faults: int,
) -> tuple[tuple[int, ...], float]:
    """The fault set of 1 … ``max_faults`` zones minimising ``H(F) + λ·|F|``, over every
    set (``C(n, 1) + … + C(n, k)`` expected vectors), and its value. Ties: the first found
    (fewest faults, then lexicographic)."""
    n = size.size
    zones = np.arange(n)
    ancestor = (zones[None, :] <= zones[:, None]) & (zones[:, None] < (zones + size)[None, :])
    best: tuple[tuple[int, ...], float] = ((), np.inf)
    for k in range(1, max_faults + 1):
        sets = np.array(list(combinations(range(n), k)), dtype=np.int64).reshape(-1, k)
        step = max(1, CHUNK_CELLS // max(n, 1))
        for lo in range(0, len(sets), step):
            chunk = sets[lo : lo + step]
            expected = ancestor[chunk[:, 0]].copy()
            for j in range(1, k):
                expected |= ancestor[chunk[:, j]]
            h = np.where(expected, cost_if_alarm, cost_if_silent).sum(axis=1) + lam * k
            i = int(np.argmin(h))
            if h[i] < best[1]:
                best = (tuple(chunk[i].tolist()), float(h[i]))
    return best


def description_matrix(parent: Int64s) -> Any:
    """The network description matrix ``D`` of a detector tree: ``D[i, i] = 1`` and
    ``D[i, j] = 1`` when device ``j`` is directly downstream of device ``i``. Dense up to
    ``DENSE_UP_TO`` devices (as published), a scipy CSR matrix beyond."""
    n = parent.size
    child = np.flatnonzero(parent >= 0)
    rows = np.concatenate([np.arange(n), parent[child]])
    cols = np.concatenate([np.arange(n), child])
    if n <= DENSE_UP_TO:
        d = np.zeros((n, n), dtype=np.int32)
        d[rows, cols] = 1
        return d
    return scipy.sparse.csr_array(
        (np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(n, n), dtype=np.int32
    )


def matrix_method(d: Any, status: Int8s) -> Int64s:
    """The faulted zones by the matrix algorithm: with the fault information matrix
    ``G = diag(g)`` (``g_i = 1`` when device i reported fault current; no data counts as no
    fault current) the judgement matrix ``P = D·G`` has ``P[i, i] = g_i`` and row sums
    ``g_i + (alarms directly below i)``; zone i is faulted when ``P[i, i] = 1`` and its row
    sums to 1."""
    g = (status == ALARM).astype(np.int32)
    row_sum = d @ g  # = (D·G)·1
    return np.flatnonzero((g == 1) & (row_sum == 1)).astype(np.int64)
