"""Events into the log: one, or a batch of up to 1000, through the intake.

The intake checks each event (known device of the right kind, device time not in the future
nor older than the device's last report) and writes it to the event log or, refused, to the
dead letters, in one transaction. A bad event in a batch is rejected on its own: the others
are stored. Re-posting an event is harmless: it is reported as a duplicate.

Events are authorized as the routes they stand for: a crew may post only crew status, and a
crew status only what its sender may do directly (:func:`openoms.service.outages.
check_crew_status_allowed`: a crew reports its arrival and its repairs, never a cancellation
or a merge). The sender (the token's name and role) is logged with each event; the event
processor checks again, as that sender, when it acts. The intake writes on the API's own
connection pool. A batch holds at most ``http_max_batch_events`` events (else ``413``).

Integrators read the event log (``GET /events``) and the dead letters (``GET /dead-letters``,
with why each message was refused and its raw bytes) without SQL: filtered by device, kind or
reason, source and receipt time, newest first, paged by a cursor (the id to continue below),
which stays right while new rows arrive. Reading is the dispatcher's (and admin's): payloads
hold trouble calls and raw device data.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import JsonValue, ValidationError
from sqlalchemy.orm import Session

from openoms.api.auth import EventReader, EventSender, ForbiddenError, User
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.event_schemas import (
    EVENT_ADAPTER,
    CrewStatusIn,
    DeadLetterOut,
    DeadLetterPage,
    EventBatchIn,
    EventIn,
    EventOut,
    EventPage,
    IntakeOut,
    RejectedEvent,
    to_event,
)
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import Name, UtcTime
from openoms.errors import InputError, TooLargeError
from openoms.events import Event, EventKind, EventSource, Sender
from openoms.ingest.intake import IntakeResult
from openoms.ingest.payloads import RejectReason
from openoms.outages.lifecycle import OutageState
from openoms.service.context import ServiceContext
from openoms.service.outages import Principal, check_crew_status_allowed
from openoms.store import deadletters, eventlog
from openoms.store.audit import record_audit
from openoms.store.tokens import Role

__all__ = ["CREW_EVENT_KINDS", "check_period", "router"]

# Under the API prefix itself: the event log at /events, the dead letters at /dead-letters.
router = APIRouter(prefix=API_PREFIX, tags=["events"], responses=problem_responses(401, 403, 422))

CREW_EVENT_KINDS: Final = frozenset({EventKind.CREW_STATUS})
"""What a crew may post; a dispatcher (and admin) may post every kind."""
_FORBIDDEN: Final = "forbidden"


def _allowed(user: User, kind: EventKind) -> bool:
    return user.role is not Role.CREW or kind in CREW_EVENT_KINDS


def _crew(user: User) -> str | None:
    """A crew's token reports for that crew only; others name the crew in the payload."""
    return user.name if user.role is Role.CREW else None


def _check_crew_status(session: Session, user: User, model: EventIn) -> None:
    """Refuse a crew status its sender could not make through the routes (403 / 422)."""
    if isinstance(model, CrewStatusIn):
        payload: dict[str, Any] = model.payload.model_dump()
        into = payload.get("merged_into_id")  # a target, once the payload may carry one
        check_crew_status_allowed(
            session,
            Principal(user.name, user.role),
            model.payload.outage_id,
            OutageState(model.payload.status),
            merged_into_id=into if isinstance(into, int) else None,
        )


def _sent_by(event: Event, user: User) -> Event:
    return dataclasses.replace(event, sender=Sender(user.name, user.role.value))


async def _batch_cap(context: ContextDep, request: Request) -> None:
    """413 for a batch of more events than ``http_max_batch_events``, before the events are
    validated (the body is already parsed: this reads FastAPI's cached copy)."""
    limit = context.settings.http_max_batch_events
    try:
        body = await request.json()
    except ValueError:
        return  # not JSON: the body's validation says so
    events = body.get("events") if isinstance(body, dict) else None
    if isinstance(events, list) and len(events) > limit:
        raise TooLargeError(
            "events in the batch", size=len(events), limit=limit, setting="http_max_batch_events"
        )


BatchCap = Annotated[None, Depends(_batch_cap)]


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Post one event (stored in the event log, then acted on)",
)
def post_event(
    context: ContextDep, session: SessionDep, user: EventSender, body: EventIn, request: Request
) -> IntakeOut:
    if not _allowed(user, EventKind(body.kind)):
        raise ForbiddenError(user.role, {Role.ADMIN, Role.DISPATCHER}, what=f"{body.kind} events")
    _check_crew_status(session, user, body)
    event = _sent_by(to_event(body, source=EventSource.HTTP, crew=_crew(user)), user)
    raw = json.dumps(body.model_dump(mode="json"), ensure_ascii=False).encode()
    return _accept(context, user, [event], [raw], positions=[0], extra=[], path=request.url.path)


@router.post(
    "/events/batch",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Post up to 1000 events; each is accepted or rejected on its own",
    responses=problem_responses(413),
)
def post_batch(
    context: ContextDep,
    session: SessionDep,
    user: EventSender,
    _cap: BatchCap,
    body: EventBatchIn,
    request: Request,
) -> IntakeOut:
    channel = request.url.path
    events: list[Event] = []
    raws: list[bytes] = []
    positions: list[int] = []
    extra: list[RejectedEvent] = []
    for index, item in enumerate(body.events):
        raw = _raw(item)
        try:
            model = EVENT_ADAPTER.validate_python(item)
        except ValidationError as exc:
            detail = _malformed(exc)
            _reject_malformed(context, channel, detail, raw)
            extra.append(RejectedEvent(index=index, reason=RejectReason.MALFORMED, detail=detail))
            continue
        if not _allowed(user, EventKind(model.kind)):
            detail = f"role {user.role.value!r} may not post {model.kind} events"
            extra.append(RejectedEvent(index=index, reason=_FORBIDDEN, detail=detail))
            continue
        try:
            _check_crew_status(session, user, model)
        except ForbiddenError as exc:
            extra.append(RejectedEvent(index=index, reason=_FORBIDDEN, detail=str(exc)))
            continue
        except InputError as exc:  # a merge without its target
            _reject_malformed(context, channel, str(exc), raw)
            extra.append(RejectedEvent(index=index, reason=RejectReason.MALFORMED, detail=str(exc)))
            continue
        events.append(_sent_by(to_event(model, source=EventSource.HTTP, crew=_crew(user)), user))
        raws.append(raw)
        positions.append(index)
    return _accept(context, user, events, raws, positions=positions, extra=extra, path=channel)


def _accept(
    context: ServiceContext,
    user: User,
    events: Sequence[Event],
    raws: Sequence[bytes],
    *,
    positions: Sequence[int],
    extra: Sequence[RejectedEvent],
    path: str,
) -> IntakeOut:
    """Store the events and the audit entry of the call in ONE transaction (on the API's
    pool); what happened, with rejections numbered by their place in the request."""
    outs: list[IntakeOut] = []

    def audit(session: Session, result: IntakeResult) -> None:
        outs.append(_out(result, positions=positions, extra=extra))
        _audit(context, session, user, outs[0], path=path)

    context.intake.accept_events(
        events,
        source=EventSource.HTTP,
        channel=path,
        raw_of=raws,
        received_at=context.clock(),
        sessions=context.http.sessions,
        also=audit,
    )
    return outs[0]


def _reject_malformed(context: ServiceContext, channel: str, detail: str, raw: bytes) -> None:
    context.intake.reject(
        source=EventSource.HTTP,
        channel=channel,
        reason=RejectReason.MALFORMED,
        detail=detail,
        raw=raw,
        received_at=context.clock(),
        sessions=context.http.sessions,
    )


def _out(
    result: IntakeResult, *, positions: Sequence[int], extra: Sequence[RejectedEvent]
) -> IntakeOut:
    """The intake's result with rejections numbered by their place in the request."""
    rejected = [
        RejectedEvent(index=positions[item.index], reason=item.reason, detail=item.detail)
        for item in result.rejected
    ]
    return IntakeOut(
        accepted=len(result.accepted),
        duplicates=len(result.duplicates),
        rejected=sorted([*rejected, *extra], key=lambda r: r.index),
    )


def _raw(item: JsonValue) -> bytes:
    return json.dumps(item, ensure_ascii=False, default=str).encode("utf-8", "replace")


def _malformed(exc: ValidationError) -> str:
    """Every problem of one event, each naming its field (no input values echoed)."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'event'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    ]
    return "; ".join(problems)[:2000]


def _audit(
    context: ServiceContext, session: Session, user: User, out: IntakeOut, *, path: str
) -> None:
    record_audit(
        session,
        at=context.clock(),
        actor=user.name,
        role=user.role,
        action="event.post",
        object_kind="event",
        object_id=None,
        detail={
            "path": path,
            "accepted": out.accepted,
            "duplicates": out.duplicates,
            "rejected": len(out.rejected),
        },
    )


# -- reading -------------------------------------------------------------------------------
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page.")]
Cursor = Annotated[
    int | None,
    Query(ge=1, le=2**63 - 1, description="`next_cursor` of the previous page: older rows."),
]
ReceivedFrom = Annotated[
    UtcTime | None, Query(alias="from", description="Received at or after (with offset).")
]
ReceivedTo = Annotated[UtcTime | None, Query(alias="to", description="Received before.")]


def check_period(
    start: datetime | None, end: datetime | None, *, names: tuple[str, str] = ("from", "to")
) -> None:
    """422 naming the end parameter when the period is empty (its end not after its start)."""
    if start is not None and end is not None and end <= start:
        first, last = names
        raise RequestValidationError(
            [
                {
                    "loc": ("query", last),
                    "msg": f"must be after {first!r} (the period is [{first}, {last}))",
                    "type": "value_error",
                }
            ]
        )


@router.get(
    "/events",
    summary="The event log, newest first, filtered and paged",
    responses=problem_responses(422),
)
def list_events(
    *,
    session: SessionDep,
    _user: EventReader,
    device: Annotated[Name | None, Query(description="The sending device's id.")] = None,
    kind: Annotated[list[EventKind] | None, Query(description="Any of these kinds.")] = None,
    source: Annotated[list[EventSource] | None, Query(description="Any of these.")] = None,
    received_from: ReceivedFrom = None,
    received_to: ReceivedTo = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> EventPage:
    check_period(received_from, received_to)
    logged = eventlog.list_events(
        session,
        device_id=device,
        kinds=kind or (),
        sources=source or (),
        received_from=received_from,
        received_to=received_to,
        before_id=cursor,
        limit=limit + 1,  # one more: is there a next page?
    )
    page = logged[:limit]
    more = len(logged) > limit
    return EventPage(
        items=[EventOut.from_domain(e) for e in page], next_cursor=page[-1].id if more else None
    )


@router.get(
    "/dead-letters",
    summary="Messages refused by the intake, with why and their raw bytes, newest first",
    responses=problem_responses(422),
)
def list_dead_letters(
    *,
    session: SessionDep,
    _user: EventReader,
    device: Annotated[
        Name | None,
        Query(description="The sending device: of the MQTT topic, or the IEC 104 unit."),
    ] = None,
    reason: Annotated[list[RejectReason] | None, Query(description="Any of these.")] = None,
    source: Annotated[list[EventSource] | None, Query(description="Any of these.")] = None,
    received_from: ReceivedFrom = None,
    received_to: ReceivedTo = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeadLetterPage:
    check_period(received_from, received_to)
    letters = deadletters.list_dead_letters(
        session,
        device_id=device,
        reasons=[r.value for r in reason or ()],
        sources=[s.value for s in source or ()],
        received_from=received_from,
        received_to=received_to,
        before_id=cursor,
        limit=limit + 1,
    )
    page = letters[:limit]
    more = len(letters) > limit
    return DeadLetterPage(
        items=[DeadLetterOut.from_domain(d) for d in page],
        next_cursor=page[-1].id if more else None,
    )
