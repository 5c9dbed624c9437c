"""The event log: every accepted event, stored before it is acted on, and the dead letters.

Appending is idempotent: an event whose idempotency key is already in the log (a redelivered
MQTT message, a retried HTTP post, the same key twice in one batch) is reported as a
duplicate and stored once. The insert is ``INSERT ... ON CONFLICT (idempotency_key) DO
NOTHING RETURNING id, idempotency_key``, one statement per chunk of :data:`CHUNK_ROWS`
events, so that a batch costs a round trip, not one per event. On PostgreSQL the rows travel
in a statement whose text stays short and the same
whatever the batch size. The rows travel as one JSON array, unpacked by the server with
``json_to_recordset`` (a 1000-row ``VALUES`` list has 9000 placeholders that the driver
rewrites and the server parses on every call, which was three to four times slower).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Insert,
    Integer,
    Text,
    bindparam,
    cast,
    column,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from openoms.errors import InputError, UnsupportedOperationError
from openoms.ingest.events import Event, EventKind, EventSource
from openoms.store.tables import DeadLetter, EventRow, UTCDateTime

__all__ = [
    "CHUNK_ROWS",
    "AppendResult",
    "EventNotFoundError",
    "add_dead_letter",
    "append_events",
    "dead_letter_counts",
    "event_counts",
    "last_device_time",
    "mark_processed",
    "processed_events",
    "unprocessed_events",
]

CHUNK_ROWS = 1000
"""Events per INSERT statement."""

_EVENTS = EventRow.metadata.tables[EventRow.__tablename__]
_COLUMNS = ("idempotency_key", "source", "kind", "device_id", "device_time", "payload")


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
_SQLITE_INSERT = (
    sqlite.insert(_EVENTS)
    .on_conflict_do_nothing(index_elements=[_EVENTS.c.idempotency_key])
    .returning(_EVENTS.c.id, _EVENTS.c.idempotency_key)
)


def _insert_chunk(
    session: Session, events: Sequence[Event], received_at: datetime
) -> list[tuple[int, str]]:
    """Insert the events (unique keys) not yet logged: ``(id, key)`` of the new rows."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        rows: list[dict[str, Any]] = [
            {
                "n": n,
                "idempotency_key": e.idempotency_key,
                "source": EventSource(e.source).value,
                "kind": EventKind(e.kind).value,
                "device_id": e.device_id,
                "device_time": e.device_time.astimezone(UTC).isoformat(),
                "payload": e.payload,
            }
            for n, e in enumerate(events)
        ]
        batch = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)
        parameters = {"rows": batch, "received_at": received_at}
        return [(i, k) for i, k in session.execute(_PG_INSERT, parameters).all()]
    if dialect == "sqlite":
        # A list of parameter sets with RETURNING: SQLAlchemy's "insertmanyvalues" sends them
        # as one multi-row INSERT (SQLite parses it in-process: no driver rewrite, no wire).
        parameter_sets = [
            {
                "idempotency_key": e.idempotency_key,
                "source": EventSource(e.source).value,
                "kind": EventKind(e.kind).value,
                "device_id": e.device_id,
                "device_time": e.device_time,
                "received_at": received_at,
                "payload": dict(e.payload),
                "processed_at": None,
                "outcome": None,
            }
            for e in events
        ]
        return [(i, k) for i, k in session.execute(_SQLITE_INSERT, parameter_sets).all()]
    raise UnsupportedOperationError(dialect, "the event log runs on SQLite or PostgreSQL only")


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
    return Event(
        kind=EventKind(row.kind),
        source=EventSource(row.source),
        device_id=row.device_id,
        device_time=row.device_time,
        payload=row.payload,
        idempotency_key=row.idempotency_key,
    )


_EVENT_COLUMNS = (
    EventRow.id,
    EventRow.kind,
    EventRow.source,
    EventRow.device_id,
    EventRow.device_time,
    EventRow.payload,
    EventRow.idempotency_key,
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


def last_device_time(session: Session, device_id: str, kind: EventKind) -> datetime | None:
    """The latest device time logged for ``device_id``'s events of ``kind``."""
    query = select(func.max(EventRow.device_time)).where(
        EventRow.device_id == device_id, EventRow.kind == EventKind(kind).value
    )
    return session.scalar(query)


def event_counts(session: Session) -> dict[str, int]:
    """Logged events by kind."""
    query = select(EventRow.kind, func.count()).group_by(EventRow.kind)
    return {str(key): int(count) for key, count in session.execute(query).all()}


def add_dead_letter(
    session: Session,
    *,
    source: EventSource | str,
    channel: str | None,
    reason: str,
    detail: str,
    raw: bytes,
    at: datetime,
) -> int:
    """Keep a message that could not be accepted, with why; returns its id."""
    if len(reason) > 40:
        raise InputError(f"dead letter reason {reason!r}: at most 40 characters")
    row = DeadLetter(
        received_at=at,
        source=str(source)[:20],
        channel=None if channel is None else channel[:300],
        reason=reason,
        detail=detail,
        raw=bytes(raw),
    )
    session.add(row)
    session.flush()
    return row.id


def dead_letter_counts(session: Session) -> dict[str, int]:
    """Dead letters by reason."""
    query = select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
    return {str(key): int(count) for key, count in session.execute(query).all()}
