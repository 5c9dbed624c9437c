"""The API's schemas of restoration plans (FLISR, advisory mode): the plan a dispatcher reads
and approves, as stored by :mod:`openoms.service.restoration`."""

from __future__ import annotations

from datetime import datetime

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


class RestorationPlanOut(BaseModel):
    outage_id: int
    revision: int = Field(description="1 for the first plan, one more at each recompute.")
    fault_event_id: int | None
    feeder_id: str
    feeder_name: str
    mode: str = Field(description="The feeder's FLISR mode (advisory).")
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


class ApproveIn(RequestBody):
    revision: int = Field(ge=1, description="The revision read (a recomputed plan is refused).")
