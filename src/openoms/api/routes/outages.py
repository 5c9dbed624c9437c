"""Outage records: list, detail, manual records, lifecycle transitions, restoration steps.

Every write goes through the outage workflows of :mod:`openoms.service.outages` (which role may
do what) and the store's repository (the lifecycle, the audit entry with the caller's name and
role), in the request's transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from openoms.api.auth import (
    OutageCreator,
    PlanApprover,
    Reader,
    StepWriter,
    TransitionWriter,
    User,
)
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.outage_schemas import (
    OutageDetail,
    OutageIn,
    OutageOut,
    OutagePage,
    RestorationStepIn,
    StepOut,
    TransitionIn,
)
from openoms.api.plan_schemas import ApproveIn, RestorationPlanOut
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import Name, UtcTime
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind
from openoms.service import outages as workflows
from openoms.service import restoration
from openoms.store import outages as store

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/outages", tags=["outages"], responses=problem_responses(401, 403)
)

OutageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The outage's id.")]


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
    summary="Record an outage by hand, by the devices that opened",
    responses=problem_responses(404, 422),
)
def create_outage(
    context: ContextDep, session: SessionDep, user: OutageCreator, body: OutageIn
) -> OutageDetail:
    record = workflows.book_outage(
        context,
        session,
        _principal(user),
        kind=body.kind,
        opened=body.open,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        note=body.note,
    )
    return OutageDetail.from_domain(record)


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
    record = workflows.transition_outage(
        session, _principal(user), outage_id, body.to, at=context.clock(), note=body.note
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
    now = context.clock()
    step = workflows.add_restoration_step(
        session,
        _principal(user),
        outage_id,
        element_ids=body.element_ids,
        how=body.how.value,
        at=body.at or now,
        now=now,
    )
    return StepOut.from_domain(step)


@router.get(
    "/{outage_id}/restoration-plan",
    summary="The restoration plan (FLISR, advisory) proposed for the outage",
    responses=problem_responses(404, 422),
)
def get_restoration_plan(
    context: ContextDep, session: SessionDep, _user: Reader, outage_id: OutageId
) -> RestorationPlanOut:
    return RestorationPlanOut.model_validate(restoration.plan_view(context, session, outage_id))


@router.post(
    "/{outage_id}/restoration-plan/approve",
    summary="Approve the restoration plan (a dispatcher); the switching stays manual",
    responses=problem_responses(404, 409, 422),
)
def approve_restoration_plan(
    context: ContextDep,
    session: SessionDep,
    user: PlanApprover,
    outage_id: OutageId,
    body: ApproveIn,
) -> RestorationPlanOut:
    plan = restoration.approve(
        context, session, _principal(user), outage_id, revision=body.revision
    )
    return RestorationPlanOut.model_validate(plan)


@router.post(
    "/{outage_id}/restoration-plan/recompute",
    summary="Plan again from the live switch states (the next revision)",
    responses=problem_responses(404, 409, 422),
)
def recompute_restoration_plan(
    context: ContextDep, session: SessionDep, user: PlanApprover, outage_id: OutageId
) -> RestorationPlanOut:
    plan = restoration.recompute(context, session, _principal(user), outage_id)
    return RestorationPlanOut.model_validate(plan)


def _principal(user: User) -> workflows.Principal:
    return workflows.Principal(user.name, user.role)
