"""Fault events: where each fault was located, how sure, and the crew alert it sent.

A fault event groups the indicator / FTU reports of one fault on one feeder
(:mod:`openoms.service.faults`); its ``location`` is the locator's answer: ranked candidate
sections with posteriors, ties, the region the crew is sent to, suspected faulty detectors,
fault time, type and phases. ``alerts`` are the crew SMS of its outage, with the phone
masked and the time from the last report needed to the hand-over to the SMSC; ``alert_state``
is what became of them (``service.crew_alert.shown_alert_states``), not only that they were
queued.
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
from openoms.faults.lifecycle import FaultEventState, FaultTrigger, ShownAlertState
from openoms.service.context import ServiceContext
from openoms.service.crew_alert import shown_alert_states
from openoms.service.fault_history import confirm_fault_event
from openoms.service.fault_view import fault_view
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
    alert_state: ShownAlertState = Field(
        description="none until decided; no_contact / no_outage / skipped; or what became of "
        "the crew SMS: queued (not yet accepted by the SMSC), sent (accepted, no receipt yet), "
        "delivered, failed, unconfirmed (no receipt in time, or the submit's answer was lost)"
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


class PlaceOut(BaseModel):
    id: str
    name: str = Field(description="From the network data (the id when it has none).")
    kind: str = Field(description="switch, detector (on a section) or node (a pole)")
    line_end: bool = Field(description="The line ends here (its last pole or switch).")
    open: bool = Field(description="An open switch (a tie) where the line ends.")


class StretchOut(BaseModel):
    zones: list[str]
    start: PlaceOut = Field(description="Where it starts (its branch included).")
    ends: list[PlaceOut] = Field(
        description="Every branch's end, depth first: a boundary device (the stretch stops "
        "above it) or a line end."
    )
    length_km: float
    probability: float = Field(description="The posterior mass of its zones.")


class SuspectOut(BaseModel):
    detector: str
    name: str
    expected: str
    observed: str


class WhereOut(BaseModel):
    """The location in words, as the crew SMS says it (docs/faults.md, "What the dispatcher
    and the crew read")."""

    answer: str = Field(
        description="no_evidence (no report tells the sections apart: the feeder, not a "
        "section), section (the best zone holds the target mass) or region"
    )
    feeder: str
    feeder_name: str
    probability: float = Field(description="The mass the region (or section) holds.")
    target: float = Field(description="The mass the region was grown to (region_mass).")
    reaches_target: bool
    region: list[StretchOut] = Field(description="Where the crew is sent, piece by piece.")
    ties: list[StretchOut] = Field(description="Each tied most likely zone (empty: no tie).")
    contradictions: list[SuspectOut] = Field(
        description="Detectors that contradict every tied most likely zone."
    )
    fault_time_local: datetime | None = Field(
        description="The fault time in the utility's zone (settings.timezone), with offset."
    )
    fault_type_name: dict[str, str] = Field(description="zh / en")
    text: dict[str, str] = Field(description="Where to go, zh / en (the SMS's words).")
    summary: dict[str, str] = Field(description="The feeder and where to go, zh / en.")


class FaultDetail(FaultOut):
    location: dict[str, Any] | None = Field(description="The locator's full answer.")
    where: WhereOut | None = Field(
        description="The location with the network's names: region or section with its "
        "probability, ties, suspected detectors, local time; null before it is located."
    )
    alerts: list[AlertOut]


def _out(
    session: SessionDep, context: ServiceContext, records: list[store.FaultEventRecord]
) -> list[dict[str, Any]]:
    shown = shown_alert_states(
        session,
        records,
        now=context.clock(),
        receipt_timeout_s=context.settings.sms_receipt_timeout_s,
    )
    return [
        {
            name: getattr(record, name)
            for name in FaultOut.model_fields
            if name not in {"advisory", "alert_state"}
        }
        | {
            "advisory": dict(record.advisory) if record.advisory else None,
            "alert_state": shown[record.id],
        }
        for record in records
    ]


@router.get("", summary="Fault events, newest first", responses=problem_responses(422))
def list_faults(
    *,
    session: SessionDep,
    context: ContextDep,
    _user: Reader,
    outage_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[FaultOut]:
    records = store.list_fault_events(session, limit=limit, outage_id=outage_id)
    return [FaultOut(**out) for out in _out(session, context, records)]


@router.get("/{fault_id}", summary="One fault event", responses=problem_responses(404, 422))
def get_fault(
    *, session: SessionDep, context: ContextDep, _user: Reader, fault_id: FaultId
) -> FaultDetail:
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
    view = fault_view(context.network, record)
    where = WhereOut(**view.as_dict(context.settings.timezone)) if view is not None else None
    (out,) = _out(session, context, [record])
    return FaultDetail(**out, location=location, where=where, alerts=alerts)


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
    (out,) = _out(session, context, [confirmed])
    return FaultOut(**out)
