"""The fault-event lifecycle (state, alert state, trigger), tested over every pair of values."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from typing import TypeVar

import pytest

from openoms.errors import InputError
from openoms.faults.lifecycle import (
    ALERT_TRANSITIONS,
    INITIAL_ALERT_STATE,
    INITIAL_STATE,
    INITIAL_TRIGGERS,
    OPEN_STATES,
    STATE_TRANSITIONS,
    TRIGGER_TRANSITIONS,
    AlertState,
    FaultEventState,
    FaultTransitionError,
    FaultTrigger,
    transition,
)

E, A, T = FaultEventState, AlertState, FaultTrigger
L = TypeVar("L", FaultEventState, AlertState, FaultTrigger)

# The expected tables, written out by hand (rows: from; columns: allowed to).
EXPECTED_STATES: dict[FaultEventState, set[FaultEventState]] = {
    E.COLLECTING: {E.LOCATED, E.FINAL},
    E.LOCATED: {E.FINAL},
    E.FINAL: set(),
}
EXPECTED_ALERTS: dict[AlertState, set[AlertState]] = {
    A.NONE: {A.SENT, A.NO_CONTACT, A.NO_OUTAGE, A.SKIPPED},
    A.SENT: set(),
    A.NO_CONTACT: set(),
    A.NO_OUTAGE: set(),
    A.SKIPPED: set(),
}
EXPECTED_TRIGGERS: dict[FaultTrigger, set[FaultTrigger]] = {T.ALARM: {T.TRIP}, T.TRIP: set()}


def _check(current: L, target: L, expected: Mapping[L, set[L]]) -> None:
    if target in expected[current]:
        assert transition(current, target) is target
    else:
        with pytest.raises(FaultTransitionError) as caught:
            transition(current, target)
        assert isinstance(caught.value, InputError)
        assert (caught.value.current, caught.value.target) == (current, target)
        assert f"from {current} to {target}" in str(caught.value)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(E, E)))
def test_every_state_pair(current: FaultEventState, target: FaultEventState) -> None:
    _check(current, target, EXPECTED_STATES)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(A, A)))
def test_every_alert_state_pair(current: AlertState, target: AlertState) -> None:
    _check(current, target, EXPECTED_ALERTS)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(T, T)))
def test_every_trigger_pair(current: FaultTrigger, target: FaultTrigger) -> None:
    _check(current, target, EXPECTED_TRIGGERS)


def test_the_tables_are_the_expected_ones() -> None:
    assert {k: set(v) for k, v in STATE_TRANSITIONS.items()} == EXPECTED_STATES
    assert {k: set(v) for k, v in ALERT_TRANSITIONS.items()} == EXPECTED_ALERTS
    assert {k: set(v) for k, v in TRIGGER_TRANSITIONS.items()} == EXPECTED_TRIGGERS


def test_the_values_are_the_stored_strings() -> None:
    assert [str(s) for s in E] == ["collecting", "located", "final"]
    assert [str(s) for s in A] == ["none", "sent", "no_contact", "no_outage", "skipped"]
    assert [str(s) for s in T] == ["alarm", "trip"]


def test_open_states_are_those_reports_still_join() -> None:
    assert {E.COLLECTING, E.LOCATED} == OPEN_STATES


def _reachable(starts: Collection[L], table: Mapping[L, frozenset[L]]) -> set[L]:
    seen, frontier = set(starts), list(starts)
    while frontier:
        for nxt in table[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def test_every_value_is_reachable_from_the_initial_one() -> None:
    assert _reachable({INITIAL_STATE}, STATE_TRANSITIONS) == set(E)
    assert _reachable({INITIAL_ALERT_STATE}, ALERT_TRANSITIONS) == set(A)
    assert _reachable(INITIAL_TRIGGERS, TRIGGER_TRANSITIONS) == set(T)


def test_terminal_values_have_no_way_out() -> None:
    assert {s for s, out in STATE_TRANSITIONS.items() if not out} == {E.FINAL}
    assert E.FINAL not in OPEN_STATES
    assert {s for s, out in ALERT_TRANSITIONS.items() if not out} == {
        A.SENT,
        A.NO_CONTACT,
        A.NO_OUTAGE,
        A.SKIPPED,
    }
    assert {s for s, out in TRIGGER_TRANSITIONS.items() if not out} == {T.TRIP}


def _ends(table: Mapping[L, frozenset[L]]) -> None:
    for state, out in table.items():
        assert state not in out  # staying put is never a transition
        assert any(not table[s] for s in _reachable({state}, table))  # a terminal is reached


def test_no_value_stays_put_and_every_value_reaches_a_terminal_one() -> None:
    _ends(STATE_TRANSITIONS)
    _ends(ALERT_TRANSITIONS)
    _ends(TRIGGER_TRANSITIONS)
