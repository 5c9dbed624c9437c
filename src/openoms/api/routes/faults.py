"""Fault events: where each fault was located, how sure, and the crew alert it sent.

A fault event groups the indicator / FTU reports of one fault on one feeder
(:mod:`openoms.service.faults`); its ``location`` is the locator's answer: ranked candidate
sections with posteriors, ties, the region the crew is sent to, suspected faulty detectors,
fault time, type and phases. ``alerts`` are the crew SMS of its outage, with the phone
masked and the time from the last report needed to the hand-over to the SMSC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from openoms.api.auth import Reader, StepWriter
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.contacts.messages import MessageState
from openoms.faults.lifecycle import AlertState, FaultEventState, FaultTrigger
from openoms.service.fault_history import confirm_fault_event
from openoms.service.outages import Principal
from openoms.store import faults as store
from openoms.store import outbox

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/faults", tags=["faults"], responses=problem_responses(401, 403)
)

FaultId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The fault event's id.")]


class AlertOut(BaseModel):
    id: int
    recipient: str = Field(description="The person, and the phone masked (138****5678).")
    state: MessageState = Field(
        description="queued / sending / sent / delivered / failed / unconfirmed"
    )
    attempts: int
    handed_at: datetime | None
    delivered_at: datetime | None
    handover_s: float | None = Field(
        description="Seconds from the last report the alert needed to the SMSC's acceptance."
    )


class FaultOut(BaseModel):
    id: int
    feeder_id: str
    state: FaultEventState = Field(description="collecting / located / final")
    trigger: FaultTrigger = Field(description="trip or alarm: what opened the fault event")
    t0: datetime = Field(description="Device time of the trigger; the window is around it.")
    breaker: str | None
    lockout: bool | None
    reclosed: bool | None
    outage_id: int | None
    reports: int
    located_zone: str | None
    confirmed_zone: str | None
    fault_type: str | None
    alert_state: AlertState = Field(
        description="none until decided, then sent / no_contact / no_outage / skipped"
    )
    alerted_at: datetime | None
    advisory: dict[str, Any] | None = Field(description="Patrol advisory (zh / en), if any.")


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: str = Field(
        min_length=1,
        max_length=100,
        description="Where the crew found the fault: the id of the detector that starts the "
        "zone (or the feeder's head breaker for the zone above the first detector).",
    )


class FaultDetail(FaultOut):
    location: dict[str, Any] | None = Field(description="The locator's full answer.")
    alerts: list[AlertOut]


def _out(record: store.FaultEventRecord) -> dict[str, Any]:
    return {
        name: getattr(record, name) for name in FaultOut.model_fields if name not in {"advisory"}
    } | {"advisory": dict(record.advisory) if record.advisory else None}


@router.get("", summary="Fault events, newest first", responses=problem_responses(422))
def list_faults(
    *,
    session: SessionDep,
    _user: Reader,
    outage_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[FaultOut]:
    records = store.list_fault_events(session, limit=limit, outage_id=outage_id)
    return [FaultOut(**_out(r)) for r in records]


@router.get("/{fault_id}", summary="One fault event", responses=problem_responses(404, 422))
def get_fault(*, session: SessionDep, _user: Reader, fault_id: FaultId) -> FaultDetail:
    record = store.get_fault_event(session, fault_id)
    alerts: list[AlertOut] = []
    if record.outage_id is not None:
        latencies = outbox.handover_latencies(session, record.outage_id)
        for item in outbox.list_messages(session, outage_id=record.outage_id):
            latency = latencies.get(item.id)
            alerts.append(
                AlertOut(
                    id=item.id,
                    recipient=f"{item.recipient_name} {item.masked_phone}",
                    state=item.state,
                    attempts=item.attempts,
                    handed_at=item.handed_at,
                    delivered_at=item.delivered_at,
                    handover_s=None if latency is None else latency.total_seconds(),
                )
            )
    location = dict(record.location) if record.location else None
    return FaultDetail(**_out(record), location=location, alerts=alerts)


@router.post(
    "/{fault_id}/confirmation",
    summary="Where the crew found the fault (calibrates the device rates)",
    responses=problem_responses(404, 422),
)
def confirm_fault(
    *,
    session: SessionDep,
    context: ContextDep,
    user: StepWriter,
    fault_id: FaultId,
    body: ConfirmationIn,
) -> FaultOut:
    """The crew or the dispatcher records the zone the fault was really in. Confirmed
    locations calibrate each detector's miss and false-alarm rates (docs/faults.md)."""
    confirmed = confirm_fault_event(
        context, session, Principal(user.name, user.role), fault_id, zone=body.zone
    )
    return FaultOut(**_out(confirmed))
