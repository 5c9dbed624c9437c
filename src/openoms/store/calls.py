"""Trouble calls as stored: each call, its call group and the outage that explains it.

The rows are the call analysis' memory across restarts: a call group is the calls sharing a
``group_id`` (the id of the group's first call), so the service rebuilds a group's
prediction from the database alone (docs/calls.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from openoms.store.tables import EventRow, TroubleCall

__all__ = [
    "CallLink",
    "StoredCall",
    "add_call",
    "calls_of_group",
    "calls_of_outage",
    "event_id_of",
    "open_group",
    "set_outcome",
]


class CallLink(StrEnum):
    """How a call is explained."""

    ATTACHED = "attached"  # an open outage had its area off already
    PREDICTED = "predicted"  # a predicted device's record
    SCREENED = "screened"  # a customer-side record counting one customer
    PENDING = "pending"  # in a group, not explained yet (waiting for more calls)
    UNRESOLVED = "unresolved"  # no area known: kept for the dispatcher, ``reason`` says why


@dataclass(frozen=True, slots=True)
class StoredCall:
    id: int
    event_id: int
    element_id: str | None
    account: str | None
    at: datetime
    feeder_id: str | None
    group_id: int | None
    outage_id: int | None
    link: CallLink
    screened: bool
    reason: str | None


def _stored(row: TroubleCall) -> StoredCall:
    return StoredCall(
        id=row.id,
        event_id=row.event_id,
        element_id=row.element_id,
        account=row.account,
        at=row.at,
        feeder_id=row.feeder_id,
        group_id=row.group_id,
        outage_id=row.outage_id,
        link=CallLink(row.link),
        screened=row.screened,
        reason=row.reason,
    )


def event_id_of(session: Session, idempotency_key: str) -> int | None:
    """The event log id of the event with this key."""
    return session.scalars(
        select(EventRow.id).where(EventRow.idempotency_key == idempotency_key)
    ).one_or_none()


def add_call(
    session: Session,
    *,
    event_id: int,
    at: datetime,
    element_id: str | None,
    account: str | None,
    meter_id: str | None,
    feeder_id: str | None,
    link: CallLink,
    now: datetime,
    outage_id: int | None = None,
    reason: str | None = None,
) -> StoredCall:
    """A new call row (its own group until :func:`set_outcome` says otherwise)."""
    row = TroubleCall(
        event_id=event_id,
        element_id=element_id,
        account=account,
        meter_id=meter_id,
        at=at,
        feeder_id=feeder_id,
        group_id=None,
        outage_id=outage_id,
        link=link.value,
        screened=False,
        reason=reason[:200] if reason else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _stored(row)


def open_group(session: Session, feeder_id: str, *, at: datetime, window: timedelta) -> int | None:
    """The group of ``feeder_id`` whose first call was at most ``window`` before ``at`` (and
    not after it), the newest if several."""
    first = (
        select(TroubleCall.id)
        .where(
            TroubleCall.feeder_id == feeder_id,
            TroubleCall.group_id == TroubleCall.id,
            TroubleCall.at >= at - window,
            TroubleCall.at <= at,
        )
        .order_by(TroubleCall.at.desc(), TroubleCall.id.desc())
        .limit(1)
    )
    return session.scalars(first).first()


def calls_of_group(session: Session, group_id: int) -> list[StoredCall]:
    """The calls of a group in time order."""
    rows = session.scalars(
        select(TroubleCall)
        .where(TroubleCall.group_id == group_id)
        .order_by(TroubleCall.at, TroubleCall.id)
    )
    return [_stored(row) for row in rows]


def calls_of_outage(session: Session, outage_id: int) -> list[StoredCall]:
    rows = session.scalars(
        select(TroubleCall)
        .where(TroubleCall.outage_id == outage_id)
        .order_by(TroubleCall.at, TroubleCall.id)
    )
    return [_stored(row) for row in rows]


def set_outcome(
    session: Session,
    call_ids: Iterable[int],
    *,
    group_id: int | None,
    outage_id: int | None,
    link: CallLink,
    screened: bool = False,
    reason: str | None = None,
) -> None:
    """Where these calls now stand (after a group's prediction was recomputed)."""
    for call_id in call_ids:
        row = session.get_one(TroubleCall, call_id)
        row.group_id = group_id
        row.outage_id = outage_id
        row.link = link.value
        row.screened = screened
        row.reason = reason[:200] if reason else None
    session.flush()
