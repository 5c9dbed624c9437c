"""``GET /api/v1/console/stream``: server-sent events telling the console what changed.

The stream looks at the database every ``console_poll_s`` (0.5 s): the outages and fault
events whose ``updated_at`` moved. The database is where every process writes (the event
processor, the fault workflow, another API worker), so a change made anywhere is seen within
one poll, with no message bus. Each row is sent once per change (its id, ``updated_at`` and
state remembered for a lookback of :data:`LOOKBACK`, so a transaction that commits a little
after a later one is still seen).

Events (``data`` is JSON):

- ``ready``: the stream is open (``{"at": …}``); the console loads the state then.
- ``outage``: ``{"id", "state", "updated_at", "new"}``; ``new`` for an outage created after
  the stream opened (the console alerts, and zooms to it).
- ``fault``: ``{"id", "outage_id", "state", "updated_at"}``: a fault event grouped or located.
- a comment line (``: heartbeat``) every ``console_heartbeat_s`` on a quiet stream, so that
  proxies keep it open and the client notices a dead one.

A browser's ``EventSource`` cannot send headers, so the token may come as ``?token=``
instead of ``Authorization: Bearer``. At most ``console_max_streams`` streams are open at
once (``503`` and ``Retry-After`` beyond); streams are outside the API's admission gate (they
hold no worker thread while they wait). ``max_s`` ends a stream after that many seconds (the
browser reconnects by itself).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from openoms.api.auth import User, current_user
from openoms.api.deps import ContextDep
from openoms.api.problems import ProblemResponse, problem_body, problem_responses, problem_type_uri
from openoms.api.routes import API_PREFIX
from openoms.service.context import ServiceContext
from openoms.store.tables import FaultEvent, Outage

__all__ = ["LOOKBACK", "STREAM_PATH", "Changes", "router"]

STREAM_PATH: Final = f"{API_PREFIX}/console/stream"
LOOKBACK: Final = timedelta(seconds=5)

router = APIRouter(tags=["console"], responses=problem_responses(401, 403))

_bearer: Final = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="oms_…")


async def stream_user(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None,
        Query(max_length=200, description="The API token, for clients that cannot send headers."),
    ] = None,
) -> User:
    """The caller, from the bearer header or ``?token=`` (every role may follow the stream)."""
    if credentials is None and token:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    return await run_in_threadpool(current_user, context, credentials)


@dataclass
class Changes:
    """What one stream has sent: per row, the ``updated_at`` and state it last sent."""

    high_water: datetime | None = None
    newest_outage: int = 0
    started: bool = False
    seen: dict[tuple[str, int], tuple[datetime, str]] = field(default_factory=dict)

    @classmethod
    def start(cls, session: Session) -> Changes:
        """Where a new stream starts: everything already there counts as sent (only the rows
        of the last :data:`LOOKBACK` are read, to know them when they change again)."""
        latest = [
            session.scalar(select(func.max(Outage.updated_at))),
            session.scalar(select(func.max(FaultEvent.updated_at))),
        ]
        known = [at for at in latest if at is not None]
        changes = cls(
            high_water=max(known) if known else None,
            newest_outage=int(session.scalar(select(func.max(Outage.id))) or 0),
        )
        changes.poll(session)  # the rows of the lookback: already there, not sent
        changes.started = True
        return changes

    def poll(self, session: Session) -> list[tuple[str, dict[str, Any]]]:
        """The rows changed since the last poll, as ``(event, data)``, oldest first."""
        since = None if self.high_water is None else self.high_water - LOOKBACK
        outages = select(Outage.id, Outage.state, Outage.updated_at)
        faults = select(
            FaultEvent.id, FaultEvent.outage_id, FaultEvent.state, FaultEvent.updated_at
        )
        if since is not None:
            outages = outages.where(Outage.updated_at >= since)
            faults = faults.where(FaultEvent.updated_at >= since)
        first = not self.started
        rows: list[tuple[datetime, str, dict[str, Any]]] = []
        known = self.newest_outage
        for outage_id, state, at in session.execute(outages):
            if self._changed("outage", outage_id, at, state) and not first:
                new = outage_id > known
                rows.append((at, "outage", {"id": outage_id, "state": state, "new": new}))
            self.newest_outage = max(self.newest_outage, outage_id)
        for fault_id, of_outage, state, at in session.execute(faults):
            if self._changed("fault", fault_id, at, state) and not first:
                data = {"id": fault_id, "outage_id": of_outage, "state": state}
                rows.append((at, "fault", data))
        if self.high_water is not None:
            floor = self.high_water - LOOKBACK
            self.seen = {key: seen for key, seen in self.seen.items() if seen[0] >= floor}
        rows.sort(key=lambda row: row[0])
        return [(event, data | {"updated_at": at.isoformat()}) for at, event, data in rows]

    def _changed(self, kind: str, row_id: int, at: datetime, state: str) -> bool:
        key = (kind, row_id)
        if self.seen.get(key) == (at, state):
            return False
        self.seen[key] = (at, state)
        if self.high_water is None or at > self.high_water:
            self.high_water = at
        return True


class _Slots:
    """The streams open in one app."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        self.open -= 1


class _SlotResponse(StreamingResponse):
    """A stream that gives its slot back however it ends (even before its first byte)."""

    def __init__(self, content: AsyncIterator[str], slots: _Slots) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back()


def _slots(request: Request, context: ServiceContext) -> _Slots:
    slots: _Slots | None = getattr(request.app.state, "console_streams", None)
    if slots is None:
        slots = _Slots(context.settings.console_max_streams)
        request.app.state.console_streams = slots
    return slots


def _frame(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get(
    STREAM_PATH,
    summary="Server-sent events: outages and fault events as they change",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **problem_responses(503),
    },
)
async def console_stream(
    request: Request,
    context: ContextDep,
    _user: Annotated[User, Depends(stream_user)],
    max_s: Annotated[
        float, Query(ge=0, le=86_400, description="End the stream after this long (s).")
    ] = 3600.0,
) -> Response:
    slots = _slots(request, context)
    if not slots.take():
        body = problem_body(
            type_uri=problem_type_uri("overloaded"),
            title="Service overloaded",
            status=503,
            detail=f"{slots.limit} console streams are open already (console_max_streams)",
            instance=STREAM_PATH,
        )
        return ProblemResponse(body, status_code=503, headers={"Retry-After": "5"})
    settings = context.settings

    def poll(changes: Changes | None) -> tuple[Changes, list[tuple[str, dict[str, Any]]]]:
        with context.http.read_sessions() as session:
            if changes is None:
                return Changes.start(session), []
            return changes, changes.poll(session)

    async def events() -> AsyncIterator[str]:
        changes, _ = await run_in_threadpool(poll, None)
        yield "retry: 2000\n" + _frame("ready", {"at": context.clock().isoformat()})
        ends = time.monotonic() + max_s
        quiet_since = time.monotonic()
        while time.monotonic() < ends:
            await asyncio.sleep(min(settings.console_poll_s, max(0.0, ends - time.monotonic())))
            changes, found = await run_in_threadpool(poll, changes)
            for event, data in found:
                yield _frame(event, data)
            now = time.monotonic()
            if found:
                quiet_since = now
            elif now - quiet_since >= settings.console_heartbeat_s:
                quiet_since = now
                yield ": heartbeat\n\n"

    return _SlotResponse(events(), slots)
