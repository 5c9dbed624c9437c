"""Writing outage records on a person's behalf: bookings, lifecycle moves, restoration steps.

The HTTP routes and the event processor (crew status sent as events) both come here, so that
a role may do the same things whichever way it asks: a crew reports its arrival and its own
repairs; a planner books planned work and may call it off; everything else is the
dispatcher's (and the administrator's). Each write leaves its audit entry with the real
principal's name and role, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from openoms.errors import ForbiddenError, InputError
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind, OutageRecord, RestorationStep
from openoms.outages.summary import areas_of, outage_summary
from openoms.service.context import ServiceContext
from openoms.store import outages as store
from openoms.store.tokens import Role

__all__ = [
    "CREW_RESTORATION",
    "CREW_TRANSITIONS",
    "PLANNER_TRANSITIONS",
    "Principal",
    "add_restoration_step",
    "book_outage",
    "check_transition_allowed",
    "transition_outage",
]

CREW_TRANSITIONS: Final = frozenset({OutageState.CREW_ON_SITE})
"""A crew reports its arrival; every other state change is the dispatcher's."""
PLANNER_TRANSITIONS: Final = frozenset({OutageState.CANCELLED})
"""A planner may call off a planned outage."""
CREW_RESTORATION: Final = frozenset({"repair"})
"""A crew records supply restored by its own repair; switching steps are the dispatcher's."""
BOOKING_ROLES: Final = frozenset({Role.ADMIN, Role.DISPATCHER, Role.PLANNER})
_DISPATCH: Final = frozenset({Role.ADMIN, Role.DISPATCHER})
FUTURE_SLACK: Final = timedelta(minutes=1)
"""How far ahead of the service's clock a reported time may lie (clocks differ a little)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: the token's name (a person or a system) and its role."""

    name: str
    role: Role


def book_outage(
    context: ServiceContext,
    session: Session,
    who: Principal,
    *,
    kind: OutageKind,
    opened: Sequence[str],
    starts_at: datetime,
    ends_at: datetime | None = None,
    note: str | None = None,
) -> OutageRecord:
    """Record an outage (a planner: only a planned one) by the devices it opens."""
    if who.role not in BOOKING_ROLES:
        raise ForbiddenError(who.role, BOOKING_ROLES, what="outage bookings")
    if who.role is Role.PLANNER and kind is not OutageKind.PLANNED:
        raise ForbiddenError(who.role, _DISPATCH, what=f"{kind} outages")
    with context.lock:
        impact = context.analyser.of_opening(opened)
    if impact.is_empty:
        raise InputError(f"opening {', '.join(opened)} puts no customer off supply")
    outage_id = store.create_outage(
        session,
        kind=kind,
        network_version_id=context.network_version_id,
        started_at=starts_at,
        actor=who.name,
        role=who.role,
        feeder_id=impact.feeders[0] if len(impact.feeders) == 1 else None,
        areas=areas_of(impact, at=starts_at),
        summary=outage_summary(impact, opened=opened, estimated_restoration_at=ends_at, note=note),
        now=context.clock(),
    )
    return store.get_outage(session, outage_id)


def check_transition_allowed(
    session: Session, who: Principal, outage_id: int, to: OutageState
) -> None:
    """:class:`ForbiddenError` unless ``who``'s role may move this outage to ``to``."""
    if who.role in _DISPATCH:
        return
    if who.role is Role.CREW and to in CREW_TRANSITIONS:
        return
    if who.role is Role.PLANNER:
        kind = store.get_outage(session, outage_id).kind
        if to in PLANNER_TRANSITIONS and kind is OutageKind.PLANNED:
            return
        raise ForbiddenError(who.role, _DISPATCH, what=f"a move of a {kind} outage to {to}")
    raise ForbiddenError(who.role, _DISPATCH, what=f"a move to {to}")


def transition_outage(
    session: Session,
    who: Principal,
    outage_id: int,
    to: OutageState,
    *,
    at: datetime,
    note: str | None = None,
) -> OutageRecord:
    """Move the outage along its lifecycle, if ``who``'s role allows it."""
    check_transition_allowed(session, who, outage_id, to)
    return store.transition_outage(
        session, outage_id, to, at=at, actor=who.name, role=who.role, note=note
    )


def add_restoration_step(
    session: Session,
    who: Principal,
    outage_id: int,
    *,
    element_ids: Sequence[str],
    how: str,
    at: datetime,
    now: datetime,
) -> RestorationStep:
    """Record areas back on supply; a crew only by its own repair, never in the future."""
    if who.role is Role.CREW and how not in CREW_RESTORATION:
        raise ForbiddenError(who.role, _DISPATCH, what=f"{how} steps")
    if who.role not in {*_DISPATCH, Role.CREW}:
        raise ForbiddenError(who.role, {*_DISPATCH, Role.CREW}, what="restoration steps")
    if at > now + FUTURE_SLACK:
        raise InputError(f"a restoration step cannot be in the future ({at.isoformat()})")
    return store.add_restoration_step(
        session, outage_id, element_ids=element_ids, at=at, how=how, actor=who.name, role=who.role
    )
