"""The topology engine: hand-built cases, then properties against a brute-force BFS.

The brute force in this file reads the semantics off the module docstring of
``openoms.grid.topology`` and shares no code with the engine: adjacency lists, breadth-first
search, Python sets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from openoms.grid.topology import (
    DEAD,
    STATION,
    Change,
    GraphArrays,
    Loop,
    LoopKind,
    Topology,
    TopologyError,
)

Ints = NDArray[np.int32]
Bools = NDArray[np.bool_]


def _ints(values: Sequence[int]) -> Ints:
    return np.array(values, dtype=np.int32)


def _set(values: NDArray[np.int32]) -> set[int]:
    return {int(v) for v in values}


# -- a hand-built network -----------------------------------------------------------------------
#
#  substation A: source busbar 0, second busbar 11 through the bus coupler e11 (closed)
#    feeder 0: 0 ─e0(CB)─ 1 ─e1─ 2 ─e2─ 3        feeder 1: 0 ─e4(CB)─ 5 ─e5─ 6 ─e6─ 7
#                              └─e3─ 4
#    feeder 3: 11 ─e12(CB)─ 12 ─e13─ 13
#  substation B: source busbar 8
#    feeder 2: 8 ─e8(CB)─ 9 ─e9─ 10
#  ties (open): e7 3–7 (feeder 0–1), e10 4–10 (feeder 0–2), e14 1–3 (inside feeder 0)

EDGES = [
    (0, 1),  # e0  CB of feeder 0
    (1, 2),  # e1
    (2, 3),  # e2
    (2, 4),  # e3
    (0, 5),  # e4  CB of feeder 1
    (5, 6),  # e5
    (6, 7),  # e6
    (3, 7),  # e7  tie feeder 0 – feeder 1
    (8, 9),  # e8  CB of feeder 2
    (9, 10),  # e9
    (4, 10),  # e10 tie feeder 0 – feeder 2
    (0, 11),  # e11 bus coupler in substation A
    (11, 12),  # e12 CB of feeder 3
    (12, 13),  # e13
    (1, 3),  # e14 loop inside feeder 0
]
TIES = (7, 10, 14)


def hand_built(*, sources: Sequence[int] = (0, 8)) -> tuple[GraphArrays, Bools]:
    graph = GraphArrays(
        n_nodes=14,
        edge_from=_ints([a for a, _ in EDGES]),
        edge_to=_ints([b for _, b in EDGES]),
        source_nodes=_ints(sources),
        feeder_head=_ints([0, 4, 8, 12]),
    )
    closed = np.ones(len(EDGES), dtype=np.bool_)
    closed[list(TIES)] = False
    return graph, closed


@pytest.fixture
def topo() -> Topology:
    return Topology.build(*hand_built())


def snapshot(topo: Topology) -> list[NDArray[np.generic]]:
    """Every array of the state, copied (private state included: preview must restore it all)."""
    arrays: list[NDArray[np.generic]] = [topo.closed.copy(), topo._state.copy()]
    for f in range(topo.n_feeders):
        arrays += [topo.feeder_nodes(f).copy(), topo.loop_edges(feeder=f).copy()]
    return arrays


def assert_same(left: list[NDArray[np.generic]], right: list[NDArray[np.generic]]) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_energisation_and_feeders(topo: Topology) -> None:
    assert topo.feeder_of_nodes.tolist() == [-2, 0, 0, 0, 0, 1, 1, 1, -2, 2, 2, -2, 3, 3]
    assert topo.feeder_of(11) == STATION
    assert topo.is_energised(13)
    assert _set(topo.feeder_nodes(0)) == {1, 2, 3, 4}
    assert topo.feeder_nodes(0)[0] == 1  # the first node first
    assert topo.loop_edges().size == 0
    assert topo.depth_of_nodes[[0, 1, 2, 4]].tolist() == [0, 1, 2, 3]
    assert topo.parent_of_nodes[1] == 0
    assert topo.parent_edge_of_nodes[1] == 0


def test_dead_substation(topo: Topology) -> None:
    dead = Topology.build(*hand_built(sources=[0]))
    assert dead.feeder_of_nodes[[8, 9, 10]].tolist() == [DEAD] * 3
    assert not dead.is_energised(9)
    assert dead.feeder_nodes(2).size == 0
    assert dead.nodes_below_node(9).size == 0
    assert dead.nodes_below_edge(9).size == 0
    nodes, edges = dead.path_to_source(10)
    assert nodes.size == edges.size == 0


def test_subtrees(topo: Topology) -> None:
    assert _set(topo.nodes_below_edge(1)) == {2, 3, 4}
    assert topo.nodes_below_edge(1)[0] == 2
    assert topo.count_below_edge(1) == 3
    assert topo.edges_below_edge(1)[0] == 1
    assert _set(topo.edges_below_edge(1)) == {1, 2, 3}
    assert _set(topo.nodes_below_edge(0)) == {1, 2, 3, 4}  # the head: the whole feeder
    assert _set(topo.nodes_below_node(2)) == {2, 3, 4}
    assert topo.nodes_below_node(3).tolist() == [3]
    assert topo.is_tree_edge(3)
    for tie in TIES:
        assert topo.nodes_below_edge(tie).size == 0
        assert topo.count_below_edge(tie) == 0
        assert not topo.is_tree_edge(tie)


def test_station_zone_has_no_subtree(topo: Topology) -> None:
    with pytest.raises(TopologyError, match="station zone"):
        topo.nodes_below_node(0)
    with pytest.raises(TopologyError, match="station zone"):
        topo.nodes_below_edge(11)  # the bus coupler
    with pytest.raises(TopologyError, match="station zone"):
        topo.count_below_edge(11)
    with pytest.raises(TopologyError, match="station zone"):
        topo.edges_below_edge(11)
    assert not topo.is_tree_edge(11)


def test_returned_views_are_read_only(topo: Topology) -> None:
    for array in (topo.nodes_below_edge(1), topo.feeder_nodes(0), topo.feeder_of_nodes):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 5
    with pytest.raises(ValueError, match="read-only"):
        topo.closed[0] = False


def test_path_to_source(topo: Topology) -> None:
    nodes, edges = topo.path_to_source(4)
    assert nodes.tolist() == [4, 2, 1, 0]
    assert edges.tolist() == [3, 1, 0]
    nodes, edges = topo.path_to_source(13)
    assert nodes.tolist() == [13, 12, 11]
    assert edges.tolist() == [13, 12]
    nodes, edges = topo.path_to_source(8)
    assert nodes.tolist() == [8]
    assert edges.size == 0


def test_closing_a_loop_inside_a_feeder(topo: Topology) -> None:
    change = topo.operate([(14, True)])
    assert change.loops == (Loop(edge=14, kind=LoopKind.LOOP, feeders=(0,)),)
    assert change.lost.size == change.regained.size == change.transferred.size == 0
    assert change.touched_feeders == (0,)
    assert topo.feeder_of_nodes[[1, 2, 3, 4]].tolist() == [0] * 4
    (loop,) = topo.loop_edges().tolist()
    assert loop in {1, 2, 14}  # one edge of the cycle 1-2-3-1 is left out of the tree
    assert topo.nodes_below_edge(loop).size == 0


def test_closing_a_tie_between_live_feeders_is_a_parallel(topo: Topology) -> None:
    change = topo.operate([(7, True)])
    assert change.loops == (Loop(edge=7, kind=LoopKind.PARALLEL, feeders=(0, 1)),)
    # feeder 0 (lower index) claims all it reaches: feeder 1's head becomes the parallel edge
    assert _set(change.transferred) == {5, 6, 7}
    assert topo.loop_edges().tolist() == [4]
    assert topo.feeder_nodes(1).size == 0
    assert topo.nodes_below_edge(4).size == 0
    change = topo.operate([(6, False)])  # break the parallel again: feeder 1 takes 5, 6 back
    assert _set(change.transferred) == {5, 6}
    assert topo.feeder_of(7) == 0
    assert topo.loop_edges().size == 0


def test_open_a_section_then_restore_through_a_tie(topo: Topology) -> None:
    change = topo.preview([(1, False)])
    assert _set(change.lost) == {2, 3, 4}
    assert change.touched_feeders == (0,)
    change = topo.preview([(1, False), (10, True)])
    assert change.lost.size == 0
    assert _set(change.transferred) == {2, 3, 4}
    assert change.loops == ()
    change = topo.operate([(1, False)])
    assert _set(change.lost) == {2, 3, 4}
    change = topo.operate([(10, True)])
    assert _set(change.regained) == {2, 3, 4}
    assert topo.feeder_of(3) == 2
    nodes, edges = topo.path_to_source(3)
    assert nodes.tolist() == [3, 2, 4, 10, 9, 8]
    assert edges.tolist() == [2, 3, 10, 9, 8]


def test_back_feeding_a_dead_substation_through_its_feeder_head() -> None:
    topo = Topology.build(*hand_built(sources=[0]))
    change = topo.operate([(10, True)])
    assert _set(change.regained) == {8, 9, 10}
    assert topo.feeder_of(8) == 0  # the dead busbar is fed from feeder 0
    assert topo.path_to_source(8)[0].tolist() == [8, 9, 10, 4, 2, 1, 0]


def test_bus_coupler_falls_back_to_a_full_rebuild(topo: Topology) -> None:
    change = topo.preview([(11, False)])
    assert change.full_rebuild
    assert _set(change.lost) == {11, 12, 13}
    assert change.touched_feeders == (0, 1, 2, 3)
    change = topo.preview([(11, False), (12, False), (11, True)])
    assert _set(change.lost) == {12, 13}


def test_closing_a_feeder_head_onto_a_feeder_fed_from_elsewhere() -> None:
    graph, closed = hand_built()
    closed[[4, 7]] = [False, True]  # feeder 1's breaker open, its nodes fed through the tie
    topo = Topology.build(graph, closed)
    assert topo.feeder_of_nodes[[5, 6, 7]].tolist() == [0, 0, 0]
    change = topo.operate([(4, True)])
    assert change.loops == (Loop(edge=4, kind=LoopKind.PARALLEL, feeders=(STATION, 0)),)
    assert change.transferred.size == 0  # feeder 0 keeps them: it comes first
    assert topo.loop_edges().tolist() == [4]


def test_preview_leaves_the_state_bit_identical(topo: Topology) -> None:
    topo.operate([(14, True)])
    before = snapshot(topo)
    for ops in ([(1, False)], [(7, True), (3, False)], [(11, False), (10, True)], [(14, False)]):
        preview = topo.preview(ops)
        assert_same(snapshot(topo), before)
        copy = Topology.build(topo.graph, topo.closed.copy())
        assert_same_change(preview, copy.operate(ops))


def test_no_op_operations(topo: Topology) -> None:
    change = topo.operate([(1, True), (7, False)])
    assert change.touched_feeders == ()
    assert change.lost.size == 0
    assert topo.operate([]).loops == ()


def test_bad_operations_change_nothing(topo: Topology) -> None:
    before = snapshot(topo)
    with pytest.raises(TopologyError) as raised:
        topo.operate([(1, False), (99, True), (2, 1), (-1, False)])  # type: ignore[list-item]  # an int where a bool belongs, on purpose
    assert len(raised.value.problems) == 3
    assert "edge 99" in str(raised.value)
    assert_same(snapshot(topo), before)


def test_bad_indexes(topo: Topology) -> None:
    with pytest.raises(TopologyError, match="node 14"):
        topo.feeder_of(14)
    with pytest.raises(TopologyError, match="node -1"):
        topo.nodes_below_node(-1)
    with pytest.raises(TopologyError, match="edge 15"):
        topo.nodes_below_edge(15)
    with pytest.raises(TopologyError, match="feeder 4"):
        topo.feeder_nodes(4)


def test_graph_arrays_collect_every_problem() -> None:
    with pytest.raises(TopologyError) as raised:
        GraphArrays(
            n_nodes=3,
            edge_from=_ints([0, 1, 2]),
            edge_to=_ints([1, 1, 5]),
            source_nodes=_ints([]),
            feeder_head=_ints([0, 0, 7]),
        )
    text = str(raised.value)
    assert len(raised.value.problems) == 5
    for part in ("source_nodes is empty", "edge_to", "[2]=5", "join a node to itself", "[0]"):
        assert part in text


def test_closed_must_match_the_graph() -> None:
    graph, closed = hand_built()
    with pytest.raises(TopologyError, match="closed must be a bool array"):
        Topology.build(graph, closed[:-1])
    with pytest.raises(TopologyError, match="closed must be a bool array"):
        Topology.build(graph, closed.astype(np.int8))


def test_graph_arrays_are_frozen_int32_copies() -> None:
    edge_from = np.array([0, 1], dtype=np.int64)
    graph = GraphArrays(
        n_nodes=3,
        edge_from=edge_from,  # type: ignore[arg-type]  # int64 is accepted and converted
        edge_to=_ints([1, 2]),
        source_nodes=_ints([0]),
        feeder_head=_ints([0]),
    )
    assert graph.edge_from.dtype == np.int32
    edge_from[0] = 2
    assert graph.edge_from[0] == 0
    assert not graph.edge_to.flags.writeable


# -- brute force --------------------------------------------------------------------------------


def brute_codes(graph: GraphArrays, closed: Bools) -> list[int]:
    """Feeder code of every node, by breadth-first search over adjacency lists."""
    n = graph.n_nodes
    ends = list(zip(graph.edge_from.tolist(), graph.edge_to.tolist(), strict=True))
    heads = graph.feeder_head.tolist()
    is_head = set(heads)
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for e, (a, b) in enumerate(ends):
        if closed[e]:
            adjacency[a].append((b, e))
            adjacency[b].append((a, e))
    code = [DEAD] * n

    def flood(start: int, value: int, *, cross_heads: bool) -> None:
        code[start] = value
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for w, e in adjacency[v]:
                if code[w] == DEAD and (cross_heads or e not in is_head):
                    code[w] = value
                    queue.append(w)

    for s in graph.source_nodes.tolist():
        if code[s] == DEAD:
            flood(s, STATION, cross_heads=False)
    for f, h in enumerate(heads):
        a, b = ends[h]
        if not closed[h]:
            continue
        if code[a] == STATION and code[b] == DEAD:
            flood(b, f, cross_heads=True)
        elif code[b] == STATION and code[a] == DEAD:
            flood(a, f, cross_heads=True)
    return code


def brute_change(before: list[int], after: list[int]) -> tuple[set[int], set[int], set[int]]:
    on = [(b != DEAD, a != DEAD) for b, a in zip(before, after, strict=True)]
    lost = {v for v, (was, now) in enumerate(on) if was and not now}
    regained = {v for v, (was, now) in enumerate(on) if now and not was}
    moved = {v for v, (was, now) in enumerate(on) if was and now and before[v] != after[v]}
    return lost, regained, moved


def assert_same_change(left: Change, right: Change) -> None:
    for name in ("lost", "regained", "transferred"):
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name))
    assert left.loops == right.loops
    assert left.touched_feeders == right.touched_feeders
    assert left.full_rebuild == right.full_rebuild


# -- random networks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Net:
    graph: GraphArrays
    closed: Bools


def random_net(rnd: Random) -> Net:
    """Substations (some dead, some with a coupled second busbar), radial feeders from their
    busbars, random ties (a few to busbars), random open branches, random numbering."""
    n = 0
    edges: list[tuple[int, int]] = []
    closed: list[bool] = []
    heads: list[int] = []
    sources: list[int] = []
    busbars: list[int] = []
    members: list[int] = []
    for s in range(rnd.randint(1, 3)):
        station = [n]
        n += 1
        if rnd.random() < 0.3:  # a second busbar behind a coupler
            edges.append((station[0], n))
            closed.append(rnd.random() < 0.8)
            station.append(n)
            n += 1
        if s == 0 or rnd.random() < 0.7:
            sources.append(station[0])
        busbars += station
        for _ in range(rnd.randint(1, 3)):
            heads.append(len(edges))
            edges.append((rnd.choice(station), n))
            closed.append(rnd.random() < 0.9)
            feeder = [n]
            n += 1
            for _ in range(rnd.randint(0, 9)):
                edges.append((rnd.choice(feeder), n))
                closed.append(rnd.random() < 0.9)
                feeder.append(n)
                n += 1
            members += feeder
    for _ in range(rnd.randint(0, 6)):
        a = rnd.choice(members)
        b = rnd.choice(busbars if rnd.random() < 0.1 else members)
        if a != b:
            edges.append((a, b))
            closed.append(rnd.random() < 0.3)
    node = list(range(n))
    rnd.shuffle(node)
    place = list(range(len(edges)))
    rnd.shuffle(place)  # edge i goes to index place[i]
    edge_from = np.empty(len(edges), dtype=np.int32)
    edge_to = np.empty(len(edges), dtype=np.int32)
    state = np.empty(len(edges), dtype=np.bool_)
    for i, (u, w) in enumerate(edges):
        a, b = (w, u) if rnd.random() < 0.5 else (u, w)
        edge_from[place[i]], edge_to[place[i]], state[place[i]] = node[a], node[b], closed[i]
    rnd.shuffle(heads)
    graph = GraphArrays(
        n_nodes=n,
        edge_from=edge_from,
        edge_to=edge_to,
        source_nodes=_ints([node[s] for s in sources]),
        feeder_head=_ints([place[h] for h in heads]),
    )
    return Net(graph, state)


nets = st.builds(random_net, st.randoms(use_true_random=False))
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_against_brute_force(topo: Topology) -> None:
    """Every query of ``topo`` against the brute force (and the tree invariants)."""
    graph, closed = topo.graph, topo.closed
    codes = brute_codes(graph, closed)
    assert topo.feeder_of_nodes.tolist() == codes
    feeder, parent = topo.feeder_of_nodes, topo.parent_of_nodes
    parent_edge, depth = topo.parent_edge_of_nodes, topo.depth_of_nodes
    ends = list(zip(graph.edge_from.tolist(), graph.edge_to.tolist(), strict=True))

    # each feeder: its node set, and a tree of closed edges rooted at the head
    for f in range(graph.n_feeders):
        nodes = topo.feeder_nodes(f)
        assert _set(nodes) == {v for v, c in enumerate(codes) if c == f}
        assert len(set(nodes.tolist())) == nodes.size
    for v in range(graph.n_nodes):
        if codes[v] < 0:
            assert parent[v] == parent_edge[v] == -1
            assert depth[v] == (0 if codes[v] == STATION else -1)
            continue
        e, p = int(parent_edge[v]), int(parent[v])
        assert closed[e]
        assert set(ends[e]) == {v, p}
        if feeder[p] == STATION:
            assert depth[v] == 1
            assert e == graph.feeder_head[codes[v]]
        else:
            assert feeder[p] == codes[v]
            assert depth[v] == depth[p] + 1
        # the subtree is everything whose parent chain passes through v
        chain = {u for u in range(graph.n_nodes) if codes[u] == codes[v] and _passes(topo, u, v)}
        subtree = topo.nodes_below_node(v)
        assert subtree[0] == v
        assert _set(subtree) == chain
        assert subtree.size == len(chain)
        path_nodes, path_edges = topo.path_to_source(v)
        assert path_nodes.size == depth[v] + 1
        assert path_nodes[0] == v
        assert feeder[path_nodes[-1]] == STATION
        assert path_edges.tolist() == parent_edge[path_nodes[:-1]].tolist()

    # loop edges: closed, energised at both ends, not in a tree, not inside the station zone
    tree_edges = {int(parent_edge[v]) for v in range(graph.n_nodes) if codes[v] >= 0}
    expected_loops = {
        e
        for e, (a, b) in enumerate(ends)
        if closed[e]
        and DEAD not in (codes[a], codes[b])
        and (codes[a], codes[b]) != (STATION, STATION)
        and e not in tree_edges
    }
    loops = topo.loop_edges()
    assert loops.tolist() == sorted(expected_loops)
    loop_ends = {v for e in expected_loops for v in ends[e]}
    for e in expected_loops:
        a, b = ends[e]
        if codes[a] == codes[b] >= 0:  # a DFS tree: a non-tree edge joins an ancestor to a
            assert _passes(topo, a, b) or _passes(topo, b, a)  # descendant

    # what each edge feeds, and what opening it would cut off
    for e, (a, b) in enumerate(ends):
        after = closed.copy()
        after[e] = False
        lost = {
            v for v, c in enumerate(brute_codes(graph, after)) if c == DEAD and codes[v] != DEAD
        }
        assert _set(topo.preview([(e, False)]).lost) == lost
        assert topo.is_tree_edge(e) == (e in tree_edges)
        if closed[e] and codes[a] == codes[b] == STATION:
            with pytest.raises(TopologyError):
                topo.nodes_below_edge(e)
            continue
        below = topo.nodes_below_edge(e)
        assert topo.count_below_edge(e) == below.size
        if e not in tree_edges:
            assert below.size == 0
            continue
        assert topo.edges_below_edge(e).tolist() == parent_edge[below].tolist()
        assert lost <= _set(below)
        if not loop_ends & _set(below):  # radial below this edge: exact
            assert _set(below) == lost


def _passes(topo: Topology, u: int, v: int) -> bool:
    """Whether the parent chain of ``u`` reaches ``v``."""
    parent, feeder = topo.parent_of_nodes, topo.feeder_of_nodes
    while u >= 0 and feeder[u] >= 0:
        if u == v:
            return True
        u = int(parent[u])
    return False


@PROPERTY
@given(nets)
def test_queries_match_brute_force(net: Net) -> None:
    check_against_brute_force(Topology.build(net.graph, net.closed))


@PROPERTY
@given(nets, st.data())
def test_operations_match_a_fresh_build(net: Net, data: st.DataObject) -> None:
    topo = Topology.build(net.graph, net.closed)
    m = net.graph.n_edges
    op = st.tuples(st.integers(0, m - 1), st.booleans())
    batches = data.draw(st.lists(st.lists(op, max_size=4), min_size=1, max_size=5))
    for ops in batches:
        before = snapshot(topo)
        codes_before = topo.feeder_of_nodes.tolist()
        previewed = topo.preview(ops)
        assert_same(snapshot(topo), before)

        # the loops each operation should report, one operation at a time
        expected_loops: list[Loop] = []
        state = topo.closed.copy()
        for edge, close in ops:
            codes = brute_codes(net.graph, state)
            a, b = int(net.graph.edge_from[edge]), int(net.graph.edge_to[edge])
            if close and not state[edge] and DEAD not in (codes[a], codes[b]):
                same = codes[a] == codes[b] >= 0
                kind = LoopKind.LOOP if same else LoopKind.PARALLEL
                expected_loops.append(Loop(edge, kind, tuple(sorted({codes[a], codes[b]}))))
            state[edge] = close

        change = topo.operate(ops)
        assert_same_change(change, previewed)
        assert change.loops == tuple(expected_loops)
        np.testing.assert_array_equal(topo.closed, state)
        fresh = Topology.build(net.graph, state)
        assert_same(snapshot(topo), snapshot(fresh))
        lost, regained, moved = brute_change(codes_before, brute_codes(net.graph, state))
        assert _set(change.lost) == lost
        assert _set(change.regained) == regained
        assert _set(change.transferred) == moved
        for name in ("lost", "regained", "transferred"):
            values = getattr(change, name)
            assert np.all(np.diff(values) > 0)
            assert values.dtype == np.int32
    check_against_brute_force(topo)
