"""The fault-event lifecycle (state, alert state, trigger), tested over every pair of values."""

from __future__ import annotations

import pytest

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
from tests.lifecycle_checks import assert_exhaustive, check_pair, every_pair, without_way_out

E, A, T = FaultEventState, AlertState, FaultTrigger

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
    A.SKIPPED: {A.SENT, A.NO_CONTACT, A.NO_OUTAGE},  # a lockout after the transient
}
EXPECTED_TRIGGERS: dict[FaultTrigger, set[FaultTrigger]] = {T.ALARM: {T.TRIP}, T.TRIP: set()}


@pytest.mark.parametrize(("current", "target"), every_pair(E))
def test_every_state_pair(current: FaultEventState, target: FaultEventState) -> None:
    check_pair(transition, current, target, EXPECTED_STATES, refused=FaultTransitionError)


@pytest.mark.parametrize(("current", "target"), every_pair(A))
def test_every_alert_state_pair(current: AlertState, target: AlertState) -> None:
    check_pair(transition, current, target, EXPECTED_ALERTS, refused=FaultTransitionError)


@pytest.mark.parametrize(("current", "target"), every_pair(T))
def test_every_trigger_pair(current: FaultTrigger, target: FaultTrigger) -> None:
    check_pair(transition, current, target, EXPECTED_TRIGGERS, refused=FaultTransitionError)


def test_the_tables_are_the_expected_ones() -> None:
    """And every value is reached from the initial one(s), none stays put, each reaches a
    terminal one (no way out)."""
    for table, expected, initial in (
        (STATE_TRANSITIONS, EXPECTED_STATES, {INITIAL_STATE}),
        (ALERT_TRANSITIONS, EXPECTED_ALERTS, {INITIAL_ALERT_STATE}),
        (TRIGGER_TRANSITIONS, EXPECTED_TRIGGERS, INITIAL_TRIGGERS),
    ):
        assert_exhaustive(table, expected, initial=initial, terminal=without_way_out(table))


def test_the_values_are_the_stored_strings() -> None:
    assert [str(s) for s in E] == ["collecting", "located", "final"]
    assert [str(s) for s in A] == ["none", "sent", "no_contact", "no_outage", "skipped"]
    assert [str(s) for s in T] == ["alarm", "trip"]


def test_open_states_are_those_reports_still_join() -> None:
    assert {E.COLLECTING, E.LOCATED} == OPEN_STATES


def test_terminal_values_have_no_way_out() -> None:
    assert without_way_out(STATE_TRANSITIONS) == {E.FINAL}
    assert E.FINAL not in OPEN_STATES
    assert without_way_out(ALERT_TRANSITIONS) == {A.SENT, A.NO_CONTACT, A.NO_OUTAGE}
    assert without_way_out(TRIGGER_TRANSITIONS) == {T.TRIP}
