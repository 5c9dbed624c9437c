"""The fault_events repository: a typed update whose state, alert state and trigger move only
through the tables of faults/lifecycle.py; the event log's received time of an event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from openoms.events import Event, EventKind, EventSource
from openoms.faults.lifecycle import AlertState, FaultEventState, FaultTransitionError, FaultTrigger
from openoms.store import eventlog
from openoms.store.faults import (
    FaultEventNotFoundError,
    create_fault_event,
    get_fault_event,
    open_fault_events,
    update_fault_event,
)
from tests.store.conftest import T0

E, A, T = FaultEventState, AlertState, FaultTrigger
SEC = timedelta(seconds=1)


def _create(session: Session, trigger: FaultTrigger = T.ALARM) -> int:
    return create_fault_event(
        session,
        feeder_id="F1",
        trigger=trigger,
        t0=T0,
        open_edges=(3, 1),
        received_at=T0,
        now=T0,
    )


def test_a_new_event_starts_collecting_with_no_alert(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record = get_fault_event(session, _create(session))
    assert (record.state, record.alert_state, record.trigger) == (E.COLLECTING, A.NONE, T.ALARM)
    assert record.state is E.COLLECTING  # the enum, read back from the string column
    assert record.open_edges == (1, 3)


def test_the_workflow_path_goes_through(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        fault_id = _create(session)
        update_fault_event(session, fault_id, now=T0 + SEC, reports=1, located_zone="D1")
        update_fault_event(
            session,
            fault_id,
            now=T0 + 2 * SEC,
            trigger=T.TRIP,
            t0=T0 + SEC,
            breaker="CB1",
            lockout=True,
        )
        update_fault_event(
            session, fault_id, now=T0 + 3 * SEC, state=E.LOCATED, location={"best": ["D2"]}
        )
        assert [r.id for r in open_fault_events(session)] == [fault_id]
        update_fault_event(
            session, fault_id, now=T0 + 4 * SEC, alert_state=A.SENT, alerted_zone="D2"
        )
        update_fault_event(session, fault_id, now=T0 + 5 * SEC, state=E.FINAL)
        record = get_fault_event(session, fault_id)
        assert open_fault_events(session) == []
    assert (record.state, record.alert_state, record.trigger) == (E.FINAL, A.SENT, T.TRIP)
    assert (record.t0, record.breaker, record.lockout, record.reports) == (
        T0 + SEC,
        "CB1",
        True,
        1,
    )
    assert (record.located_zone, record.alerted_zone) == ("D1", "D2")
    assert record.location == {"best": ["D2"]}
    assert record.updated_at == T0 + 5 * SEC


def test_none_empties_a_nullable_field_and_omitted_fields_stay(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        fault_id = _create(session)
        update_fault_event(session, fault_id, now=T0, located_zone="D1", reports=4)
        update_fault_event(session, fault_id, now=T0, located_zone=None)
        record = get_fault_event(session, fault_id)
    assert (record.located_zone, record.reports) == (None, 4)


@pytest.mark.parametrize(
    ("before", "change"),
    [
        ({}, {"state": E.COLLECTING}),  # staying put is not a transition
        ({"state": E.FINAL}, {"state": E.LOCATED}),
        ({"state": E.LOCATED}, {"state": E.COLLECTING}),
        ({"alert_state": A.SKIPPED}, {"alert_state": A.NONE}),  # (skipped → sent: a lockout)
        ({"alert_state": A.SENT}, {"alert_state": A.NONE}),
        ({"trigger": T.TRIP}, {"trigger": T.ALARM}),
    ],
)
def test_a_forbidden_move_raises_and_changes_nothing(
    sessions: sessionmaker[Session], before: dict[str, object], change: dict[str, object]
) -> None:
    with sessions.begin() as session:
        fault_id = _create(session)
        update_fault_event(session, fault_id, now=T0, **before)  # type: ignore[arg-type]
        record = get_fault_event(session, fault_id)
        with pytest.raises(FaultTransitionError) as caught:
            update_fault_event(
                session,
                fault_id,
                now=T0 + SEC,
                reports=9,
                **change,  # type: ignore[arg-type]
            )
        assert get_fault_event(session, fault_id) == record
    [(field, target)] = change.items()
    assert (caught.value.current, caught.value.target) == (getattr(record, field), target)


def test_an_unknown_fault_event(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(FaultEventNotFoundError):
        update_fault_event(session, 999, now=T0, reports=1)


def test_the_received_time_of_a_logged_event(sessions: sessionmaker[Session]) -> None:
    event = Event(
        kind=EventKind.BREAKER_TRIP,
        source=EventSource.IEC104,
        device_id="CB1",
        device_time=T0,
        payload={},
    )
    with sessions.begin() as session:
        [event_id] = eventlog.append_events(session, [event], received_at=T0 + SEC).accepted
        assert eventlog.received_at(session, event_id) == T0 + SEC
        with pytest.raises(eventlog.EventNotFoundError):
            eventlog.received_at(session, event_id + 1)
