"""The outage repository: outage rows in, :mod:`openoms.outages.records` values out.

This module holds the write side: create, move through the lifecycle, record restoration
steps, merge, update. Every change goes through the lifecycle's
:func:`~openoms.outages.lifecycle.transition`, is kept as a state change, and leaves an audit
entry. A change that is refused (an illegal transition, an unknown area) raises before
anything is added to the session, so the caller's transaction holds nothing half-written. The
outage row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serialises writers) before it changes.

The read side (:func:`get_outage`, :func:`list_outages`, the open-outage queries, the row →
record conversion) is :mod:`.outage_queries`, re-exported here: the repository is used by
this one name, ``from openoms.store import outages``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.outages.lifecycle import OutageState, transition
from openoms.outages.records import AreaOff, OutageKind, OutageRecord, RestorationStep
from openoms.store.audit import record_audit
from openoms.store.outage_queries import (
    OutageNotFoundError,
    get_outage,
    list_outages,
    open_outage_for_area,
    open_outage_for_device,
    open_outages_with_areas_off,
    outage_row,
    record_of,
    step_of,
)
from openoms.store.tables import Outage, OutageArea, OutageStep, OutageTransition

__all__ = [
    "UNCHANGED",
    "AreaRestorationError",
    "OutageNotFoundError",
    "add_areas",
    "add_restoration_step",
    "create_outage",
    "get_outage",
    "list_outages",
    "merge_outage",
    "open_outage_for_area",
    "open_outage_for_device",
    "open_outages_with_areas_off",
    "transition_outage",
    "update_outage",
]

_OBJECT_KIND = "outage"


class _Unchanged(Enum):
    UNCHANGED = "unchanged"


UNCHANGED: Final = _Unchanged.UNCHANGED
"""Default of :func:`update_outage`'s fields: leave the field as it is (``None`` clears it)."""


class AreaRestorationError(InputError):
    """A restoration step names areas that are not off in the outage."""

    def __init__(
        self,
        outage_id: int,
        *,
        unknown: Sequence[str] = (),
        already_restored: Mapping[str, int] | None = None,
        repeated: Sequence[str] = (),
    ) -> None:
        restored = dict(already_restored or {})
        parts = []
        if unknown:
            parts.append(f"not off in this outage: {', '.join(unknown)}")
        if restored:
            parts.append(
                "already restored: "
                + ", ".join(f"{element} (step {step})" for element, step in restored.items())
            )
        if repeated:
            parts.append(f"named more than once: {', '.join(repeated)}")
        if not parts:
            parts.append("no area named")
        super().__init__(f"outage {outage_id}: cannot restore areas; " + "; ".join(parts))
        self.outage_id = outage_id
        self.unknown = tuple(unknown)
        self.already_restored = restored
        self.repeated = tuple(repeated)


# -- writing ------------------------------------------------------------------------------


def _change_state(
    row: Outage,
    target: OutageState,
    *,
    at: datetime,
    actor: str,
    note: str | None,
) -> OutageState:
    """Record ``row``'s move to ``target`` (already checked by ``transition``)."""
    current = OutageState(row.state)
    row.state = target.value
    row.updated_at = at
    if target is OutageState.RESTORED:
        row.restored_at = at
    elif target is OutageState.CLOSED:
        row.closed_at = at
    elif target is OutageState.LOCATED and current in (OutageState.RESTORED, OutageState.CLOSED):
        row.restored_at = None  # reopened
        row.closed_at = None
    row.transitions.append(
        OutageTransition(
            from_state=current.value, to_state=target.value, at=at, actor=actor, note=note
        )
    )
    return current


def create_outage(
    session: Session,
    *,
    kind: OutageKind,
    network_version_id: int,
    started_at: datetime,
    actor: str,
    feeder_id: str | None = None,
    operated_device: str | None = None,
    located_section: str | None = None,
    cause: str | None = None,
    momentary: bool = False,
    areas: Sequence[AreaOff] = (),
    summary: Mapping[str, Any] | None = None,
    state: OutageState = OutageState.DETECTED,
    now: datetime,
    role: str = "system",
) -> int:
    """A new outage in ``state`` (its first state change, from nothing); returns its id."""
    repeated = sorted(e for e, n in Counter(a.element_id for a in areas).items() if n > 1)
    if repeated:
        raise InputError(f"new outage: areas named more than once: {', '.join(repeated)}")
    row = Outage(
        kind=OutageKind(kind).value,
        state=OutageState(state).value,
        network_version_id=network_version_id,
        feeder_id=feeder_id,
        operated_device=operated_device,
        located_section=located_section,
        cause=cause,
        crew=None,
        momentary=momentary,
        started_at=started_at,
        summary=dict(summary or {}),
        created_at=now,
        updated_at=now,
        areas=[
            OutageArea(
                element_id=a.element_id,
                element_kind=a.element_kind,
                customers=a.customers,
                village=a.village,
                off_at=a.off_at,
                restored_at=a.restored_at,
                restored_in_step=a.restored_in_step,
            )
            for a in areas
        ],
        transitions=[
            OutageTransition(
                from_state=None, to_state=OutageState(state).value, at=now, actor=actor
            )
        ],
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        role=role,
        action="outage.create",
        object_kind=_OBJECT_KIND,
        object_id=row.id,
        detail={
            "kind": str(kind),
            "state": str(state),
            "feeder_id": feeder_id,
            "operated_device": operated_device,
            "areas": len(areas),
            "customers": sum(a.customers for a in areas),
        },
    )
    return row.id


def transition_outage(
    session: Session,
    outage_id: int,
    target: OutageState,
    *,
    at: datetime,
    actor: str,
    role: str = "system",
    note: str | None = None,
) -> OutageRecord:
    """Move the outage to ``target`` if the lifecycle allows it (else raise, writing nothing).

    Entering ``restored`` sets ``restored_at``, entering ``closed`` sets ``closed_at``, and
    reopening (``restored`` / ``closed`` → ``located``) clears both. The areas are not
    touched: :func:`add_restoration_step` records who came back.
    """
    row = outage_row(session, outage_id, for_update=True)
    target = transition(OutageState(row.state), target)
    current = _change_state(row, target, at=at, actor=actor, note=note)
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.transition",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={"from": str(current), "to": str(target), "note": note},
    )
    return record_of(row)


def merge_outage(
    session: Session,
    outage_id: int,
    into_id: int,
    *,
    at: datetime,
    actor: str,
    role: str = "system",
    note: str | None = None,
) -> OutageRecord:
    """Mark ``outage_id`` as merged into ``into_id`` (two records of one outage)."""
    if outage_id == into_id:
        raise InputError(f"outage {outage_id} cannot be merged into itself")
    into = outage_row(session, into_id)
    if into.state in (OutageState.MERGED, OutageState.CANCELLED):
        raise InputError(
            f"outage {outage_id} cannot be merged into outage {into_id}: that one is {into.state}"
        )
    row = outage_row(session, outage_id, for_update=True)
    target = transition(OutageState(row.state), OutageState.MERGED)
    current = _change_state(
        row, target, at=at, actor=actor, note=note or f"merged into outage {into_id}"
    )
    row.merged_into_id = into_id
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.merge",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={"from": str(current), "into": into_id, "note": note},
    )
    return record_of(row)


def add_restoration_step(
    session: Session,
    outage_id: int,
    *,
    element_ids: Sequence[str],
    at: datetime,
    how: str,
    operations: Sequence[Mapping[str, Any]] = (),
    actor: str,
    role: str = "system",
) -> RestorationStep:
    """Record that the areas ``element_ids`` are back on at ``at``; steps number from 1.

    The outage moves to ``partly_restored`` while some areas are still off and to
    ``restored`` when the last come back (through the lifecycle, so a step on a closed or
    cancelled outage is refused). Ids that are not off in the outage (unknown, or restored in
    an earlier step) raise :class:`AreaRestorationError` naming them all, and nothing is
    written.
    """
    row = outage_row(session, outage_id, for_update=True)
    by_id = {area.element_id: area for area in row.areas}
    counts = Counter(element_ids)
    repeated = sorted(e for e, n in counts.items() if n > 1)
    unknown = sorted(e for e in counts if e not in by_id)
    restored = {
        e: by_id[e].restored_in_step or 0
        for e in sorted(counts)
        if e in by_id and by_id[e].restored_at is not None
    }
    if not element_ids or repeated or unknown or restored:
        raise AreaRestorationError(
            outage_id, unknown=unknown, already_restored=restored, repeated=repeated
        )
    if at < row.started_at:
        raise InputError(
            f"outage {outage_id}: a restoration step at {at.isoformat()} is before the outage "
            f"started ({row.started_at.isoformat()})"
        )
    still_off = sum(1 for area in row.areas if area.restored_at is None) - len(counts)
    state = OutageState(row.state)
    target = OutageState.PARTLY_RESTORED if still_off else OutageState.RESTORED
    if target is not state:
        transition(state, target)  # raises before anything is written

    number = max((step.number for step in row.steps), default=0) + 1
    areas = [by_id[e] for e in counts]
    for area in areas:
        area.restored_at = at
        area.restored_in_step = number
    step = OutageStep(
        number=number,
        at=at,
        how=how,
        operations=[dict(operation) for operation in operations],
        areas_restored=len(areas),
        customers_restored=sum(area.customers for area in areas),
    )
    row.steps.append(step)
    row.updated_at = at
    if target is not state:
        _change_state(row, target, at=at, actor=actor, note=f"restoration step {number}")
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.restoration_step",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={
            "step": number,
            "how": how,
            "element_ids": list(counts),
            "customers_restored": step.customers_restored,
            "state": str(target),
        },
    )
    return step_of(step)


def update_outage(
    session: Session,
    outage_id: int,
    *,
    located_section: str | _Unchanged | None = UNCHANGED,
    cause: str | _Unchanged | None = UNCHANGED,
    crew: str | _Unchanged | None = UNCHANGED,
    summary: Mapping[str, Any] | _Unchanged = UNCHANGED,
    at: datetime,
    actor: str,
    role: str = "system",
) -> OutageRecord:
    """Change the fields a dispatcher edits; fields not given stay, ``None`` clears one.

    Only fields whose value really changes are written and audited (old and new values).
    """
    row = outage_row(session, outage_id, for_update=True)
    changes: dict[str, list[Any]] = {}
    if located_section is not UNCHANGED and located_section != row.located_section:
        changes["located_section"] = [row.located_section, located_section]
        row.located_section = located_section
    if cause is not UNCHANGED and cause != row.cause:
        changes["cause"] = [row.cause, cause]
        row.cause = cause
    if crew is not UNCHANGED and crew != row.crew:
        changes["crew"] = [row.crew, crew]
        row.crew = crew
    if summary is not UNCHANGED and dict(summary) != row.summary:
        changes["summary"] = [row.summary, dict(summary)]
        row.summary = dict(summary)
    if changes:
        row.updated_at = at
        session.flush()
        record_audit(
            session,
            at=at,
            actor=actor,
            role=role,
            action="outage.update",
            object_kind=_OBJECT_KIND,
            object_id=outage_id,
            detail=changes,
        )
    return record_of(row)


def add_areas(
    session: Session,
    outage_id: int,
    areas: Sequence[AreaOff],
    *,
    at: datetime,
    actor: str,
    role: str = "system",
) -> None:
    """Areas put off later in an open outage (a further opening of the same planned work)."""
    row = outage_row(session, outage_id, for_update=True)
    known = {a.element_id for a in row.areas}
    repeated = sorted({a.element_id for a in areas} & known)
    if repeated:
        raise InputError(f"outage {outage_id}: areas already in it: {', '.join(repeated)}")
    for a in areas:
        row.areas.append(
            OutageArea(
                element_id=a.element_id,
                element_kind=a.element_kind,
                customers=a.customers,
                village=a.village,
                off_at=a.off_at,
                restored_at=None,
                restored_in_step=None,
            )
        )
    row.updated_at = at
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.add_areas",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={"areas": [a.element_id for a in areas]},
    )
