"""The API's schemas of restoration plans (FLISR, advisory mode): the plan a dispatcher reads
and approves, as stored by :mod:`openoms.service.restoration`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from openoms.api.schemas import RequestBody

__all__ = [
    "ApproveIn",
    "PlaceOut",
    "PlanStepOut",
    "PowerFlowOut",
    "RestorationPlanOut",
    "Texts",
    "WhoOut",
]


class Texts(BaseModel):
    zh: str
    en: str


class SwitchOut(BaseModel):
    device: str
    name: str


class PlanStepOut(BaseModel):
    number: int
    device: str = Field(description="The switch's id.")
    name: str = Field(description="The switch's name.")
    operation: str = Field(description="open / close")
    close: bool
    remote: bool = Field(description="By telecontrol (true) or by hand on site (false).")
    action: str = Field(
        description="isolate / restore_upstream / split / restore_tie / restore_switch"
    )
    minutes: float = Field(description="Estimated time from the start of the plan to done.")
    stage: int = Field(description="1: by telecontrol before the crew arrives; 2: the crew's.")
    check: Texts = Field(description="The check after the step (position, voltage, loading).")


class PlaceOut(BaseModel):
    id: str
    name: str
    place: str | None = None
    customers: int | None = None


class SensitiveOut(BaseModel):
    id: str
    name: str
    category: str
    people: int | None


class WhoOut(BaseModel):
    customers: int = Field(description="LV customers plus one per HV customer.")
    load_kw: float
    villages: list[str]
    streets: list[str]
    transformer_areas: list[PlaceOut]
    hv_customers: list[PlaceOut]
    sensitive_customers: list[SensitiveOut]
    text: Texts


class FiguresOut(BaseModel):
    converged: bool
    min_u_pu: float | None
    max_u_pu: float | None
    max_loading: float | None = Field(description="Highest current / rating (1.0 = 100 %).")
    max_loading_element: str
    losses_kw: float | None
    violations: list[Texts]


class PowerFlowOut(BaseModel):
    after: FiguresOut | None = Field(description="The feeders involved once the plan is done.")
    before: FiguresOut | None = Field(description="After the trip and the isolation.")
    scenarios: int = Field(description="Power-flow scenarios run (one per candidate).")
    candidates: int


class StaleOut(BaseModel):
    zh: str
    en: str
    changed: list[dict[str, str | bool]]


class ExecutionOut(BaseModel):
    id: int
    revision: int = Field(description="The plan revision executed (a widened plan: the next).")
    mode: str = Field(description="advisory (after approval), automatic or restore_only.")
    state: str = Field(
        description="queued, waiting_isolation (restore_only: for the crew's isolation), "
        "running, done, stopped (a manual step: the rest is the crew's switching order; or a "
        "failed closing), interrupted (OpenOMS restarted with a command in flight)."
    )
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    note: Texts | None = Field(description="Why it stopped and what is left, or null.")


class CommandOut(BaseModel):
    id: int
    revision: int
    step: int = Field(description="The step number in that plan revision.")
    device: str
    close: bool
    operation: str
    unit: str | None = Field(description="The telecontrol unit commanded (null: not sent).")
    ioa: int | None
    asdu_type: str | None = Field(description="C_SC_NA_1, C_DC_NA_1, C_SC_TA_1 or C_DC_TA_1.")
    state: str = Field(
        description="intent (sent, no outcome yet), confirmed, failed, unconfirmed (a restart "
        "found it in flight: never resent; check the switch), skipped (already in position), "
        "manual (left to the crew)."
    )
    stage: str | None = Field(description="link, select, execute, feedback or done.")
    reason: str | None
    reason_zh: str | None
    actor: str
    created_at: datetime = Field(description="When the intent was recorded (before sending).")
    finished_at: datetime | None
    outcome: dict[str, Any] | None


class RestorationPlanOut(BaseModel):
    outage_id: int
    revision: int = Field(description="1 for the first plan, one more at each recompute.")
    fault_event_id: int | None
    feeder_id: str
    feeder_name: str
    mode: str = Field(description="The feeder's FLISR mode: advisory, automatic, restore_only.")
    computed_at: datetime
    computed_by: str
    zones: list[str] = Field(description="The located zones (tied ones: all) isolated.")
    region: list[str] = Field(description="The faulted sections and switches.")
    trip_assumed: bool
    tripped: list[SwitchOut]
    isolation: list[SwitchOut]
    steps: list[PlanStepOut]
    customers_out: int
    customers_restored: int
    customers_still_off: int
    load_out_kw: float
    load_restored_kw: float
    restored: WhoOut
    still_off: WhoOut
    receiving_feeders: list[str]
    power_flow: PowerFlowOut
    order: Texts = Field(description="The switching order (操作票), zh-CN and English.")
    approved_by: str | None
    approved_at: datetime | None
    stale: StaleOut | None = Field(
        description="Why the plan no longer fits the live switch states (recompute it), or null."
    )
    widened_after: dict[str, Any] | None = Field(
        default=None,
        description="This revision widened the isolation after a switch failed to open: "
        "the switch and the reason.",
    )
    execution: ExecutionOut | None = Field(
        default=None, description="The latest execution over IEC 104, or null (none)."
    )
    commands: list[CommandOut] = Field(
        default_factory=list,
        description="Every step executed, skipped or left to the crew, of every execution.",
    )


class ApproveIn(RequestBody):
    revision: int = Field(ge=1, description="The revision read (a recomputed plan is refused).")
