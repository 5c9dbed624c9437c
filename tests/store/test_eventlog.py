"""The event log: idempotent appends, processing marks, dead letters."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from openoms.errors import InputError
from openoms.events import Event, EventKind, EventSource
from openoms.store.deadletters import (
    NewDeadLetter,
    add_dead_letter,
    add_dead_letters,
    dead_letter_counts,
)
from openoms.store.eventlog import (
    CHUNK_ROWS,
    EventNotFoundError,
    append_events,
    event_counts,
    last_device_time,
    last_device_times,
    mark_processed,
    processed_events,
    stored_keys,
    unprocessed_events,
)
from openoms.store.tables import DeadLetter, EventRow
from tests.store.conftest import T0

SEC = timedelta(seconds=1)


def _report(device: str, seconds: int, **payload: object) -> Event:
    return Event(
        kind=EventKind.INDICATOR_REPORT,
        source=EventSource.MQTT,
        device_id=device,
        device_time=T0 + seconds * SEC,
        payload={"phases": ["a"], **payload},
    )


def _trip(device: str, seconds: int, key: str = "") -> Event:
    return Event(
        kind=EventKind.BREAKER_TRIP,
        source=EventSource.IEC104,
        device_id=device,
        device_time=T0 + seconds * SEC,
        payload={"lockout": True},
        idempotency_key=key,
    )


def _stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EventRow)) or 0


def test_events_are_stored_once_whatever_the_redelivery(sessions: sessionmaker[Session]) -> None:
    a, b, c = _report("FI-1", 0), _report("FI-2", 1), _trip("CB1", 2, key="msg-17")
    with sessions.begin() as session:
        first = append_events(session, [a, b, a, c], received_at=T0 + 5 * SEC)
    assert len(first.accepted) == 3
    assert first.accepted == tuple(sorted(first.accepted))  # ids in input order
    assert first.duplicates == (a.idempotency_key,)
    again = _trip("CB1", 9, key="msg-17")  # same sender message id, another body
    d = _report("FI-3", 3)
    with sessions.begin() as session:
        second = append_events(session, [b, d, again, d], received_at=T0 + 6 * SEC)
        assert _stored(session) == 4
    assert len(second.accepted) == 1
    assert second.accepted[0] > max(first.accepted)
    assert second.duplicates == (b.idempotency_key, "msg-17", d.idempotency_key)
    with sessions.begin() as session:
        assert append_events(session, [], received_at=T0).accepted == ()
        with pytest.raises(InputError, match="aware"):
            append_events(session, [d], received_at=T0.replace(tzinfo=None))


def test_events_come_back_as_they_went_in(sessions: sessionmaker[Session]) -> None:
    event = Event(
        kind=EventKind.TROUBLE_CALL,
        source=EventSource.HTTP,
        device_id=None,
        device_time=T0 + 123456 * timedelta(microseconds=1),
        payload={"transformer_area": "TA2", "address": "李村东头", "nested": {"n": [1, 2.5]}},
    )
    with sessions.begin() as session:
        (event_id,) = append_events(session, [event], received_at=T0).accepted
    with sessions() as session:
        assert unprocessed_events(session) == [(event_id, event)]
        row = session.get_one(EventRow, event_id)
    assert row.received_at == T0
    assert row.device_time.tzinfo is not None


def test_a_large_batch_goes_in_chunks(sessions: sessionmaker[Session]) -> None:
    events = [_report(f"FI-{i % 7}", i) for i in range(CHUNK_ROWS + 250)]
    with sessions.begin() as session:
        result = append_events(session, events + events[:10], received_at=T0)
    assert len(result.accepted) == CHUNK_ROWS + 250
    assert list(result.accepted) == sorted(result.accepted)
    assert result.duplicates == tuple(e.idempotency_key for e in events[:10])
    with sessions() as session:
        logged = unprocessed_events(session, limit=CHUNK_ROWS + 300)
    assert [event for _, event in logged] == events


def test_processing_marks(sessions: sessionmaker[Session]) -> None:
    events = [_report("FI-1", 0), _trip("CB1", 1), _report("FI-1", 2)]
    with sessions.begin() as session:
        ids = append_events(session, events, received_at=T0).accepted
    with sessions.begin() as session:
        assert [i for i, _ in unprocessed_events(session, limit=2)] == list(ids[:2])
        mark_processed(session, ids[1], at=T0 + 10 * SEC, outcome="outage 1: " + "x" * 300)
    with sessions.begin() as session:
        assert [i for i, _ in unprocessed_events(session)] == [ids[0], ids[2]]
        assert list(processed_events(session)) == [events[1]]
        assert list(processed_events(session, kinds=[EventKind.INDICATOR_REPORT])) == []
        row = session.get_one(EventRow, ids[1])
        assert (row.processed_at, len(row.outcome or "")) == (T0 + 10 * SEC, 200)
        with pytest.raises(EventNotFoundError, match="no event with id 999999"):
            mark_processed(session, 999999, at=T0, outcome="x")


def test_last_device_time_and_counts(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        append_events(
            session,
            [_report("FI-1", 5), _report("FI-1", 2), _report("FI-2", 9), _trip("FI-1", 30)],
            received_at=T0,
        )
    with sessions() as session:
        assert last_device_time(session, "FI-1", EventKind.INDICATOR_REPORT) == T0 + 5 * SEC
        assert last_device_time(session, "FI-1", EventKind.BREAKER_TRIP) == T0 + 30 * SEC
        assert last_device_time(session, "FI-9", EventKind.INDICATOR_REPORT) is None
        assert event_counts(session) == {"indicator_report": 3, "breaker_trip": 1}


def test_dead_letters(sessions: sessionmaker[Session]) -> None:
    raw = b"\xff\x00not json"
    with sessions.begin() as session:
        first = add_dead_letter(
            session,
            source=EventSource.MQTT,
            channel="oms/demo/fi/FI-1/report",
            reason="malformed",
            detail="not UTF-8 JSON",
            raw=raw,
            at=T0,
        )
        add_dead_letter(
            session,
            source="mqtt",
            channel=None,
            reason="unknown_device",
            detail="FI-404",
            raw=b"{}",
            at=T0,
        )
        add_dead_letter(
            session, source="http", channel="/events", reason="malformed", detail="", raw=b"", at=T0
        )
        with pytest.raises(InputError, match="at most 40"):
            add_dead_letter(
                session, source="http", channel=None, reason="r" * 41, detail="", raw=b"", at=T0
            )
    with sessions() as session:
        assert dead_letter_counts(session) == {"malformed": 2, "unknown_device": 1}
        row = session.get_one(DeadLetter, first)
    assert (row.raw, row.source, row.received_at) == (raw, "mqtt", T0)


def test_stored_keys_and_last_device_times_in_one_go(sessions: sessionmaker[Session]) -> None:
    logged = [_report(f"FI-{i}", i) for i in range(CHUNK_ROWS + 5)] + [_trip("CB1", 40)]
    with sessions.begin() as session:
        append_events(session, logged, received_at=T0)
    keys = [e.idempotency_key for e in logged]
    with sessions() as session:
        assert stored_keys(session, [*keys, "never-sent", keys[0]]) == set(keys)
        assert stored_keys(session, []) == set()
        slots = [(f"FI-{i}", EventKind.INDICATOR_REPORT) for i in range(CHUNK_ROWS + 5)]
        slots += [("CB1", EventKind.BREAKER_TRIP), ("CB1", EventKind.INDICATOR_REPORT)]
        found = last_device_times(session, slots)
        assert found == {
            slot: last_device_time(session, slot[0], slot[1]) for slot in slots
        }  # the same answers as one query per slot
        assert found[("FI-7", EventKind.INDICATOR_REPORT)] == T0 + 7 * SEC
        assert found[("CB1", EventKind.INDICATOR_REPORT)] is None
        assert last_device_times(session, []) == {}


def test_times_are_written_as_sqlalchemy_writes_them(sessions: sessionmaker[Session]) -> None:
    """The fast insert and SQLAlchemy's own write the same text (SQLite) or instant, so that
    ``max(device_time)`` compares like with like; a time in another zone is the same instant."""
    east = timezone(timedelta(hours=8))
    at = (T0 + timedelta(microseconds=120)).astimezone(east)
    with sessions.begin() as session:
        (fast_id,) = append_events(session, [_report("FI-1", 0)], received_at=at).accepted
        session.execute(
            insert(EventRow),
            {
                "idempotency_key": "written-by-sqlalchemy",
                "source": "mqtt",
                "kind": "indicator_report",
                "device_id": "FI-1",
                "device_time": T0,
                "received_at": at,
                "payload": {},
            },
        )
    with sessions() as session:
        raw = session.execute(text("SELECT device_time, received_at FROM events ORDER BY id"))
        (fast_time, fast_received), (orm_time, orm_received) = raw.all()
        assert (fast_time, fast_received) == (orm_time, orm_received)
        row = session.get_one(EventRow, fast_id)
    assert (row.device_time, row.received_at) == (T0, at)


def test_dead_letters_in_one_statement(sessions: sessionmaker[Session]) -> None:
    letters = [
        NewDeadLetter("mqtt", f"openoms/u/indicators/D{i}/report", "malformed", f"#{i}", b"\x00")
        for i in range(5)
    ]
    letters.append(NewDeadLetter(EventSource.HTTP, "x" * 400, "unknown_device", "", b""))
    with sessions.begin() as session:
        add_dead_letters(session, letters, at=T0)
        add_dead_letters(session, [], at=T0)
        with pytest.raises(InputError, match="at most 40"):
            add_dead_letters(session, [NewDeadLetter("http", None, "r" * 41, "", b"")], at=T0)
    with sessions() as session:
        rows = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    assert [row.detail for row in rows] == ["#0", "#1", "#2", "#3", "#4", ""]  # in order
    assert (rows[0].raw, rows[0].received_at, rows[0].source) == (b"\x00", T0, "mqtt")
    assert (rows[5].source, len(rows[5].channel or "")) == ("http", 300)
