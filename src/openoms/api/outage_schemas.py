"""The API's schemas of outages: records for dispatchers, what a dispatcher or planner sends,
and the public view of an outage.

Responses are built from :mod:`openoms.outages.records` values by the ``from_domain``
conversions here; the public view (:class:`PublicOutage`) is an allow-list of places and
counts. The field types (:data:`~.schemas.UtcTime`, :data:`~.schemas.Note`, ...) and the
request base (:class:`~.schemas.RequestBody`) are those of :mod:`.schemas`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from openoms.api.schemas import DeviceId, Note, RequestBody, UtcTime
from openoms.outages.lifecycle import OutageState
from openoms.outages.planned import PlannedState, WorkType
from openoms.outages.records import AreaOff, OutageKind, OutageRecord, RestorationStep, StateChange

__all__ = [
    "AreaOut",
    "OutageDetail",
    "OutageIn",
    "OutageOut",
    "OutagePage",
    "PlanBriefOut",
    "PublicLabel",
    "PublicOutage",
    "PublicOutageList",
    "PublicPlanned",
    "RestorationHow",
    "RestorationStepIn",
    "StateChangeOut",
    "StepOut",
    "TransitionIn",
]


class AreaOut(BaseModel):
    element_id: str
    element_kind: str
    customers: int
    village: str | None
    off_at: datetime
    restored_at: datetime | None
    restored_in_step: int | None

    @classmethod
    def from_domain(cls, area: AreaOff) -> AreaOut:
        return cls(
            element_id=area.element_id,
            element_kind=area.element_kind,
            customers=area.customers,
            village=area.village,
            off_at=area.off_at,
            restored_at=area.restored_at,
            restored_in_step=area.restored_in_step,
        )


class StepOut(BaseModel):
    number: int
    at: datetime
    how: str
    operations: list[dict[str, JsonValue]]
    areas_restored: int
    customers_restored: int

    @classmethod
    def from_domain(cls, step: RestorationStep) -> StepOut:
        return cls(
            number=step.number,
            at=step.at,
            how=step.how,
            operations=[dict(op) for op in step.operations],
            areas_restored=step.areas_restored,
            customers_restored=step.customers_restored,
        )


class StateChangeOut(BaseModel):
    from_state: OutageState | None
    to_state: OutageState
    at: datetime
    actor: str
    note: str | None

    @classmethod
    def from_domain(cls, change: StateChange) -> StateChangeOut:
        return cls(
            from_state=change.from_state,
            to_state=change.to_state,
            at=change.at,
            actor=change.actor,
            note=change.note,
        )


class OutageOut(BaseModel):
    id: int
    kind: OutageKind
    state: OutageState
    network_version_id: int
    feeder_id: str | None
    operated_device: str | None
    located_section: str | None
    cause: str | None
    crew: str | None
    momentary: bool
    started_at: datetime
    restored_at: datetime | None
    closed_at: datetime | None
    merged_into_id: int | None
    customers_off: int = Field(description="LV and HV customers still off now.")
    areas_off: int = Field(description="Transformer areas and HV customers still off now.")
    summary: dict[str, JsonValue]

    @classmethod
    def fields_of(cls, record: OutageRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "kind": record.kind,
            "state": record.state,
            "network_version_id": record.network_version_id,
            "feeder_id": record.feeder_id,
            "operated_device": record.operated_device,
            "located_section": record.located_section,
            "cause": record.cause,
            "crew": record.crew,
            "momentary": record.momentary,
            "started_at": record.started_at,
            "restored_at": record.restored_at,
            "closed_at": record.closed_at,
            "merged_into_id": record.merged_into_id,
            "customers_off": record.customers_off,
            "areas_off": sum(1 for a in record.areas if a.restored_at is None),
            "summary": dict(record.summary),
        }

    @classmethod
    def from_domain(cls, record: OutageRecord) -> OutageOut:
        return cls(**cls.fields_of(record))


class PlanBriefOut(BaseModel):
    revision: int
    approved_by: str | None
    approved_at: datetime | None
    steps: int
    customers_restored: int


class OutageDetail(OutageOut):
    areas: list[AreaOut]
    steps: list[StepOut]
    history: list[StateChangeOut]
    restoration_plan: PlanBriefOut | None = Field(
        default=None,
        description="The FLISR plan in brief (GET …/restoration-plan for all of it), or null.",
    )

    @classmethod
    def from_domain(cls, record: OutageRecord) -> OutageDetail:
        plan = record.restoration_plan
        return cls(
            **cls.fields_of(record),
            areas=[AreaOut.from_domain(a) for a in record.areas],
            steps=[StepOut.from_domain(s) for s in record.steps],
            history=[StateChangeOut.from_domain(h) for h in record.history],
            restoration_plan=None if plan is None else PlanBriefOut.model_validate(plan),
        )


class OutagePage(BaseModel):
    items: list[OutageOut]
    limit: int
    offset: int


class TransitionIn(RequestBody):
    to: OutageState
    note: Note | None = None


class RestorationHow(StrEnum):
    SWITCHING = "switching"
    REPAIR = "repair"
    FLISR = "flisr"
    LIVE_LINE = "live_line"


class RestorationStepIn(RequestBody):
    element_ids: list[DeviceId] = Field(
        min_length=1, max_length=10_000, description="Transformer areas / HV customers back."
    )
    how: RestorationHow
    at: UtcTime | None = Field(default=None, description="Default: now.")


class OutageIn(RequestBody):
    """An outage a dispatcher records by hand, by the devices that opened; who is off comes
    from the network. Planned work is booked at ``/api/v1/planned-outages`` instead."""

    kind: OutageKind = OutageKind.FAULT
    open: list[DeviceId] = Field(min_length=1, max_length=50, description="Switches / sections.")
    starts_at: UtcTime
    ends_at: UtcTime | None = Field(default=None, description="Planned end (the estimate).")
    note: Note | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> OutageIn:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


# -- public ------------------------------------------------------------------------------------
class PublicOutage(BaseModel):
    """What anyone may see of an outage. An allow-list: places and counts, never a customer's
    name, phone number, account, address or the ids of HV customers."""

    model_config = ConfigDict(extra="forbid")

    id: int
    kind: Literal["fault", "planned"]
    status: OutageState
    started_at: datetime
    restored_at: datetime | None
    estimated_restoration_at: datetime | None = Field(
        description="The planned end, or the dispatcher's estimate; null when none is given."
    )
    villages: list[str] = Field(description="Villages off (all of the outage once restored).")
    streets: list[str]
    townships: list[str]
    transformer_areas_off: int
    customers_off: int
    customers_restored: int
    planned_id: int | None = Field(
        default=None,
        description="A planned outage under way: its booking (GET /public/planned/{id}).",
    )


class PublicLabel(BaseModel):
    """A name in both languages."""

    model_config = ConfigDict(extra="forbid")

    zh: str
    en: str


class PublicPlanned(BaseModel):
    """What anyone may see of a planned outage booked (approved, notified, postponed; under
    way or completed on its own page). An allow-list: the window, the places, the line, the
    counts and the kind of work; never the reason as typed, a crew, a switch, a customer's
    name, phone number, account or the ids of HV customers."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="The booking's id (its page: /planned/{id}).")
    kind: Literal["planned"] = "planned"
    state: PlannedState = Field(
        description="approved, notified or postponed (then starts_at/ends_at are the new "
        "window); in_progress or completed once the work started (its own page only)."
    )
    starts_at: datetime
    ends_at: datetime
    work_type: WorkType
    work_type_name: PublicLabel
    line: str | None = Field(description="The line (feeder) worked on, by name.")
    villages: list[str]
    streets: list[str]
    townships: list[str]
    transformer_areas: int = Field(description="Transformer areas the work puts off.")
    customers: int = Field(description="LV and HV customers the work puts off.")
    outage_id: int | None = Field(
        description="The outage record once the work started (GET /public/outages/{id})."
    )


class PublicOutageList(BaseModel):
    area: str | None = Field(description="The village, street or township asked for.")
    current: list[PublicOutage] = Field(
        description="Outages going on now (faults, and planned work under way), newest first."
    )
    upcoming: list[PublicPlanned] = Field(
        description="Planned outages booked and announced, not begun yet, by start."
    )
    customers_off: int = Field(description="Customers off now in the outages listed.")
