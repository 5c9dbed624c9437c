"""FLISR execution records: executions of an outage's restoration plan, the switches and
feeders an active execution holds, and every command with its outcome.

Written in the caller's transaction, with audit entries. Two executions cannot use the same
switch or receiving feeder at once: :func:`start_execution` inserts one
``switching_reservations`` row per switch and feeder (its primary key), and a second
execution's insert fails inside a savepoint (:class:`ExecutionConflictError`, HTTP 409); the
``active_outage`` column (unique) allows one active execution per outage. Commands:
:func:`record_intent` is committed before a command is sent, :func:`record_outcome` after;
:func:`interrupted_commands` finds those a restart left without an outcome (reported, never
sent again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openoms.store.audit import record_audit
from openoms.store.restoration_plans import PlanConflictError
from openoms.store.tables import SwitchingCommandRow, SwitchingExecution, SwitchingReservation

__all__ = [
    "ACTIVE_STATES",
    "ExecutionConflictError",
    "active_execution_of",
    "active_executions",
    "commands_of",
    "execution_of",
    "executions_of",
    "finish_execution",
    "hold_more",
    "interrupted_commands",
    "recent_command_on",
    "record_intent",
    "record_outcome",
    "record_step",
    "set_execution",
    "start_execution",
]

ACTIVE_STATES: Final = ("queued", "waiting_isolation", "running")
_OBJECT_KIND = "outage"


class ExecutionConflictError(PlanConflictError):
    """The plan cannot be executed now (HTTP 409, reason ``executing``): another active
    execution holds one of its switches or receiving feeders, or this outage's plan is
    already being executed."""


def _execution_dict(row: SwitchingExecution) -> dict[str, Any]:
    return {
        "id": row.id,
        "revision": row.revision,
        "mode": row.mode,
        "state": row.state,
        "started_by": row.started_by,
        "started_at": row.started_at.isoformat(),
        "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
        "note": row.note,
    }


def _command_dict(row: SwitchingCommandRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "revision": row.revision,
        "step": row.step,
        "device": row.device,
        "close": row.close,
        "operation": "close" if row.close else "open",
        "unit": row.unit,
        "ioa": row.ioa,
        "asdu_type": row.asdu_type,
        "state": row.state,
        "stage": row.stage,
        "reason": row.reason,
        "reason_zh": row.reason_zh,
        "actor": row.actor,
        "created_at": row.created_at.isoformat(),
        "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
        "outcome": row.outcome,
    }


def start_execution(
    session: Session,
    outage_id: int,
    *,
    revision: int,
    mode: str,
    state: str,
    resources: Iterable[str],
    at: datetime,
    actor: str,
    role: str,
) -> dict[str, Any]:
    """A new active execution of revision ``revision`` holding ``resources`` (switch ids,
    ``feeder:<id>``); :class:`ExecutionConflictError` when any is held already."""
    held = sorted(set(resources))
    try:
        with session.begin_nested():
            row = SwitchingExecution(
                outage_id=outage_id,
                active_outage=outage_id,
                revision=revision,
                mode=mode,
                state=state,
                started_by=actor,
                started_at=at,
            )
            session.add(row)
            session.flush()
            session.add_all(SwitchingReservation(resource=r, execution_id=row.id) for r in held)
            session.flush()
    except IntegrityError:
        raise _conflict(session, outage_id, held) from None
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.restoration_plan.execute",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={"execution": row.id, "revision": revision, "mode": mode, "holds": held},
    )
    return _execution_dict(row)


def hold_more(session: Session, execution_id: int, resources: Iterable[str]) -> None:
    """Add ``resources`` (those not held yet) to an active execution (a widened plan);
    :class:`ExecutionConflictError` when another execution holds one."""
    row = execution_of(session, execution_id)
    held = set(
        session.scalars(
            select(SwitchingReservation.resource).where(
                SwitchingReservation.execution_id == execution_id
            )
        )
    )
    new = sorted(set(resources) - held)
    if not new:
        return
    try:
        with session.begin_nested():
            session.add_all(
                SwitchingReservation(resource=r, execution_id=execution_id) for r in new
            )
            session.flush()
    except IntegrityError:
        raise _conflict(session, row.outage_id, new, own=False) from None


def _conflict(
    session: Session, outage_id: int, held: list[str], *, own: bool = True
) -> ExecutionConflictError:
    rows = session.execute(
        select(SwitchingReservation.resource, SwitchingExecution.outage_id)
        .join(SwitchingExecution, SwitchingExecution.id == SwitchingReservation.execution_id)
        .where(SwitchingReservation.resource.in_(held), SwitchingExecution.outage_id != outage_id)
    ).all()
    mine = session.scalar(
        select(SwitchingExecution.id).where(SwitchingExecution.active_outage == outage_id)
    )
    if own and mine is not None:
        return ExecutionConflictError(
            outage_id,
            "executing",
            "the plan of this outage is already being executed",
            detail_zh="该停电事件的方案正在执行",
        )
    shared = sorted(r for r, _ in rows)
    others = sorted({o for _, o in rows})
    return ExecutionConflictError(
        outage_id,
        "executing",
        f"the plan of outage {', '.join(map(str, others))} is being executed and holds "
        f"{', '.join(shared)}; two plans using the same switches or feeders are never executed "
        "at once",
        detail_zh=f"停电事件 {'、'.join(map(str, others))} 的方案正在执行，占用 "
        f"{'、'.join(shared)}，两个方案不能同时执行",
        other_outage_ids=others,
        shared=shared,
    )


def execution_of(session: Session, execution_id: int) -> SwitchingExecution:
    row = session.get(SwitchingExecution, execution_id)
    if row is None:
        raise KeyError(execution_id)
    return row


def active_execution_of(session: Session, outage_id: int) -> SwitchingExecution | None:
    """The active execution of the outage's plan, or None."""
    return session.scalar(
        select(SwitchingExecution).where(SwitchingExecution.active_outage == outage_id)
    )


def active_executions(session: Session) -> list[SwitchingExecution]:
    """The active executions, oldest first."""
    return list(
        session.scalars(
            select(SwitchingExecution)
            .where(SwitchingExecution.state.in_(ACTIVE_STATES))
            .order_by(SwitchingExecution.id)
        )
    )


def set_execution(
    session: Session, execution_id: int, *, state: str | None = None, revision: int | None = None
) -> None:
    row = execution_of(session, execution_id)
    if state is not None:
        row.state = state
    if revision is not None:
        row.revision = revision
    session.flush()


def finish_execution(
    session: Session,
    execution_id: int,
    *,
    state: str,
    note: Mapping[str, str] | None,
    at: datetime,
) -> dict[str, Any]:
    """End an execution in ``state`` (done, stopped, failed, interrupted) and release what
    it held."""
    row = execution_of(session, execution_id)
    row.state = state
    row.active_outage = None
    row.finished_at = at
    row.note = None if note is None else dict(note)
    session.execute(
        delete(SwitchingReservation).where(SwitchingReservation.execution_id == execution_id)
    )
    session.flush()
    record_audit(
        session,
        at=at,
        actor="system",
        role="system",
        action=f"outage.restoration_plan.execution_{state}",
        object_kind=_OBJECT_KIND,
        object_id=row.outage_id,
        detail={"execution": execution_id, "revision": row.revision, "note": row.note},
    )
    return _execution_dict(row)


def record_step(
    session: Session,
    execution: SwitchingExecution,
    *,
    step: int,
    device: str,
    close: bool,
    state: str,
    reason: str,
    reason_zh: str,
    at: datetime,
) -> dict[str, Any]:
    """A step not sent: ``skipped`` (already in position) or ``manual`` (for the crew)."""
    row = SwitchingCommandRow(
        execution_id=execution.id,
        outage_id=execution.outage_id,
        revision=execution.revision,
        step=step,
        device=device,
        close=close,
        state=state,
        reason=reason,
        reason_zh=reason_zh,
        actor="system",
        created_at=at,
        finished_at=at,
    )
    session.add(row)
    session.flush()
    return _command_dict(row)


def record_intent(
    session: Session,
    execution: SwitchingExecution,
    *,
    step: int,
    device: str,
    close: bool,
    unit: str,
    ioa: int,
    asdu_type: str,
    at: datetime,
    actor: str,
) -> int:
    """The command about to be sent (commit this before sending it); returns its id."""
    row = SwitchingCommandRow(
        execution_id=execution.id,
        outage_id=execution.outage_id,
        revision=execution.revision,
        step=step,
        device=device,
        close=close,
        unit=unit,
        ioa=ioa,
        asdu_type=asdu_type,
        state="intent",
        actor=actor,
        created_at=at,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role="system",
        action="outage.switching_command",
        object_kind=_OBJECT_KIND,
        object_id=execution.outage_id,
        detail={
            "command": row.id,
            "step": step,
            "operation": f"{'close' if close else 'open'} {device}",
            "unit": unit,
            "ioa": ioa,
            "type": asdu_type,
        },
    )
    return row.id


def record_outcome(
    session: Session,
    command_id: int,
    *,
    ok: bool,
    stage: str,
    reason: str | None,
    reason_zh: str | None,
    outcome: Mapping[str, Any],
    at: datetime,
) -> dict[str, Any]:
    row = session.get(SwitchingCommandRow, command_id)
    if row is None:
        raise KeyError(command_id)
    row.state = "confirmed" if ok else "failed"
    row.stage = stage
    row.reason = reason
    row.reason_zh = reason_zh
    row.outcome = dict(outcome)
    row.finished_at = at
    session.flush()
    record_audit(
        session,
        at=at,
        actor="system",
        role="system",
        action="outage.switching_command.outcome",
        object_kind=_OBJECT_KIND,
        object_id=row.outage_id,
        detail={"command": row.id, "state": row.state, "stage": stage, "reason": reason},
    )
    return _command_dict(row)


def interrupted_commands(session: Session) -> list[SwitchingCommandRow]:
    """Commands whose intent was written and whose outcome never was (a restart)."""
    return list(
        session.scalars(
            select(SwitchingCommandRow)
            .where(SwitchingCommandRow.state == "intent")
            .order_by(SwitchingCommandRow.id)
        )
    )


def executions_of(session: Session, outage_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SwitchingExecution)
        .where(SwitchingExecution.outage_id == outage_id)
        .order_by(SwitchingExecution.id)
    )
    return [_execution_dict(r) for r in rows]


def commands_of(session: Session, outage_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SwitchingCommandRow)
        .where(SwitchingCommandRow.outage_id == outage_id)
        .order_by(SwitchingCommandRow.id)
    )
    return [_command_dict(r) for r in rows]


def recent_command_on(session: Session, device: str, *, since: datetime) -> bool:
    """Whether an execution commanded ``device`` since ``since`` (and it was confirmed or
    is still in flight): the switch event it causes is FLISR's."""
    found = session.scalar(
        select(SwitchingCommandRow.id)
        .where(
            SwitchingCommandRow.device == device,
            SwitchingCommandRow.created_at >= since,
            SwitchingCommandRow.state.in_(("intent", "confirmed")),
        )
        .limit(1)
    )
    return found is not None
