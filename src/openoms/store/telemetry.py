"""Telemetry: the latest value of each measured point and its sampled history.

Cyclic measurements (load currents every few seconds) are not events: a 2 s feed would write
1,800 event-log rows an hour per point. :func:`record_telemetry` keeps, per point
(``element_id``, ``point``), the latest value (a newer sample replaces it; an older one, a
buffered sample arriving late, does not) and a history of at most one row per sampling
interval: the first sample stored whose time falls in the interval (``slot``, its start,
counted from 1970 in UTC). Both are one statement per call: an upsert of the latest values,
an ``INSERT ... ON CONFLICT DO NOTHING`` of the history rows (the unique
``(element_id, point, slot)`` makes the rule hold across calls, restarts and processes).

A sample's time is its device time tag when it has a trusted one, else its receipt time.
The intake (:meth:`openoms.ingest.intake.Intake.accept_telemetry`) checks the element against
the network before it calls here; this module refuses only what it cannot store
(:class:`~openoms.errors.InputError`: a value that is not finite, an id too long, a naive
time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from openoms.errors import InputError, UnsupportedOperationError
from openoms.events import EventSource, TelemetrySample
from openoms.store.tables import TelemetryHistoryRow, TelemetryLatest

__all__ = [
    "DEFAULT_SAMPLE_EVERY",
    "MAX_ELEMENT_CHARS",
    "MAX_POINT_CHARS",
    "TelemetryReading",
    "latest_telemetry",
    "record_telemetry",
    "sample_problem",
    "slot_of",
    "telemetry_history",
]

DEFAULT_SAMPLE_EVERY: Final = timedelta(seconds=60)
"""The default sampling interval of the history (setting ``telemetry_sample_s``)."""
MAX_ELEMENT_CHARS: Final = 100
MAX_POINT_CHARS: Final = 64
_CHANNEL_CHARS: Final = 300
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = TelemetryLatest.metadata.tables[TelemetryLatest.__tablename__]
_HISTORY = TelemetryHistoryRow.metadata.tables[TelemetryHistoryRow.__tablename__]


@dataclass(frozen=True, slots=True)
class TelemetryReading:
    """A stored reading: the latest of a point, or one row of its history (``channel`` is
    kept with the latest value only)."""

    element_id: str
    point: str
    value: float
    quality_ok: bool
    at: datetime
    device_time: datetime | None
    received_at: datetime
    source: str
    channel: str | None = None


def sample_problem(sample: TelemetrySample) -> str | None:
    """Why ``sample`` cannot be stored (a sentence naming the field), else ``None``."""
    element, point = sample.element_id[:MAX_ELEMENT_CHARS], sample.point[:MAX_POINT_CHARS]
    value = sample.value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    checks = (
        (
            not 1 <= len(sample.element_id) <= MAX_ELEMENT_CHARS,
            f"element_id must have 1 … {MAX_ELEMENT_CHARS} characters",
        ),
        (
            not 1 <= len(sample.point) <= MAX_POINT_CHARS,
            f"point must have 1 … {MAX_POINT_CHARS} characters",
        ),
        (
            "\x00" in sample.element_id or "\x00" in sample.point,
            "element_id and point must not contain U+0000 (NUL)",
        ),
        (not number, f"value must be a number, got {type(value).__name__}"),
        (number and not math.isfinite(value), f"value {value!r} is not a finite number"),
        (sample.received_at.tzinfo is None, "received_at must be timezone-aware"),
        (
            sample.device_time is not None and sample.device_time.tzinfo is None,
            "device_time must be timezone-aware",
        ),
    )
    for failed, why in checks:
        if failed:
            return f"telemetry sample {element!r} / {point!r}: {why}"
    return None


def _time_of(sample: TelemetrySample) -> datetime:
    return (sample.device_time or sample.received_at).astimezone(UTC)


def slot_of(at: datetime, every: timedelta) -> datetime:
    """The start of the sampling interval of length ``every`` that ``at`` falls in."""
    step = every // timedelta(microseconds=1)
    offset = (at - _EPOCH) // timedelta(microseconds=1)
    return _EPOCH + timedelta(microseconds=offset - offset % step)


def _insert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    name = session.connection().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedOperationError(name, "telemetry runs on SQLite or PostgreSQL only")


def record_telemetry(
    session: Session,
    samples: Sequence[TelemetrySample],
    *,
    sample_every: timedelta = DEFAULT_SAMPLE_EVERY,
) -> int:
    """Store ``samples``: the latest value of each point, and the history rows of the
    sampling intervals that have none yet. Returns how many history rows were written.

    Raises :class:`~openoms.errors.InputError` (nothing written) for a sample that cannot
    be stored (:func:`sample_problem`) or an interval that is not positive.
    """
    if sample_every <= timedelta(0):
        raise InputError(f"telemetry sampling interval {sample_every} must be positive")
    for sample in samples:
        problem = sample_problem(sample)
        if problem is not None:
            raise InputError(problem)
    if not samples:
        return 0
    newest: dict[tuple[str, str], tuple[datetime, TelemetrySample]] = {}
    first_in_slot: dict[tuple[str, str, datetime], tuple[datetime, TelemetrySample]] = {}
    for sample in samples:
        at = _time_of(sample)
        point = (sample.element_id, sample.point)
        known = newest.get(point)
        if known is None or at >= known[0]:  # the later one; the last given on a tie
            newest[point] = (at, sample)
        slot = (*point, slot_of(at, sample_every))
        earlier = first_in_slot.get(slot)
        if earlier is None or at < earlier[0]:
            first_in_slot[slot] = (at, sample)
    latest_rows = [
        {
            "element_id": s.element_id,
            "point": s.point,
            "value": float(s.value),
            "quality_ok": s.quality_ok,
            "at": at,
            "device_time": s.device_time,
            "received_at": s.received_at,
            "source": EventSource(s.source).value,
            "channel": s.channel[:_CHANNEL_CHARS] or None,
        }
        for at, s in newest.values()
    ]
    upsert = _insert(session, _LATEST)
    changed = {name: upsert.excluded[name] for name in _LATEST.c.keys() if name not in _KEYS}  # noqa: SIM118
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=list(_KEYS), set_=changed, where=_LATEST.c.at <= upsert.excluded.at
        ),
        latest_rows,
    )
    history_rows = [
        {
            "element_id": element_id,
            "point": point,
            "slot": slot,
            "at": at,
            "value": float(s.value),
            "quality_ok": s.quality_ok,
            "device_time": s.device_time,
            "received_at": s.received_at,
            "source": EventSource(s.source).value,
        }
        for (element_id, point, slot), (at, s) in sorted(first_in_slot.items())
    ]
    insert = (
        _insert(session, _HISTORY)
        .on_conflict_do_nothing(index_elements=["element_id", "point", "slot"])
        .returning(_HISTORY.c.id)
    )
    return len(session.execute(insert, history_rows).all())  # the rows actually written


_KEYS: Final = ("element_id", "point")


def _reading(row: Any, *, channel: bool) -> TelemetryReading:
    return TelemetryReading(
        element_id=row.element_id,
        point=row.point,
        value=row.value,
        quality_ok=row.quality_ok,
        at=row.at,
        device_time=row.device_time,
        received_at=row.received_at,
        source=row.source,
        channel=row.channel if channel else None,
    )


def latest_telemetry(
    session: Session,
    *,
    element_id: str | None = None,
    point: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[TelemetryReading]:
    """The latest value of every point (of ``element_id``, of ``point``), by element and
    point; ``limit`` and ``offset`` page through them."""
    query = select(TelemetryLatest)
    if element_id is not None:
        query = query.where(TelemetryLatest.element_id == element_id)
    if point is not None:
        query = query.where(TelemetryLatest.point == point)
    query = query.order_by(TelemetryLatest.element_id, TelemetryLatest.point).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_reading(row, channel=True) for row in session.scalars(query)]


def telemetry_history(
    session: Session,
    element_id: str,
    point: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[TelemetryReading]:
    """The sampled history of one point, newest first: ``since`` inclusive, ``until``
    exclusive (aware times; either may be left open); ``limit`` and ``offset`` page."""
    for name, at in (("since", since), ("until", until)):
        if at is not None and at.tzinfo is None:
            raise InputError(f"telemetry_history: {name} must be an aware time")
    query = select(TelemetryHistoryRow).where(
        TelemetryHistoryRow.element_id == element_id, TelemetryHistoryRow.point == point
    )
    if since is not None:
        query = query.where(TelemetryHistoryRow.at >= since)
    if until is not None:
        query = query.where(TelemetryHistoryRow.at < until)
    query = query.order_by(TelemetryHistoryRow.at.desc(), TelemetryHistoryRow.id.desc())
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_reading(row, channel=False) for row in session.scalars(query)]
