"""FaultLocator: zone trees on the operated state, switching, priors, errors, and the answer
against an exhaustive minimum-Hamming search on IEEE 33."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openoms.errors import UnknownDeviceError
from openoms.faults import (
    DeviceRates,
    FaultLocator,
    FaultType,
    InvalidObservationError,
    Observation,
    Status,
)
from openoms.grid import Network, Topology, network_from_raw
from tests.faults.cases import case_network
from tests.grid.small import small_raw, small_rows


def small_network(extra_detectors: Sequence[dict[str, Any]] = ()) -> Network:
    rows = small_rows()
    rows["detectors"] += list(extra_detectors)
    return network_from_raw(small_raw(rows))


def build(network: Network, **options: Any) -> tuple[FaultLocator, Topology]:
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    return FaultLocator(network, topology, **options), topology


def zone_map(locator: FaultLocator, feeder: str) -> dict[str, tuple[str | None, set[str]]]:
    return {z.id: (z.parent, set(z.edges)) for z in locator.zones_of_feeder(feeder)}


# -- zone trees ---------------------------------------------------------------------------


def test_zones_of_the_small_network() -> None:
    # F1: CB1 (no detector: implicit root) ─ s1 (D1) ─ K1 (D2) ─ s2; s3 and the fuse FU1 stay
    # in the root zone; the open tie T1 is in no zone.
    locator, _ = build(small_network())
    assert zone_map(locator, "F1") == {
        "CB1": (None, {"CB1", "s3", "FU1"}),
        "D1": ("CB1", {"s1"}),
        "D2": ("D1", {"K1", "s2"}),
    }
    root, d1, d2 = locator.zones_of_feeder("F1")
    assert root.implicit
    assert root.upstream_device == "CB1"
    assert root.downstream_devices == ("s1",)
    assert (d1.length_km, d2.length_km) == (1.0, 1.0)
    assert d2.detectors == ("D2",)
    # F2 has no detector at all: one implicit zone
    assert zone_map(locator, "F2") == {"CB2": (None, {"CB2", "s4"})}


def test_a_relay_on_the_head_starts_the_root_zone_with_colocated_devices() -> None:
    network = small_network(
        [
            {"id": "F0", "kind": "ftu", "branch": "CB1"},
            {"id": "R1", "kind": "relay", "branch": "CB1"},
        ]
    )
    locator, _ = build(network)
    root = locator.zones_of_feeder("F1")[0]
    assert (root.id, root.implicit, root.detectors) == ("R1", False, ("R1", "F0"))
    # both report on the root zone: a no-alarm from F0 weighs against every zone alike
    result = locator.locate(
        "F1",
        [
            Observation("R1", Status.ALARM, fault_phases=("A", "B")),
            Observation("F0", Status.NO_ALARM),
            Observation("D1", Status.ALARM, fault_phases=("A", "B")),
            Observation("D2", Status.NO_ALARM),
        ],
    )
    assert result.best == ("D1",)
    assert [c.detector for c in result.contradictions] == ["F0"]


def test_detector_on_an_open_switch_is_ignored_and_switching_reroots() -> None:
    network = small_network([{"id": "D9", "kind": "ftu", "branch": "T1"}])
    locator, topology = build(network)
    assert "D9" not in zone_map(locator, "F1")
    alarm = Observation("D1", Status.ALARM, fault_phases=("A", "B", "C"))
    result = locator.locate("F1", [alarm, Observation("D9", Status.NO_ALARM)])
    assert result.ignored == ("D9",)
    assert result.devices_no_data == 1  # D2 did not report
    # open K1: D2 leaves F1's tree after refresh()
    topology.operate([(network.edge_index("K1") or 0, False)])
    locator.refresh()
    assert set(zone_map(locator, "F1")) == {"CB1", "D1"}
    result = locator.locate("F1", [alarm, Observation("D2", Status.NO_ALARM)])
    assert result.ignored == ("D2",)
    assert result.best == ("D1",)


def test_closed_tie_to_a_live_feeder_is_a_detectable_source() -> None:
    # Close T1: F1 absorbs F3 (topology: the lower feeder index claims the other), F3's head
    # CB3 becomes a closed parallel with the station: a source below D2 (directional).
    network = small_network()
    locator, topology = build(network)
    topology.operate([(network.edge_index("T1") or 0, True)])
    locator.refresh()
    zones = zone_map(locator, "F1")
    assert zones["D2"][1] == {"K1", "s2", "T1", "s7", "s6", "s5"}
    with pytest.raises(InvalidObservationError, match="'F3' is not energised"):
        locator.locate("F3", [])
    # fault on s3 (root zone), fed from both ends: D2 (directional) reads −1, as expected
    # with the source below it; D1 (plain indicator) sees the back-fed current whether the
    # fault is below it or not, so its alarm weighs nothing: zones CB1 and D1 tie.
    observations = [
        Observation("D1", Status.ALARM, fault_phases=("A", "B")),
        Observation("D2", Status.ALARM, fault_phases=("A", "B"), direction=-1),
    ]
    result = locator.locate("F1", observations)
    assert result.best == ("CB1",)
    assert result.ties == ("CB1", "D1")
    assert result.contradictions == ()
    # hand (length prior: CB1 zone s3 1 km, D1 s1 1 km, D2 s2 + s5..s7 4 km):
    # CB1 1; D1 1 × 1 (weight 0); D2 4 × P(−1|+1)/P(−1|−1) = 4 × δ/(1−δ) = 4 × 0.005/0.995
    e = {"CB1": 1.0, "D1": 1.0, "D2": 4 * 0.005 / 0.995}
    total = sum(e.values())
    posteriors = {c.zone: c.posterior for c in result.candidates}
    for zone, value in e.items():
        assert posteriors[zone] == pytest.approx(value / total, abs=1e-12)


# -- priors -------------------------------------------------------------------------------


def ieee33(prior: str = "length", **options: Any) -> FaultLocator:
    case = json.loads(
        (
            __import__("pathlib").Path(__file__).parent.parent / "cases/locate/01_clean/case.json"
        ).read_text(encoding="utf-8")
    )
    network = case_network(case, "01_clean")
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    return FaultLocator(network, topology, prior=prior, **options)  # type: ignore[arg-type]


def test_without_reports_the_posterior_is_the_prior() -> None:
    # zone lengths 1, 3, 5, 8, 8, 3, 4 km of 32: P = length / 32 (all overhead)
    result = ieee33().locate("F1", [])
    posteriors = {c.zone: c.posterior for c in result.candidates}
    lengths = {"L1": 1, "D2": 3, "D5": 5, "D10": 8, "D25": 8, "D22": 3, "D18": 4}
    for zone, km in lengths.items():
        assert posteriors[zone] == pytest.approx(km / 32, abs=1e-12)
    assert set(result.ties) == {"D10", "D25"}
    # uniform: all seven tie at 1/7
    uniform = ieee33("uniform").locate("F1", [])
    assert [c.posterior for c in uniform.candidates] == pytest.approx([1 / 7] * 7)
    assert len(uniform.ties) == 7


def test_failure_rate_by_kind_weighs_the_prior() -> None:
    # cables fail at half the rate: nothing changes on an all-overhead feeder; a made-up
    # overhead rate of 0 leaves every zone at the 10 m floor, i.e. uniform.
    same = ieee33(failure_rate_per_km={"overhead": 0.3}).locate("F1", [])
    assert same.candidates[0].posterior == pytest.approx(8 / 32)
    floor = ieee33(failure_rate_per_km={"overhead": 0.0, "cable": 1.0}).locate("F1", [])
    assert floor.candidates[0].posterior == pytest.approx(1 / 7)


# -- several faults, limits -------------------------------------------------------------------


def test_max_faults_caps_the_tree_dp() -> None:
    # alarms on three leaves' paths: D10, D25 (via D2, D5) and D18 and D22
    locator = ieee33("uniform")
    observations = [
        Observation(d, Status.ALARM, fault_phases=("A", "B"))
        for d in ("D2", "D5", "D10", "D25", "D18", "D22")
    ]
    three = locator.locate("F1", observations, max_faults=4, extra_fault_probability=0.05)
    assert set(three.best) == {"D10", "D25", "D18", "D22"}
    two = locator.locate("F1", observations, max_faults=2, extra_fault_probability=0.05)
    assert len(two.best) == 2
    # the two left unexplained alarms are the contradictions
    assert len(two.contradictions) == 2


# -- the answer equals the exhaustive minimum-Hamming search ---------------------------------


@settings(max_examples=60, deadline=None)
@given(fault=st.integers(0, 32), flips=st.sets(st.integers(0, 32), max_size=3))
def test_locator_equals_exhaustive_minimum_hamming(fault: int, flips: set[int]) -> None:
    # IEEE 33 with an FTU on every branch (a zone per branch), a = m = 0.05, uniform prior:
    # score = constant − ln(0.95/0.05) × Hamming distance, so the best zones are exactly the
    # zones of minimum Hamming distance between observed and expected alarms.
    network = _every_branch()
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    locator = FaultLocator(
        network, topology, prior="uniform", rates={"ftu": DeviceRates(0.05, 0.05)}
    )
    zones = locator.zones_of_feeder("F1")
    ids = [z.id for z in zones]
    parent = {z.id: z.parent for z in zones}

    def path(zone: str) -> set[str]:
        out = set()
        current: str | None = zone
        while current is not None:
            out.add(current)
            current = parent[current]
        return out

    fault_zone = ids[fault % len(ids)]
    alarmed = path(fault_zone) ^ {ids[i % len(ids)] for i in flips}
    observations = [Observation(z, Status.ALARM if z in alarmed else Status.NO_ALARM) for z in ids]
    hamming = {z: len(path(z) ^ alarmed) for z in ids}
    best = min(hamming.values())
    result = locator.locate("F1", observations)
    assert set(result.ties) == {z for z, h in hamming.items() if h == best}
    assert hamming[result.best[0]] == best


def _every_branch() -> Network:
    rows = [{"id": f"D{k}", "kind": "ftu", "branch": f"L{k}"} for k in range(1, 33)]
    return case_network({"network": "sample:ieee33", "detectors": rows}, "every_branch")


# -- fault time, type, permanence, JSON ------------------------------------------------------


def test_fault_type_and_phases_vote_over_consistent_alarms() -> None:
    locator = ieee33("uniform")
    t0 = datetime(2025, 1, 15, 2, 10, tzinfo=UTC)
    observations = [
        Observation("D2", Status.ALARM, t0, ("B", "C"), earth_fault=True),
        Observation("D5", Status.ALARM, t0 + timedelta(seconds=1), ("B", "C", "A"), True),
        Observation("D10", Status.ALARM, t0 + timedelta(seconds=2), ("B", "C"), True),
    ]
    result = locator.locate("F1", observations, reclosed=None)
    # A flagged by one of three (not more than half): phases B, C with earth → two-phase earth
    assert (result.fault_type, result.phases) == (FaultType.TWO_PHASE_EARTH, ("B", "C"))
    assert result.fault_time == t0 + timedelta(seconds=1)
    assert result.permanent is None
    document = json.loads(json.dumps(result.as_dict()))
    assert document["fault_type"] == "two_phase_earth"
    assert document["fault_time"] == "2025-01-15T02:10:01+00:00"


# -- errors -------------------------------------------------------------------------------


def test_bad_observations_are_named_all_at_once() -> None:
    locator = ieee33()
    naive = datetime(2025, 1, 15, 2, 10)
    cst = datetime(2025, 1, 15, 10, 10, tzinfo=timezone(timedelta(hours=8)))
    with pytest.raises(InvalidObservationError) as caught:
        locator.locate(
            "F1",
            [
                Observation("nope", Status.NO_ALARM),
                Observation("L3", Status.NO_ALARM),
                Observation("D2", Status.ALARM, naive),
                Observation("D5", Status.ALARM, cst),
                Observation("D10", Status.ALARM, direction=2),
                Observation("D18", Status.NO_ALARM, fault_phases=("A",)),
                Observation("D22", Status.ALARM, fault_phases=("A", "D")),
                Observation("D22", Status.NO_ALARM),
            ],
        )
    text = str(caught.value)
    for expected in (
        "observations[0]: 'nope' is not a detector",
        "observations[1]: 'L3' is not a detector",
        "observations[2]: observation of detector 'D2': device_time 2025-01-15T02:10:00 "
        "must be aware UTC",
        "observations[3]: observation of detector 'D5': device_time",
        "observations[4]: observation of detector 'D10': direction 2 must be +1, -1 or None",
        "observations[5]: observation of detector 'D18': status no_alarm but fault flags",
        "observations[6]: observation of detector 'D22': fault_phases ('A', 'D')",
        "detectors reported more than once: ['D22']",
    ):
        assert expected in text
    assert len(caught.value.problems) == 8


def test_bad_options_and_settings_are_named() -> None:
    locator = ieee33()
    with pytest.raises(InvalidObservationError) as caught:
        locator.locate("F1", [], max_faults=0, extra_fault_probability=1.0, region_mass=0.0)
    assert len(caught.value.problems) == 3
    with pytest.raises(UnknownDeviceError, match="'F9'"):
        locator.locate("F9", [])
    with pytest.raises(UnknownDeviceError, match="'L1'"):
        locator.locate("L1", [])
    with pytest.raises(InvalidObservationError) as caught:
        ieee33(
            rates={"ftu": DeviceRates(false_alarm=1.5, miss=0.0)},
            device_rates={"L7": DeviceRates(0.01, 0.01)},
            extra_sources=["99", "L1"],
            failure_rate_per_km={"overhead": -1.0},
        )
    text = str(caught.value)
    for expected in (
        "rates['ftu']: false_alarm 1.5 must be a probability in (0, 1)",
        "rates['ftu']: miss 0.0 must be a probability in (0, 1)",
        "device_rates: 'L7' is not a detector",
        "extra_sources: '99' is not a node",
        "extra_sources: 'L1' is not a node",
        "failure_rate_per_km['overhead'] -1.0 must be finite, >= 0",
    ):
        assert expected in text
