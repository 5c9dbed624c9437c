"""Reliability indices of a period: IEEE 1366 and DL/T 836, major event days, breakdowns.

Read-only, for every role with a token. The rows are the imported history and the outage
records (``source``); the customer base is the running network's plus the units stored with
imported history (see docs/reliability.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from openoms.api.auth import Reader
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.service.reliability import Source, parse_period, run_reliability

__all__ = ["ReliabilityOut", "router"]

router = APIRouter(
    prefix=API_PREFIX, tags=["reliability"], responses=problem_responses(401, 403, 422)
)

Number = float | int | None
By = Literal["feeder", "substation", "grid_cell", "village", "cause", "month", "class", "planned"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeriodOut(_Out):
    start: str = Field(description="UTC, inclusive.")
    end: str = Field(description="UTC, exclusive.")
    hours: float


class MedOut(_Out):
    t_med_min: float = Field(description="T_MED, minutes of SAIDI per day.")
    alpha: float | None
    beta: float | None
    n_days: int | None
    ddof: int | None


class BreakdownOut(_Out):
    by: list[str]
    rows: list[dict[str, Any]] = Field(description="One row per group: its labels and indices.")


class AvoidedOut(_Out):
    automatic_customer_hours: float = Field(description="Kept on by automatic restoration.")
    live_line_customer_hours: float = Field(description="Kept on by live-line work.")


class ReliabilityOut(_Out):
    period: PeriodOut
    settings: dict[str, Any]
    med: MedOut | None
    med_note: str | None = Field(description="Why there is no T_MED, when there is none.")
    med_days: list[str] = Field(description="Major event days (local dates).")
    ieee1366: dict[str, dict[str, Number]] = Field(
        description="IEEE 1366 indices: all days, med (MED days only), excluding_med."
    )
    dlt836: dict[str, Any] = Field(description="DL/T 836 indices and the split by class.")
    breakdown: BreakdownOut | None
    worst_feeders: list[dict[str, Any]]
    worst_units: list[dict[str, Any]]
    over_n: dict[str, Any]
    avoided: AvoidedOut
    notes: list[str] = Field(description="Open outages counted up to now, units left out.")


@router.get(
    "/reliability",
    summary="Reliability indices of a period (IEEE 1366, DL/T 836), with major event days",
)
def get_reliability(
    context: ContextDep,
    session: SessionDep,
    _user: Reader,
    *,
    start: Annotated[
        str | None,
        Query(alias="from", description="First day, YYYY-MM-DD in the utility's zone."),
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="Day after the last; default tomorrow.")
    ] = None,
    by: Annotated[By | None, Query(description="Break the indices down by this.")] = None,
    source: Annotated[
        Source, Query(description="Imported history, outage records, or both.")
    ] = Source.BOTH,
) -> ReliabilityOut:
    settings, now = context.settings, context.clock()
    first, stop = parse_period(start, end, tz=settings.timezone, now=now)
    run = run_reliability(
        session,
        context.network,
        start=first,
        end=stop,
        settings=settings,
        now=now,
        by=by,
        source=source,
    )
    return ReliabilityOut.model_validate(run.result.as_dict() | {"notes": list(run.notes)})
