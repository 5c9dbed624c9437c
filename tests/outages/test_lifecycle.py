"""The outage lifecycle, tested over every pair of states."""

from __future__ import annotations

import pytest

from openoms.outages.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    IllegalTransitionError,
    OutageState,
    transition,
)
from tests.lifecycle_checks import assert_exhaustive, check_pair, every_pair, without_way_out

S = OutageState

# The expected table, written out by hand (rows: from; columns: allowed to).
EXPECTED: dict[OutageState, set[OutageState]] = {
    S.DETECTED: {
        S.LOCATED,
        S.CREW_DISPATCHED,
        S.CREW_ON_SITE,
        S.ISOLATED,
        S.PARTLY_RESTORED,
        S.RESTORED,
        S.CANCELLED,
        S.MERGED,
    },
    S.LOCATED: {
        S.CREW_DISPATCHED,
        S.CREW_ON_SITE,
        S.ISOLATED,
        S.PARTLY_RESTORED,
        S.RESTORED,
        S.CANCELLED,
        S.MERGED,
    },
    S.CREW_DISPATCHED: {
        S.CREW_ON_SITE,
        S.ISOLATED,
        S.PARTLY_RESTORED,
        S.RESTORED,
        S.CANCELLED,
        S.MERGED,
    },
    S.CREW_ON_SITE: {S.ISOLATED, S.PARTLY_RESTORED, S.RESTORED, S.CANCELLED, S.MERGED},
    S.ISOLATED: {S.CREW_DISPATCHED, S.PARTLY_RESTORED, S.RESTORED, S.CANCELLED, S.MERGED},
    S.PARTLY_RESTORED: {
        S.ISOLATED,
        S.CREW_DISPATCHED,
        S.CREW_ON_SITE,
        S.RESTORED,
        S.CANCELLED,
        S.MERGED,
    },
    S.RESTORED: {S.CLOSED, S.LOCATED},
    S.CLOSED: {S.LOCATED},
    S.CANCELLED: set(),
    S.MERGED: set(),
}


@pytest.mark.parametrize(("current", "target"), every_pair(S))
def test_every_pair(current: OutageState, target: OutageState) -> None:
    check_pair(
        transition,
        current,
        target,
        EXPECTED,
        refused=IllegalTransitionError,
        says=f"an outage cannot go from {current} to {target}",
    )


def test_the_table_is_the_expected_one() -> None:
    """And every state is reached from detected, none stays put, and each reaches closed or a
    final state (cancelled, merged)."""
    assert_exhaustive(
        TRANSITIONS, EXPECTED, initial={S.DETECTED}, terminal={S.CLOSED, S.CANCELLED, S.MERGED}
    )
    assert without_way_out(TRANSITIONS) == {S.CANCELLED, S.MERGED}


def test_open_states_are_those_where_customers_may_be_off() -> None:
    assert {
        S.DETECTED,
        S.LOCATED,
        S.CREW_DISPATCHED,
        S.CREW_ON_SITE,
        S.ISOLATED,
        S.PARTLY_RESTORED,
    } == OPEN_STATES
