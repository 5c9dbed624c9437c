"""The public outage pages: anonymous, and built from an explicit allow-list of fields.

Only fault and planned outages are shown. Customer-side records (one customer's own
equipment, or a trouble call still to be checked) concern a single customer and are never
public. Nothing is copied from an outage record wholesale: :func:`public_outage` picks the
places and counts one by one, so a field added to the record later stays private until it is
added here on purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query

from openoms.api.deps import ContextDep, SessionDep
from openoms.api.outage_schemas import PublicOutage, PublicOutageList
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.grid.model import ElementKind, Network
from openoms.outages.lifecycle import OPEN_STATES
from openoms.outages.records import AreaOff, ElementKindOff, OutageKind, OutageRecord
from openoms.store import outages as store
from openoms.store.outages import OutageNotFoundError

__all__ = ["public_outage", "router"]

router = APIRouter(prefix=f"{API_PREFIX}/public", tags=["public"])

PUBLIC_KINDS: Final = (OutageKind.FAULT, OutageKind.PLANNED)
_PAGE: Final = 500
_MAX_LISTED: Final = 5000


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
    now = context.clock()
    needle = area.strip().casefold() if area else None
    current: list[PublicOutage] = []
    upcoming: list[PublicOutage] = []
    for record in _open_records(session):
        shown = public_outage(record, context.network)
        places = (*shown.villages, *shown.streets, *shown.townships)
        if needle and not any(needle in place.casefold() for place in places):
            continue
        (current if record.started_at <= now else upcoming).append(shown)
    upcoming.sort(key=lambda o: o.started_at)
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
    return public_outage(record, context.network)


def _open_records(session: SessionDep) -> list[OutageRecord]:
    records: list[OutageRecord] = []
    while len(records) < _MAX_LISTED:
        page = store.list_outages(
            session, states=OPEN_STATES, kinds=PUBLIC_KINDS, limit=_PAGE, offset=len(records)
        )
        records += page
        if len(page) < _PAGE:
            break
    return records


def _places(area: AreaOff, network: Network) -> tuple[str | None, str | None, str | None]:
    """Village, street and township of an area, from the network where it still has it."""
    if area.element_id in network:
        kind, i = network.locate(area.element_id)
        table = (
            network.transformer_areas
            if kind is ElementKind.TRANSFORMER_AREA
            else network.hv_customers
            if kind is ElementKind.HV_CUSTOMER
            else None
        )
        if table is not None:
            return table.village[i], table.street[i], table.township[i]
    return area.village, None, None


def _estimate(record: OutageRecord) -> datetime | None:
    value = record.summary.get("estimated_restoration_at")
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def public_outage(record: OutageRecord, network: Network) -> PublicOutage:
    """The allow-listed view of one outage: places off, counts, times and status only."""
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
        estimated_restoration_at=_estimate(record),
        villages=sorted(villages),
        streets=sorted(streets),
        townships=sorted(townships),
        transformer_areas_off=sum(
            1 for a in off if a.element_kind == ElementKindOff.TRANSFORMER_AREA
        ),
        customers_off=sum(a.customers for a in off),
        customers_restored=sum(a.customers for a in record.areas if a.restored_at is not None),
    )
