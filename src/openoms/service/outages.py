"""Writing outage records on a person's behalf: bookings, lifecycle moves, restoration steps.

The HTTP routes and the event processor (crew status sent as events) both come here, so that
a role may do the same things whichever way it asks: a crew reports its arrival and its own
repairs; a planner may call off a planned outage record (the booking itself is
:mod:`.planned`'s); everything else is the dispatcher's (and the administrator's). Each
write leaves its audit entry with the real principal's name and role, in the caller's
transaction.

A crew-status event stands for the route of what it asks (:func:`apply_crew_status`), with
that route's meaning and rules: ``restored`` is a repair restoration step of the areas still
off (as ``POST /outages/{id}/restoration-steps`` with ``how: repair``), ``merged`` a merge
into the outage named by ``merged_into_id`` (dispatchers only; refused without one), any
other state a lifecycle move (``POST /outages/{id}/transitions``). The API checks it when the
event is posted (:func:`check_crew_status_allowed`), the event processor again, as the sender
recorded with the event, when it acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from openoms.errors import ForbiddenError, InputError
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.planned import PlannedState
from openoms.outages.records import OutageKind, OutageRecord, RestorationStep
from openoms.outages.summary import areas_of, outage_summary
from openoms.service.context import ServiceContext
from openoms.store import outages as store
from openoms.store import planned as planned_store
from openoms.store.tokens import Role

__all__ = [
    "CREW_RESTORATION",
    "CREW_STATUS_REPAIR",
    "CREW_TRANSITIONS",
    "PLANNER_TRANSITIONS",
    "AreasStillOffError",
    "Principal",
    "add_restoration_step",
    "apply_crew_status",
    "book_outage",
    "check_crew_status_allowed",
    "check_restoration_allowed",
    "check_transition_allowed",
    "complete_planned_work",
    "merge_outage",
    "transition_outage",
]

CREW_TRANSITIONS: Final = frozenset({OutageState.CREW_ON_SITE})
"""A crew reports its arrival; every other state change is the dispatcher's."""
PLANNER_TRANSITIONS: Final = frozenset({OutageState.CANCELLED})
"""A planner may call off a planned outage."""
CREW_RESTORATION: Final = frozenset({"repair"})
"""A crew records supply restored by its own repair; switching steps are the dispatcher's."""
CREW_STATUS_REPAIR: Final = "repair"
"""How the areas a crew status ``restored`` brings back were restored: by the crew's repair."""
_DISPATCH: Final = frozenset({Role.ADMIN, Role.DISPATCHER})
FUTURE_SLACK: Final = timedelta(minutes=1)
"""How far ahead of the service's clock a reported time may lie (clocks differ a little)."""


class AreasStillOffError(InputError):
    """A move to ``restored`` while areas are still off: the reliability figures would count
    them off for ever. Their return is recorded as a restoration step, which moves the
    outage to ``restored`` by itself when the last area is back."""

    def __init__(self, outage_id: int, still_off: Sequence[str]) -> None:
        shown = ", ".join(still_off[:5]) + (
            f" (+{len(still_off) - 5} more)" if len(still_off) > 5 else ""
        )
        super().__init__(
            f"outage {outage_id}: {len(still_off)} area(s) still off ({shown}); "
            "record a restoration step for them instead of a move to restored"
        )
        self.outage_id = outage_id
        self.still_off = tuple(still_off)


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
    """Record an outage by the devices it opened (a dispatcher's manual record).

    Planned work is not recorded here: it is booked (:mod:`openoms.service.planned`), and its
    outage record is made by its switching when the work starts."""
    if kind is OutageKind.PLANNED:
        raise InputError(
            "planned work is booked as a planned outage (POST /api/v1/planned-outages: draft, "
            "approval with the notice lead time, notices); its outage record follows from its "
            "switching when the work starts"
        )
    if who.role not in _DISPATCH:
        raise ForbiddenError(who.role, _DISPATCH, what=f"{kind} outage records")
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
    """Move the outage along its lifecycle, if ``who``'s role allows it.

    ``merged`` is not a move of its own: a merge names the outage it goes into
    (:func:`merge_outage`), else the record would point nowhere.
    """
    check_transition_allowed(session, who, outage_id, to)
    if to is OutageState.RESTORED:
        still_off = [
            a.element_id
            for a in store.get_outage(session, outage_id).areas
            if a.restored_at is None
        ]
        if still_off:
            raise AreasStillOffError(outage_id, still_off)
    if to is OutageState.MERGED:
        raise InputError(
            f"outage {outage_id}: a merge names the outage it is merged into; "
            "a plain move to merged is not allowed"
        )
    record = store.transition_outage(
        session, outage_id, to, at=at, actor=who.name, role=who.role, note=note
    )
    if complete_planned_work(session, outage_id, at=at):
        record = store.get_outage(session, outage_id)
    return record


def merge_outage(
    session: Session,
    who: Principal,
    outage_id: int,
    into_id: int,
    *,
    at: datetime,
    note: str | None = None,
) -> OutageRecord:
    """Mark the outage as a second record of ``into_id`` (a dispatcher's call)."""
    if who.role not in _DISPATCH:
        raise ForbiddenError(who.role, _DISPATCH, what="a merge of outages")
    return store.merge_outage(
        session, outage_id, into_id, at=at, actor=who.name, role=who.role, note=note
    )


def check_restoration_allowed(who: Principal, how: str) -> None:
    """:class:`ForbiddenError` unless ``who``'s role may record a restoration step ``how``."""
    if who.role is Role.CREW and how not in CREW_RESTORATION:
        raise ForbiddenError(who.role, _DISPATCH, what=f"{how} steps")
    if who.role not in {*_DISPATCH, Role.CREW}:
        raise ForbiddenError(who.role, {*_DISPATCH, Role.CREW}, what="restoration steps")


def check_crew_status_allowed(
    session: Session,
    who: Principal,
    outage_id: int,
    status: OutageState,
    *,
    merged_into_id: int | None = None,
) -> None:
    """:class:`ForbiddenError` unless ``who`` may do through the routes what a crew-status
    event with ``status`` does (see the module docstring); :class:`InputError` for a merge
    without its target."""
    if status is OutageState.MERGED:
        if who.role not in _DISPATCH:
            raise ForbiddenError(who.role, _DISPATCH, what="a merge of outages")
        if merged_into_id is None:
            raise InputError(
                f"outage {outage_id}: a crew status 'merged' names the outage it is merged "
                "into (merged_into_id)"
            )
    elif status is OutageState.RESTORED:
        check_restoration_allowed(who, CREW_STATUS_REPAIR)
    else:
        check_transition_allowed(session, who, outage_id, status)


def apply_crew_status(
    session: Session,
    who: Principal,
    outage_id: int,
    status: OutageState,
    *,
    at: datetime,
    now: datetime,
    crew: str | None = None,
    merged_into_id: int | None = None,
    note: str | None = None,
) -> str:
    """Do what a crew-status event asks, as ``who``; what was done, in a sentence.

    Raises (writing nothing of its own) when ``who`` may not, or the lifecycle does not
    allow it: run it in a savepoint so that the crew named is not kept either.
    """
    check_crew_status_allowed(session, who, outage_id, status, merged_into_id=merged_into_id)
    if crew:
        store.update_outage(session, outage_id, crew=crew, at=at, actor=who.name, role=who.role)
    if status is OutageState.MERGED:
        assert merged_into_id is not None  # checked above
        merge_outage(session, who, outage_id, merged_into_id, at=at, note=note)
        return f"outage {outage_id} → merged into outage {merged_into_id}"
    if status is OutageState.RESTORED:
        record = store.get_outage(session, outage_id)
        still_off = [area.element_id for area in record.areas if area.restored_at is None]
        if still_off:
            step = add_restoration_step(
                session,
                who,
                outage_id,
                element_ids=still_off,
                how=CREW_STATUS_REPAIR,
                at=at,
                now=now,
            )
            return f"outage {outage_id} → restored ({step.areas_restored} areas back)"
    transition_outage(session, who, outage_id, status, at=at, note=note)
    return f"outage {outage_id} → {status}"


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
    check_restoration_allowed(who, how)
    if at > now + FUTURE_SLACK:
        raise InputError(f"a restoration step cannot be in the future ({at.isoformat()})")
    step = store.add_restoration_step(
        session, outage_id, element_ids=element_ids, at=at, how=how, actor=who.name, role=who.role
    )
    complete_planned_work(session, outage_id, at=at)
    return step


def complete_planned_work(session: Session, outage_id: int, *, at: datetime) -> bool:
    """The planned work whose outage record this is, completed once all its customers are
    back (the outage left the open states) and the record held the work's own areas (not
    only customers moved to a tie in the first steps) or the window is over; True if so."""
    work = planned_store.work_for_outage(session, outage_id)
    if work is None or work.state is not PlannedState.IN_PROGRESS:
        return False
    outage = store.get_outage(session, outage_id)
    if outage.state in OPEN_STATES:
        return False
    # Customers moved to a tie and back are a record of their own: the work is done when
    # the record with its own zone's areas is back (or its window is over).
    if not set(work.element_ids) & {a.element_id for a in outage.areas} and at < work.ends_at:
        return False
    planned_store.transition_work(
        session,
        work.id,
        PlannedState.COMPLETED,
        at=at,
        actor="system",
        role="system",
        note=f"outage {outage_id} {outage.state}",
    )
    return True
