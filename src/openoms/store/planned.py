"""The planned-outage repository: booking rows in, :class:`~openoms.outages.planned.PlannedWork`
values out.

Every state change goes through :func:`~openoms.outages.planned.planned_transition`, is kept
as a state change and leaves an audit entry; a refused change raises before anything is
added to the session. The row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL) before it
changes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from openoms.errors import InputError
from openoms.outages.planned import (
    PlannedState,
    PlannedStateChange,
    PlannedWork,
    WorkType,
    planned_transition,
)
from openoms.store.audit import record_audit
from openoms.store.tables import PlannedTransition, PlannedWorkRow

__all__ = [
    "PlannedWorkNotFoundError",
    "create_work",
    "get_work",
    "link_outage",
    "list_work",
    "transition_work",
    "work_for_outage",
    "work_opening",
    "work_row",
]

_OBJECT_KIND = "planned_work"


class PlannedWorkNotFoundError(InputError):
    """No planned outage with this id."""

    def __init__(self, work_id: int) -> None:
        super().__init__(f"no planned outage with id {work_id}")
        self.work_id = work_id


def _work(row: PlannedWorkRow) -> PlannedWork:
    return PlannedWork(
        id=row.id,
        state=PlannedState(row.state),
        revision=row.revision,
        network_version_id=row.network_version_id,
        work_type=WorkType(row.work_type),
        reason=row.reason,
        crews=tuple(row.crews),
        work_on=tuple(row.work_on),
        opened=tuple(row.opened),
        switching=tuple(row.switching),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        feeder_id=row.feeder_id,
        element_ids=tuple(row.element_ids),
        customers=row.customers,
        summary=dict(row.summary),
        notice=dict(row.notice),
        outage_id=row.outage_id,
        created_by=row.created_by,
        created_at=row.created_at,
        history=tuple(
            PlannedStateChange(
                PlannedState(t.from_state) if t.from_state else None,
                PlannedState(t.to_state),
                t.at,
                t.actor,
                t.note,
            )
            for t in row.transitions
        ),
    )


def work_row(session: Session, work_id: int, *, for_update: bool = False) -> PlannedWorkRow:
    row = session.get(PlannedWorkRow, work_id, with_for_update=True if for_update else None)
    if row is None:
        raise PlannedWorkNotFoundError(work_id)
    return row


def create_work(
    session: Session,
    *,
    network_version_id: int,
    work_type: WorkType,
    reason: str,
    crews: Sequence[str],
    work_on: Sequence[str],
    opened: Sequence[str],
    switching: Sequence[Mapping[str, Any]],
    starts_at: datetime,
    ends_at: datetime,
    feeder_id: str | None,
    element_ids: Sequence[str],
    customers: int,
    summary: Mapping[str, Any],
    notice: Mapping[str, Any],
    actor: str,
    role: str,
    now: datetime,
) -> int:
    """A new booking, in ``draft``; returns its id."""
    if ends_at <= starts_at:
        raise InputError(
            f"a planned outage must end after it starts: {starts_at.isoformat()} to "
            f"{ends_at.isoformat()}"
        )
    row = PlannedWorkRow(
        state=PlannedState.DRAFT.value,
        revision=1,
        network_version_id=network_version_id,
        work_type=WorkType(work_type).value,
        reason=reason,
        crews=list(crews),
        work_on=list(work_on),
        opened=list(opened),
        switching=[dict(op) for op in switching],
        starts_at=starts_at,
        ends_at=ends_at,
        feeder_id=feeder_id,
        element_ids=list(element_ids),
        customers=customers,
        summary=dict(summary),
        notice=dict(notice),
        outage_id=None,
        created_by=actor,
        created_at=now,
        updated_at=now,
        transitions=[
            PlannedTransition(
                from_state=None, to_state=PlannedState.DRAFT.value, at=now, actor=actor
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
        action="planned.create",
        object_kind=_OBJECT_KIND,
        object_id=row.id,
        detail={
            "work_type": str(work_type),
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "opened": list(opened),
            "customers": customers,
        },
    )
    return row.id


def transition_work(
    session: Session,
    work_id: int,
    target: PlannedState,
    *,
    at: datetime,
    actor: str,
    role: str,
    note: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    notice: Mapping[str, Any] | None = None,
) -> PlannedWork:
    """Move the booking to ``target``; ``window`` (a postponement or a re-approval with a new
    window) changes its times and raises its revision; ``notice`` replaces its notice rule."""
    row = work_row(session, work_id, for_update=True)
    current = PlannedState(row.state)
    planned_transition(current, target)
    detail: dict[str, Any] = {"from": current.value, "to": target.value}
    if window is not None:
        starts_at, ends_at = window
        if ends_at <= starts_at:
            raise InputError(
                f"planned outage {work_id}: the new window must end after it starts: "
                f"{starts_at.isoformat()} to {ends_at.isoformat()}"
            )
        if (starts_at, ends_at) != (row.starts_at, row.ends_at):
            detail["window"] = [
                [row.starts_at.isoformat(), row.ends_at.isoformat()],
                [starts_at.isoformat(), ends_at.isoformat()],
            ]
            row.starts_at, row.ends_at = starts_at, ends_at
            row.revision += 1
    if notice is not None:
        row.notice = dict(notice)
    row.state = target.value
    row.updated_at = at
    row.transitions.append(
        PlannedTransition(
            from_state=current.value, to_state=target.value, at=at, actor=actor, note=note
        )
    )
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="planned.transition",
        object_kind=_OBJECT_KIND,
        object_id=work_id,
        detail=detail,
    )
    return _work(row)


def link_outage(session: Session, work_id: int, outage_id: int, *, at: datetime) -> None:
    row = work_row(session, work_id, for_update=True)
    row.outage_id = outage_id
    row.updated_at = at
    session.flush()


def get_work(session: Session, work_id: int) -> PlannedWork:
    row = session.scalars(
        select(PlannedWorkRow)
        .where(PlannedWorkRow.id == work_id)
        .options(selectinload(PlannedWorkRow.transitions))
    ).first()
    if row is None:
        raise PlannedWorkNotFoundError(work_id)
    return _work(row)


def list_work(
    session: Session,
    *,
    states: Collection[PlannedState] | None = None,
    ends_after: datetime | None = None,
    starts_before: datetime | None = None,
    limit: int = 500,
) -> list[PlannedWork]:
    """Bookings by start time, filtered by state and by a window they overlap."""
    query = select(PlannedWorkRow).options(selectinload(PlannedWorkRow.transitions))
    if states is not None:
        query = query.where(PlannedWorkRow.state.in_([s.value for s in states]))
    if ends_after is not None:
        query = query.where(PlannedWorkRow.ends_at > ends_after)
    if starts_before is not None:
        query = query.where(PlannedWorkRow.starts_at < starts_before)
    query = query.order_by(PlannedWorkRow.starts_at, PlannedWorkRow.id).limit(limit)
    return [_work(row) for row in session.scalars(query)]


def work_opening(
    session: Session,
    device: str,
    *,
    at: datetime,
    states: Collection[PlannedState],
    earliest_start_slack_s: float,
) -> PlannedWork | None:
    """The booking an opening of ``device`` at ``at`` belongs to, or None.

    Work in ``states`` (not completed) whose switching opens ``device`` and whose window,
    started up to ``earliest_start_slack_s`` early, holds ``at``; or completed work whose
    switching closed ``device`` (a tie it used), opened again to put the network back to
    normal up to that slack after the window. The earliest such booking."""
    slack = timedelta(seconds=earliest_start_slack_s)
    wanted = {PlannedState(s).value for s in states}
    query = (
        select(PlannedWorkRow)
        .where(PlannedWorkRow.state.in_(wanted))
        .where(PlannedWorkRow.ends_at > at - slack)
        .where(PlannedWorkRow.starts_at <= at + slack)
        .options(selectinload(PlannedWorkRow.transitions))
        .order_by(PlannedWorkRow.starts_at, PlannedWorkRow.id)
    )
    for row in session.scalars(query):
        if row.state == PlannedState.COMPLETED.value:
            if device in {str(op.get("device")) for op in row.switching if op.get("close")}:
                return _work(row)
            continue
        if row.ends_at <= at:
            continue
        opens = set(row.opened) | {
            str(op.get("device")) for op in row.switching if not op.get("close")
        }
        if device in opens:
            return _work(row)
    return None


def work_for_outage(session: Session, outage_id: int) -> PlannedWork | None:
    row = session.scalars(
        select(PlannedWorkRow)
        .where(PlannedWorkRow.outage_id == outage_id)
        .options(selectinload(PlannedWorkRow.transitions))
    ).first()
    return None if row is None else _work(row)
