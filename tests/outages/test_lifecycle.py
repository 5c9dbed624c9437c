"""The outage lifecycle, tested over every pair of states."""

from __future__ import annotations

import itertools

import pytest

from openoms.outages.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    IllegalTransitionError,
    OutageState,
    transition,
)

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


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair(current: OutageState, target: OutageState) -> None:
    if target in EXPECTED[current]:
        assert transition(current, target) is target
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            transition(current, target)
        assert str(current) in str(caught.value)
        assert str(target) in str(caught.value)


def test_the_table_is_the_expected_one() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == EXPECTED


def test_open_states_are_those_where_customers_may_be_off() -> None:
    assert {
        S.DETECTED,
        S.LOCATED,
        S.CREW_DISPATCHED,
        S.CREW_ON_SITE,
        S.ISOLATED,
        S.PARTLY_RESTORED,
    } == OPEN_STATES


def test_every_state_reaches_closed_or_a_final_state() -> None:
    for state in S:
        seen, frontier = {state}, [state]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & {S.CLOSED, S.CANCELLED, S.MERGED}
