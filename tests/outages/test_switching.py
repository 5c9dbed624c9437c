"""Switching sequences: lost, regained, transferred, loops and parallels; state left as it was."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np

from openoms.grid.load import load_network, network_from_raw
from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.switching import Operation, switching_effect
from openoms.samples import bundled_path
from tests.grid.small import small_raw


def _small() -> ImpactAnalyser:
    return ImpactAnalyser(network_from_raw(small_raw()))


def test_closing_a_tie_between_live_feeders_is_a_parallel_not_a_transfer() -> None:
    effect = switching_effect(_small(), [Operation("T1", close=True)])
    assert effect.lost.is_empty
    assert effect.regained.is_empty
    assert effect.transferred.is_empty
    [warning] = effect.loops
    assert (warning.device, warning.parallel, warning.feeders) == ("T1", True, ("F1", "F3"))
    assert (
        effect.summary(Lang.ZH) == "合上 T1后，用户供电不变；合上 T1 将使 F1、F3 并列（合环）运行。"
    )


def test_break_before_make_transfer() -> None:
    ops = [Operation("K1", close=False), Operation("T1", close=True)]
    effect = switching_effect(_small(), ops)
    assert effect.lost.is_empty
    assert effect.regained.is_empty
    assert effect.transferred.transformer_areas == ["TA2"]
    assert effect.transferred.hv_customers == ["HV1"]
    assert effect.loops == ()
    assert effect.summary(Lang.EN) == (
        "After open K1 and close T1: transferred to another feeder: 1 village, "
        "1 transformer area (35 LV customers) and 1 HV customer, about 360 kW of load, "
        "including 1 sensitive customer: 李村敬老院 (nursing home, 96 people)."
    )


def test_make_before_break_warns_of_the_parallel_and_transfers() -> None:
    ops = [Operation("T1", close=True), Operation("K1", close=False)]
    effect = switching_effect(_small(), ops)
    assert effect.transferred.transformer_areas == ["TA2"]
    assert [w.device for w in effect.loops] == ["T1"]


def test_restoring_a_dead_feeder_through_a_tie() -> None:
    analyser = _small()
    lost = switching_effect(analyser, [Operation("CB3", close=False)])
    assert lost.lost.transformer_areas == ["TA5"]
    both = switching_effect(analyser, [Operation("CB3", close=False), Operation("T1", close=True)])
    assert both.lost.is_empty
    assert both.transferred.transformer_areas == ["TA5"]


def test_closing_onto_a_dead_area_regains_it() -> None:
    network = network_from_raw(small_raw())
    analyser = ImpactAnalyser(network)
    analyser.topology.operate([(network.edge_index("CB3") or 0, False)])
    effect = switching_effect(analyser, [Operation("T1", close=True)])
    assert effect.regained.transformer_areas == ["TA5"]
    assert effect.summary(Lang.ZH).startswith("合上 T1后，恢复供电：1 个村、1 个台区")


def test_the_topology_is_left_exactly_as_it_was() -> None:
    analyser = _small()
    t = analyser.topology
    arrays = [
        t.closed,
        t.feeder_of_nodes,
        t.parent_of_nodes,
        t.parent_edge_of_nodes,
        t.depth_of_nodes,
    ]
    before = [a.copy() for a in arrays]
    switching_effect(
        analyser,
        [Operation("T1", close=True), Operation("K1", close=False), Operation("s2", close=False)],
    )
    for old, new in zip(before, arrays, strict=True):
        assert np.array_equal(old, new)


def _energised(network: Network, closed: np.ndarray) -> set[int]:
    graph = nx.Graph()
    graph.add_nodes_from(range(len(network.nodes.id)))
    for e in np.flatnonzero(closed).tolist():
        graph.add_edge(int(network.edge_from[e]), int(network.edge_to[e]))
    out: set[int] = set()
    for s in network.substations.busbar_node.tolist():
        out |= nx.node_connected_component(graph, s)
    return out


def test_random_sequences_on_the_sample_county_match_networkx() -> None:
    network = load_network(bundled_path("sample:county"))
    analyser = ImpactAnalyser(network)
    rng = random.Random(7)
    n_sections = len(network.sections.id)
    for _ in range(15):
        edges = rng.sample(range(n_sections, network.n_edges), 4)
        ops = [Operation(network.edge_id(e), close=rng.random() < 0.5) for e in edges]
        effect = switching_effect(analyser, ops)
        closed = network.closed_edges()
        before = _energised(network, closed)
        for e, op in zip(edges, ops, strict=True):
            closed[e] = op.close
        after = _energised(network, closed)
        assert set(effect.lost.node_index.tolist()) == before - after
        assert set(effect.regained.node_index.tolist()) == after - before
