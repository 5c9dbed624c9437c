"""Array kernels of the fault locator: one pass over a zone tree each, compiled by numba.

A zone tree is given as ``parent`` (zone index of the parent, ``-1`` at the root) and ``order``
(every zone once, parents before children: a pre-order or BFS order). These kernels take no ids
and no Python objects, so that they run directly on trees of a million zones; the locator
(:mod:`openoms.faults.locator`) builds the arrays once per topology state.

Each kernel runs as numba's machine code or, in a process that has not loaded numba and has
done little work, as its Python source (:mod:`openoms.grid.jit`): a command locating one fault
on a county's feeder of a few hundred zones answers without the second numba's start costs.
The answers are the same (tests/faults/test_kernels_paths.py runs both).

Typing: as in :mod:`openoms.grid._kernels`, each kernel's annotations are its typed wrapper and
numba compiles for the dtypes actually passed (int64 indexes, float64 weights).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.grid.jit import INTERPRETED_BUDGET, LazyKernels, kernel_mode, runs_compiled

__all__ = [
    "INTERPRETED_BUDGET",
    "Float64Array",
    "Int64Array",
    "compile_kernels",
    "contradicting",
    "kernel_mode",
    "mark_paths",
    "multi_fault_dp",
    "multi_fault_dp_limited",
    "place_reports",
    "runs_compiled",
    "single_fault_scores",
    "single_fault_scores_and_best",
    "subtree_sums",
    "summarise",
    "zone_weights",
]

Int64Array = NDArray[np.int64]
Float64Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_NEG: Final = -1e300  # "impossible" in the limited DP (finite, so sums stay well defined)

_kernel: Final = LazyKernels(globals())


def compile_kernels() -> None:
    """Load numba for the kernels of this module (``openoms warm-up``)."""
    _kernel.compile()


@_kernel
def _path_scores(
    parent: Int64Array,
    order: Int64Array,
    weight: Float64Array,
    log_prior: Float64Array,
    out: Float64Array,
) -> int:
    best = -np.inf
    first = 0
    for i in range(order.shape[0]):
        z = order[i]
        p = parent[z]
        out[z] = weight[z] + log_prior[z] + ((out[p] - log_prior[p]) if p >= 0 else 0.0)
        if out[z] > best or (out[z] == best and z < first):
            best = out[z]
            first = z
    return first


def single_fault_scores(
    parent: Int64Array, order: Int64Array, weight: Float64Array, log_prior: Float64Array
) -> Float64Array:
    """``S(z) = P(z) + log_prior[z]`` with the path sum ``P(z) = P(parent(z)) + weight[z]``
    (the prior is added once, not accumulated). ``order``: parents before children. O(zones).

    With the device weights of docs/faults.md ("The observation model"), ``S(z)`` is the
    log-likelihood of "the fault is in zone z" up to a constant shared by every zone, plus its
    log prior.
    """
    scores = np.empty(parent.shape[0], dtype=np.float64)
    _path_scores(parent, order, weight, log_prior, scores)
    return scores


def single_fault_scores_and_best(
    parent: Int64Array,
    order: Int64Array,
    weight: Float64Array,
    log_prior: Float64Array,
    out: Float64Array | None = None,
) -> tuple[Float64Array, int]:
    """:func:`single_fault_scores` and the lowest-numbered zone with the highest score; the
    scores in ``out`` when given (one per zone)."""
    scores = np.empty(parent.shape[0], dtype=np.float64) if out is None else out
    first = _path_scores(parent, order, weight, log_prior, scores)
    return scores, int(first)


@_kernel
def _summarise(
    scores: Float64Array,
    tie_tolerance: float,
    min_log_posterior: float,
    picked: Int64Array,
    first: int,
) -> tuple[int, float, int, int]:
    n = scores.shape[0]
    if first < 0:
        best = -np.inf
        for z in range(n):
            if scores[z] > best:
                best = scores[z]
                first = z
    best = scores[first]
    # one pass: the normaliser (terms below e^-40 of the best are dropped: < 4e-18 each),
    # the ties, and every zone that can have posterior > min (gap > ln min, a superset)
    total = 0.0
    n_ties = 0
    n_picked = 0
    for z in range(n):
        gap = scores[z] - best
        if gap > -40.0:
            total += np.exp(gap)
            if gap > min_log_posterior:
                picked[n_picked] = z
                n_picked += 1
                if gap >= -tie_tolerance:
                    n_ties += 1
    return first, best + np.log(total), n_ties, n_picked


def summarise(
    scores: Float64Array, *, tie_tolerance: float, min_posterior: float, first: int = -1
) -> tuple[int, float, Int64Array, Int64Array]:
    """Two passes: the maximum, then the log normaliser, the ties and the named zones.

    Returns ``(first_best, shift, ties, candidates)``: the first zone with the highest score,
    ``shift`` such that the posterior of z is ``exp(scores[z] − shift)``, the zones whose score
    is within ``tie_tolerance`` of the best, and the zones with posterior above
    ``min_posterior``. O(zones). ``first``: the best zone when already known (one pass less).
    """
    picked = np.empty(scores.shape[0], dtype=np.int64)
    first, shift, n_ties, n_picked = _summarise(
        scores, float(tie_tolerance), float(np.log(min_posterior)), picked, int(first)
    )
    named = picked[:n_picked]
    best = scores[first]
    ties = named[scores[named] >= best - tie_tolerance] if n_ties else named[:0]
    candidates = named[scores[named] - shift > np.log(min_posterior)]
    return int(first), float(shift), ties.copy(), candidates.copy()


@_kernel
def place_reports(  # noqa: PLR0917  (numba: no keyword-only parameters)
    det: Int64Array,
    status: NDArray[np.int8],
    slot_of_detector: NDArray[np.int32],
    detector_of_slot: Int64Array,
    slot_zone: Int64Array,
    slot_w_alarm: Float64Array,
    slot_w_quiet: Float64Array,
    slot_directional: BoolArray,
    source_below: BoolArray,
    mode: int,
    seen: NDArray[np.uint8],
    seen_slot: NDArray[np.uint8],
    out: Int64Array,
    out_codes: NDArray[np.int8],
    out_weight: Float64Array,
    out_directional: BoolArray,
    ignored: Int64Array,
) -> tuple[int, int, int, int]:
    """One pass over an event's reports (detector index, status 1 alarm, 0 no alarm, -1 no
    data): checks them and writes, in report order, for each report with data on the tree
    ``out[0, k]`` its detector, ``out[1, k]`` its zone,
    ``out_codes[0, k]`` its status, ``out_codes[1, k]`` its "off" code (3 = −1, else 0),
    ``out_directional[k]`` whether it is read as directional and ``out_weight[k]`` its weight
    as a plain report (``ln((1 − m)/a)`` for an alarm, ``ln(m/(1 − a))`` for a silence, 0
    against −1: a plain device reads the same either way).

    The tree's detectors come as slots (zone order): ``slot_of_detector`` per detector of the
    network (-1 when not on the tree) and its inverse ``detector_of_slot``, then per slot its
    zone, weights and directional flag. Reports in slot order (a feeder's detectors listed
    in order) are found by the inverse, read in order, rather than looked up all over the
    network's detectors.
    ``mode``: 0 short circuit (−1 where a source lies below the zone), 1 earth fault (−1 for
    directional devices), 2 loss of voltage (0 everywhere, directions ignored). ``seen`` and
    ``seen_slot``: zeros, one per detector of the network and one per slot (a report of a
    detector on the tree is marked by its slot: in zone order, those are read in order).

    Returns ``(kept, error, position, n_ignored)``: error 1 a detector outside the table, 2 a
    status other than 1, 0, -1, 3 a detector reported twice, each at report ``position``; the
    positions of reports of detectors not on the tree go to ``ignored``.
    """
    n_detectors = slot_of_detector.shape[0]
    n_slots = detector_of_slot.shape[0]
    kept = 0
    n_ignored = 0
    last = -1  # the slot of the last report on the tree
    for i in range(det.shape[0]):
        d = det[i]
        if d < 0 or d >= n_detectors:
            return kept, 1, i, n_ignored
        code = status[i]
        if code < -1 or code > 1:
            return kept, 2, i, n_ignored
        if last + 1 < n_slots and detector_of_slot[last + 1] == d:  # the next slot's
            s = last + 1
        else:
            s = slot_of_detector[d]
        if s < 0:
            if seen[d]:
                return kept, 3, i, n_ignored
            seen[d] = 1
            ignored[n_ignored] = i
            n_ignored += 1
            continue
        if seen_slot[s]:
            return kept, 3, i, n_ignored
        seen_slot[s] = 1
        last = s
        if code < 0:
            continue
        zone = slot_zone[s]
        directional = slot_directional[s] and mode != 2
        if mode == 0:
            minus = source_below[zone]
        elif mode == 1:
            minus = directional
        else:
            minus = False
        out[0, kept] = d
        out[1, kept] = zone
        out_codes[0, kept] = code
        out_directional[kept] = directional
        if minus:
            out_codes[1, kept] = 3
            out_weight[kept] = 0.0
        else:
            out_codes[1, kept] = 0
            out_weight[kept] = slot_w_alarm[s] if code == 1 else slot_w_quiet[s]
        kept += 1
    return kept, 0, 0, n_ignored


@_kernel
def _zone_weights(zone: Int64Array, weight: Float64Array, out: Float64Array) -> int:
    for z in range(out.shape[0]):
        out[z] = 0.0
    n = 0
    for i in range(zone.shape[0]):
        w = weight[i]
        out[zone[i]] += w
        if zone[i] > 0 and w != 0.0:
            n += 1
    return n


def zone_weights(zone: Int64Array, weight: Float64Array, out: Float64Array) -> int:
    """``out[z]``: the sum of the reports' ``weight`` in zone ``z``, added in report order
    (the floats of ``np.bincount(zone, weight, minlength=len(out))``, which runs instead where
    the kernel would run interpreted). Returns how many reports below the root zone weigh
    anything. Compiled, no array is made: ``out`` can be kept between events."""
    if runs_compiled(zone.shape[0] + out.shape[0]):
        return int(_zone_weights(zone, weight, out))
    out[:] = np.bincount(zone, weights=weight, minlength=out.shape[0])
    return int(np.count_nonzero((zone > 0) & (weight != 0.0)))


# report codes, as in openoms.faults.likelihood (a test checks they agree)
_QUIET: Final = 0
_PLUS: Final = 2
_MIXED: Final = 4


@_kernel
def _contradicting(
    zone: Int64Array,
    observed: NDArray[np.int8],
    off: NDArray[np.int8],
    on_zone: BoolArray,
    bad: Int64Array,
) -> int:
    n_bad = 0
    for i in range(zone.shape[0]):
        seen = observed[i]
        expected = _PLUS if on_zone[zone[i]] else off[i]
        if expected == _MIXED:
            wrong = seen == _PLUS
        else:
            wrong = ((seen == _QUIET) != (expected == _QUIET)) or (
                seen >= _PLUS and expected >= _PLUS and seen != expected
            )
        if wrong:
            bad[n_bad] = i
            n_bad += 1
    return n_bad


def contradicting(
    zone: Int64Array, observed: NDArray[np.int8], off: NDArray[np.int8], on_zone: BoolArray
) -> Int64Array:
    """The reports (ascending) that contradict the expectation "+1 where ``on_zone`` holds for
    the report's zone, else its ``off`` code": ``np.flatnonzero(contradiction_mask(observed,
    expected))`` of :mod:`openoms.faults.likelihood` in one pass, without an array per
    report. O(reports)."""
    bad = np.empty(zone.shape[0], dtype=np.int64)  # (only the pages written are touched)
    n_bad = _contradicting(zone, observed, off, on_zone, bad)
    return bad[:n_bad].copy()


@_kernel.weighing(lambda *_: 0)  # O(depth)
def _mark_up(parent: Int64Array, zone: int, mark: BoolArray) -> None:
    z = zone
    while z >= 0 and not mark[z]:
        mark[z] = True
        z = parent[z]


def mark_paths(parent: Int64Array, zones: list[int], mark: BoolArray) -> None:
    """Set ``mark`` on every zone on the paths from ``zones`` to the root (stops at zones
    already marked). O(zones marked)."""
    for zone in zones:
        _mark_up(parent, int(zone), mark)


@_kernel
def _subtree_sums(
    parent: Int64Array, order: Int64Array, weight: Float64Array, out: Float64Array
) -> None:
    for i in range(order.shape[0]):
        out[order[i]] = weight[order[i]]
    for i in range(order.shape[0] - 1, -1, -1):
        z = order[i]
        p = parent[z]
        if p >= 0:
            out[p] += out[z]


def subtree_sums(parent: Int64Array, order: Int64Array, weight: Float64Array) -> Float64Array:
    """``T(z) = weight[z] + Σ T(children of z)``: the weight of z and every zone below. O(zones).

    The broken-conductor score of zone z is ``T(z) − weight[z]`` (the devices strictly below z
    lose voltage).
    """
    out = np.empty(parent.shape[0], dtype=np.float64)
    _subtree_sums(parent, order, weight, out)
    return out


@_kernel
def _dp(  # noqa: PLR0917  (numba: no keyword-only parameters)
    parent: Int64Array,
    order: Int64Array,
    weight: Float64Array,
    lam: float,
    best: Float64Array,
    positive_sum: Float64Array,
    max_child: Float64Array,
    arg_child: Int64Array,
    chosen: BoolArray,
    leaf: BoolArray,
) -> None:
    n = parent.shape[0]
    for z in range(n):
        positive_sum[z] = 0.0
        max_child[z] = -np.inf
        arg_child[z] = -1
        chosen[z] = False
        leaf[z] = False
    for i in range(order.shape[0] - 1, -1, -1):
        z = order[i]
        if positive_sum[z] > 0.0:
            best[z] = weight[z] + positive_sum[z]
        elif max_child[z] > -lam:
            best[z] = weight[z] + max_child[z]
        else:
            best[z] = weight[z] - lam
        p = parent[z]
        if p >= 0:
            if best[z] > 0.0:
                positive_sum[p] += best[z]
            if best[z] > max_child[p]:
                max_child[p] = best[z]
                arg_child[p] = z
    # top-down: which zones are in the best rooted subtree, and which are its leaves (faults)
    for i in range(order.shape[0]):
        z = order[i]
        p = parent[z]
        if p < 0:
            chosen[z] = True
        elif chosen[p]:
            if positive_sum[p] > 0.0:
                chosen[z] = best[z] > 0.0
            elif max_child[p] > -lam:
                chosen[z] = arg_child[p] == z
    for i in range(order.shape[0]):
        z = order[i]
        if chosen[z]:
            leaf[z] = not (positive_sum[z] > 0.0 or max_child[z] > -lam)


def multi_fault_dp(
    parent: Int64Array, order: Int64Array, weight: Float64Array, lam: float
) -> tuple[BoolArray, BoolArray, float]:
    """Several simultaneous faults, exact, one traversal each way (docs/faults.md, "Several
    simultaneous faults").

    Maximises ``Σ_{z∈T} weight[z] − lam·|leaves(T)|`` over rooted subtrees ``T`` (the root's
    tree, non-empty) by ``best(v) = w_v + (Σ_c max(0, best(c)) if some best(c) > 0 else
    max(−lam, max_c best(c)))``. Returns ``(in_subtree, faults, score)``: the zones of the best
    ``T``, its leaves (the chosen fault zones) and its score. Ties between children go to the
    first in ``order``. O(zones); ``order`` must start at the root.
    """
    n = parent.shape[0]
    best = np.empty(n, dtype=np.float64)
    positive_sum = np.empty(n, dtype=np.float64)
    max_child = np.empty(n, dtype=np.float64)
    arg_child = np.empty(n, dtype=np.int64)
    chosen = np.empty(n, dtype=np.bool_)
    leaf = np.empty(n, dtype=np.bool_)
    _dp(parent, order, weight, float(lam), best, positive_sum, max_child, arg_child, chosen, leaf)
    return chosen, leaf, float(best[order[0]])


@_kernel.weighing(lambda parent, order, weight, lam, k, *_: len(parent) * k * k)
def _dp_limited(  # noqa: PLR0917  (numba: no keyword-only parameters)
    parent: Int64Array,
    order: Int64Array,
    weight: Float64Array,
    lam: float,
    k: int,
    best: Float64Array,
    acc: Float64Array,
    take: Int64Array,
    as_leaf: BoolArray,
    faults: BoolArray,
) -> float:
    n = parent.shape[0]
    # acc[z, j]: best total of the children of z processed so far with j leaves among them
    for z in range(n):
        acc[z, 0] = 0.0
        for j in range(1, k + 1):
            acc[z, j] = _NEG
        faults[z] = False
    for i in range(order.shape[0] - 1, -1, -1):
        z = order[i]
        for j in range(1, k + 1):
            best[z, j] = weight[z] + acc[z, j] if acc[z, j] > _NEG / 2 else _NEG
        as_leaf[z] = weight[z] - lam >= best[z, 1]
        if as_leaf[z]:
            best[z, 1] = weight[z] - lam
        p = parent[z]
        if p >= 0:  # merge z into its parent's accumulator (knapsack over leaf counts)
            for j in range(k, 0, -1):
                value = acc[p, j]
                pick = 0
                for i_leaves in range(1, j + 1):
                    if acc[p, j - i_leaves] > _NEG / 2 and best[z, i_leaves] > _NEG / 2:
                        candidate = acc[p, j - i_leaves] + best[z, i_leaves]
                        if candidate > value:
                            value = candidate
                            pick = i_leaves
                acc[p, j] = value
                take[z, j] = pick
    root = order[0]
    top = 1
    for j in range(2, k + 1):
        if best[root, j] > best[root, top]:
            top = j
    # backtrack: the children of z were merged in reverse `order`, so the last merged is the
    # first in `order`: walking forward undoes the merges in reverse, spending z's leaf budget
    remaining = np.zeros(n, dtype=np.int64)
    if top == 1 and as_leaf[root]:
        faults[root] = True
    else:
        remaining[root] = top
    for i in range(order.shape[0]):
        z = order[i]
        p = parent[z]
        if p >= 0 and remaining[p] > 0:
            pick = take[z, remaining[p]]
            if pick > 0:
                remaining[p] -= pick
                if pick == 1 and as_leaf[z]:
                    faults[z] = True
                else:
                    remaining[z] = pick
    result: float = best[root, top]
    return result


def multi_fault_dp_limited(
    parent: Int64Array, order: Int64Array, weight: Float64Array, lam: float, max_faults: int
) -> tuple[BoolArray, float]:
    """The objective of :func:`multi_fault_dp` with at most ``max_faults`` leaves (faults).

    A knapsack over leaf counts on the tree: ``best(z, j)`` is the best rooted subtree at z
    with j leaves. Returns ``(faults, score)``. O(zones · max_faults²); ``order``: parents before
    children, the root first (any such order; ties between equal subtrees go to the first
    child in ``order``).
    """
    n = parent.shape[0]
    k = max(1, int(max_faults))
    best = np.empty((n, k + 1), dtype=np.float64)
    acc = np.empty((n, k + 1), dtype=np.float64)
    take = np.zeros((n, k + 1), dtype=np.int64)
    as_leaf = np.empty(n, dtype=np.bool_)
    faults = np.empty(n, dtype=np.bool_)
    score = _dp_limited(parent, order, weight, float(lam), k, best, acc, take, as_leaf, faults)
    return faults, float(score)
