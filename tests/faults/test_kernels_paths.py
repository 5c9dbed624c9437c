"""The two ways a lazy kernel runs (openoms.grid.jit) give the same answers.

A command answering one question on a county runs the kernels' Python source (numba is not
loaded); the service runs numba's machine code. Here both run on the same inputs and must
agree exactly (the same operations in the same order: equal floats, not close ones):

- the fault-location kernels on random trees and weights (hypothesis);
- the locator end to end (zone trees, report placement, scores, the DP) on random events on
  every feeder of the sample county and of IEEE 33 with an FTU per branch;
- the topology engine (build, operate, preview) on random networks and on random switching of
  the sample county.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openoms.faults import FaultLocator, Observation, Status, kernels
from openoms.faults.result import FaultLocation
from openoms.grid import Network, Topology, network_from_raw
from openoms.grid.jit import INTERPRETED_BUDGET, kernel_mode, runs_compiled
from openoms.grid.load import read_network_records
from openoms.samples import network_path
from tests.faults.test_kernels import Tree, trees
from tests.grid.test_topology import Net, nets

T = TypeVar("T")
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both(run: Callable[[], T]) -> tuple[T, T]:
    """``run()`` compiled, then interpreted."""
    with kernel_mode("compiled"):
        compiled = run()
    with kernel_mode("interpreted"):
        interpreted = run()
    return compiled, interpreted


def assert_same_arrays(left: Any, right: Any) -> None:
    if isinstance(left, tuple):
        assert isinstance(right, tuple)
        assert len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            assert_same_arrays(a, b)
    elif isinstance(left, np.ndarray):
        assert isinstance(right, np.ndarray)
        assert left.dtype == right.dtype
        np.testing.assert_array_equal(left, right)
    else:
        assert left == right


@PROPERTY
@given(tree=trees(max_zones=40), data=st.data())
def test_fault_kernels_give_the_same_answers(tree: Tree, data: st.DataObject) -> None:
    parent, order = tree
    n = parent.size
    values = st.floats(-8.0, 8.0, allow_nan=False)
    weight = np.array([data.draw(values) for _ in range(n)], dtype=np.float64)
    prior = np.array([data.draw(st.floats(0.1, 10.0)) for _ in range(n)])
    log_prior = np.log(prior / prior.sum())
    lam = data.draw(st.floats(0.2, 6.0))
    k = data.draw(st.integers(1, 4))
    faults = data.draw(st.lists(st.integers(0, n - 1), max_size=3))

    def run() -> tuple[Any, ...]:
        scores, first = kernels.single_fault_scores_and_best(parent, order, weight, log_prior)
        marked = np.zeros(n, dtype=np.bool_)
        kernels.mark_paths(parent, faults, marked)
        return (
            scores,
            first,
            kernels.subtree_sums(parent, order, weight),
            kernels.multi_fault_dp(parent, order, weight, lam),
            kernels.multi_fault_dp_limited(parent, order, weight, lam, k),
            kernels.summarise(scores, tie_tolerance=1e-9, min_posterior=1e-6),
            marked,
        )

    compiled, interpreted = both(run)
    assert_same_arrays(compiled, interpreted)


@PROPERTY
@given(data=st.data())
def test_report_placement_gives_the_same_answers(data: st.DataObject) -> None:
    n_detectors = data.draw(st.integers(1, 12))
    n_slots = data.draw(st.integers(0, n_detectors))
    slot_of = np.full(n_detectors, -1, dtype=np.int32)
    on_tree = data.draw(st.permutations(range(n_detectors)))[:n_slots]
    slot_of[on_tree] = np.arange(n_slots, dtype=np.int32)
    detector_of_slot = np.array(on_tree, dtype=np.int64)
    n_zones = max(n_slots, 1)
    zone = np.array([data.draw(st.integers(0, n_zones - 1)) for _ in range(n_slots)])
    w_alarm = np.array([data.draw(st.floats(-5.0, 5.0)) for _ in range(n_slots)])
    w_quiet = np.array([data.draw(st.floats(-5.0, 5.0)) for _ in range(n_slots)])
    directional = np.array([data.draw(st.booleans()) for _ in range(n_slots)], dtype=np.bool_)
    source_below = np.array([data.draw(st.booleans()) for _ in range(n_zones)], dtype=np.bool_)
    n = data.draw(st.integers(0, 15))  # reports: bad indexes, bad codes, repeats included
    det = np.array([data.draw(st.integers(-1, n_detectors)) for _ in range(n)], dtype=np.int64)
    status = np.array([data.draw(st.integers(-2, 2)) for _ in range(n)], dtype=np.int8)
    mode = data.draw(st.integers(0, 2))

    def run(inverse: Any = detector_of_slot) -> tuple[Any, ...]:
        out = np.zeros((2, n), dtype=np.int64)
        codes = np.zeros((2, n), dtype=np.int8)
        weights = np.zeros(n, dtype=np.float64)
        directions = np.zeros(n, dtype=np.bool_)
        ignored = np.zeros(n, dtype=np.int64)
        returned = kernels.place_reports(
            det,
            status,
            slot_of,
            inverse,
            zone.astype(np.int64),
            w_alarm,
            w_quiet,
            directional,
            source_below,
            mode,
            np.zeros(n_detectors, dtype=np.uint8),
            np.zeros(n_slots, dtype=np.uint8),
            out,
            codes,
            weights,
            directions,
            ignored,
        )
        return tuple(returned), out, codes, weights, directions, ignored

    compiled, interpreted = both(run)
    assert_same_arrays(compiled, interpreted)
    # the next-slot shortcut changes nothing: an inverse that never matches (every report
    # looked up by ``slot_of``) gives the same
    assert_same_arrays(run(np.full(n_slots, -2, dtype=np.int64)), compiled)
    # and reports in slot order (the shortcut taken) are placed as when looked up
    in_order = np.array(on_tree, dtype=np.int64)
    det, status = in_order, np.zeros(in_order.size, dtype=np.int8)
    n = in_order.size
    assert_same_arrays(run(), run(np.full(n_slots, -2, dtype=np.int64)))


@cache
def county() -> Network:
    return network_from_raw(read_network_records(network_path("sample:county")))


@cache
def ieee33() -> Network:
    from tests.faults.test_columns import ieee33_everywhere

    return ieee33_everywhere().network


def _events(network: Network, locator: FaultLocator, rng: random.Random) -> Iterator[Any]:
    """Random events on every feeder: alarms above a random zone (a few flipped), silences,
    no data, the options varied."""
    for feeder in network.feeders.id:
        zones = locator.zones_of_feeder(feeder)
        by_id = {z.id: z for z in zones}
        for _ in range(max(3, 60 // len(network.feeders.id))):
            zone = zones[rng.randrange(len(zones))]
            above: set[str] = set()
            while True:
                above.update(zone.detectors)
                if zone.parent is None:
                    break
                zone = by_id[zone.parent]
            observations = []
            loss = rng.random() < 0.15
            for detector in (d for z in zones for d in z.detectors):
                r = rng.random()
                if r < 0.1:
                    continue
                alarm = (detector in above) != (r < 0.15)
                if loss:
                    status = Status.NO_ALARM if alarm else Status.ALARM
                    extra: dict[str, Any] = {"loss_of_voltage_phases": ("A",)} if not alarm else {}
                else:
                    status = Status.ALARM if alarm else Status.NO_ALARM
                    extra = {"fault_phases": ("A", "B")} if alarm and r < 0.5 else {}
                observations.append(Observation(detector, status, **extra))
            options = {
                "max_faults": rng.choice([1, 1, 2, 3, len(zones)]),
                "trip_seen": rng.random() < 0.8,
                "reclosed": rng.choice([None, True, False]),
            }
            yield feeder, observations, options


@pytest.mark.parametrize("which", ["county", "ieee33"])
def test_the_locator_gives_the_same_answers(which: str) -> None:
    network = county() if which == "county" else ieee33()
    rng = random.Random(20261203)

    def run() -> list[FaultLocation]:
        topology = Topology.build(network.graph_arrays(), network.closed_edges())
        locator = FaultLocator(network, topology)
        answers = []
        for feeder, observations, options in _events(network, locator, random.Random(7)):
            answers.append(locator.locate(feeder, observations, **options))
        for feeder in network.feeders.id[:4]:  # bulk telemetry
            tree = locator.zone_tree(feeder)
            detectors = np.flatnonzero(tree.zone_of_detector >= 0).astype(np.int64)
            status = np.array([rng.choice([-1, 0, 0, 1]) for _ in detectors], dtype=np.int8)
            answers.append(locator.locate_status(feeder, detectors, status))
        return answers

    state = rng.getstate()
    compiled = run()
    rng.setstate(state)
    with kernel_mode("interpreted"):
        interpreted = run()
    rng.setstate(state)
    with kernel_mode("compiled"):
        forced = run()
    assert len(compiled) > 20
    assert interpreted == compiled
    assert forced == compiled


def _topology_trace(net: Net, rng: random.Random) -> list[Any]:
    """A build, then random operations and previews; every state array after each."""
    topology = Topology.build(net.graph, net.closed)
    trace: list[Any] = []

    def record() -> None:
        trace.append(
            (
                topology.feeder_of_nodes.tolist(),
                topology.parent_of_nodes.tolist(),
                topology.parent_edge_of_nodes.tolist(),
                topology.depth_of_nodes.tolist(),
                topology.loop_edges().tolist(),
                [topology.feeder_nodes(f).tolist() for f in range(net.graph.n_feeders)],
            )
        )

    record()
    n_edges = net.graph.edge_from.shape[0]
    for _ in range(6):
        if not n_edges:
            break
        edge = rng.randrange(n_edges)
        close = rng.random() < 0.5
        trace.append(sorted(topology.preview([(edge, close)]).lost.tolist()))
        topology.operate([(edge, close)])
        record()
    return trace


@PROPERTY
@given(net=nets, seed=st.integers(0, 2**16))
def test_the_topology_engine_gives_the_same_answers(net: Net, seed: int) -> None:
    compiled, interpreted = both(lambda: _topology_trace(net, random.Random(seed)))
    assert compiled == interpreted


def test_switching_the_county_gives_the_same_answers() -> None:
    network = county()
    net = Net(network.graph_arrays(), network.closed_edges())
    compiled, interpreted = both(lambda: _topology_trace(net, random.Random(11)))
    assert compiled == interpreted


def test_auto_runs_interpreted_until_the_budget_then_compiled() -> None:
    assert runs_compiled(INTERPRETED_BUDGET + 1)  # too large for the budget (or numba loaded)
    with kernel_mode("interpreted"):
        assert not runs_compiled(10**9)
    with kernel_mode("compiled"):
        assert runs_compiled(0)
    with pytest.raises(ValueError, match="kernel mode 'fast'"), kernel_mode("fast"):  # type: ignore[arg-type]
        pass


def test_report_codes_of_the_kernels_are_the_models() -> None:
    from openoms.faults import likelihood

    assert (kernels._QUIET, kernels._PLUS, kernels._MIXED) == (
        likelihood.QUIET,
        likelihood.PLUS,
        likelihood.MIXED,
    )


@PROPERTY
@given(data=st.data())
def test_contradicting_reports_match_the_mask_of_the_model(data: st.DataObject) -> None:
    """The one-pass kernel against ``flatnonzero(contradiction_mask(observed, expected))``
    (the model's definition, likelihood.py), compiled and interpreted."""
    from openoms.faults.likelihood import contradiction_mask

    n_zones = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(0, 30))
    zone = np.array([data.draw(st.integers(0, n_zones - 1)) for _ in range(n)], dtype=np.int64)
    observed = np.array([data.draw(st.integers(0, 3)) for _ in range(n)], dtype=np.int8)
    off = np.array([data.draw(st.sampled_from([0, 3, 4])) for _ in range(n)], dtype=np.int8)
    on_zone = np.array([data.draw(st.booleans()) for _ in range(n_zones)], dtype=np.bool_)
    expected = np.where(on_zone[zone], np.int8(2), off).astype(np.int8)
    want = np.flatnonzero(contradiction_mask(observed, expected))

    compiled, interpreted = both(lambda: kernels.contradicting(zone, observed, off, on_zone))
    assert_same_arrays(compiled, interpreted)
    assert compiled.tolist() == want.tolist()


def _check_by_masks(
    ids: Any, tree: Any, ev: Any, faults: list[int], ties: Any
) -> tuple[list[Any], Any, int]:
    """``evidence.check`` as it was before its one-pass kernel: masks over every report."""
    from openoms.faults.evidence import _contradicts_every_tie, expected_reports
    from openoms.faults.likelihood import QUIET, contradiction_mask, displayed
    from openoms.faults.result import Contradiction

    expected = expected_reports(tree, ev, faults)
    bad = contradiction_mask(ev.observed, expected)
    if ties is not None and ties.size > 1 and len(faults) == 1:
        bad &= _contradicts_every_tie(tree, ev, ties)
    contradictions = [
        Contradiction(
            ids[int(ev.detector[i])] if ev.detector[i] >= 0 else tree.ids[0],
            displayed(int(expected[i]), directional=bool(ev.directional[i])),
            displayed(int(ev.observed[i]), directional=bool(ev.directional[i])),
        )
        for i in np.flatnonzero(bad).tolist()
    ]
    contradictions.sort(key=lambda c: c.detector)
    good = ~bad
    consistent = ev.detail_alarm[good & (ev.detail_alarm >= 0) & (ev.observed != QUIET)]
    plain = int(np.count_nonzero(ev.plain_alarm & good))
    return contradictions, consistent, plain


@pytest.mark.parametrize("which", ["county", "ieee33"])
def test_check_matches_the_masks_over_every_report(which: str) -> None:
    """The contradictions, consistent detailed alarms and plain count of ``check`` (a kernel
    pass, then work on the few contradicting reports) equal the former masks over every report,
    on random events, hypotheses and ties; and the evidence placed in a reused workspace equals
    the evidence placed in fresh arrays."""
    from openoms.faults.evidence import check, gather

    network = county() if which == "county" else ieee33()
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    locator = FaultLocator(network, topology)
    rng = random.Random(11)
    ids = network.detectors.id
    compared = 0
    for feeder, observations, options in _events(network, locator, random.Random(5)):
        tree = locator.zone_tree(feeder)
        slots = locator._tree_devices(tree)
        trip_seen = bool(options["trip_seen"])
        ev = locator.evidence(tree, observations, trip_seen=trip_seen)
        work = slots.workspace(len(observations))
        for _ in range(2):  # the workspace used twice: no trace of the first use
            reused = gather(
                locator._devices, tree, slots, observations, trip_seen=trip_seen, work=work
            )
            for name in ("detector", "zone", "observed", "off", "directional", "weight"):
                assert_same_arrays(getattr(reused, name), getattr(ev, name))
            assert_same_arrays(reused.detail_alarm, ev.detail_alarm)
            assert_same_arrays(reused.plain_alarm, ev.plain_alarm)
        slots.release(work)
        for _ in range(4):
            faults = sorted(rng.sample(range(tree.n_zones), rng.choice([1, 1, 2, 3])))
            ties = np.array(
                sorted({faults[0], *rng.sample(range(tree.n_zones), rng.randrange(3))}),
                dtype=np.int64,
            )
            fast = check(ids, tree, ev, faults, ties=ties)
            slow = _check_by_masks(ids, tree, ev, faults, ties)
            assert fast[0] == slow[0]
            assert fast[1].tolist() == slow[1].tolist()
            assert fast[2] == slow[2]
            compared += 1
    assert compared > 40


@PROPERTY
@given(data=st.data())
def test_zone_weights_are_bincounts_floats(data: st.DataObject) -> None:
    """The compiled sum per zone and its numpy stand-in (``np.bincount``) give the same
    floats, in the same order of addition; and the same count of weighing reports."""
    n_zones = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(0, 30))
    zone = np.array([data.draw(st.integers(0, n_zones - 1)) for _ in range(n)], dtype=np.int64)
    values = st.one_of(st.just(0.0), st.floats(-1e3, 1e3, allow_nan=False))
    weight = np.array([data.draw(values) for _ in range(n)], dtype=np.float64)

    def run() -> tuple[Any, ...]:
        out = np.full(n_zones, np.nan)
        return kernels.zone_weights(zone, weight, out), out

    compiled, interpreted = both(run)
    assert_same_arrays(compiled, interpreted)
    assert compiled[1].tobytes() == np.bincount(zone, weight, minlength=n_zones).tobytes()
    assert compiled[0] == int(np.count_nonzero((zone > 0) & (weight != 0.0)))
