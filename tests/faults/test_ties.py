"""Tied zones: reported as ties, and a detector is a suspect only when it contradicts every
tied zone (not just the first of them). Network and weights: tests/faults/fork.py."""

from __future__ import annotations

import math

import pytest

from openoms.faults import Contradiction, FaultLocator, Observation, Status
from openoms.grid import Topology, network_from_raw
from tests.faults.fork import LN30_WEIGHT, QUIET_WEIGHT, fork_raw

A, Q = Status.ALARM, Status.NO_ALARM


@pytest.fixture(scope="module")
def locator() -> FaultLocator:
    network = network_from_raw(fork_raw())
    return FaultLocator(network, Topology.build(network.graph_arrays(), network.closed_edges()))


def test_two_sibling_alarms_tie_and_neither_is_a_suspect(locator: FaultLocator) -> None:
    # R, DC, DA and DB alarm. Relative to zone R (R's alarm is on every path):
    #   R: 1, DC: 30, DA: 30·30 = 900, DB: 30·30 = 900 → total 1831.
    # DA and DB share the best score: a tie, each 900/1831 = 0.49153.
    loc = locator.locate("F1", [Observation(d, A) for d in ("R", "DC", "DA", "DB")])
    total = 1 + LN30_WEIGHT + 2 * LN30_WEIGHT**2
    assert set(loc.ties) == {"DA", "DB"}
    assert loc.best[0] in loc.ties
    posterior = {c.zone: c.posterior for c in loc.candidates}
    assert posterior["DA"] == pytest.approx(900 / total)
    assert posterior["DB"] == pytest.approx(900 / total)
    # Under "fault in DA" DB's alarm is false, under "fault in DB" DA's is: each report is
    # explained by one tied zone, so no detector contradicts every tie. (The first tie alone
    # would have named the other branch's indicator as faulty.)
    assert loc.contradictions == ()
    assert loc.tied
    assert not loc.single_section


def test_a_detector_that_contradicts_every_tie_is_a_suspect(locator: FaultLocator) -> None:
    # DC (above both branches) reports no alarm while DA and DB alarm. Relative to R:
    #   R: 1, DC: q, DA: 30q, DB: 30q with q = 0.1/0.97 (DC's "no alarm" on their path).
    # DA and DB tie; each expects DC to alarm, so DC contradicts both: the one suspect.
    loc = locator.locate(
        "F1",
        [Observation("R", A), Observation("DC", Q), Observation("DA", A), Observation("DB", A)],
    )
    q = QUIET_WEIGHT
    total = 1 + q + 2 * LN30_WEIGHT * q
    assert set(loc.ties) == {"DA", "DB"}
    assert {c.zone: c.posterior for c in loc.candidates}["DA"] == pytest.approx(30 * q / total)
    assert loc.contradictions == (Contradiction("DC", "alarm", "no_alarm"),)


def test_without_a_tie_the_best_zone_decides_as_before(locator: FaultLocator) -> None:
    # R, DC, DA alarm, DB silent: DA = 900, DB = 30q, DC = 30, R = 1; DA is alone at the
    # top, and DB's "no alarm" agrees with it: no suspect.
    loc = locator.locate(
        "F1",
        [Observation("R", A), Observation("DC", A), Observation("DA", A), Observation("DB", Q)],
    )
    assert loc.ties == ("DA",)
    assert loc.contradictions == ()
    assert math.isclose(
        loc.candidates[0].posterior, 900 / (1 + 30 + 900 + 30 * QUIET_WEIGHT), rel_tol=1e-9
    )
