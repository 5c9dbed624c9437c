"""Fault events (one fault on one feeder) and the report queries fault location needs.

Rows become :class:`FaultEventRecord` values here; the workflow that groups reports and
locates faults is in :mod:`openoms.service.faults`. A fault event's state, alert state and
trigger change only as the tables of :mod:`openoms.faults.lifecycle` allow, checked here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openoms.errors import InputError
from openoms.events import Event, EventKind
from openoms.faults.lifecycle import (
    INITIAL_ALERT_STATE,
    INITIAL_STATE,
    OPEN_STATES,
    AlertState,
    FaultEventState,
    FaultTrigger,
    transition,
)
from openoms.store.audit import record_audit
from openoms.store.eventlog import _event  # the one row → Event conversion
from openoms.store.tables import EventRow, FaultEvent

__all__ = [
    "UNCHANGED",
    "FaultEventNotFoundError",
    "FaultEventRecord",
    "Unchanged",
    "confirm_fault_event",
    "confirmed_fault_events",
    "count_confirmed",
    "create_fault_event",
    "get_fault_event",
    "last_seen_before",
    "list_fault_events",
    "open_fault_events",
    "reports_between",
    "update_fault_event",
]

REPORT_KINDS = (EventKind.INDICATOR_REPORT.value, EventKind.FTU_REPORT.value)


class FaultEventNotFoundError(InputError):
    def __init__(self, fault_id: int) -> None:
        super().__init__(f"no fault event {fault_id}")
        self.fault_id = fault_id


@dataclass(frozen=True, slots=True)
class FaultEventRecord:
    id: int
    feeder_id: str
    state: FaultEventState
    trigger: FaultTrigger
    t0: datetime
    open_edges: tuple[int, ...]
    breaker: str | None
    lockout: bool | None
    reclosed: bool | None
    outage_id: int | None
    reports: int
    last_report_at: datetime
    location: Mapping[str, Any] | None
    located_zone: str | None
    fault_type: str | None
    advisory: Mapping[str, Any] | None
    alert_state: AlertState
    alerted_zone: str | None
    alerted_at: datetime | None
    confirmed_zone: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        out["open_edges"] = list(self.open_edges)
        return out


def _record(row: FaultEvent) -> FaultEventRecord:
    return FaultEventRecord(
        id=row.id,
        feeder_id=row.feeder_id,
        state=FaultEventState(row.state),
        trigger=FaultTrigger(row.trigger),
        t0=row.t0,
        open_edges=tuple(int(e) for e in row.open_edges),
        breaker=row.breaker,
        lockout=row.lockout,
        reclosed=row.reclosed,
        outage_id=row.outage_id,
        reports=row.reports,
        last_report_at=row.last_report_at,
        location=row.location,
        located_zone=row.located_zone,
        fault_type=row.fault_type,
        advisory=row.advisory,
        alert_state=AlertState(row.alert_state),
        alerted_zone=row.alerted_zone,
        alerted_at=row.alerted_at,
        confirmed_zone=row.confirmed_zone,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_fault_event(
    session: Session,
    *,
    feeder_id: str,
    trigger: FaultTrigger,
    t0: datetime,
    open_edges: Collection[int],
    received_at: datetime,
    now: datetime,
    breaker: str | None = None,
    lockout: bool | None = None,
) -> int:
    row = FaultEvent(
        feeder_id=feeder_id,
        state=INITIAL_STATE.value,
        trigger=FaultTrigger(trigger).value,
        t0=t0,
        open_edges=sorted(int(e) for e in open_edges),
        breaker=breaker,
        lockout=lockout,
        reclosed=None,
        outage_id=None,
        reports=0,
        last_report_at=received_at,
        location=None,
        located_zone=None,
        fault_type=None,
        advisory=None,
        alert_state=INITIAL_ALERT_STATE.value,
        alerted_zone=None,
        alerted_at=None,
        confirmed_zone=None,
        confirmed_by=None,
        confirmed_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


class _Unchanged(Enum):
    UNCHANGED = "unchanged"


Unchanged = Literal[_Unchanged.UNCHANGED]
UNCHANGED: Final = _Unchanged.UNCHANGED
"""The default of every field of :func:`update_fault_event`: leave it as it is (``None`` is
a value: the column is emptied)."""


def update_fault_event(
    session: Session,
    fault_id: int,
    *,
    now: datetime,
    state: FaultEventState | Unchanged = UNCHANGED,
    alert_state: AlertState | Unchanged = UNCHANGED,
    trigger: FaultTrigger | Unchanged = UNCHANGED,
    t0: datetime | Unchanged = UNCHANGED,
    breaker: str | Unchanged = UNCHANGED,
    lockout: bool | Unchanged = UNCHANGED,
    reclosed: bool | Unchanged = UNCHANGED,
    outage_id: int | Unchanged = UNCHANGED,
    reports: int | Unchanged = UNCHANGED,
    last_report_at: datetime | Unchanged = UNCHANGED,
    location: Mapping[str, Any] | Unchanged = UNCHANGED,
    located_zone: str | Unchanged | None = UNCHANGED,
    fault_type: str | Unchanged = UNCHANGED,
    advisory: Mapping[str, Any] | Unchanged = UNCHANGED,
    alerted_zone: str | Unchanged | None = UNCHANGED,
    alerted_at: datetime | Unchanged = UNCHANGED,
) -> None:
    """Change the given fields of a fault event (and ``updated_at``); the others stay.

    ``state``, ``alert_state`` and ``trigger`` move only as the tables of
    :mod:`openoms.faults.lifecycle` allow (from the stored value: giving the stored value
    again is not a transition), else :class:`~openoms.faults.lifecycle.FaultTransitionError`
    and nothing changes. Crew confirmations go through :func:`confirm_fault_event`."""
    row = session.get(FaultEvent, fault_id)
    if row is None:
        raise FaultEventNotFoundError(fault_id)
    lifecycle: dict[str, str] = {}
    if state is not UNCHANGED:
        lifecycle["state"] = transition(FaultEventState(row.state), state).value
    if alert_state is not UNCHANGED:
        lifecycle["alert_state"] = transition(AlertState(row.alert_state), alert_state).value
    if trigger is not UNCHANGED:
        lifecycle["trigger"] = transition(FaultTrigger(row.trigger), trigger).value
    values: dict[str, object] = {
        "t0": t0,
        "breaker": breaker,
        "lockout": lockout,
        "reclosed": reclosed,
        "outage_id": outage_id,
        "reports": reports,
        "last_report_at": last_report_at,
        "location": location if location is UNCHANGED else dict(location),
        "located_zone": located_zone,
        "fault_type": fault_type,
        "advisory": advisory if advisory is UNCHANGED else dict(advisory),
        "alerted_zone": alerted_zone,
        "alerted_at": alerted_at,
    }
    for name, value in (values | lifecycle).items():
        if value is not UNCHANGED:
            setattr(row, name, value)
    row.updated_at = now
    session.flush()


def get_fault_event(session: Session, fault_id: int) -> FaultEventRecord:
    row = session.get(FaultEvent, fault_id)
    if row is None:
        raise FaultEventNotFoundError(fault_id)
    return _record(row)


def open_fault_events(session: Session, *, feeder_id: str | None = None) -> list[FaultEventRecord]:
    """Fault events still collecting or located (not final), oldest first."""
    query = select(FaultEvent).where(FaultEvent.state.in_(sorted(s.value for s in OPEN_STATES)))
    if feeder_id is not None:
        query = query.where(FaultEvent.feeder_id == feeder_id)
    return [_record(row) for row in session.scalars(query.order_by(FaultEvent.id))]


def list_fault_events(
    session: Session, *, limit: int = 100, outage_id: int | None = None
) -> list[FaultEventRecord]:
    """The newest fault events first."""
    query = select(FaultEvent)
    if outage_id is not None:
        query = query.where(FaultEvent.outage_id == outage_id)
    query = query.order_by(FaultEvent.id.desc()).limit(limit)
    return [_record(row) for row in session.scalars(query)]


def confirm_fault_event(
    session: Session, fault_id: int, *, zone: str, actor: str, role: str, at: datetime
) -> FaultEventRecord:
    """Record where the crew found the fault (a zone id of the fault's feeder), audited."""
    row = session.get(FaultEvent, fault_id)
    if row is None:
        raise FaultEventNotFoundError(fault_id)
    previous = row.confirmed_zone
    row.confirmed_zone, row.confirmed_by, row.confirmed_at = zone, actor, at
    row.updated_at = at
    session.flush()
    record_audit(
        session,
        at=at,
        actor=actor,
        role=role,
        action="fault.confirm",
        object_kind="fault_event",
        object_id=fault_id,
        detail={"zone": zone, "previous": previous, "located_zone": row.located_zone},
    )
    return _record(row)


def confirmed_fault_events(session: Session, *, limit: int = 5000) -> list[FaultEventRecord]:
    """Fault events whose zone the crew confirmed, newest first (the calibration history)."""
    query = (
        select(FaultEvent)
        .where(FaultEvent.confirmed_at.is_not(None))
        .order_by(FaultEvent.confirmed_at.desc(), FaultEvent.id.desc())
        .limit(limit)
    )
    return [_record(row) for row in session.scalars(query)]


def count_confirmed(session: Session) -> int:
    query = select(func.count()).select_from(FaultEvent).where(FaultEvent.confirmed_at.is_not(None))
    return int(session.scalar(query) or 0)


def reports_between(
    session: Session, device_ids: Collection[str], start: datetime, end: datetime
) -> list[tuple[Event, datetime]]:
    """Indicator and FTU reports of ``device_ids`` with device time in [start, end], with
    their received time, in device-time order."""
    if not device_ids:
        return []
    query = (
        select(
            EventRow.kind,
            EventRow.source,
            EventRow.device_id,
            EventRow.device_time,
            EventRow.payload,
            EventRow.idempotency_key,
            EventRow.received_at,
        )
        .where(
            EventRow.device_id.in_(sorted(device_ids)),
            EventRow.kind.in_(REPORT_KINDS),
            EventRow.device_time >= start,
            EventRow.device_time <= end,
        )
        .order_by(EventRow.device_time, EventRow.id)
    )
    return [(_event(row), row.received_at) for row in session.execute(query)]


def last_seen_before(
    session: Session, device_ids: Collection[str], before: datetime
) -> dict[str, datetime]:
    """The latest device time of any event of each device before ``before`` (heartbeats,
    reports): whether a device was online when a fault began."""
    if not device_ids:
        return {}
    query = (
        select(EventRow.device_id, func.max(EventRow.device_time))
        .where(EventRow.device_id.in_(sorted(device_ids)), EventRow.device_time < before)
        .group_by(EventRow.device_id)
    )
    return {device: at for device, at in session.execute(query) if device is not None}
