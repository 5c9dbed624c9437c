"""Distributed generation in the locator: the network's generators by default, their
detection probability mixed into the "off" expectation, the old ``extra_sources`` forms.

Network, fault, reports and every expected posterior: tests/faults/dg_feeder.py (derived
there by hand).
"""

from __future__ import annotations

from typing import Any

import pytest

from openoms.faults import FaultLocator, Observation, Status
from openoms.faults.observations import InvalidObservationError
from openoms.grid.load import network_from_raw
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from tests.faults.dg_feeder import FEEDER, POSTERIORS, TRUE_ZONE, ZONES, dg_rows
from tests.grid.small import small_raw

AB = ("A", "B")
REPORTS = [
    Observation("D1", Status.ALARM, fault_phases=AB, direction=1),
    Observation("D2", Status.ALARM, fault_phases=AB, direction=-1),
    Observation("D3", Status.ALARM, fault_phases=AB),
]


def _network(kind: str | None, probability: float | None = None) -> Network:
    return network_from_raw(small_raw(dg_rows(kind, probability)))


def _locate(network: Network, **options: Any) -> tuple[str, dict[str, float]]:
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    location = FaultLocator(network, topology, **options).locate(FEEDER, REPORTS)
    posterior = {c.zone: c.posterior for c in location.candidates}
    return location.best[0], posterior


def _expected(q: float) -> dict[str, float]:
    return dict(zip(ZONES, POSTERIORS[q], strict=True))


def test_without_the_generator_the_fault_is_put_below_it() -> None:
    best, posterior = _locate(_network(None))
    assert best == "D3"  # wrong: the fault is in zone D1
    assert posterior == pytest.approx(_expected(0.0), abs=1e-6)


@pytest.mark.parametrize(("kind", "q"), [("inverter", 0.3), ("synchronous", 0.95)])
def test_a_declared_generator_puts_the_fault_back_with_its_kinds_probability(
    kind: str, q: float
) -> None:
    best, posterior = _locate(_network(kind))
    assert best == TRUE_ZONE
    assert posterior == pytest.approx(_expected(q), abs=1e-6)


def test_a_generator_s_own_probability_wins_over_its_kind() -> None:
    # an "inverter" declared with 0.95: the same answer as the synchronous default
    best, posterior = _locate(_network("inverter", 0.95))
    assert best == TRUE_ZONE
    assert posterior == pytest.approx(_expected(0.95), abs=1e-6)


def test_the_old_collection_form_means_always_detectable() -> None:
    # q = 1: e^w1 = 0.96515 / 0.00485 = 199, e^w2 = 0.00485 / 0.96515 = 1/199, e^w3 = 0.9 /
    # 0.9 = 1, so e^S = 1, 199, 1, 1 and Σ = 202: D1 199/202, the others 1/202 each.
    best, posterior = _locate(_network(None), extra_sources=["A7"])
    assert best == TRUE_ZONE
    assert posterior == pytest.approx(
        {"CB1": 1 / 202, "D1": 199 / 202, "D2": 1 / 202, "D3": 1 / 202}, abs=1e-9
    )
    assert _locate(_network(None), extra_sources="A7") == (best, posterior)


def test_a_mapping_replaces_the_network_s_generators() -> None:
    declared = _network("synchronous")
    assert _locate(declared, extra_sources={"A7": 0.3})[1] == pytest.approx(
        _expected(0.3), abs=1e-6
    )
    assert _locate(declared, extra_sources=())[1] == pytest.approx(_expected(0.0), abs=1e-6)
    # probability 0: never detectable, the same as no generator
    assert _locate(declared, extra_sources={"A7": 0.0})[1] == pytest.approx(
        _expected(0.0), abs=1e-6
    )


def test_reports_the_generator_explains_are_no_contradictions() -> None:
    network = _network("inverter")
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    location = FaultLocator(network, topology).locate(FEEDER, REPORTS)
    assert location.contradictions == ()  # D2's −1 and D3's alarm: "0 or −1" / either
    wrong = [REPORTS[0], Observation("D2", Status.ALARM, fault_phases=AB, direction=1)]
    location = FaultLocator(network, topology).locate(FEEDER, [*wrong, REPORTS[2]])
    assert location.best == ("D3",)  # D2 says +1: the fault is below it after all


def test_bad_sources_are_named() -> None:
    network = _network(None)
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    with pytest.raises(InvalidObservationError) as caught:
        FaultLocator(network, topology, extra_sources={"A7": 1.5, "s1": 0.5, "A4": True})
    assert caught.value.problems == (
        "extra_sources['A7']: probability 1.5 not in [0, 1]",
        "extra_sources: 's1' is not a node of 'small'",
        "extra_sources['A4']: probability True not in [0, 1]",
    )
