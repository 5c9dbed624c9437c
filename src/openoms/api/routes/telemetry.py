"""Telemetry: the latest value of each measured point, and one point's sampled history.

Cyclic measurements (load currents, voltages, power every few seconds, from the IEC 104
units) are kept apart from the event log (:mod:`openoms.store.telemetry`): the latest value
of each point, and at most one history row per point per ``telemetry_sample_s``. Reading is
the dispatcher's (and admin's), as for the event log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from openoms.api.auth import EventReader
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.event_schemas import TelemetryHistoryPage, TelemetryOut, TelemetryPage
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.routes.events import check_period
from openoms.api.schemas import Name, UtcTime
from openoms.errors import UnknownDeviceError
from openoms.store import telemetry as store

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/telemetry",
    tags=["telemetry"],
    responses=problem_responses(401, 403, 422),
)

Point = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[ -~]+$")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("", summary="The latest value of every point (of one element)")
def latest(
    *,
    session: SessionDep,
    _user: EventReader,
    element: Annotated[Name | None, Query(description="A detector or switch id.")] = None,
    point: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[ -~]+$", description="A point.")
    ] = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> TelemetryPage:
    readings = store.latest_telemetry(
        session, element_id=element, point=point, limit=limit, offset=offset
    )
    return TelemetryPage(
        items=[TelemetryOut.from_domain(r) for r in readings], limit=limit, offset=offset
    )


@router.get(
    "/{element_id}/{point}",
    summary="One point's sampled history, newest first",
    responses=problem_responses(404),
)
def history(
    *,
    context: ContextDep,
    session: SessionDep,
    _user: EventReader,
    element_id: Annotated[str, Path(min_length=1, max_length=100)],
    point: Point,
    since: Annotated[
        UtcTime | None, Query(description="Samples at or after (with offset).")
    ] = None,
    until: Annotated[UtcTime | None, Query(description="Samples before (with offset).")] = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> TelemetryHistoryPage:
    check_period(since, until, names=("since", "until"))
    network = context.network
    if element_id not in network:
        raise UnknownDeviceError(element_id, network=network.name)
    readings = store.telemetry_history(
        session, element_id, point, since=since, until=until, limit=limit, offset=offset
    )
    return TelemetryHistoryPage(
        element_id=element_id,
        point=point,
        sample_s=context.intake.telemetry_sample.total_seconds(),
        items=[TelemetryOut.from_domain(r) for r in readings],
        limit=limit,
        offset=offset,
    )
