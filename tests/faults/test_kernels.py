"""The kernels against brute force on random small trees (hypothesis).

- Single fault: the path-sum scores equal the full log-likelihood of every device's report
  (computed here from the probability table of docs/faults.md, device by device, on and off
  the fault's path) up to one constant shared by all zones.
- Several faults: the tree DP equals enumeration of every fault set; the limited DP equals
  enumeration of every fault set of at most 1, 2, 3 faults.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openoms.faults import kernels
from openoms.faults.likelihood import ALARM, MINUS, NONE, PLUS, QUIET, weights

Tree = tuple[np.ndarray, np.ndarray]


@st.composite
def trees(draw: st.DrawFn, max_zones: int = 12) -> Tree:
    """(parent, order): zone 0 is the root, parent[i] < i; ``order`` a random parents-first
    order (zones sorted by depth, ties shuffled), not always 0..n-1."""
    n = draw(st.integers(1, max_zones))
    parent = np.full(n, -1, dtype=np.int64)
    for i in range(1, n):
        parent[i] = draw(st.integers(0, i - 1))
    depth = np.zeros(n, dtype=np.int64)
    for i in range(1, n):
        depth[i] = depth[parent[i]] + 1
    shuffle = draw(st.permutations(list(range(n))))
    order = np.array(sorted(range(n), key=lambda z: (depth[z], shuffle[z])), dtype=np.int64)
    return parent, order


def below(parent: np.ndarray, zone: int, top: int) -> bool:
    while zone >= 0:
        if zone == top:
            return True
        zone = int(parent[zone])
    return False


def probability(observed: int, expected: int, a: float, m: float, d: float) -> float:
    """The table of docs/faults.md, written out case by case."""
    if expected == QUIET:
        return {QUIET: 1 - a, ALARM: a, PLUS: a / 2, MINUS: a / 2}[observed]
    if observed == QUIET:
        return m
    if observed == ALARM:
        return 1 - m
    return (1 - m) * (1 - d) if observed == expected else (1 - m) * d


@settings(max_examples=150, deadline=None)
@given(tree=trees(), data=st.data())
def test_single_fault_scores_equal_the_full_log_likelihood(tree: Tree, data: st.DataObject) -> None:
    parent, order = tree
    n = parent.size
    rate = st.floats(0.001, 0.3)
    a = np.array([data.draw(rate) for _ in range(n)])
    m = np.array([data.draw(rate) for _ in range(n)])
    d = np.array([data.draw(st.floats(0.001, 0.2)) for _ in range(n)])
    directional = [data.draw(st.booleans()) for _ in range(n)]
    off = np.array([MINUS if data.draw(st.booleans()) else QUIET for _ in range(n)], dtype=np.int8)
    choices = [
        [NONE, QUIET, ALARM, PLUS, MINUS] if dr else [NONE, QUIET, ALARM] for dr in directional
    ]
    observed = np.array([data.draw(st.sampled_from(c)) for c in choices], dtype=np.int8)
    prior = np.array([data.draw(st.floats(0.1, 10.0)) for _ in range(n)])
    log_prior = np.log(prior / prior.sum())

    has = observed != NONE
    w = np.zeros(n)
    w[has] = weights(observed[has], off[has], a[has], m[has], d[has])
    scores = kernels.single_fault_scores(parent, order, w, log_prior)

    full = np.empty(n)
    for fault in range(n):
        total = math.log(prior[fault] / prior.sum())
        for z in range(n):
            if observed[z] == NONE:
                continue
            expected = PLUS if below(parent, fault, z) else int(off[z])
            total += math.log(probability(int(observed[z]), expected, a[z], m[z], d[z]))
        full[fault] = total
    difference = scores - full
    assert np.ptp(difference) < 1e-9


def objective(parent: np.ndarray, w: np.ndarray, lam: float, faults: tuple[int, ...]) -> float:
    covered: set[int] = set()
    for f in faults:
        z = f
        while z >= 0:
            covered.add(z)
            z = int(parent[z])
    return sum(float(w[z]) for z in covered) - lam * len(faults)


@settings(max_examples=200, deadline=None)
@given(
    tree=trees(max_zones=7),
    data=st.data(),
    lam=st.floats(0.2, 6.0),
)
def test_tree_dp_equals_enumeration_of_fault_sets(
    tree: Tree, data: st.DataObject, lam: float
) -> None:
    parent, order = tree
    n = parent.size
    w = np.array([data.draw(st.floats(-6.0, 6.0)) for _ in range(n)])
    subsets = [s for k in range(1, n + 1) for s in itertools.combinations(range(n), k)]
    best_any = max(objective(parent, w, lam, s) for s in subsets)
    in_tree, leaf, score = kernels.multi_fault_dp(parent, order, w, lam)
    chosen = tuple(np.flatnonzero(leaf).tolist())
    assert score == pytest_approx(best_any)
    assert objective(parent, w, lam, chosen) == pytest_approx(best_any)
    covered = {z for f in chosen for z in range(n) if below(parent, f, z)}
    assert set(np.flatnonzero(in_tree).tolist()) == covered
    for k in (1, 2, 3):
        best_k = max(objective(parent, w, lam, s) for s in subsets if len(s) <= k)
        faults, score_k = kernels.multi_fault_dp_limited(parent, order, w, lam, k)
        picked = tuple(np.flatnonzero(faults).tolist())
        assert 1 <= len(picked) <= k
        assert score_k == pytest_approx(best_k)
        assert objective(parent, w, lam, picked) == pytest_approx(best_k)


def pytest_approx(value: float) -> object:
    return pytest.approx(value, abs=1e-9)


def test_subtree_sums_by_hand() -> None:
    # 0 ─┬─ 1 ─ 3
    #    └─ 2
    parent = np.array([-1, 0, 0, 1], dtype=np.int64)
    order = np.arange(4, dtype=np.int64)
    w = np.array([1.0, 2.0, 4.0, 8.0])
    assert kernels.subtree_sums(parent, order, w).tolist() == [15.0, 10.0, 4.0, 8.0]
    assert kernels.single_fault_scores(parent, order, w, np.zeros(4)).tolist() == [
        1.0,
        3.0,
        5.0,
        11.0,
    ]


def test_summarise_by_hand() -> None:
    # scores ln 1, ln 2, ln 2, ln 1e-9: Σ e^s = 5 + 1e-9; ties zones 1 and 2
    scores = np.log(np.array([1.0, 2.0, 2.0, 1e-9]))
    first, shift, ties, named = kernels.summarise(scores, tie_tolerance=1e-9, min_posterior=1e-6)
    assert first == 1
    assert math.exp(scores[0] - shift) == pytest_approx(1 / (5 + 1e-9))
    assert ties.tolist() == [1, 2]
    assert sorted(named.tolist()) == [0, 1, 2]
