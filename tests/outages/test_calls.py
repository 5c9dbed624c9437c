"""Trouble-call analysis against hand-derived cases, and the one-pass roll-up against a brute
force count per device.

The test feeder (one substation, one feeder; LV customers in brackets)::

    A0 ─CB1─ A1 ─s1─ A2 ─FU1─ A3 ─s2─ A4            TA1 at A3 (10), TA2 + HV1 at A4 (10 + 1)
              │                                      TA6 at A1 (100)
              └─s3─ A5 ─K1─ A6 ─s4─ A7               TA3 at A6 (20), TA4 at A7 (20)
                     └─FU2─ A8                       TA5 at A8 (60)

Defaults: q = 0.10, ε = 0.001, λ = ln 10. Per caller a = ln(q/ε) = ln 100 = 4.605170; per
silent customer b = ln(0.9/0.999) = −0.104360; λ = 2.302585. A device is predicted when
S(D) − λ beats the best the devices below it can do; a lone call whose own area scores
S ≤ λ is screened as customer-side.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pytest

from openoms.errors import InputError
from openoms.grid.generate import generate_county
from openoms.grid.load import network_from_raw
from openoms.grid.records import Location, RawNetwork
from openoms.grid.topology import Topology
from openoms.outages.calls import (
    Call,
    CallMethod,
    CallOptions,
    CallTree,
    MeterEvidence,
    PredictionStatus,
    group_calls,
    prediction_status,
)
from tests.grid.small import small_raw

A = math.log(100.0)
B = math.log(0.9 / 0.999)
LAM = math.log(10.0)
T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


def _rows() -> dict[str, list[dict[str, Any]]]:
    nodes = [f"A{i}" for i in range(9)]
    sections = [("s1", "A1", "A2"), ("s2", "A3", "A4"), ("s3", "A1", "A5"), ("s4", "A6", "A7")]
    switches = [
        ("CB1", "A0", "A1", "breaker"),
        ("FU1", "A2", "A3", "fuse"),
        ("K1", "A5", "A6", "load_break_switch"),
        ("FU2", "A5", "A8", "fuse"),
    ]
    areas = [
        ("TA1", "A3", 10),
        ("TA2", "A4", 10),
        ("TA3", "A6", 20),
        ("TA4", "A7", 20),
        ("TA5", "A8", 60),
        ("TA6", "A1", 100),
    ]
    return {
        "substations": [{"id": "SA", "name": "甲变", "busbar_node": "A0"}],
        "feeders": [{"id": "F1", "name": "甲Ⅰ线", "substation": "SA", "head": "CB1"}],
        "nodes": [
            {"id": n, "kind": "busbar" if n == "A0" else "pole", "grid_cell": "G1"} for n in nodes
        ],
        "sections": [
            {"id": s, "from_node": a, "to_node": b, "kind": "overhead", "length_km": 1.0}
            for s, a, b in sections
        ],
        "switches": [
            {"id": k, "from_node": a, "to_node": b, "kind": kind, "normal_state": "closed"}
            for k, a, b, kind in switches
        ],
        "detectors": [],
        "transformer_areas": [
            {"id": ta, "name": f"{ta}台区", "node": n, "rated_kva": 200.0, "lv_customers": c}
            for ta, n, c in areas
        ],
        "hv_customers": [
            {"id": "HV1", "name": "砖厂", "node": "A4", "contracted_kva": 500.0},
        ],
        "sensitive_customers": [],
        "grid_cells": [{"id": "G1", "name": "网格", "crew": "抢修一班"}],
    }


@cache
def _tree() -> CallTree:
    raw = RawNetwork("calls")
    for table, items in _rows().items():
        for i, item in enumerate(items):
            raw.add(table, item, Location(f"calls/{table}.csv", row=i + 2))
    network = network_from_raw(raw)
    return CallTree(network, Topology.build(network.graph_arrays(), network.closed_edges()))


def _calls(*spec: tuple[str, int] | tuple[str, int, str]) -> list[Call]:
    """(unit id, minutes after T0[, account])."""
    tree = _tree()
    return [
        Call(tree.unit(s[0]), T0 + timedelta(minutes=s[1]), s[2] if len(s) > 2 else None)
        for s in spec
    ]


def _devices(prediction: Any) -> list[tuple[str, int, int]]:
    return [(o.device, o.customers_off, o.callers) for o in prediction.outages]


def test_calls_under_a_lateral_fuse_roll_up_to_the_fuse() -> None:
    # TA1 (10) one caller who calls twice (same account: one caller), TA2 (10) one caller.
    # Alone: S(TA1) = S(TA2) = a + 9b = 3.665929; each − λ = 1.363344, both 2.726688.
    # FU1 (TA1 + TA2 + HV1 = 21 customers, 2 callers): S = 2a + 19b = 7.227481,
    # − λ = 4.924896 > 2.726688 → FU1. CB1 (221 customers): 2a + 219b = −13.644 → no.
    calls = _calls(("TA1", 0, "acc-1"), ("TA1", 3, "acc-1"), ("TA2", 5, "acc-2"))
    prediction = _tree().predict(calls)
    assert _devices(prediction) == [("FU1", 21, 2)]
    [fuse] = prediction.outages
    assert fuse.score == pytest.approx(2 * A + 19 * B, abs=1e-6)
    assert fuse.calls == (0, 1, 2)
    assert fuse.transformer_areas == ("TA1", "TA2")
    assert fuse.hv_customers == ("HV1",)
    assert fuse.feeder == "F1"
    assert fuse.device_kind == "fuse"
    assert (fuse.first_call_at, fuse.last_call_at) == (calls[0].at, calls[2].at)
    assert fuse.status is PredictionStatus.PREDICTED  # 3 calls in 5 minutes
    assert prediction.screened == ()
    assert prediction.unexplained == ()
    # the rules: TA1 and TA2 out, two child units of FU1 → FU1; CB1 sees one child out
    rules = _tree().predict(calls, method=CallMethod.RULES)
    assert _devices(rules) == [("FU1", 21, 2)]


def test_calls_under_one_transformer_predict_that_transformer() -> None:
    # TA5 (60), two callers: S(TA5) = 2a + 58b = 3.157479 > λ → TA5 (S − λ = 0.854894).
    # FU2 above TA5 alone has the same score: a tie keeps the lower device, TA5.
    # K1 is not above TA5 (FU2 hangs off A5); CB1: 2a + 219b < 0.
    prediction = _tree().predict(_calls(("TA5", 0), ("TA5", 4)))
    assert _devices(prediction) == [("TA5", 60, 2)]
    assert prediction.outages[0].device_kind == "transformer_area"
    assert prediction.outages[0].score == pytest.approx(2 * A + 58 * B, abs=1e-6)
    assert _devices(_tree().predict(_calls(("TA5", 0), ("TA5", 4)), method=CallMethod.RULES)) == [
        ("TA5", 60, 2)
    ]


def test_two_simultaneous_outages() -> None:
    # FU1's case (4.924896 after λ) and TA5's (0.854894 after λ) together: their common
    # ancestor CB1 scores 4a + 217b = −4.225 − λ, far below 5.78, so both stand.
    calls = _calls(("TA1", 0), ("TA2", 1), ("TA5", 2), ("TA5", 3))
    prediction = _tree().predict(calls)
    assert _devices(prediction) == [("FU1", 21, 2), ("TA5", 60, 2)]
    assert [o.calls for o in prediction.outages] == [(0, 1), (2, 3)]


def test_a_closed_telemetered_switch_blocks_the_roll_up() -> None:
    # TA3 (20) and TA4 (20), one caller each: alone a + 19b = 2.622328 − λ = 0.319743 each
    # (0.639486 together); K1 (40 customers): 2a + 38b = 5.244657 − λ = 2.942072 → K1.
    calls = _calls(("TA3", 0), ("TA4", 2))
    assert _devices(_tree().predict(calls)) == [("K1", 40, 2)]
    assert _devices(_tree().predict(calls, method=CallMethod.RULES)) == [("K1", 40, 2)]
    # K1 telemetered closed: K1 and everything above it (CB1) are never predicted, so the
    # two areas stand on their own (each S − λ = 0.319743 > 0).
    blocked = _tree().predict(calls, telemetered_closed={"K1"})
    assert _devices(blocked) == [("TA3", 20, 1), ("TA4", 20, 1)]
    rules = _tree().predict(calls, telemetered_closed={"K1"}, method=CallMethod.RULES)
    assert _devices(rules) == [("TA3", 20, 1), ("TA4", 20, 1)]
    # the breaker telemetered closed blocks only itself: K1 is below it
    assert _devices(_tree().predict(calls, telemetered_closed={"CB1"})) == [("K1", 40, 2)]


def test_calls_split_by_the_time_window() -> None:
    # 30-minute window from each group's first call: 0 and 20 min together, 35 min is more
    # than 30 after 0 → a new group, and 60 min is 25 after 35 → with it.
    calls = _calls(("TA1", 0), ("TA2", 20), ("TA1", 35), ("TA3", 60))
    groups = _tree().group_calls(calls, window=timedelta(minutes=30))
    assert [g.calls for g in groups] == [(0, 1), (2, 3)]
    assert [(g.first_at, g.last_at) for g in groups] == [
        (calls[0].at, calls[1].at),
        (calls[2].at, calls[3].at),
    ]
    # another feeder's calls are grouped apart even at the same time
    split = group_calls(calls, [0, 1, 0, 0], window=timedelta(minutes=30))
    assert [(g.feeder, g.calls) for g in split] == [(0, (0,)), (1, (1,)), (0, (2, 3))]
    # the first group: FU1 (as above); the second: TA1 alone a + 9b − λ = 1.363344 > 0 and
    # TA3 alone a + 19b − λ = 0.319743 > 0; FU1 (2a... no: 1 caller, 21 customers)
    # a + 20b = 2.517968 − λ = 0.215383 < 1.363344; K1 a + 39b − λ = −1.767 → two areas.
    second = _tree().predict([calls[i] for i in groups[1].calls])
    assert _devices(second) == [("TA1", 10, 1), ("TA3", 20, 1)]


def test_a_lone_call_is_screened_as_customer_side() -> None:
    # TA6 (100), one caller: S(TA6) = a + 99b = −5.726467 ≤ λ, nothing above pays for it
    # (CB1: a + 220b < 0) → customer-side: one customer, no line crew.
    prediction = _tree().predict(_calls(("TA6", 0, "acc-9")))
    assert prediction.outages == ()
    [screened] = prediction.screened
    assert (screened.call, screened.unit_id) == (0, "TA6")
    assert screened.area_score == pytest.approx(A + 99 * B, abs=1e-6)
    # a last gasp from another TA6 meter: + ln(0.99/1e-4) = 9.200290 → S = 3.473823 > λ:
    # the area is off after all
    gasp = _tree().predict(
        _calls(("TA6", 0)), evidence=[MeterEvidence(_tree().unit("TA6"), last_gasp=1)]
    )
    assert _devices(gasp) == [("TA6", 100, 1)]
    assert gasp.screened == ()
    # TA1 (10) alone would be predicted (a + 9b − λ = 1.363344), but a neighbour's meter
    # answered a ping: + ln(1e-4/0.99) → S = −5.534361 → screened
    ping = _tree().predict(
        _calls(("TA1", 0)), evidence=[MeterEvidence(_tree().unit("TA1"), ping_on=1)]
    )
    assert ping.outages == ()
    assert [s.unit_id for s in ping.screened] == ["TA1"]
    # the rules screen the same lone call (its area's score is the same)
    assert [
        s.unit_id for s in _tree().predict(_calls(("TA6", 0)), method=CallMethod.RULES).screened
    ] == ["TA6"]


def test_several_callers_too_few_for_a_large_area_wait() -> None:
    # TA6 (100), two callers: 2a + 98b = −1.016 ≤ λ, not lone → unexplained, waiting
    prediction = _tree().predict(_calls(("TA6", 0), ("TA6", 1)))
    assert prediction.outages == ()
    assert prediction.screened == ()
    assert prediction.unexplained == (0, 1)


def test_status_predicted_probable_confirmed() -> None:
    options = CallOptions(probable_after=timedelta(minutes=15), probable_calls=5)
    at = T0
    assert (
        prediction_status(
            first_call_at=at, now=at + timedelta(minutes=14), calls=4, options=options
        )
        is PredictionStatus.PREDICTED
    )
    assert (
        prediction_status(
            first_call_at=at, now=at + timedelta(minutes=15), calls=1, options=options
        )
        is PredictionStatus.PROBABLE
    )
    assert (
        prediction_status(first_call_at=at, now=at, calls=5, options=options)
        is PredictionStatus.PROBABLE
    )
    assert (
        prediction_status(first_call_at=at, now=at, calls=1, confirmed=True)
        is PredictionStatus.CONFIRMED
    )
    later = _tree().predict(_calls(("TA5", 0), ("TA5", 4)), now=T0 + timedelta(minutes=20))
    assert later.outages[0].status is PredictionStatus.PROBABLE


def test_bad_input_is_named() -> None:
    with pytest.raises(InputError, match="call 0: unit 99"):
        _tree().predict([Call(99, T0)])
    with pytest.raises(InputError, match="caller_rate"):
        CallOptions(caller_rate=0.0005)
    with pytest.raises(InputError, match="not a transformer area"):
        _tree().unit("K1")


def _brute_force(tree: CallTree, calls: list[Call]) -> dict[int, tuple[int, int, float]]:
    """Per candidate edge: customers and distinct callers below from the topology's own
    subtree, one device at a time."""
    options = CallOptions()
    network, topology = tree.network, tree.topology
    out = {}
    for edge in np.flatnonzero(tree.candidate).tolist():
        nodes = set(topology.nodes_below_edge(edge).tolist())
        units = [u for u in range(len(tree.unit_ids)) if int(tree.unit_node[u]) in nodes]
        callers = {(c.unit, c.account or i) for i, c in enumerate(calls) if c.unit in set(units)}
        # an area with more callers than customers counts its callers (no fewer)
        customers = sum(
            max(int(tree.unit_customers[u]), sum(1 for who in callers if who[0] == u))
            for u in units
        )
        k = len(callers)
        score = k * options.call_llr + (customers - k) * options.silent_llr
        out[edge] = (customers, k, score)
    del network
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_one_pass_roll_up_equals_a_count_per_device(seed: int) -> None:
    network = network_from_raw(generate_county(seed=seed, substations=1, feeders_per_substation=3))
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    tree = CallTree(network, topology)
    rng = random.Random(seed)
    units = [u for u in range(len(tree.unit_ids)) if tree.pos[tree.unit_node[u]] >= 0]
    calls = [
        Call(rng.choice(units), T0 + timedelta(seconds=i), rng.choice([None, "a", "b"]))
        for i in range(60)
    ]
    # an account is per customer: make the ids unique per unit
    calls = [
        Call(c.unit, c.at, None if c.account is None else f"{c.unit}-{c.account}") for c in calls
    ]
    expected = _brute_force(tree, calls)
    rolled = tree.roll_up(calls)
    assert len(rolled.edges) == len(expected) > 10
    for edge, n, k, s in zip(
        rolled.edges.tolist(),
        rolled.customers.tolist(),
        rolled.callers.tolist(),
        rolled.score.tolist(),
        strict=True,
    ):
        assert (n, k) == expected[edge][:2]
        assert s == pytest.approx(expected[edge][2], abs=1e-6)
    # the prediction reports the same numbers for the devices it picks
    for outage in tree.predict(calls).outages:
        edge = network.edge_index(outage.device)
        if edge is not None:
            assert (outage.customers_off, outage.callers) == expected[edge][:2]
            assert outage.score == pytest.approx(expected[edge][2], abs=1e-5)


def test_small_network_with_an_open_tie() -> None:
    # the shared small network: TA2 (35) below K1 with HV1; two TA2 callers:
    # S(TA2) = 2a + 33b = 5.76 > λ; K1 (36): 2a + 34b = 5.662 < S(TA2) → TA2
    network = network_from_raw(small_raw())
    tree = CallTree(network, Topology.build(network.graph_arrays(), network.closed_edges()))
    calls = [Call(tree.unit("TA2"), T0), Call(tree.unit("TA2"), T0 + timedelta(minutes=1))]
    assert [o.device for o in tree.predict(calls).outages] == ["TA2"]


def test_meter_data_alone_and_no_calls() -> None:
    # no call, no evidence: nothing; a last gasp from 2 TA1 meters without calls:
    # 2 × 9.200290 + 10b = 17.357 > λ → TA1, dated by now=
    tree = _tree()
    assert tree.predict([]).outages == ()
    gasps = [MeterEvidence(tree.unit("TA1"), last_gasp=2)]
    with pytest.raises(InputError, match="give now="):
        tree.predict([], evidence=gasps)
    [only] = tree.predict([], evidence=gasps, now=T0).outages
    assert (only.device, only.calls, only.first_call_at) == ("TA1", (), T0)
