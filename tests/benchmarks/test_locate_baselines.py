"""The fault-location benchmark's baselines (benchmarks/_locate_baselines.py) on hand cases.

IEEE 33 (Baran & Wu) with an FTU on every branch; the zone of ``FTU-Lk`` is branch k. FTU
rates (the defaults, docs/faults.md "Settings and their defaults"): a = 0.01 false alarms,
m = 0.03 misses, so
  cost of a missed alarm        |w0| = ln((1 − a)/m) = ln(0.99/0.03) = ln 33     = 3.4965
  cost of a false alarm          w1  = ln((1 − m)/a) = ln(0.97/0.01) = ln 97     = 4.5747
  a further fault (p = 0.01)     λ   = ln((1 − p)/p) = ln 99                     = 4.5951
Paths (from the branch table): 1-2-3-4-5-6-7-8-9-10-11, branch 25 (6–26) hangs from bus 6
(below branch 5), 26 (26–27) and 27 (27–28) below it; branch 18 (2–19) below branch 1.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
W_MISS = math.log(0.99 / 0.03)
W_FALSE = math.log(0.97 / 0.01)
LAM = math.log(0.99 / 0.01)


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


B = _load("_locate_baselines")
C = _load("_locate_cases")


@cache
def ieee33() -> Any:
    from openoms.grid import Topology

    network = C.ieee33_network()
    (tree,) = C.zone_trees(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    return tree


def z(branch: int) -> int:
    """The zone index of the FTU on branch ``branch``."""
    return int(ieee33().ids.index(f"FTU-L{branch}"))


def observed(*alarm_branches: int, no_data: tuple[int, ...] = ()) -> Any:
    status = np.zeros(ieee33().n, dtype=np.int8)
    status[[z(b) for b in alarm_branches]] = B.ALARM
    status[[z(b) for b in no_data]] = B.NO_DATA
    return status


def costs(status: Any) -> tuple[Any, Any]:
    n = ieee33().n
    return B.hamming_costs(status, np.full(n, 0.01), np.full(n, 0.03))  # type: ignore[no-any-return]


def single(status: Any) -> Any:
    tree = ieee33()
    return B.exhaustive_single(tree.size, *costs(status), np.zeros(tree.n))


def test_zone_tree_of_ieee33() -> None:
    tree = ieee33()
    assert tree.n == 32
    assert tree.parent[z(18)] == z(1)  # branch 18 (2–19) hangs from bus 2
    assert tree.parent[z(25)] == z(5)  # 6–26 from bus 6, the end of branch 5
    assert tree.parent[z(22)] == z(2)  # 3–23 from bus 3
    assert tree.parent[z(1)] == -1
    assert tree.size[z(1)] == 32
    assert tree.size[z(6)] == 12  # branches 6 … 17
    assert [tree.ids[i] for i in tree.ancestors(z(27))] == [
        f"FTU-L{b}" for b in (1, 2, 3, 4, 5, 25, 26, 27)
    ]
    assert tree.length_km.sum() == 32.0


def test_no_distortion_both_exact() -> None:
    status = observed(*range(1, 11))  # fault on branch 10: FTUs 1 … 10 alarm
    h = single(status)
    assert np.argmin(h) == z(10)
    assert h[z(10)] == 0.0
    # the parent zone: FTU 10 expected silent but alarmed → one false alarm
    assert h[z(9)] == pytest.approx(W_FALSE)
    # branch 11: FTU 11 expected to alarm, silent → one miss
    assert h[z(11)] == pytest.approx(W_MISS)
    d = B.description_matrix(ieee33().parent)
    assert B.matrix_method(d, status).tolist() == [z(10)]


def test_miss_at_the_last_alarm_cannot_be_corrected() -> None:
    status = observed(*range(1, 10))  # fault on 10, FTU 10 missed it
    h = single(status)
    assert np.argmin(h) == z(9)  # exactly what a fault on 9 looks like
    assert h[z(10)] == pytest.approx(W_MISS)


def test_miss_in_the_middle() -> None:
    status = observed(1, 2, 3, 4, 6, 7, 8, 9, 10)  # fault on 10, FTU 5 missed it
    h = single(status)
    assert np.argmin(h) == z(10)
    assert h[z(10)] == pytest.approx(W_MISS)
    # fault on 4: FTUs 6 … 10 are five false alarms
    assert h[z(4)] == pytest.approx(5 * W_FALSE)
    d = B.description_matrix(ieee33().parent)
    assert B.matrix_method(d, status).tolist() == [z(4), z(10)]  # 4 alarms, 5 below is silent


def test_false_alarm_on_a_lateral() -> None:
    status = observed(*range(1, 11), 25)  # fault on 10, FTU 25 falsely alarms
    h = single(status)
    assert np.argmin(h) == z(10)
    assert h[z(10)] == pytest.approx(W_FALSE)
    d = B.description_matrix(ieee33().parent)
    assert sorted(B.matrix_method(d, status).tolist()) == sorted([z(10), z(25)])


def test_no_data_gives_a_tie() -> None:
    status = observed(*range(1, 10), no_data=(10,))  # fault on 10, FTU 10 offline
    h = single(status)
    assert h[z(10)] == 0.0
    assert h[z(9)] == 0.0
    assert h.min() == 0.0
    assert np.count_nonzero(h == 0.0) == 2


def test_prior_enters_the_score() -> None:
    status = observed(*range(1, 10), no_data=(10,))
    tree = ieee33()
    log_prior = np.zeros(tree.n)
    log_prior[z(10)] = math.log(2.0)
    h = B.exhaustive_single(tree.size, *costs(status), log_prior)
    assert np.argmin(h) == z(10)
    assert h[z(10)] == pytest.approx(-math.log(2.0))


def test_two_faults() -> None:
    # faults on 10 and 27: FTUs 1 … 10 and 25, 26, 27 alarm
    status = observed(*range(1, 11), 25, 26, 27)
    faults, value = B.exhaustive_multi(ieee33().size, *costs(status), lam=LAM, max_faults=3)
    assert sorted(faults) == sorted([z(10), z(27)])
    assert value == pytest.approx(2 * LAM)  # no mismatch, two faults
    # one fault on 10 leaves 25, 26, 27 as false alarms: 3·4.5747 + 4.5951 = 18.32 > 9.19
    single_value = B.multi_objective(np.array([z(10)]), ieee33().size, *costs(status), lam=LAM)
    assert single_value == pytest.approx(3 * W_FALSE + LAM)
    d = B.description_matrix(ieee33().parent)
    assert sorted(B.matrix_method(d, status).tolist()) == sorted([z(10), z(27)])


def test_one_false_alarm_beats_a_second_fault() -> None:
    # FTUs 1 … 10 and 25 alarm: fault on 10 + a false alarm at 25 (4.5747 + 4.5951 = 9.1698)
    # is more likely than faults on 10 and 25 (2·4.5951 = 9.1902) with these rates
    status = observed(*range(1, 11), 25)
    faults, value = B.exhaustive_multi(ieee33().size, *costs(status), lam=LAM, max_faults=3)
    assert faults == (z(10),)
    assert value == pytest.approx(W_FALSE + LAM)


def test_three_faults_objective() -> None:
    status = observed(*range(1, 11), 25, 26, 27, 18, 19)
    faults, value = B.exhaustive_multi(ieee33().size, *costs(status), lam=LAM, max_faults=3)
    assert sorted(faults) == sorted([z(10), z(27), z(19)])
    assert value == pytest.approx(3 * LAM)
    _, two = B.exhaustive_multi(ieee33().size, *costs(status), lam=LAM, max_faults=2)
    assert two == pytest.approx(2 * LAM + 2 * W_FALSE)  # 18, 19 left as false alarms


def test_distortions_are_seeded_and_exact() -> None:
    expected = ieee33().expected_alarms(np.array([z(10)]))
    assert np.flatnonzero(expected).tolist() == sorted(z(b) for b in range(1, 11))
    first = B.distort(expected, 3, np.random.default_rng(7))
    again = B.distort(expected, 3, np.random.default_rng(7))
    assert np.array_equal(first[0], again[0])
    assert first[1] == again[1]
    status, done = first
    assert len(done) == 3
    assert np.count_nonzero(status != expected.astype(np.int8)) == 3
    for d, what in done:
        assert what == {-1: "no_data", 0: "miss", 1: "false_alarm"}[int(status[d])]
        assert (what == "miss") == bool(expected[d]) or what == "no_data"


def test_exhaustive_matches_a_plain_loop_on_a_big_tree() -> None:
    """The chunked exhaustive search and the sparse matrix method against plain per-zone
    loops, on a 3,000-branch synthetic feeder (several chunks, sparse D)."""
    from openoms.grid import Topology

    network = C.synthetic_every_branch(3_000, seed=3)
    (tree,) = C.zone_trees(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    assert tree.n > B.DENSE_UP_TO
    rng = np.random.default_rng(5)
    status = rng.integers(-1, 2, tree.n).astype(np.int8)
    a, m = np.full(tree.n, 0.03), np.full(tree.n, 0.10)
    cost_alarm, cost_silent = B.hamming_costs(status, a, m)
    log_prior = np.log(rng.uniform(0.5, 2.0, tree.n))
    h = B.exhaustive_single(tree.size, cost_alarm, cost_silent, log_prior)
    for zone in rng.choice(tree.n, 40, replace=False).tolist():
        expected = np.zeros(tree.n, dtype=bool)
        expected[tree.ancestors(zone)] = True
        plain = cost_alarm[expected].sum() + cost_silent[~expected].sum() - log_prior[zone]
        assert h[zone] == pytest.approx(plain, rel=1e-12)
    alarm = status == B.ALARM
    found = B.matrix_method(B.description_matrix(tree.parent), status).tolist()
    children_alarm = np.zeros(tree.n, dtype=int)
    np.add.at(children_alarm, tree.parent[1:], alarm[1:])
    assert found == [i for i in range(tree.n) if alarm[i] and children_alarm[i] == 0]


def test_events_are_seeded_antichains_with_k_distortions() -> None:
    """Several-fault events: faults in one feeder, none upstream of another, and exactly k
    distorted reports against the expected alarms of the fault set."""
    from types import SimpleNamespace

    run = _load("_locate_run")
    rates = {"ftu": SimpleNamespace(false_alarm=0.01, miss=0.03)}
    feeder = run.prepare(ieee33(), rates)
    events = run.make_events([feeder], n_events=50, n_faults=3, k=2, rng=np.random.default_rng(2))
    again = run.make_events([feeder], n_events=50, n_faults=3, k=2, rng=np.random.default_rng(2))
    assert [e.truth for e in events] == [e.truth for e in again]
    tree = ieee33()
    for e in events:
        assert len(e.truth) == 3
        for a in e.truth:
            for b in e.truth:
                assert a == b or not (a <= b < a + tree.size[a])
        expected = tree.expected_alarms(np.array(e.truth)).astype(np.int8)
        assert np.count_nonzero(e.status != expected) == 2
        assert len(e.distortions) == 2
