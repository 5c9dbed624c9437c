"""FLISR on the bundled sample county: every single-section fault of two feeders.

城关Ⅰ线 (CG-F01, 61 sections, ties to 柏山Ⅰ线 and 柏山Ⅱ线) and 城关Ⅶ线 (CG-F07, 93
sections, ties to 城关Ⅵ线 and 城关Ⅷ线). Each fault is planned from the normal state (the
trip assumed), and each chosen plan's end state is re-run in pandapower over the feeders it
involves, independently of the planner's model: no voltage outside ±7 % (busbars at
1.05 pu), no section above its ampacity, the zone dead, every restored node supplied.
"""

from __future__ import annotations

import numpy as np
import pytest

from openoms.grid.load import load_network
from openoms.grid.model import Network
from openoms.grid.topology import STATION, Topology
from openoms.restoration import RestorationPlan, RestorationPlanner
from openoms.samples import bundled_path
from tests.restoration.pp_check import PandapowerNet

FEEDERS = ("CG-F01", "CG-F07")


@pytest.fixture(scope="module")
def county() -> Network:
    return load_network(bundled_path("sample:county"))


def final_closed(net: Network, plan: RestorationPlan) -> np.ndarray:
    closed = net.closed_edges().copy()
    closed[list(plan.tripped)] = False
    for step in plan.steps:
        closed[step.edge] = step.close
    return closed


def involved_nodes(net: Network, topology: Topology, feeder: int) -> np.ndarray:
    """The feeder, every feeder one of its open ties reaches, and their busbars."""
    nodes = topology.feeder_nodes(feeder)
    mine = set(nodes.tolist())
    codes = topology.feeder_of_nodes
    feeders = {feeder}
    closed = topology.closed
    for e in np.flatnonzero(~closed).tolist():
        a, b = int(net.edge_from[e]), int(net.edge_to[e])
        if a in mine and codes[b] >= 0:
            feeders.add(int(codes[b]))
        if b in mine and codes[a] >= 0:
            feeders.add(int(codes[a]))
    parts = [topology.feeder_nodes(f) for f in sorted(feeders)]
    parts.append(np.flatnonzero(codes == STATION).astype(np.int32))
    return np.unique(np.concatenate(parts)).astype(np.int32)


@pytest.mark.slow
@pytest.mark.parametrize("feeder_id", FEEDERS)
def test_every_single_section_fault_is_planned_and_holds_in_pandapower(
    county: Network, feeder_id: str
) -> None:
    net = county
    topology = Topology.build(net.graph_arrays(), net.closed_edges())
    planner = RestorationPlanner(net)
    feeder = net.feeders.id.index(feeder_id)
    nodes = topology.feeder_nodes(feeder)
    sections = sorted(
        e for e in set(topology.parent_edge_of_nodes[nodes].tolist()) if not net.is_switch_edge(e)
    )
    independent = PandapowerNet(net, involved_nodes(net, topology, feeder), band=0.07)
    restored_faults = 0
    for section in sections:
        plan = planner.plan(topology, [section])
        name = net.sections.id[section]
        dark = int(planner._customers[plan.dark_nodes].sum())
        assert plan.customers_restored + dark == plan.customers_out, name
        closed = final_closed(net, plan)
        after = Topology.build(net.graph_arrays(), closed)
        assert (after.feeder_of_nodes[plan.zone_nodes] == -1).all(), f"{name}: zone energised"
        assert len(after.loop_edges()) == 0, f"{name}: a loop or parallel was closed"
        checked = independent.run(closed)
        assert checked.violations == [], f"{name}: {checked.violations}"
        assert set(plan.restored_nodes.tolist()) <= checked.supplied, name
        assert not set(plan.zone_nodes.tolist()) & checked.supplied, name
        for step in plan.steps:
            assert step.edge not in plan.failed
        restored_faults += plan.customers_restored > 0
    assert restored_faults > len(sections) // 2
