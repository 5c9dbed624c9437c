"""Calibration of per-device rates from confirmed locations, against hand counts."""

from __future__ import annotations

import json
import math

import pytest

from openoms.faults import (
    DeviceRates,
    FaultLocator,
    InvalidObservationError,
    Observation,
    Status,
    calibrate,
)
from openoms.grid import Topology
from tests.faults.cases import CASES, case_network


def locator(**options: object) -> FaultLocator:
    case = json.loads((CASES / "01_clean" / "case.json").read_text(encoding="utf-8"))
    network = case_network(case, "01_clean")
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    return FaultLocator(network, topology, prior="uniform", **options)  # type: ignore[arg-type]


def event_below_d10() -> list[Observation]:
    # fault confirmed in zone D10; D5 (stuck) never alarms
    return [
        Observation("D2", Status.ALARM, fault_phases=("A", "B")),
        Observation("D5", Status.NO_ALARM),
        Observation("D10", Status.ALARM, fault_phases=("A", "B")),
        Observation("D18", Status.NO_ALARM),
        Observation("D22", Status.NO_ALARM),
        Observation("D25", Status.NO_DATA),
    ]


def test_counts_by_hand() -> None:
    history = [(event_below_d10(), {"D10"})] * 12
    rates = calibrate(history, locator(), min_events=10)
    # D5: 12 expected alarms, 12 misses: m = 13/14; no expected silence: a stays 0.01
    assert rates["D5"] == DeviceRates(false_alarm=0.01, miss=13 / 14)
    # D2, D10: 12 expected alarms, 0 misses: m = 1/14
    assert rates["D2"] == DeviceRates(false_alarm=0.01, miss=1 / 14)
    assert rates["D10"] == rates["D2"]
    # D18, D22: 12 expected silences, 0 false alarms: a = 1/14; m stays 0.03
    assert rates["D18"] == DeviceRates(false_alarm=1 / 14, miss=0.03)
    # D25 had no data: not calibrated
    assert "D25" not in rates


def test_too_few_events_keep_the_defaults_and_feeder_can_be_given() -> None:
    history = [(event_below_d10(), {"D10"})] * 9
    assert calibrate(history, locator(), "F1", min_events=10) == {}
    assert calibrate(history, locator(), lambda _obs, _zones: "F1", min_events=9)["D5"].miss == (
        pytest.approx(10 / 11)
    )


def test_calibrated_rates_change_the_answer() -> None:
    # With D5 known to be stuck, its silence no longer counts against D10: a no-alarm weighs
    # ln(m/(1−a)) = ln((13/14)/0.99) = −0.064 instead of ln(0.03/0.99) = −3.4965.
    calibrated = calibrate([(event_below_d10(), {"D10"})] * 12, locator())
    stuck = locator(device_rates={"D5": calibrated["D5"]})
    result = stuck.locate("F1", event_below_d10())
    posteriors = {c.zone: c.posterior for c in result.candidates}
    w_d5 = math.log((13 / 14) / 0.99)
    # e^S: L1 1; D18 1/33; D2 97; D22 97/33; D5 97·e^w; D10 97²·e^w; D25 (no data) 97·e^w
    e = {
        "L1": 1.0,
        "D18": 1 / 33,
        "D2": 97.0,
        "D22": 97 / 33,
        "D5": 97 * math.exp(w_d5),
        "D10": 97**2 * math.exp(w_d5),
        "D25": 97 * math.exp(w_d5),
    }
    assert posteriors["D10"] == pytest.approx(e["D10"] / sum(e.values()), abs=1e-12)
    assert result.contradictions[0].detector == "D5"


def test_bad_history_is_named() -> None:
    with pytest.raises(InvalidObservationError, match=r"history\[0\]: no confirmed zone"):
        calibrate([(event_below_d10(), set())], locator())
    with pytest.raises(InvalidObservationError, match=r"history\[1\]: \['L7'\] are not zones"):
        calibrate([(event_below_d10(), {"D10"}), (event_below_d10(), {"L7"})], locator(), "F1")
