"""The faulted region a restoration plan isolates, from the locator's answer (sample county,
城关Ⅰ线): the located zones, tied ones together, without the switch the topmost zone starts
at (its DTU saw the fault current: the fault is beyond it)."""

from __future__ import annotations

import pytest

from openoms.faults.locator import FaultLocator
from openoms.faults.zones import Zone
from openoms.grid.load import load_network
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.samples import bundled_path
from openoms.service.restoration import region_of_zones, zones_of_location


@pytest.fixture(scope="module")
def county() -> tuple[Network, dict[str, Zone]]:
    network = load_network(bundled_path("sample:county"))
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    zones = FaultLocator(network, topology).zones_of_feeder("CG-F01")
    return network, {zone.id: zone for zone in zones}


def _ids(network: Network, edges: list[int]) -> list[str]:
    return sorted(network.edge_id(e) for e in edges)


def test_the_zones_are_the_best_and_every_tied_one() -> None:
    assert zones_of_location(None) == []
    assert zones_of_location({"best": ["A"], "ties": ["A"], "region": ["A", "B"]}) == ["A"]
    assert zones_of_location({"best": ["A"], "ties": ["A", "C"]}) == ["A", "C"]
    assert zones_of_location({"best": ["A", "B"], "ties": ["A"]}) == ["A", "B"]  # two faults


def test_a_zone_starting_at_a_switch_leaves_the_switch_out(
    county: tuple[Network, dict[str, Zone]],
) -> None:
    network, zones = county
    # zone CG-F01-K04-DTU = K04 (the DTU's switch) and the cable S0004 below it
    assert zones["CG-F01-K04-DTU"].edges == ("CG-F01-K04", "CG-F01-S0004")
    assert _ids(network, region_of_zones(network, [zones["CG-F01-K04-DTU"]])) == ["CG-F01-S0004"]
    # a zone starting on a section (an indicator on S0009) keeps the section
    fi01 = region_of_zones(network, [zones["CG-F01-FI01"]])
    assert "CG-F01-S0009" in _ids(network, fi01)


def test_tied_zones_are_one_region_with_the_switch_between_them(
    county: tuple[Network, dict[str, Zone]],
) -> None:
    network, zones = county
    tied = [zones["CG-F01-K04-DTU"], zones["CG-F01-K05-DTU"]]
    # K04 starts the upper zone: left out; K05 lies between the two: in the region
    assert _ids(network, region_of_zones(network, tied)) == [
        "CG-F01-K05",
        "CG-F01-K07",
        "CG-F01-S0004",
        "CG-F01-S0005",
        "CG-F01-S0006",
        "CG-F01-S0007",
        "CG-F01-S0008",
    ]
