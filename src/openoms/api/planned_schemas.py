"""Schemas of the planned-outage routes: the booking as written and as read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, JsonValue, model_validator

from openoms.api.schemas import DeviceId, Name, Note, RequestBody, UtcTime
from openoms.outages.planned import PlannedState, PlannedStateChange, PlannedWork, WorkType

__all__ = [
    "NoticeTextOut",
    "PlannedApproveIn",
    "PlannedIn",
    "PlannedNoteIn",
    "PlannedOut",
    "PlannedPostponeIn",
    "PlannedPreviewOut",
    "PlannedTransitionOut",
]


class _Window(RequestBody):
    starts_at: UtcTime
    ends_at: UtcTime

    @model_validator(mode="after")
    def _ends_after_start(self) -> _Window:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class PlannedIn(_Window):
    """Work on a stretch of line (``work_on``: its sections or switches; OpenOMS finds the
    isolation and the switching that keeps everyone else on) or, as the planner decided it,
    the switches to open (``open``)."""

    work_type: WorkType = WorkType.MAINTENANCE
    reason: Note = Field(min_length=1, description="The work to be done (shown in the notice).")
    work_on: list[DeviceId] = Field(default_factory=list, max_length=50)
    open: list[DeviceId] = Field(default_factory=list, max_length=50)
    crews: list[Name] = Field(default_factory=list, max_length=20)
    live_line_off: list[DeviceId] = Field(
        default_factory=list,
        max_length=200,
        description="Areas that would be off even with live-line work (their own transformer).",
    )

    @model_validator(mode="after")
    def _something_to_do(self) -> PlannedIn:
        if not self.work_on and not self.open:
            raise ValueError("name the sections or switches worked on (work_on) or to open (open)")
        return self


class PlannedApproveIn(RequestBody):
    note: Note | None = None
    starts_at: UtcTime | None = Field(default=None, description="A new window (postponed work).")
    ends_at: UtcTime | None = None

    @model_validator(mode="after")
    def _both_or_none(self) -> PlannedApproveIn:
        if (self.starts_at is None) != (self.ends_at is None):
            raise ValueError("a new window needs both starts_at and ends_at")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class PlannedPostponeIn(_Window):
    note: Note | None = None


class PlannedNoteIn(RequestBody):
    note: Note | None = None


class PlannedTransitionOut(BaseModel):
    from_state: PlannedState | None
    to_state: PlannedState
    at: datetime
    actor: str
    note: str | None

    @classmethod
    def from_domain(cls, change: PlannedStateChange) -> PlannedTransitionOut:
        return cls(
            from_state=change.from_state,
            to_state=change.to_state,
            at=change.at,
            actor=change.actor,
            note=change.note,
        )


class PlannedOut(BaseModel):
    id: int
    state: PlannedState
    revision: int
    work_type: WorkType
    reason: str
    crews: list[str]
    work_on: list[str]
    opened: list[str]
    switching: list[dict[str, JsonValue]]
    starts_at: datetime
    ends_at: datetime
    feeder_id: str | None
    element_ids: list[str]
    customers: int
    summary: dict[str, JsonValue]
    notice: dict[str, JsonValue]
    outage_id: int | None
    created_by: str
    created_at: datetime
    history: list[PlannedTransitionOut]

    @classmethod
    def from_domain(cls, work: PlannedWork) -> PlannedOut:
        return cls(
            id=work.id,
            state=work.state,
            revision=work.revision,
            work_type=work.work_type,
            reason=work.reason,
            crews=list(work.crews),
            work_on=list(work.work_on),
            opened=list(work.opened),
            switching=[dict(op) for op in work.switching],
            starts_at=work.starts_at,
            ends_at=work.ends_at,
            feeder_id=work.feeder_id,
            element_ids=list(work.element_ids),
            customers=work.customers,
            summary=work.summary,
            notice=work.notice,
            outage_id=work.outage_id,
            created_by=work.created_by,
            created_at=work.created_at,
            history=[PlannedTransitionOut.from_domain(h) for h in work.history],
        )


class PlannedPreviewOut(BaseModel):
    """The work's switching, impact and comparison before it is booked, and whether its
    start still keeps the notice lead time (with the reason when it does not)."""

    opened: list[str]
    switching: list[dict[str, JsonValue]]
    feeder_id: str | None
    customers: int
    element_ids: list[str]
    summary: dict[str, Any]
    notice_ok: bool
    notice: dict[str, JsonValue] | None
    notice_problem: str | None


class NoticeTextOut(BaseModel):
    channel: str
    lang: str
    title: str
    body: str
