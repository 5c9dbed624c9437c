"""Trouble-call predictions: the dispatcher confirms a predicted operated device."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from openoms.api.auth import OutageCreator
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.outage_schemas import OutageDetail
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.service import calls as workflows

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/outages", tags=["outages"], responses=problem_responses(401, 403)
)

OutageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The outage's id.")]


@router.post(
    "/{outage_id}/confirm-prediction",
    summary="Confirm the device a trouble-call prediction named (the record becomes located)",
    responses=problem_responses(404, 409, 422),
)
def confirm_prediction(
    context: ContextDep, session: SessionDep, user: OutageCreator, outage_id: OutageId
) -> OutageDetail:
    record = workflows.confirm_prediction(
        context,
        session,
        outage_id,
        actor=user.name,
        role=user.role.value,
        at=context.clock(),
    )
    return OutageDetail.from_domain(record)
