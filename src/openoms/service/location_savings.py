"""The outage history as :mod:`openoms.reliability.location_savings` needs it: each sustained
fault outage of a period with its areas, how each came back, when the fault was located and
found, and the line lengths a patrol would have walked.

Line lengths come from the zones of the fault's feeder as it was operated at the fault (the
fault event's ``open_edges``) in the current network: the located region's zones, and every
zone at and below the device that opened. An outage whose feeder is no longer in the network
is left out and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind, OutageRecord
from openoms.reliability.location_savings import AreaInterrupted, FaultHistory
from openoms.service.fault_view import feeder_zones
from openoms.store import faults as fault_store
from openoms.store.faults import FaultEventRecord
from openoms.store.outage_queries import list_outages

__all__ = ["SWITCHED_BACK", "HistoryRead", "fault_histories"]

# Restoration steps that switched supply back (before or without the repair).
SWITCHED_BACK = frozenset({"switching", "flisr"})
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class HistoryRead:
    histories: tuple[FaultHistory, ...]
    not_in_network: int  # outages whose feeder the current network no longer has
    momentary: int  # reclosed successfully: no patrol, left out


def fault_histories(
    session: Session, network: Network, *, start: datetime, end: datetime
) -> HistoryRead:
    """The sustained fault outages that started in ``[start, end)``, oldest first."""
    records: list[OutageRecord] = []
    while True:
        page = list_outages(
            session,
            kinds=[OutageKind.FAULT],
            started_from=start,
            started_to=end,
            limit=_PAGE,
            offset=len(records),
        )
        records.extend(page)
        if len(page) < _PAGE:
            break
    histories: list[FaultHistory] = []
    missing = momentary = 0
    for record in reversed(records):
        if record.merged_into_id is not None or record.state is OutageState.CANCELLED:
            continue
        if record.momentary:
            momentary += 1
            continue
        if record.feeder_id is None or record.feeder_id not in network.feeders.id:
            missing += 1
            continue
        event = _located_event(fault_store.list_fault_events(session, outage_id=record.id))
        histories.append(_history(network, record, event))
    return HistoryRead(tuple(histories), not_in_network=missing, momentary=momentary)


def _located_event(events: Sequence[FaultEventRecord]) -> FaultEventRecord | None:
    """The fault event that located the outage (the first with an answer), if any."""
    located = [e for e in events if e.location]
    return min(located, key=lambda e: e.id) if located else None


def _history(
    network: Network, record: OutageRecord, event: FaultEventRecord | None
) -> FaultHistory:
    assert record.feeder_id is not None
    feeder_name = network.feeders.name[network.locate(record.feeder_id)[1]] or record.feeder_id
    how = {step.number: step.how for step in record.steps}
    areas = tuple(
        AreaInterrupted(
            area=a.element_id,
            customers=a.customers,
            off_at=a.off_at,
            restored_at=a.restored_at,
            by_switching=how.get(a.restored_in_step or -1) in SWITCHED_BACK,
        )
        for a in record.areas
    )
    patrolled = region = 0.0
    located, located_at, found_at = False, None, None
    if event is not None and event.feeder_id == record.feeder_id:
        zones = feeder_zones(network, event.open_edges, event.feeder_id)
        assert event.location is not None
        wanted = {str(z) for z in event.location.get("region", ())}
        region = sum(z.length_km for z in zones if z.id in wanted)
        patrolled = _length_below(zones, record.operated_device or event.breaker)
        located = bool(wanted)
        located_at = _plausible(event.alerted_at, record)
        found_at = _plausible(event.confirmed_at, record)
    return FaultHistory(
        outage_id=record.id,
        feeder=feeder_name,
        started_at=record.started_at,
        located=located,
        located_at=located_at,
        found_at=found_at,
        patrolled_km=patrolled,
        region_km=region,
        areas=areas,
    )


def _plausible(at: datetime | None, record: OutageRecord) -> datetime | None:
    """``at`` when it lies between the outage's start and its last restoration, else
    ``None``: the service stamps the crew SMS and the confirmation with its own clock, and a
    replay of old events (or a clock far off) puts them outside the outage; such a time is
    not turned into a plausible one, it is left unknown."""
    if at is None or at < record.started_at:
        return None
    restored = [a.restored_at for a in record.areas if a.restored_at is not None]
    if restored and at > max(restored):
        return None
    return at


def _length_below(zones: Sequence[Zone], device: str | None) -> float:
    """The line of the zones at and below the one ``device`` starts or lies in (the whole
    feeder when the device is unknown)."""
    top = next(
        (z.id for z in zones if device is not None and device in (z.upstream_device, *z.edges)),
        None,
    )
    if top is None:
        return sum(z.length_km for z in zones)
    children: dict[str, list[str]] = {}
    for z in zones:
        if z.parent is not None:
            children.setdefault(z.parent, []).append(z.id)
    length = {z.id: z.length_km for z in zones}
    total, stack = 0.0, [top]
    while stack:
        zone = stack.pop()
        total += length[zone]
        stack.extend(children.get(zone, ()))
    return total
