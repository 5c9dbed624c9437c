"""The outage repository: outage rows in, :mod:`openoms.outages.records` values out.

Every change goes through the lifecycle's :func:`~openoms.outages.lifecycle.transition`, is
kept as a state change, and leaves an audit entry. A change that is refused (an illegal
transition, an unknown area) raises before anything is added to the session, so the caller's
transaction holds nothing half-written. The outage row is locked (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers) before it changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, selectinload

from openoms.errors import InputError
from openoms.outages.lifecycle import OPEN_STATES, OutageState, transition
from openoms.outages.records import (
    AreaOff,
    OutageKind,
    OutageRecord,
    RestorationStep,
    StateChange,
)
from openoms.store.audit import record_audit
from openoms.store.tables import Outage, OutageArea, OutageStep, OutageTransition

__all__ = [
    "UNCHANGED",
    "AreaRestorationError",
    "OutageNotFoundError",
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
_IN_CHUNK: Final = 500  # ids per IN (...) list: well under every database's limit


class _Unchanged(Enum):
    UNCHANGED = "unchanged"


UNCHANGED: Final = _Unchanged.UNCHANGED
"""Default of :func:`update_outage`'s fields: leave the field as it is (``None`` clears it)."""


class OutageNotFoundError(InputError):
    """No outage with this id."""

    def __init__(self, outage_id: int) -> None:
        super().__init__(f"no outage with id {outage_id}")
        self.outage_id = outage_id


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


# -- rows to records ----------------------------------------------------------------------


def _area(row: OutageArea) -> AreaOff:
    return AreaOff(
        element_id=row.element_id,
        element_kind=row.element_kind,
        customers=row.customers,
        village=row.village,
        off_at=row.off_at,
        restored_at=row.restored_at,
        restored_in_step=row.restored_in_step,
    )


def _step(row: OutageStep) -> RestorationStep:
    return RestorationStep(
        number=row.number,
        at=row.at,
        how=row.how,
        operations=tuple(dict(operation) for operation in row.operations),
        areas_restored=row.areas_restored,
        customers_restored=row.customers_restored,
    )


def _change(row: OutageTransition) -> StateChange:
    return StateChange(
        from_state=None if row.from_state is None else OutageState(row.from_state),
        to_state=OutageState(row.to_state),
        at=row.at,
        actor=row.actor,
        note=row.note,
    )


def _record(row: Outage) -> OutageRecord:
    return OutageRecord(
        id=row.id,
        kind=OutageKind(row.kind),
        state=OutageState(row.state),
        network_version_id=row.network_version_id,
        feeder_id=row.feeder_id,
        operated_device=row.operated_device,
        located_section=row.located_section,
        cause=row.cause,
        crew=row.crew,
        momentary=row.momentary,
        started_at=row.started_at,
        restored_at=row.restored_at,
        closed_at=row.closed_at,
        merged_into_id=row.merged_into_id,
        summary=dict(row.summary),
        areas=tuple(_area(a) for a in row.areas),
        steps=tuple(_step(s) for s in row.steps),
        history=tuple(_change(t) for t in row.transitions),
    )


def _with_children(query: Select[Outage]) -> Select[Outage]:
    return query.options(
        selectinload(Outage.areas), selectinload(Outage.steps), selectinload(Outage.transitions)
    )


def _row(session: Session, outage_id: int, *, for_update: bool = False) -> Outage:
    row = session.get(Outage, outage_id, with_for_update=True if for_update else None)
    if row is None:
        raise OutageNotFoundError(outage_id)
    return row


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
    row = _row(session, outage_id, for_update=True)
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
    return _record(row)


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
    into = _row(session, into_id)
    if into.state in (OutageState.MERGED, OutageState.CANCELLED):
        raise InputError(
            f"outage {outage_id} cannot be merged into outage {into_id}: that one is {into.state}"
        )
    row = _row(session, outage_id, for_update=True)
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
    return _record(row)


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
    row = _row(session, outage_id, for_update=True)
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
    return _step(step)


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
    row = _row(session, outage_id, for_update=True)
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
    return _record(row)


# -- reading ------------------------------------------------------------------------------


def get_outage(session: Session, outage_id: int) -> OutageRecord:
    """The outage with its areas, steps and history; :class:`OutageNotFoundError` if none."""
    row = session.scalars(_with_children(select(Outage).where(Outage.id == outage_id))).first()
    if row is None:
        raise OutageNotFoundError(outage_id)
    return _record(row)


def list_outages(
    session: Session,
    *,
    states: Collection[OutageState] | None = None,
    kinds: Collection[OutageKind] | None = None,
    feeder_id: str | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OutageRecord]:
    """Outages newest first, filtered; ``started_from`` is inclusive, ``started_to`` not."""
    if limit < 1 or offset < 0:
        raise InputError(f"list_outages: limit must be ≥ 1 and offset ≥ 0 (got {limit}, {offset})")
    query = select(Outage)
    if states is not None:
        query = query.where(Outage.state.in_([OutageState(s).value for s in states]))
    if kinds is not None:
        query = query.where(Outage.kind.in_([OutageKind(k).value for k in kinds]))
    if feeder_id is not None:
        query = query.where(Outage.feeder_id == feeder_id)
    if started_from is not None:
        query = query.where(Outage.started_at >= started_from)
    if started_to is not None:
        query = query.where(Outage.started_at < started_to)
    query = query.order_by(Outage.started_at.desc(), Outage.id.desc()).limit(limit).offset(offset)
    return [_record(row) for row in session.scalars(_with_children(query))]


def _open_states() -> list[str]:
    return sorted(state.value for state in OPEN_STATES)


def open_outage_for_device(session: Session, operated_device: str) -> OutageRecord | None:
    """The open outage that ``operated_device`` (breaker, fuse) started, newest if several."""
    query = (
        select(Outage)
        .where(Outage.operated_device == operated_device, Outage.state.in_(_open_states()))
        .order_by(Outage.started_at.desc(), Outage.id.desc())
        .limit(1)
    )
    row = session.scalars(_with_children(query)).first()
    return None if row is None else _record(row)


def open_outage_for_area(
    session: Session, element_id: str, *, started_by: datetime | None = None
) -> OutageRecord | None:
    """The open outage in which the transformer area / HV customer ``element_id`` is still off,
    newest first; with ``started_by``, only one that had started by then (a planned outage
    booked for later is not why a customer is off now)."""
    found = open_outages_with_areas_off(session, (element_id,), started_by=started_by, limit=1)
    return found[0] if found else None


def open_outages_with_areas_off(
    session: Session,
    element_ids: Collection[str],
    *,
    started_by: datetime | None = None,
    limit: int | None = None,
) -> list[OutageRecord]:
    """Every open outage in which any of ``element_ids`` is still off, newest first (no cap
    unless ``limit``); with ``started_by``, only outages that had started by then."""
    ids = sorted(set(element_ids))
    found: dict[int, Outage] = {}
    for first in range(0, len(ids), _IN_CHUNK):
        query = (
            select(Outage)
            .where(
                Outage.state.in_(_open_states()),
                Outage.areas.any(
                    and_(
                        OutageArea.element_id.in_(ids[first : first + _IN_CHUNK]),
                        OutageArea.restored_at.is_(None),
                    )
                ),
            )
            .order_by(Outage.started_at.desc(), Outage.id.desc())
        )
        if started_by is not None:
            query = query.where(Outage.started_at <= started_by)
        if limit is not None:
            query = query.limit(limit)
        for row in session.scalars(_with_children(query)):
            found.setdefault(row.id, row)
    rows = sorted(found.values(), key=lambda r: (r.started_at, r.id), reverse=True)
    return [_record(row) for row in rows[:limit]]
