"""The event log: every accepted event, stored before it is acted on.

What could not be accepted is kept apart, in :mod:`.deadletters`.

Appending is idempotent: an event whose idempotency key is already in the log (a redelivered
MQTT message, a retried HTTP post, the same key twice in one batch) is reported as a
duplicate and stored once. The insert is ``INSERT ... ON CONFLICT (idempotency_key) DO
NOTHING RETURNING id, idempotency_key``, one statement per chunk of :data:`CHUNK_ROWS`
events, so that a batch costs a round trip, not one per event.

It is the hot path of the MQTT intake, so it skips SQLAlchemy's statement layer: the text
of the statement is made once (compiled from SQLAlchemy constructs on PostgreSQL) and handed
to the driver with ``exec_driver_sql`` on the session's connection, in its transaction (so
SQLAlchemy still wraps errors and notices a lost connection), each value converted once,
here. On PostgreSQL the rows travel as one JSON array in a statement whose text stays the
same whatever the batch size, unpacked by the server with ``json_to_recordset`` (a 1000-row
``VALUES`` list has 9000 placeholders that the driver rewrites and the server parses on
every call, which was three to four times slower); the driver prepares it on the server
after a few calls. On SQLite the rows go in one multi-row ``VALUES`` (parsed in-process: no
wire), their times written exactly as SQLAlchemy writes them, so that the text comparison
behind ``max(device_time)`` stays right.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Insert,
    Integer,
    String,
    Text,
    TextualSelect,
    bindparam,
    cast,
    column,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from openoms.errors import InputError, UnsupportedOperationError
from openoms.events import Event, EventKind, EventSource, Sender
from openoms.store.tables import EventRow, UTCDateTime

__all__ = [
    "CHUNK_ROWS",
    "AppendResult",
    "EventNotFoundError",
    "LoggedEvent",
    "append_events",
    "event_counts",
    "last_device_time",
    "last_device_times",
    "list_events",
    "mark_processed",
    "processed_events",
    "received_at",
    "stored_keys",
    "unprocessed_events",
]

CHUNK_ROWS = 1000
"""Events per INSERT statement."""

_EVENTS = EventRow.metadata.tables[EventRow.__tablename__]
_COLUMNS = (
    "idempotency_key",
    "source",
    "kind",
    "device_id",
    "device_time",
    "payload",
    "sender",
    "sender_role",
)


class EventNotFoundError(InputError):
    """No logged event with this id."""

    def __init__(self, event_id: int) -> None:
        super().__init__(f"no event with id {event_id} in the event log")
        self.event_id = event_id


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What :func:`append_events` did with a batch."""

    accepted: tuple[int, ...]
    """Log ids of the new events, in input order."""
    duplicates: tuple[str, ...]
    """Idempotency keys already in the log or repeated in the batch, once per occurrence."""


def _postgresql_insert() -> Insert:
    record = (
        column("n", Integer),
        column("idempotency_key", Text),
        column("source", Text),
        column("kind", Text),
        column("device_id", Text),
        column("device_time", DateTime(timezone=True)),
        column("payload", JSON),
        column("sender", Text),
        column("sender_role", Text),
    )
    rows = (
        func.json_to_recordset(cast(bindparam("rows", type_=Text), JSON))
        .table_valued(*record)
        .render_derived(with_types=True)
    )
    chosen = select(
        *(rows.c[name] for name in _COLUMNS), bindparam("received_at", type_=UTCDateTime)
    ).order_by(rows.c.n)  # ids in input order
    return (
        postgresql.insert(_EVENTS)
        .from_select([*_COLUMNS, "received_at"], chosen)
        .on_conflict_do_nothing(index_elements=[_EVENTS.c.idempotency_key])
        .returning(_EVENTS.c.id, _EVENTS.c.idempotency_key)
    )


def _json_value(value: object) -> object:
    # Payloads are JSON objects; a Mapping that is not a dict (MappingProxyType) still is one.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"event payload value {value!r} is not JSON ({type(value).__name__})")


_PG_INSERT = _postgresql_insert()
_PG_SQL: dict[str, str] = {}  # the statement's text, by driver (compiled once)
_SQLITE_COLUMNS = ", ".join((*_COLUMNS, "received_at"))
_SQLITE_ROW = "(" + ", ".join("?" * (len(_COLUMNS) + 1)) + ")"
_SOURCES = {source.value: source.value for source in EventSource}
_KINDS = {kind.value: kind.value for kind in EventKind}


def _source(source: EventSource | str) -> str:
    # A dict look-up for each event, not an enum call; EventSource() says what is wrong.
    return _SOURCES.get(source) or EventSource(source).value


def _kind(kind: EventKind | str) -> str:
    return _KINDS.get(kind) or EventKind(kind).value


def _sqlite_time(at: datetime) -> str:
    """An aware time as SQLAlchemy writes it to SQLite: naive UTC, microseconds always."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert_chunk(
    session: Session, events: Sequence[Event], received_at: datetime
) -> list[tuple[int, str]]:
    """Insert the events (unique keys) not yet logged: ``(id, key)`` of the new rows."""
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        rows: list[dict[str, Any]] = [
            {
                "n": n,
                "idempotency_key": e.idempotency_key,
                "source": _source(e.source),
                "kind": _kind(e.kind),
                "device_id": e.device_id,
                "device_time": e.device_time.isoformat(),  # aware: its offset says the instant
                "payload": e.payload,
                "sender": e.sender.name if e.sender else None,
                "sender_role": e.sender.role if e.sender else None,
            }
            for n, e in enumerate(events)
        ]
        batch = json.dumps(
            rows,
            ensure_ascii=False,
            check_circular=False,  # payloads are trees (decoded JSON, API bodies)
            separators=(",", ":"),
            default=_json_value,
        )
        sql = _PG_SQL.get(dialect.driver)
        if sql is None:
            sql = _PG_SQL[dialect.driver] = str(_PG_INSERT.compile(dialect=dialect))
        parameters: Any = {"rows": batch, "received_at": received_at}
    elif dialect.name == "sqlite":
        # JSON text as SQLAlchemy writes it (its serialiser, default json.dumps)
        payload_text = _EVENTS.c.payload.type.bind_processor(dialect) or json.dumps
        received = _sqlite_time(received_at)
        values: list[Any] = []
        for e in events:
            values += (
                e.idempotency_key,
                _source(e.source),
                _kind(e.kind),
                e.device_id,
                _sqlite_time(e.device_time),
                payload_text(dict(e.payload)),
                e.sender.name if e.sender else None,
                e.sender.role if e.sender else None,
                received,
            )
        sql = (
            f"INSERT INTO {_EVENTS.name} ({_SQLITE_COLUMNS}) VALUES "
            + ", ".join([_SQLITE_ROW] * len(events))
            + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
        )
        parameters = tuple(values)
    else:
        raise UnsupportedOperationError(
            dialect.name, "the event log runs on SQLite or PostgreSQL only"
        )
    result = connection.exec_driver_sql(sql, parameters)
    return [(row_id, key) for row_id, key in result.all()]


def append_events(
    session: Session, events: Sequence[Event], *, received_at: datetime
) -> AppendResult:
    """Store the events not yet in the log; report the keys that were.

    Every input event is either accepted (its new row id, in input order) or a duplicate
    (its key, once per occurrence): ``len(accepted) + len(duplicates) == len(events)``.
    """
    if received_at.tzinfo is None:
        raise InputError("append_events: received_at must be an aware UTC time")
    first: dict[str, Event] = {}  # the first event of each key, in input order
    for event in events:
        first.setdefault(event.idempotency_key, event)
    unique = list(first.values())
    ids: dict[str, int] = {}
    for start in range(0, len(unique), CHUNK_ROWS):
        chunk = unique[start : start + CHUNK_ROWS]
        ids.update((key, row_id) for row_id, key in _insert_chunk(session, chunk, received_at))
    accepted = [ids[key] for key in first if key in ids]
    return AppendResult(accepted=tuple(accepted), duplicates=tuple(_duplicates(events, ids)))


def _duplicates(events: Sequence[Event], ids: dict[str, int]) -> list[str]:
    """Every input key that did not become a new row, in input order."""
    if len(ids) == len(events):  # every event a new row (the intake's usual batch)
        return []
    taken: set[str] = set()
    duplicates = []
    for event in events:
        key = event.idempotency_key
        if key in ids and key not in taken:
            taken.add(key)
        else:
            duplicates.append(key)
    return duplicates


def _event(row: Any) -> Event:
    # The sender only where the query selected it (store.faults reads reports without it).
    sender = getattr(row, "sender", None)
    return Event(
        kind=EventKind(row.kind),
        source=EventSource(row.source),
        device_id=row.device_id,
        device_time=row.device_time,
        payload=row.payload,
        idempotency_key=row.idempotency_key,
        sender=Sender(sender, str(getattr(row, "sender_role", ""))) if sender else None,
    )


_EVENT_COLUMNS = (
    EventRow.id,
    EventRow.kind,
    EventRow.source,
    EventRow.device_id,
    EventRow.device_time,
    EventRow.payload,
    EventRow.idempotency_key,
    EventRow.sender,
    EventRow.sender_role,
)


def unprocessed_events(session: Session, *, limit: int = 500) -> list[tuple[int, Event]]:
    """Up to ``limit`` events not yet processed, oldest (lowest id) first."""
    query = (
        select(*_EVENT_COLUMNS)
        .where(EventRow.processed_at.is_(None))
        .order_by(EventRow.id)
        .limit(limit)
    )
    return [(row.id, _event(row)) for row in session.execute(query)]


def processed_events(
    session: Session, *, kinds: Collection[EventKind] | None = None
) -> Iterator[Event]:
    """The processed events (of ``kinds``), in log order, streamed in pages of 1000.

    For rebuilding in-memory state after a restart; iterate it inside the session.
    """
    query = select(*_EVENT_COLUMNS).where(EventRow.processed_at.is_not(None))
    if kinds is not None:
        query = query.where(EventRow.kind.in_([EventKind(k).value for k in kinds]))
    query = query.order_by(EventRow.id).execution_options(yield_per=1000)
    for row in session.execute(query):
        yield _event(row)


def mark_processed(session: Session, event_id: int, *, at: datetime, outcome: str) -> None:
    """Record that the event was processed, and what came of it (cut to 200 characters)."""
    statement = (
        update(_EVENTS)
        .where(_EVENTS.c.id == event_id)
        .values(processed_at=at, outcome=outcome[:200])
    )
    if session.connection().execute(statement).rowcount == 0:
        raise EventNotFoundError(event_id)


def received_at(session: Session, event_id: int) -> datetime:
    """When the logged event ``event_id`` was received (stored)."""
    at = session.scalar(select(EventRow.received_at).where(EventRow.id == event_id))
    if at is None:
        raise EventNotFoundError(event_id)
    return at


def last_device_time(session: Session, device_id: str, kind: EventKind) -> datetime | None:
    """The latest device time logged for ``device_id``'s events of ``kind``."""
    query = select(func.max(EventRow.device_time)).where(
        EventRow.device_id == device_id, EventRow.kind == EventKind(kind).value
    )
    return session.scalar(query)


def last_device_times(
    session: Session, slots: Collection[tuple[str, EventKind]]
) -> dict[tuple[str, EventKind], datetime | None]:
    """:func:`last_device_time` of each ``(device_id, kind)``: one statement per
    :data:`CHUNK_ROWS` slots, an index probe per slot however long the log."""
    found: dict[tuple[str, EventKind], datetime | None] = {}
    wanted = list(slots)
    for start in range(0, len(wanted), CHUNK_ROWS):
        chunk = wanted[start : start + CHUNK_ROWS]
        parameters: dict[str, str] = {}
        for i, (device_id, kind) in enumerate(chunk):
            parameters[f"d{i}"] = device_id
            parameters[f"k{i}"] = EventKind(kind).value
        for device_id, kind, at in session.execute(_last_times_query(len(chunk)), parameters):
            found[(device_id, EventKind(kind))] = at
    return found


def _last_times_query(n: int) -> TextualSelect:
    # Text, not a values() construct: SQLAlchemy would compile that anew for every call.
    wanted = ", ".join(f"(:d{i}, :k{i})" for i in range(n))
    e = _EVENTS.name
    return text(
        f"WITH wanted(device_id, kind) AS (VALUES {wanted}) "
        "SELECT wanted.device_id, wanted.kind, "
        f"(SELECT max({e}.device_time) FROM {e} "
        f"WHERE {e}.device_id = wanted.device_id AND {e}.kind = wanted.kind) AS at "
        "FROM wanted"
    ).columns(column("device_id", String), column("kind", String), column("at", UTCDateTime))


def stored_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` already in the log (one query per :data:`CHUNK_ROWS` keys)."""
    wanted = list(dict.fromkeys(keys))
    stored: set[str] = set()
    for start in range(0, len(wanted), CHUNK_ROWS):
        chunk = wanted[start : start + CHUNK_ROWS]
        stored.update(
            session.scalars(
                select(EventRow.idempotency_key).where(EventRow.idempotency_key.in_(chunk))
            )
        )
    return stored


def event_counts(session: Session) -> dict[str, int]:
    """Logged events by kind."""
    query = select(EventRow.kind, func.count()).group_by(EventRow.kind)
    return {str(key): int(count) for key, count in session.execute(query).all()}


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as the log holds it: its id, when it was received and what came of it."""

    id: int
    event: Event
    received_at: datetime
    processed_at: datetime | None
    outcome: str | None


def list_events(
    session: Session,
    *,
    device_id: str | None = None,
    kinds: Collection[EventKind] = (),
    sources: Collection[EventSource] = (),
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[LoggedEvent]:
    """Logged events, newest first (by log id, the order they were stored), filtered by
    device, kinds, sources and receipt time (``received_from`` inclusive, ``received_to``
    exclusive); ``before_id`` pages: only events with a smaller id."""
    query = select(*_EVENT_COLUMNS, EventRow.received_at, EventRow.processed_at, EventRow.outcome)
    if device_id is not None:
        query = query.where(EventRow.device_id == device_id)
    if kinds:
        query = query.where(EventRow.kind.in_(sorted(EventKind(k).value for k in kinds)))
    if sources:
        query = query.where(EventRow.source.in_(sorted(EventSource(s).value for s in sources)))
    if received_from is not None:
        query = query.where(EventRow.received_at >= received_from)
    if received_to is not None:
        query = query.where(EventRow.received_at < received_to)
    if before_id is not None:
        query = query.where(EventRow.id < before_id)
    query = query.order_by(EventRow.id.desc()).limit(limit)
    return [
        LoggedEvent(
            id=row.id,
            event=_event(row),
            received_at=row.received_at,
            processed_at=row.processed_at,
            outcome=row.outcome,
        )
        for row in session.execute(query)
    ]
