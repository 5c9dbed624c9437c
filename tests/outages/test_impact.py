"""Outage impact: hand-checked on the small network, and against an independent networkx
computation on IEEE 33 and on the sample county."""

from __future__ import annotations

import random
from functools import cache

import networkx as nx
import numpy as np
import pytest

from openoms.errors import UnknownDeviceError, UnsupportedOperationError
from openoms.grid.load import load_network, network_from_raw
from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.outages.impact import ImpactAnalyser
from openoms.samples import bundled_path
from tests.grid.small import small_raw


@cache
def _analyser(name: str) -> ImpactAnalyser:
    network = network_from_raw(small_raw()) if name == "small" else load_network(bundled_path(name))
    return ImpactAnalyser(network)


def test_opening_a_trunk_switch_on_the_small_network() -> None:
    impact = _analyser("small").of_opening(["K1"])
    assert impact.nodes == ["A3", "A4"]
    assert impact.sections == ["s2"]
    assert impact.transformer_areas == ["TA2"]
    assert impact.hv_customers == ["HV1"]
    assert impact.lv_customers == 35
    assert impact.villages == ["李村"]
    assert impact.feeders == ["F1"]
    # TA2 200 kVA x 0.3 default load ratio + HV1 1000 kVA x 0.3
    assert impact.load_kw == pytest.approx(360.0)
    [home] = impact.sensitive_customers
    assert (home.id, home.people, home.supplied_by) == ("SC1", 96, "TA2")
    assert impact.summary(Lang.ZH) == (
        "断开 K1 后停电：1 个村、1 个台区（低压用户 35 户）、1 个高压用户，损失负荷约 360 kW，"
        "其中包括敏感用户 1 个：李村敬老院（敬老院，96 人）。"
    )
    assert impact.summary(Lang.EN) == (
        "Opening K1 cuts supply to 1 village, 1 transformer area (35 LV customers) and "
        "1 HV customer, about 360 kW of load, including 1 sensitive customer: "
        "李村敬老院 (nursing home, 96 people)."
    )


def test_opening_a_section_takes_it_and_everything_below() -> None:
    impact = _analyser("small").of_opening(["s1"])
    assert impact.nodes == ["A2", "A3", "A4"]
    assert impact.sections == ["s1", "s2"]
    assert impact.transformer_areas == ["TA1", "TA2"]


def test_opening_an_open_tie_or_nothing_below() -> None:
    impact = _analyser("small").of_opening(["T1"])
    assert impact.nodes == []
    assert impact.summary(Lang.EN) == "Opening T1 puts no customer off supply."


def test_bad_devices_are_named() -> None:
    analyser = _analyser("small")
    with pytest.raises(UnknownDeviceError, match="'K99'"):
        analyser.of_opening(["K1", "K99"])
    with pytest.raises(UnsupportedOperationError, match="TA1: is a transformer area"):
        analyser.of_opening(["TA1"])


def _networkx_lost(network: Network, opened: list[str]) -> set[str]:
    """Independent answer: components of the closed graph that touch a busbar."""
    graph = nx.MultiGraph()
    graph.add_nodes_from(network.nodes.id)
    closed = network.closed_edges()
    ids = [network.edge_id(e) for e in range(network.n_edges)]
    for e, (a, b) in enumerate(
        zip(network.edge_from.tolist(), network.edge_to.tolist(), strict=True)
    ):
        if closed[e]:
            graph.add_edge(network.nodes.id[a], network.nodes.id[b], key=ids[e])
    sources = [network.nodes.id[i] for i in network.substations.busbar_node.tolist()]

    def energised(g: nx.MultiGraph) -> set[str]:
        out: set[str] = set()
        for s in sources:
            out |= nx.node_connected_component(g, s)
        return out

    before = energised(graph)
    for device in opened:
        edge = network.edge_index(device)
        assert edge is not None
        a = network.nodes.id[network.edge_from[edge]]
        b = network.nodes.id[network.edge_to[edge]]
        if graph.has_edge(a, b, key=device):
            graph.remove_edge(a, b, key=device)
    return before - energised(graph)


def _check_against_networkx(analyser: ImpactAnalyser, opened: list[str]) -> None:
    network = analyser.network
    impact = analyser.of_opening(opened)
    lost = _networkx_lost(network, opened)
    assert set(impact.nodes) == lost, opened
    ta = network.transformer_areas
    assert set(impact.transformer_areas) == {
        ta.id[i] for i in range(len(ta.id)) if network.nodes.id[ta.node[i]] in lost
    }
    hv = network.hv_customers
    assert set(impact.hv_customers) == {
        hv.id[i] for i in range(len(hv.id)) if network.nodes.id[hv.node[i]] in lost
    }
    sec = network.sections
    assert set(impact.sections) == {
        sec.id[i]
        for i in range(len(sec.id))
        if (network.nodes.id[sec.from_node[i]] in lost and network.nodes.id[sec.to_node[i]] in lost)
        or sec.id[i] in opened
    }


@pytest.mark.parametrize("branch", [f"L{i}" for i in range(1, 33)] + ["T33", "T37"])
def test_ieee33_single_openings_match_networkx(branch: str) -> None:
    _check_against_networkx(_analyser("sample:ieee33"), [branch])


def test_ieee33_known_opening() -> None:
    # Baran & Wu (1989) branch table: branch 2 joins buses 2-3; the laterals 3-23 (to 25) and
    # 6-26 (to 33) hang below bus 3, the lateral 2-19 (to 22) does not. So opening branch 2
    # cuts buses 3..18 and 23..33 and leaves 1, 2 and 19..22 on.
    impact = _analyser("sample:ieee33").of_opening(["L2"])
    assert sorted(impact.nodes, key=int) == [str(b) for b in [*range(3, 19), *range(23, 34)]]
    assert len(impact.transformer_areas) == 27  # one per loaded bus 3..18 and 23..33


def test_sample_county_openings_match_networkx() -> None:
    analyser = _analyser("sample:county")
    network = analyser.network
    rng = random.Random(20261128)
    switches = [
        s
        for s, closed in zip(network.switches.id, network.switches.present_closed, strict=True)
        if closed
    ]
    cases = [[s] for s in rng.sample(switches, 40)]
    cases += [rng.sample(switches, 3) for _ in range(10)]
    cases += [[s] for s in rng.sample(list(network.sections.id), 20)]
    for opened in cases:
        _check_against_networkx(analyser, opened)


def test_sample_county_feeder_breakers_cover_their_feeders() -> None:
    analyser = _analyser("sample:county")
    network = analyser.network
    total = 0
    for f, head in enumerate(network.feeders.head_edge.tolist()):
        impact = analyser.of_opening([network.edge_id(head)])
        assert impact.feeders == [network.feeders.id[f]]
        total += len(impact.transformer_areas)
    assert total == len(network.transformer_areas.id)
    assert np.all(analyser.topology.feeder_of_nodes >= -2)


def test_radial_fast_path_equals_the_preview() -> None:
    """Opening on a radial state takes subtrees; it must agree with a full preview."""
    network = load_network(bundled_path("sample:county"))
    analyser = ImpactAnalyser(network)
    rng = random.Random(3)
    sets = [[e] for e in range(network.n_edges)]
    sets += [rng.sample(range(network.n_edges), 3) for _ in range(200)]
    for edges in sets:
        fast = analyser._radial_lost(edges)
        assert fast is not None
        exact = np.sort(analyser.topology.preview([(e, False) for e in edges]).lost)
        assert np.array_equal(fast, exact), edges


def test_with_a_parallel_closed_opening_falls_back_to_the_exact_preview() -> None:
    network = network_from_raw(small_raw())
    analyser = ImpactAnalyser(network)
    tie = network.edge_index("T1")
    assert tie is not None
    analyser.topology.operate([(tie, True)])  # F1 and F3 in parallel
    k1 = network.edge_index("K1")
    assert k1 is not None
    assert analyser._radial_lost([k1]) is None
    # A3 and A4 stay fed from F3 through the tie: nobody is off.
    assert analyser.of_opening(["K1"]).nodes == []
    assert analyser.of_opening(["K1", "T1"]).nodes == ["A3", "A4"]
