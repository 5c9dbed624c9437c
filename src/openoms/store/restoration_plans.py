"""The restoration plan of an outage: one JSON value on its row (``outages.restoration_plan``).

Written with its audit entry, in the caller's transaction, the outage row locked first. A
plan is computed by :mod:`openoms.service.restoration` (which also decides whether it may be
approved); here it is stored, numbered (``revision``, from 1, one more at each recompute) and
marked approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.outages.lifecycle import OPEN_STATES
from openoms.store.audit import record_audit
from openoms.store.outage_queries import outage_row
from openoms.store.tables import Outage

__all__ = [
    "PlanConflictError",
    "PlanNotFoundError",
    "approve_plan",
    "approved_plans_of_open_outages",
    "find_plan",
    "get_plan",
    "lock_approvals",
    "save_plan",
]

_OBJECT_KIND = "outage"
_APPROVAL_LOCK: Final = 150015  # PostgreSQL advisory lock key of plan approvals (issue 15)


class PlanNotFoundError(InputError):
    """The outage has no restoration plan (no permanent fault located, FLISR disabled on its
    feeder, or not computed yet)."""

    def __init__(self, outage_id: int) -> None:
        super().__init__(
            f"outage {outage_id} has no restoration plan (FLISR disabled on its feeder, no "
            "permanent fault located on it, or not computed yet: POST "
            f"/api/v1/outages/{outage_id}/restoration-plan/recompute)"
        )
        self.outage_id = outage_id


class PlanConflictError(InputError):
    """The plan cannot be approved (HTTP 409): ``reason`` is ``already_approved``,
    ``revision`` (recomputed since it was read), ``stale`` (switch states changed since it was
    computed), ``conflicting`` (another approved plan uses the same switches or receiving
    feeder) or ``outage_ended``."""

    def __init__(self, outage_id: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(f"outage {outage_id}: {message}")
        self.outage_id = outage_id
        self.reason = reason
        self.details = details


def get_plan(session: Session, outage_id: int, *, for_update: bool = False) -> dict[str, Any]:
    """The stored plan (the outage row locked with ``for_update``); :class:`PlanNotFoundError`
    when there is none."""
    plan = find_plan(session, outage_id, for_update=for_update)
    if plan is None:
        raise PlanNotFoundError(outage_id)
    return plan


def find_plan(
    session: Session, outage_id: int, *, for_update: bool = False
) -> dict[str, Any] | None:
    """The stored plan, or None; an unknown outage raises
    :class:`~openoms.store.outage_queries.OutageNotFoundError`."""
    plan = outage_row(session, outage_id, for_update=for_update).restoration_plan
    return None if plan is None else dict(plan)


def save_plan(
    session: Session,
    outage_id: int,
    plan: Mapping[str, Any],
    *,
    at: datetime,
    actor: str,
    role: str = "system",
) -> dict[str, Any]:
    """Store ``plan`` as the outage's plan (the next revision; any approval is dropped with the
    plan it was given to); returns it as stored."""
    row = outage_row(session, outage_id, for_update=True)
    previous = row.restoration_plan
    revision = int(previous["revision"]) + 1 if previous else 1
    stored = dict(plan) | {"revision": revision, "approved_by": None, "approved_at": None}
    row.restoration_plan = stored
    row.updated_at = at
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.restoration_plan",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={
            "revision": revision,
            "replaces_approved": bool(previous and previous.get("approved_by")),
            "steps": [f"{'close' if s['close'] else 'open'} {s['device']}" for s in plan["steps"]],
            "customers_restored": plan["customers_restored"],
        },
    )
    return stored


def lock_approvals(session: Session) -> None:
    """Serialise plan approvals across outages until the transaction ends: PostgreSQL takes a
    transaction advisory lock; SQLite's write transaction (BEGIN IMMEDIATE) already is one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPROVAL_LOCK})


def approved_plans_of_open_outages(
    session: Session, *, other_than: int
) -> list[tuple[int, dict[str, Any]]]:
    """(outage id, plan) of every other open outage whose plan is approved."""
    rows = session.execute(
        select(Outage.id, Outage.restoration_plan).where(
            Outage.state.in_([s.value for s in OPEN_STATES]),
            Outage.id != other_than,
            Outage.restoration_plan.is_not(None),
        )
    ).all()
    return [(oid, dict(plan)) for oid, plan in rows if plan and plan.get("approved_by")]


def approve_plan(
    session: Session,
    outage_id: int,
    *,
    revision: int,
    at: datetime,
    actor: str,
    role: str,
) -> dict[str, Any]:
    """Mark revision ``revision`` of the plan approved by ``actor`` (the checks that it may
    be are the service's, made under :func:`lock_approvals` before this)."""
    row = outage_row(session, outage_id, for_update=True)
    plan = row.restoration_plan
    if plan is None:
        raise PlanNotFoundError(outage_id)
    stored = dict(plan) | {
        "approved_by": actor,
        "approved_role": role,
        "approved_at": at.isoformat(),
    }
    row.restoration_plan = stored
    row.updated_at = at
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="outage.restoration_plan.approve",
        object_kind=_OBJECT_KIND,
        object_id=outage_id,
        detail={
            "revision": revision,
            "steps": [f"{'close' if s['close'] else 'open'} {s['device']}" for s in plan["steps"]],
        },
    )
    return stored
