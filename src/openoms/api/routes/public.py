"""The public outage pages: anonymous, and built from an explicit allow-list of fields.

Shown are the outages going on now (outage records of kind fault or planned: planned work
shows as its outage record once its switching started it) and the planned outages to come
(bookings approved, notified or postponed whose work has not started). Customer-side records
(one customer's own equipment, or a trouble call still to be checked) concern a single
customer and are never public; a draft booking is the planner's own and a cancelled one is
gone: neither exists for the public. Nothing is copied from a record or a booking wholesale:
:func:`public_outage` and :func:`public_planned` pick the places and counts one by one, so a
field added later stays private until it is added here on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from openoms.api.deps import ContextDep, SessionDep
from openoms.api.outage_schemas import PublicLabel, PublicOutage, PublicOutageList, PublicPlanned
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.grid.model import ElementKind, Network
from openoms.i18n import Lang
from openoms.outages.lifecycle import OPEN_STATES
from openoms.outages.planned import (
    PUBLIC_PLANNED_STATES,
    WORK_TYPE_ZH,
    PlannedState,
    PlannedWork,
    WorkType,
)
from openoms.outages.records import AreaOff, ElementKindOff, OutageKind, OutageRecord
from openoms.store import outages as store
from openoms.store import planned as planned_store
from openoms.store.outages import OutageNotFoundError
from openoms.store.planned import PlannedWorkNotFoundError

__all__ = [
    "PUBLIC_KINDS",
    "UPCOMING_STATES",
    "WORK_TYPE_NAMES",
    "PublicData",
    "public_data",
    "public_outage",
    "public_planned",
    "public_work",
    "router",
    "work_of_outage",
]

router = APIRouter(prefix=f"{API_PREFIX}/public", tags=["public"])

PUBLIC_KINDS: Final = (OutageKind.FAULT, OutageKind.PLANNED)
UPCOMING_STATES: Final = frozenset(PUBLIC_PLANNED_STATES - {PlannedState.IN_PROGRESS})
"""Bookings listed as to come: approved, notified, postponed (not begun)."""
SHOWN_STATES: Final = frozenset(PUBLIC_PLANNED_STATES | {PlannedState.COMPLETED})
"""Bookings with a public page: the listed ones, and the work under way or done (its notice
went out); a draft or a cancelled booking does not exist for the public."""
WORK_TYPE_NAMES: Final[dict[WorkType, dict[Lang, str]]] = {
    t: {
        Lang.ZH: WORK_TYPE_ZH[t],
        Lang.EN: {
            WorkType.MAINTENANCE: "planned maintenance",
            WorkType.CONSTRUCTION: "construction work",
            WorkType.TEMPORARY: "temporary maintenance",
            WorkType.TESTING: "preventive testing",
        }[t],
    }
    for t in WorkType
}
_PAGE: Final = 500
_MAX_LISTED: Final = 5000


@dataclass(frozen=True, slots=True)
class PublicData:
    """What the public sees now: open public outage records (each with its planned work, for
    planned outages) newest first, and the bookings to come by start."""

    current: list[tuple[OutageRecord, PlannedWork | None]]
    upcoming: list[PlannedWork]


def public_data(session: Session, now: datetime) -> PublicData:
    """Open fault and planned outage records that have begun, and the public bookings not
    begun whose window has not passed. A record dated ahead of ``now`` (a planned outage
    booked the old way, as a record) is not shown before it begins."""
    records = [r for r in _open_records(session) if r.started_at <= now]
    works = {
        w.outage_id: w
        for w in planned_store.list_work(
            session, states=(PlannedState.IN_PROGRESS,), limit=_MAX_LISTED
        )
        if w.outage_id is not None
    }
    current = [(r, works.get(r.id) or work_of_outage(session, r)) for r in records]
    upcoming = [
        w
        for w in planned_store.list_work(
            session, states=UPCOMING_STATES, ends_after=now, limit=_MAX_LISTED
        )
        if w.outage_id is None
    ]
    return PublicData(current, upcoming)


def work_of_outage(session: Session, record: OutageRecord) -> PlannedWork | None:
    """The booking of a planned outage record, if it has one."""
    if record.kind is not OutageKind.PLANNED:
        return None
    return planned_store.work_for_outage(session, record.id)


def public_work(session: Session, work_id: int) -> PlannedWork:
    """The booking ``work_id`` if the public may see it; else :class:`PlannedWorkNotFoundError`
    as for an id that does not exist."""
    work = planned_store.get_work(session, work_id)
    if work.state not in SHOWN_STATES:
        raise PlannedWorkNotFoundError(work_id)
    return work


def _matches(needle: str | None, places: Iterable[str]) -> bool:
    return needle is None or any(needle in place.casefold() for place in places)


@router.get(
    "/outages",
    summary="Outages now and planned ones to come, optionally in one village or township",
    responses=problem_responses(422),
)
def list_public_outages(
    context: ContextDep,
    session: SessionDep,
    area: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Village, street or township."),
    ] = None,
) -> PublicOutageList:
    needle = area.strip().casefold() if area else None
    data = public_data(session, context.clock())
    current = [public_outage(r, context.network, w) for r, w in data.current]
    upcoming = [public_planned(w, context.network) for w in data.upcoming]
    current = [o for o in current if _matches(needle, (*o.villages, *o.streets, *o.townships))]
    upcoming = [p for p in upcoming if _matches(needle, (*p.villages, *p.streets, *p.townships))]
    return PublicOutageList(
        area=area,
        current=current,
        upcoming=upcoming,
        customers_off=sum(o.customers_off for o in current),
    )


@router.get(
    "/outages/{outage_id}",
    summary="One outage as the public sees it",
    responses=problem_responses(404, 422),
)
def get_public_outage(
    context: ContextDep,
    session: SessionDep,
    outage_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> PublicOutage:
    record = store.get_outage(session, outage_id)
    if record.kind not in PUBLIC_KINDS:
        raise OutageNotFoundError(outage_id)  # private records do not exist for the public
    return public_outage(record, context.network, work_of_outage(session, record))


@router.get(
    "/planned/{planned_id}",
    summary="One planned outage (a booking) as the public sees it",
    responses=problem_responses(404, 422),
)
def get_public_planned(
    context: ContextDep,
    session: SessionDep,
    planned_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> PublicPlanned:
    return public_planned(public_work(session, planned_id), context.network)


def _open_records(session: Session) -> list[OutageRecord]:
    records: list[OutageRecord] = []
    while len(records) < _MAX_LISTED:
        page = store.list_outages(
            session, states=OPEN_STATES, kinds=PUBLIC_KINDS, limit=_PAGE, offset=len(records)
        )
        records += page
        if len(page) < _PAGE:
            break
    return records


def _element_places(
    element_id: str, network: Network
) -> tuple[ElementKind, str | None, str | None, str | None] | None:
    """Kind, village, street and township of a transformer area or HV customer, from the
    network; ``None`` when the network does not have it (any more)."""
    if element_id not in network:
        return None
    kind, i = network.locate(element_id)
    if kind is ElementKind.TRANSFORMER_AREA:
        ta = network.transformer_areas
        return kind, ta.village[i], ta.street[i], ta.township[i]
    if kind is ElementKind.HV_CUSTOMER:
        hv = network.hv_customers
        return kind, hv.village[i], hv.street[i], hv.township[i]
    return None


def _places(area: AreaOff, network: Network) -> tuple[str | None, str | None, str | None]:
    """Village, street and township of an area, from the network where it still has it."""
    found = _element_places(area.element_id, network)
    if found is not None:
        return found[1], found[2], found[3]
    return area.village, None, None


def _estimate(record: OutageRecord, work: PlannedWork | None) -> datetime | None:
    """The dispatcher's estimate on the record, else the planned end of its work."""
    value = record.summary.get("estimated_restoration_at")
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at
    return work.ends_at if work is not None else None


def public_outage(
    record: OutageRecord, network: Network, work: PlannedWork | None = None
) -> PublicOutage:
    """The allow-listed view of one outage: places off, counts, times and status only;
    ``work`` is the booking of a planned outage (its planned end is the estimate)."""
    off = [a for a in record.areas if a.restored_at is None]
    shown_areas = off or list(record.areas)  # once restored: where it was
    villages: set[str] = set()
    streets: set[str] = set()
    townships: set[str] = set()
    for area in shown_areas:
        village, street, township = _places(area, network)
        villages |= {village} if village else set()
        streets |= {street} if street else set()
        townships |= {township} if township else set()
    return PublicOutage(
        id=record.id,
        kind="planned" if record.kind is OutageKind.PLANNED else "fault",
        status=record.state,
        started_at=record.started_at,
        restored_at=record.restored_at,
        estimated_restoration_at=_estimate(record, work),
        villages=sorted(villages),
        streets=sorted(streets),
        townships=sorted(townships),
        transformer_areas_off=sum(
            1 for a in off if a.element_kind == ElementKindOff.TRANSFORMER_AREA
        ),
        customers_off=sum(a.customers for a in off),
        customers_restored=sum(a.customers for a in record.areas if a.restored_at is not None),
        planned_id=work.id if work is not None else None,
    )


def _strings(value: object) -> set[str]:
    if not isinstance(value, list):
        return set()
    return {v for v in value if isinstance(v, str) and v}


def public_planned(work: PlannedWork, network: Network) -> PublicPlanned:
    """The allow-listed view of one booking: its window, places, line, counts and the kind
    of work; the places from the network as for an outage's areas (the booking's own lists
    of villages and streets where the network no longer has one of its areas)."""
    villages: set[str] = set()
    streets: set[str] = set()
    townships: set[str] = set()
    areas = 0
    missing = False
    for element_id in work.element_ids:
        found = _element_places(element_id, network)
        if found is None:
            missing = True
            continue
        kind, village, street, township = found
        areas += kind is ElementKind.TRANSFORMER_AREA
        villages |= {village} if village else set()
        streets |= {street} if street else set()
        townships |= {township} if township else set()
    if missing:
        villages |= _strings(work.summary.get("villages"))
        streets |= _strings(work.summary.get("streets"))
        counts = work.summary.get("counts")
        if isinstance(counts, dict) and isinstance(counts.get("transformer_areas"), int):
            areas = max(areas, counts["transformer_areas"])
    line = work.summary.get("line")
    return PublicPlanned(
        id=work.id,
        state=work.state,
        starts_at=work.starts_at,
        ends_at=work.ends_at,
        work_type=work.work_type,
        work_type_name=PublicLabel(
            zh=WORK_TYPE_NAMES[work.work_type][Lang.ZH], en=WORK_TYPE_NAMES[work.work_type][Lang.EN]
        ),
        line=line if isinstance(line, str) and line else _line(network, work.feeder_id),
        villages=sorted(villages),
        streets=sorted(streets),
        townships=sorted(townships),
        transformer_areas=areas,
        customers=work.customers,
        outage_id=work.outage_id,
    )


def _line(network: Network, feeder_id: str | None) -> str | None:
    if feeder_id is None or feeder_id not in network.feeders.id:
        return None
    return network.feeders.name[network.feeders.id.index(feeder_id)] or None
