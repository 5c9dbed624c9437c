"""The outage repository's read side: outage rows to :mod:`openoms.outages.records` values.

:func:`get_outage` and :func:`list_outages` for the API, and the open-outage queries the
processor asks on every event (:func:`open_outage_for_device`, :func:`open_outage_for_area`,
:func:`open_outages_with_areas_off`). The one row → record conversion (:func:`record_of`,
:func:`step_of`) and the row look-up (:func:`outage_row`) are here too, for the write side in
:mod:`.outages`, which re-exports this module's functions: callers use ``store.outages``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, selectinload

from openoms.errors import InputError
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.records import (
    AreaOff,
    OutageKind,
    OutageRecord,
    RestorationStep,
    StateChange,
)
from openoms.store.tables import Outage, OutageArea, OutageStep, OutageTransition

__all__ = [
    "OutageNotFoundError",
    "get_outage",
    "list_outages",
    "open_outage_for_area",
    "open_outage_for_device",
    "open_outages_with_areas_off",
    "outage_row",
    "record_of",
    "step_of",
]

_IN_CHUNK: Final = 500  # ids per IN (...) list: well under every database's limit


class OutageNotFoundError(InputError):
    """No outage with this id."""

    def __init__(self, outage_id: int) -> None:
        super().__init__(f"no outage with id {outage_id}")
        self.outage_id = outage_id


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


def step_of(row: OutageStep) -> RestorationStep:
    """The restoration step of a step row."""
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


def record_of(row: Outage) -> OutageRecord:
    """The record of an outage row, with its areas, steps and history."""
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
        steps=tuple(step_of(s) for s in row.steps),
        history=tuple(_change(t) for t in row.transitions),
        restoration_plan=_plan_brief(row.restoration_plan),
    )


def _plan_brief(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    """The restoration plan of an outage in brief (the record lists it, not the plan)."""
    if not plan:
        return None
    return {
        "revision": plan.get("revision"),
        "approved_by": plan.get("approved_by"),
        "approved_at": plan.get("approved_at"),
        "steps": len(plan.get("steps", ())),
        "customers_restored": plan.get("customers_restored"),
    }


def _with_children(query: Select[Outage]) -> Select[Outage]:
    return query.options(
        selectinload(Outage.areas), selectinload(Outage.steps), selectinload(Outage.transitions)
    )


def outage_row(session: Session, outage_id: int, *, for_update: bool = False) -> Outage:
    """The outage row (locked with ``for_update``); :class:`OutageNotFoundError` if none."""
    row = session.get(Outage, outage_id, with_for_update=True if for_update else None)
    if row is None:
        raise OutageNotFoundError(outage_id)
    return row


# -- reading ------------------------------------------------------------------------------


def get_outage(session: Session, outage_id: int) -> OutageRecord:
    """The outage with its areas, steps and history; :class:`OutageNotFoundError` if none."""
    row = session.scalars(_with_children(select(Outage).where(Outage.id == outage_id))).first()
    if row is None:
        raise OutageNotFoundError(outage_id)
    return record_of(row)


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
    return [record_of(row) for row in session.scalars(_with_children(query))]


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
    return None if row is None else record_of(row)


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
    return [record_of(row) for row in rows[:limit]]
