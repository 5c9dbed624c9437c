"""Outage records: list, detail, planned bookings, lifecycle transitions, restoration steps.

Every write goes through the store's outage repository, which checks the lifecycle and leaves
the audit entry (with the caller's name and role) in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query, status

from openoms.api.auth import ForbiddenError, OutageCreator, Reader, StepWriter, TransitionWriter
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import (
    Name,
    OutageDetail,
    OutageIn,
    OutageOut,
    OutagePage,
    RestorationHow,
    RestorationStepIn,
    StepOut,
    TransitionIn,
    UtcTime,
)
from openoms.errors import InputError
from openoms.i18n import Lang
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind
from openoms.service.processor import areas_of
from openoms.store import outages as store
from openoms.store.tokens import Role

__all__ = ["CREW_RESTORATION", "CREW_TRANSITIONS", "PLANNER_TRANSITIONS", "router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/outages", tags=["outages"], responses=problem_responses(401, 403)
)

OutageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The outage's id.")]

CREW_TRANSITIONS: Final = frozenset({OutageState.CREW_ON_SITE})
"""A crew reports its arrival; every other state change is the dispatcher's."""
PLANNER_TRANSITIONS: Final = frozenset({OutageState.CANCELLED})
"""A planner may call off a planned outage."""
CREW_RESTORATION: Final = frozenset({RestorationHow.REPAIR})
"""A crew records supply restored by its own repair; switching steps are the dispatcher's."""
_FUTURE_SLACK: Final = timedelta(minutes=1)


@router.get("", summary="Outages, newest first, filtered", responses=problem_responses(422))
def list_outages(
    *,
    session: SessionDep,
    _user: Reader,
    state: Annotated[list[OutageState] | None, Query(description="Any of these states.")] = None,
    kind: Annotated[list[OutageKind] | None, Query(description="Any of these kinds.")] = None,
    feeder: Annotated[Name | None, Query(description="Feeder id.")] = None,
    started_from: Annotated[
        UtcTime | None, Query(alias="from", description="Started at or after.")
    ] = None,
    started_to: Annotated[UtcTime | None, Query(alias="to", description="Started before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OutagePage:
    records = store.list_outages(
        session,
        states=state,
        kinds=kind,
        feeder_id=feeder,
        started_from=started_from,
        started_to=started_to,
        limit=limit,
        offset=offset,
    )
    return OutagePage(items=[OutageOut.from_domain(r) for r in records], limit=limit, offset=offset)


@router.get(
    "/{outage_id}",
    summary="One outage with its areas, restoration steps and history",
    responses=problem_responses(404, 422),
)
def get_outage(session: SessionDep, _user: Reader, outage_id: OutageId) -> OutageDetail:
    return OutageDetail.from_domain(store.get_outage(session, outage_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Book a planned outage (or record one) by the devices it opens",
    responses=problem_responses(404, 422),
)
def create_outage(
    context: ContextDep, session: SessionDep, user: OutageCreator, body: OutageIn
) -> OutageDetail:
    if user.role is Role.PLANNER and body.kind is not OutageKind.PLANNED:
        raise ForbiddenError(user.role, {Role.ADMIN, Role.DISPATCHER}, what=f"{body.kind} outages")
    with context.lock:
        impact = context.analyser.of_opening(body.open)
    if impact.is_empty:
        raise InputError(f"opening {', '.join(body.open)} puts no customer off supply")
    summary: dict[str, object] = {
        "zh": impact.summary(Lang.ZH),
        "en": impact.summary(Lang.EN),
        "counts": impact.as_dict()["counts"],
        "opened": list(body.open),
        "estimated_restoration_at": body.ends_at.isoformat() if body.ends_at else None,
        "note": body.note,
    }
    outage_id = store.create_outage(
        session,
        kind=body.kind,
        network_version_id=context.network_version_id,
        started_at=body.starts_at,
        actor=user.name,
        role=user.role,
        feeder_id=impact.feeders[0] if len(impact.feeders) == 1 else None,
        areas=areas_of(impact, at=body.starts_at),
        summary=summary,
        now=context.clock(),
    )
    return OutageDetail.from_domain(store.get_outage(session, outage_id))


@router.post(
    "/{outage_id}/transitions",
    summary="Move the outage along its lifecycle",
    responses=problem_responses(404, 409, 422),
)
def transition(
    context: ContextDep,
    session: SessionDep,
    user: TransitionWriter,
    outage_id: OutageId,
    body: TransitionIn,
) -> OutageDetail:
    if user.role is Role.CREW and body.to not in CREW_TRANSITIONS:
        raise ForbiddenError(user.role, {Role.ADMIN, Role.DISPATCHER}, what=f"a move to {body.to}")
    if user.role is Role.PLANNER:
        kind = store.get_outage(session, outage_id).kind
        if body.to not in PLANNER_TRANSITIONS or kind is not OutageKind.PLANNED:
            raise ForbiddenError(
                user.role,
                {Role.ADMIN, Role.DISPATCHER},
                what=f"a move of a {kind} outage to {body.to}",
            )
    record = store.transition_outage(
        session,
        outage_id,
        body.to,
        at=context.clock(),
        actor=user.name,
        role=user.role,
        note=body.note,
    )
    return OutageDetail.from_domain(record)


@router.post(
    "/{outage_id}/restoration-steps",
    status_code=status.HTTP_201_CREATED,
    summary="Record transformer areas / HV customers back on supply",
    responses=problem_responses(404, 409, 422),
)
def add_restoration_step(
    context: ContextDep,
    session: SessionDep,
    user: StepWriter,
    outage_id: OutageId,
    body: RestorationStepIn,
) -> StepOut:
    if user.role is Role.CREW and body.how not in CREW_RESTORATION:
        raise ForbiddenError(user.role, {Role.ADMIN, Role.DISPATCHER}, what=f"{body.how} steps")
    now = context.clock()
    at = body.at or now
    if at > now + _FUTURE_SLACK:
        raise InputError(f"a restoration step cannot be in the future ({at.isoformat()})")
    step = store.add_restoration_step(
        session,
        outage_id,
        element_ids=body.element_ids,
        at=at,
        how=body.how.value,
        actor=user.name,
        role=user.role,
    )
    return StepOut.from_domain(step)
