"""The impact analyser's two ways of answering (the compiled kernel and numpy) against each
other and against scipy's connected components, in operated states with loops and parallels;
the switching preview's shortcut for openings against the full operate-and-undo path."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from openoms.grid.load import load_network
from openoms.grid.model import Network
from openoms.outages import _kernels
from openoms.outages.impact import Impact, ImpactAnalyser
from openoms.outages.switching import Operation, switching_effect
from openoms.samples import bundled_path

PARTS = (
    "node_index",
    "section_index",
    "transformer_area_index",
    "hv_customer_index",
    "sensitive_index",
    "feeder_index",
)


@cache
def _county() -> Network:
    return load_network(bundled_path("sample:county"))


def _analysers() -> tuple[ImpactAnalyser, ImpactAnalyser]:
    network = _county()
    return ImpactAnalyser(network, compiled=True), ImpactAnalyser(network, compiled=False)


def _same(a: Impact, b: Impact) -> None:
    assert a.opened == b.opened
    for part in PARTS:
        x, y = getattr(a, part), getattr(b, part)
        assert x.dtype == y.dtype == np.int32, part
        assert np.array_equal(x, y), part


def _energised(network: Network, closed: np.ndarray) -> np.ndarray:
    """Whether each node is connected to a busbar over closed branches (scipy: independent
    of the topology engine)."""
    n = len(network.nodes.id)
    edges = np.flatnonzero(closed)
    graph = coo_matrix(
        (np.ones(edges.size), (network.edge_from[edges], network.edge_to[edges])), shape=(n, n)
    )
    _, label = connected_components(graph, directed=False)
    return np.isin(label, label[network.substations.busbar_node])


def _expected(analyser: ImpactAnalyser, edges: list[int]) -> dict[str, set[int]]:
    """Everything an impact holds, from the connected components and the tables (not the
    analyser's index)."""
    network, topology = analyser.network, analyser.topology
    closed = np.array(topology.closed)
    before = _energised(network, closed)
    closed[edges] = False
    off = before & ~_energised(network, closed)
    n_sections = len(network.sections.id)
    sec = network.sections
    both = off[sec.from_node] & off[sec.to_node]
    sections = set(np.flatnonzero(both).tolist()) | {e for e in edges if e < n_sections}
    tas = np.flatnonzero(off[network.transformer_areas.node])
    hvs = np.flatnonzero(off[network.hv_customers.node])
    sc = network.sensitive_customers
    sensitive = np.flatnonzero(np.isin(sc.transformer_area, tas) | np.isin(sc.hv_customer, hvs))
    codes = topology.feeder_of_nodes[off]
    return {
        "node_index": set(np.flatnonzero(off).tolist()),
        "section_index": sections,
        "transformer_area_index": set(tas.tolist()),
        "hv_customer_index": set(hvs.tolist()),
        "sensitive_index": set(sensitive.tolist()),
        "feeder_index": set(codes[codes >= 0].tolist()),
    }


def _operate_both(pair: tuple[ImpactAnalyser, ImpactAnalyser], ops: list[tuple[int, bool]]) -> None:
    for analyser in pair:
        analyser.topology.operate(ops)


def test_compiled_and_numpy_agree_with_connected_components_in_operated_states() -> None:
    pair = _analysers()
    compiled, plain = pair
    assert compiled.compiled
    assert not plain.compiled
    network = compiled.network
    rng = random.Random(20261201)
    switches = list(range(len(network.sections.id), network.n_edges))
    for state in range(8):
        if state:  # flip a few switches: ties close (parallels, loops), sections open
            flips = rng.sample(switches, 6)
            _operate_both(pair, [(e, not bool(compiled.topology.closed[e])) for e in flips])
        sets = [[e] for e in rng.sample(range(network.n_edges), 150)]
        sets += [rng.sample(range(network.n_edges), rng.randint(2, 4)) for _ in range(50)]
        for edges in sets:
            ids = [network.edge_id(e) for e in edges]
            a, b = compiled.of_opening(ids), plain.of_opening(ids)
            _same(a, b)
            expected = _expected(compiled, edges)
            for part in PARTS:
                assert set(getattr(a, part).tolist()) == expected[part], (state, ids, part)
            assert a.as_dict() == b.as_dict()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_impact_of_any_node_set_is_the_same_both_ways(data: st.DataObject) -> None:
    """``impact_of_nodes`` takes any nodes (repeats, any order) and any opened edges."""
    compiled, plain = _cached_pair()
    network = compiled.network
    n_nodes = len(network.nodes.id)
    nodes = data.draw(st.lists(st.integers(0, n_nodes - 1), max_size=300))
    edges = data.draw(st.lists(st.integers(0, network.n_edges - 1), max_size=5))
    lost = np.asarray(nodes, dtype=np.int32)
    opened = np.asarray(edges, dtype=np.int32)
    a = compiled.impact_of_nodes(("x",), lost, opened)
    b = plain.impact_of_nodes(("x",), lost, opened)
    _same(a, b)
    assert a.node_index.tolist() == sorted(set(nodes))
    n_sections = len(network.sections.id)
    off = set(nodes)
    sec = network.sections
    assert set(a.section_index.tolist()) == {
        s for s in range(n_sections) if int(sec.from_node[s]) in off and int(sec.to_node[s]) in off
    } | {e for e in edges if e < n_sections}


@cache
def _cached_pair() -> tuple[ImpactAnalyser, ImpactAnalyser]:
    return _analysers()


def test_results_stay_valid_after_later_queries() -> None:
    compiled, _ = _analysers()
    network = compiled.network
    first = compiled.of_opening([network.switches.id[5]])
    kept = first.as_dict()
    for s in network.switches.id[:40]:
        compiled.of_opening([s])
    assert first.as_dict() == kept


@pytest.mark.parametrize("compiled", [True, False])
def test_openings_only_take_the_shortcut_and_match_the_full_path(compiled: bool) -> None:
    """An opening-only sequence in radial feeders is answered from the subtrees; appending a
    close of a closed switch (a no-op) forces operate-and-undo: the same lost set, nothing
    regained, transferred or looped, and the topology untouched."""
    network = _county()
    analyser = ImpactAnalyser(network, compiled=compiled)
    rng = random.Random(11)
    closed_switch = next(
        network.switches.id[i] for i, c in enumerate(network.switches.present_closed) if c
    )
    for state in range(4):
        if state:
            flips = rng.sample(range(len(network.sections.id), network.n_edges), 5)
            analyser.topology.operate([(e, not bool(analyser.topology.closed[e])) for e in flips])
        before = np.array(analyser.topology.feeder_of_nodes)
        for _ in range(40):
            edges = rng.sample(range(network.n_edges), rng.randint(1, 3))
            ops = [Operation(network.edge_id(e), close=False) for e in edges]
            fast = switching_effect(analyser, ops)
            full = switching_effect(analyser, [*ops, Operation(closed_switch, close=True)])
            _same(fast.lost, full.lost)
            assert np.array_equal(full.regained.node_index, fast.regained.node_index)
            assert np.array_equal(full.transferred.node_index, fast.transferred.node_index)
            assert fast.loops == full.loops == ()
            if analyser.subtrees(edges) is not None:  # the shortcut was taken
                assert not len(fast.regained.node_index)
                assert not len(fast.transferred.node_index)
            _same(fast.lost, analyser.of_opening([op.device for op in ops]))
            assert np.array_equal(analyser.topology.feeder_of_nodes, before)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 2**31 - 1), max_size=400) | st.lists(st.integers(0, 9), max_size=400),
    st.booleans(),
    st.sampled_from(["as drawn", "sorted", "reversed"]),
)
def test_the_kernel_sort_sorts(values: list[int], unique: bool, order: str) -> None:
    """The kernel's own sort (numba's takes seconds to compile), compiled and as Python, its
    heapsort fallback included (a depth limit of 0 takes it at once)."""
    drawn = sorted(values) if order == "sorted" else values[::-1] if order == "reversed" else values
    want = sorted(set(values)) if unique else sorted(values)
    _kernels.compiled()  # from now on the module's helpers are numba's dispatchers
    compiled_sort: Any = _kernels._sort
    for sort, depth in ((compiled_sort, 2), (compiled_sort.py_func, 2), (compiled_sort.py_func, 0)):
        a = np.array([7] * _kernels.HEADER + drawn + [9], dtype=np.int32)
        saved, _kernels._DEPTH_FACTOR = _kernels._DEPTH_FACTOR, depth  # (read by py_func)
        try:
            stop = sort(a, _kernels.HEADER, _kernels.HEADER + len(drawn), unique)
        finally:
            _kernels._DEPTH_FACTOR = saved
        assert a[_kernels.HEADER : stop].tolist() == want
        assert a[-1] == 9


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 5_000),
    st.lists(st.integers(0, 60), max_size=200) | st.lists(st.integers(0, 4_000), max_size=200),
    st.sampled_from(["as drawn", "sorted", "reversed"]),
)
def test_the_dense_sort_equals_the_kernel_sort(base: int, offsets: list[int], order: str) -> None:
    """``_sort_dense`` (marks read back in order when the values lie close together, the
    introsort otherwise) gives what ``_sort(..., unique=True)`` gives, compiled and as Python,
    and leaves its scratch marks as zeros."""
    values = [base + v for v in offsets]
    drawn = sorted(values) if order == "sorted" else values[::-1] if order == "reversed" else values
    _kernels.compiled()
    dense: Any = _kernels._sort_dense
    sort: Any = _kernels._sort
    start, stop = _kernels.HEADER, _kernels.HEADER + len(drawn)
    reference = np.array([7] * _kernels.HEADER + drawn + [9], dtype=np.int32)
    end = sort(reference, start, stop, True)
    assert reference[start:end].tolist() == sorted(set(values))
    for fn in (dense, dense.py_func):
        a = np.array([7] * _kernels.HEADER + drawn + [9], dtype=np.int32)
        scratch = np.zeros(base + 4_001, dtype=np.uint8)
        got = fn(a, start, stop, scratch)
        assert a[start:got].tolist() == reference[start:end].tolist()
        assert a[-1] == 9
        assert not scratch.any()
