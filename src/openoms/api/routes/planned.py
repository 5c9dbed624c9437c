"""Planned outages: preview, book, approve (which sends the notice), postpone, cancel.

Planners book and approve (dispatchers and administrators may too); everyone with a token
reads. The outage record of the work is made by its switching, not here
(:mod:`openoms.service.planned`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status

from openoms.api.auth import Reader, User, require
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.planned_schemas import (
    NoticeTextOut,
    PlannedApproveIn,
    PlannedIn,
    PlannedNoteIn,
    PlannedOut,
    PlannedPostponeIn,
    PlannedPreviewOut,
)
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import UtcTime
from openoms.outages.notices import NoticeChannel
from openoms.outages.planned import PlannedState
from openoms.service import planned as workflows
from openoms.service.outages import Principal
from openoms.store import planned as store
from openoms.store.tokens import Role

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/planned-outages",
    tags=["planned outages"],
    responses=problem_responses(401, 403),
)

WorkId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The planned outage's id.")]
Planner = Annotated[User, Depends(require(Role.PLANNER, Role.DISPATCHER))]


def _principal(user: User) -> Principal:
    return Principal(user.name, user.role)


@router.get("", summary="Planned outages by start, filtered", responses=problem_responses(422))
def list_planned(
    session: SessionDep,
    _user: Reader,
    state: Annotated[list[PlannedState] | None, Query()] = None,
    ends_after: Annotated[UtcTime | None, Query()] = None,
    starts_before: Annotated[UtcTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PlannedOut]:
    found = store.list_work(
        session, states=state, ends_after=ends_after, starts_before=starts_before, limit=limit
    )
    return [PlannedOut.from_domain(w) for w in found]


@router.get(
    "/{work_id}",
    summary="One planned outage with its switching, impact, notice rule and history",
    responses=problem_responses(404, 422),
)
def get_planned(session: SessionDep, _user: Reader, work_id: WorkId) -> PlannedOut:
    return PlannedOut.from_domain(store.get_work(session, work_id))


@router.get(
    "/{work_id}/notice",
    summary="The notice text of the work on one channel, as customers read it",
    responses=problem_responses(404, 422),
)
def get_notice_text(
    context: ContextDep,
    session: SessionDep,
    _user: Reader,
    work_id: WorkId,
    channel: Annotated[NoticeChannel, Query()] = NoticeChannel.SMS,
    lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN",
) -> NoticeTextOut:
    work = store.get_work(session, work_id)
    title, body = workflows.notice_preview(context, work, channel, lang=lang)
    return NoticeTextOut(channel=channel, lang=lang, title=title, body=body)


@router.post(
    "/preview",
    summary="The switching, who is off and the live-line comparison, without booking",
    responses=problem_responses(404, 422),
)
def preview(context: ContextDep, user: Planner, body: PlannedIn) -> PlannedPreviewOut:
    found = workflows.preview_work(
        context,
        _principal(user),
        work_type=body.work_type,
        reason=body.reason,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        work_on=body.work_on,
        opened=body.open,
        live_line_off=body.live_line_off,
        now=context.clock(),
    )
    plan = found.plan
    return PlannedPreviewOut(
        opened=list(plan.opened),
        switching=[dict(op) for op in plan.switching],
        feeder_id=plan.feeder_id,
        customers=plan.customers,
        element_ids=plan.element_ids,
        summary=found.summary,
        notice_ok=found.notice is not None,
        notice=found.notice,
        notice_problem=found.notice_problem,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Book planned work (a draft until approved)",
    responses=problem_responses(404, 422),
)
def book(context: ContextDep, session: SessionDep, user: Planner, body: PlannedIn) -> PlannedOut:
    work = workflows.book_work(
        context,
        session,
        _principal(user),
        work_type=body.work_type,
        reason=body.reason,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        work_on=body.work_on,
        opened=body.open,
        crews=body.crews,
        live_line_off=body.live_line_off,
        now=context.clock(),
    )
    return PlannedOut.from_domain(work)


@router.post(
    "/{work_id}/approve",
    summary="Approve (checks the notice lead time now) and send the notice",
    responses=problem_responses(404, 409, 422),
)
def approve(
    context: ContextDep,
    session: SessionDep,
    user: Planner,
    work_id: WorkId,
    body: PlannedApproveIn,
) -> PlannedOut:
    work = workflows.approve_work(
        context,
        session,
        _principal(user),
        work_id,
        now=context.clock(),
        note=body.note,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    return PlannedOut.from_domain(work)


@router.post(
    "/{work_id}/postpone",
    summary="Put the work off to a new window (a correction notice goes out)",
    responses=problem_responses(404, 409, 422),
)
def postpone(
    context: ContextDep,
    session: SessionDep,
    user: Planner,
    work_id: WorkId,
    body: PlannedPostponeIn,
) -> PlannedOut:
    work = workflows.postpone_work(
        context,
        session,
        _principal(user),
        work_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        now=context.clock(),
        note=body.note,
    )
    return PlannedOut.from_domain(work)


@router.post(
    "/{work_id}/cancel",
    summary="Call the work off (customers already told get the cancellation)",
    responses=problem_responses(404, 409, 422),
)
def cancel(
    context: ContextDep,
    session: SessionDep,
    user: Planner,
    work_id: WorkId,
    body: PlannedNoteIn,
) -> PlannedOut:
    work = workflows.cancel_work(
        context, session, _principal(user), work_id, now=context.clock(), note=body.note
    )
    return PlannedOut.from_domain(work)
