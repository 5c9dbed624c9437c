"""Dead letters: the messages that could not be accepted as events, with why and their raw bytes.

The intake writes them in the transaction that appends the accepted events of the same call
(:func:`add_dead_letters`, one statement), so a message is either an event in the log
(:mod:`.eventlog`) or a dead letter, never both nor neither. The reason is a short code
(``malformed``, ``unknown_device``, ``out_of_order``, ...) counted by the metrics endpoint
(:func:`dead_letter_counts`); the detail is the sentence naming the field.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.events import EventSource
from openoms.store.tables import DeadLetter

__all__ = [
    "DeadLetterRecord",
    "NewDeadLetter",
    "add_dead_letter",
    "add_dead_letters",
    "dead_letter_counts",
    "list_dead_letters",
]

_DEAD_LETTERS = DeadLetter.metadata.tables[DeadLetter.__tablename__]
_REASON_CHARS, _SOURCE_CHARS, _CHANNEL_CHARS = 40, 20, 300  # dead_letters columns


@dataclass(frozen=True, slots=True)
class NewDeadLetter:
    """A message to keep in ``dead_letters`` (see :func:`add_dead_letters`)."""

    source: EventSource | str
    channel: str | None  # MQTT topic, HTTP path
    reason: str  # at most 40 characters
    detail: str
    raw: bytes


def _dead_letter_row(letter: NewDeadLetter, at: datetime) -> dict[str, Any]:
    if len(letter.reason) > _REASON_CHARS:
        raise InputError(
            f"dead letter reason {letter.reason!r}: at most {_REASON_CHARS} characters"
        )
    return {
        "received_at": at,
        "source": str(letter.source)[:_SOURCE_CHARS],
        "channel": None if letter.channel is None else letter.channel[:_CHANNEL_CHARS],
        "reason": letter.reason,
        "detail": letter.detail,
        "raw": bytes(letter.raw),
    }


def add_dead_letters(session: Session, letters: Sequence[NewDeadLetter], *, at: datetime) -> None:
    """Keep messages that could not be accepted, in one statement, in the order given."""
    if letters:
        rows = [_dead_letter_row(letter, at) for letter in letters]
        session.execute(insert(_DEAD_LETTERS), rows)


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
    row = _dead_letter_row(NewDeadLetter(source, channel, reason, detail, raw), at)
    return int(
        session.execute(insert(_DEAD_LETTERS).returning(_DEAD_LETTERS.c.id), row).scalar_one()
    )


def dead_letter_counts(session: Session) -> dict[str, int]:
    """Dead letters by reason."""
    query = select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
    return {str(key): int(count) for key, count in session.execute(query).all()}


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A kept dead letter, as stored."""

    id: int
    received_at: datetime
    source: str
    channel: str | None
    reason: str
    detail: str
    raw: bytes


def _like_literal(text: str) -> str:
    """``text`` for a LIKE pattern (escape character ``\\``): its wildcards matched as such."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_dead_letters(
    session: Session,
    *,
    device_id: str | None = None,
    reasons: Collection[str] = (),
    sources: Collection[str] = (),
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[DeadLetterRecord]:
    """Dead letters, newest first (by id), filtered by reasons, sources, receipt time
    (``received_from`` inclusive, ``received_to`` exclusive) and sending device: the device
    of an MQTT topic (``openoms/<utility>/<channel>/<device>/<leaf>``) or the telecontrol unit
    of an IEC 104 channel (``iec104:<unit>``); ``before_id`` pages."""
    query = select(DeadLetter)
    if device_id is not None:
        query = query.where(
            or_(
                DeadLetter.channel.like(f"openoms/%/%/{_like_literal(device_id)}/%", escape="\\"),
                DeadLetter.channel == f"iec104:{device_id}",
            )
        )
    if reasons:
        query = query.where(DeadLetter.reason.in_(sorted(reasons)))
    if sources:
        query = query.where(DeadLetter.source.in_(sorted(sources)))
    if received_from is not None:
        query = query.where(DeadLetter.received_at >= received_from)
    if received_to is not None:
        query = query.where(DeadLetter.received_at < received_to)
    if before_id is not None:
        query = query.where(DeadLetter.id < before_id)
    query = query.order_by(DeadLetter.id.desc()).limit(limit)
    return [
        DeadLetterRecord(
            id=row.id,
            received_at=row.received_at,
            source=row.source,
            channel=row.channel,
            reason=row.reason,
            detail=row.detail,
            raw=bytes(row.raw),
        )
        for row in session.scalars(query)
    ]
