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
from openoms.service.reliability import (
    Source,
    engine_settings,
    parse_levels,
    parse_period,
    run_reliability,
)

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
    history_years: float | None = Field(
        description="Years from the first history record to the period (None when given)."
    )


class BreakdownOut(_Out):
    by: list[str]
    rows: list[dict[str, Any]] = Field(description="One row per group: its labels and indices.")


class AvoidedOut(_Out):
    automatic_customer_hours: float = Field(description="Kept on by automatic restoration.")
    live_line_customer_hours: float = Field(description="Kept on by live-line work.")


class CountsOut(_Out):
    rows: int = Field(description="Interruption rows that began in the period.")
    events: int
    sustained_events: int
    momentary_only_events: int
    units_interrupted: int


class ReliabilityOut(_Out):
    period: PeriodOut
    settings: dict[str, Any] = Field(description="The engine settings that produced the result.")
    warnings: list[str] = Field(
        description="No customer base or no records: the indices are null, not 0 / 100 %."
    )
    counts: CountsOut
    unit_assumption: str = Field(description="How CN, CEMIn... count a unit's customers.")
    med: MedOut | None
    med_note: str | None = Field(description="Why there is no T_MED, when there is none.")
    med_caveat: str | None = Field(
        description="T_MED from less than five years of history: how many days and years."
    )
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
    sustained_threshold_min: Annotated[
        float | None, Query(ge=0, description="Sustained if longer than this (minutes).")
    ] = None,
    sustained_operator: Annotated[
        Literal[">", ">="] | None, Query(description="'>' (IEEE 1366) or '>='.")
    ] = None,
    short_interruption_s: Annotated[
        float | None, Query(ge=0, description="DL/T 836 leaves out ≤ this; 0 counts all.")
    ] = None,
    med_ddof: Annotated[int | None, Query(ge=0, description="ddof of β.")] = None,
    med_history_years: Annotated[
        int | None, Query(ge=1, le=50, description="Years of history for T_MED.")
    ] = None,
    med_threshold_min: Annotated[
        float | None, Query(gt=0, description="Use this T_MED (minutes) instead.")
    ] = None,
    cemi: Annotated[
        str | None, Query(max_length=100, description="The n of CEMIn, e.g. 3 or 1,2,3.")
    ] = None,
    celid_threshold_h: Annotated[
        float | None, Query(gt=0, description="CELID threshold (hours).")
    ] = None,
    worst_n: Annotated[
        int | None, Query(ge=0, le=1000, description="Length of the worst lists.")
    ] = None,
) -> ReliabilityOut:
    """Every engine setting defaults to the configured one; the parameters override it, and
    ``settings`` in the answer says which produced it."""
    settings, now = context.settings, context.clock()
    first, stop = parse_period(start, end, tz=settings.timezone, now=now)
    engine = engine_settings(
        settings,
        sustained_threshold_s=None
        if sustained_threshold_min is None
        else sustained_threshold_min * 60.0,
        sustained_operator=sustained_operator,
        short_interruption_s=short_interruption_s,
        med_ddof=med_ddof,
        med_history_years=med_history_years,
        cemi_n=parse_levels(cemi, "cemi"),
        celid_threshold_h=celid_threshold_h,
        worst_n=worst_n,
    )
    run = run_reliability(
        session,
        context.network,
        start=first,
        end=stop,
        settings=settings,
        now=now,
        by=by,
        source=source,
        engine=engine,
        med_threshold_min=med_threshold_min,
    )
    return ReliabilityOut.model_validate(run.result.as_dict() | {"notes": list(run.notes)})
