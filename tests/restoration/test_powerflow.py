"""The power-flow check itself: the band, ratings, and a scenario without solution in a batch
whose other scenarios still count."""

from __future__ import annotations

import numpy as np

from openoms.grid.load import check_raw
from openoms.grid.model import Network
from openoms.grid.topology import STATION, Topology
from openoms.restoration.powerflow import (
    MAX_LISTED,
    Limits,
    PowerFlowModel,
    ViolationKind,
)
from tests.restoration.networks import flisr_rows, raw_of


def network(r_ohm_per_km: float = 0.2) -> Network:
    rows = flisr_rows()
    for section in rows["sections"]:
        section["r_ohm_per_km"] = r_ohm_per_km
    result = check_raw(raw_of("flisr", rows))
    assert result.network is not None, result.problems
    return result.network


def everything(net: Network) -> tuple[np.ndarray, np.ndarray]:
    topology = Topology.build(net.graph_arrays(), net.closed_edges())
    nodes = np.arange(len(net.nodes.id), dtype=np.int32)
    return nodes, nodes[topology.feeder_of_nodes == STATION]


def test_voltages_outside_the_band_are_listed_worst_first() -> None:
    # A load-only radial network never rises above its source: with the busbars at 0.92 pu
    # every energised node (all 15) is below 0.93, and only the MAX_LISTED lowest are listed.
    net = network()
    nodes, sources = everything(net)
    (low,) = PowerFlowModel(net, Limits(source_u_pu=0.92)).check(
        nodes, sources, net.closed_edges(), [()]
    )
    assert {v.kind for v in low.violations} == {ViolationKind.UNDERVOLTAGE}
    assert len(low.violations) == MAX_LISTED
    values = [v.value for v in low.violations]
    assert values == sorted(values)
    assert low.min_u_pu == values[0] < 0.92
    # at 1.08 pu the busbars themselves are above 1.07
    (high,) = PowerFlowModel(net, Limits(source_u_pu=1.08)).check(
        nodes, sources, net.closed_edges(), [()]
    )
    over = {v.element for v in high.violations if v.kind is ViolationKind.OVERVOLTAGE}
    assert {"A0", "B0", "C0"} <= over


def test_a_scenario_without_solution_does_not_sink_the_batch() -> None:
    # r = 60 ohm/km: F1's 1,400 kW over 1 km at 10 kV would need a current the line cannot
    # pass (the load's P·R/U² ≈ 0.84 for s1 alone, beyond the ¼ limit of a radial line), so
    # the normal state has no solution; with CB1 open F1 is dead and F2, F3 (300 kW each on
    # 60 ohm: P·R/U² = 0.18) still solve, in the same batch.
    net = network(r_ohm_per_km=60.0)
    nodes, sources = everything(net)
    cb1 = net.edge_index("CB1")
    assert cb1 is not None
    normal, without_f1 = PowerFlowModel(net, Limits(source_u_pu=1.0)).check(
        nodes, sources, net.closed_edges(), [(), [(cb1, False)]]
    )
    assert not normal.converged
    assert normal.violations[0].kind is ViolationKind.NOT_CONVERGED
    assert without_f1.converged
    assert not without_f1.energised[nodes == net.locate("A8")[1]].any()
