"""Locating a recorded fault: the locator on the reports of a past fault, as they came.

A utility replays a past fault: the indicator / FTU reports and the breaker events as they
came over MQTT (docs/faults.md), on the network as it was operated. The same grouping as the
running service is used (:mod:`openoms.faults.reports`): the window around the trip by device time,
relays of tripped breakers alarm, detectors that sent nothing are "no data" unless known
online (``--online``). An earth fault without a trip on a bus with an isolated or
Petersen-coil neutral is put on the feeder its heads' transient polarity selects (选线,
:mod:`openoms.faults.feeder_selection`), not on the feeder with the most alarms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from openoms.errors import InputError
from openoms.events import Event, EventKind
from openoms.faults.feeder_selection import (
    SELECTING_EARTHING,
    HeadReading,
    SelectionOutcome,
    earth_fault_only,
    merge_reading,
    select_feeder,
)
from openoms.faults.locator import FaultLocator
from openoms.faults.reports import (
    ReportGroup,
    feeder_detectors,
    feeder_of_edge,
    group_observations,
    is_alarm,
)
from openoms.faults.result import FaultLocation
from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.grid.topology import Topology

__all__ = ["NoFaultRecordedError", "ReplayResult", "locate_recorded"]

_REPORTS = (EventKind.INDICATOR_REPORT, EventKind.FTU_REPORT)


class NoFaultRecordedError(InputError):
    """The recording names no fault to locate (no trip, no alarm, or an unknown feeder)."""


class ReplayResult:
    """The location of a recorded fault, and what it was made from."""

    def __init__(
        self,
        feeder: str,
        t0: datetime,
        group: ReportGroup,
        location: FaultLocation,
        zones: tuple[Zone, ...] = (),
    ) -> None:
        self.zones = zones
        self.feeder = feeder
        self.t0 = t0
        self.group = group
        self.location = location

    def as_dict(self) -> dict[str, object]:
        return {
            "feeder": self.feeder,
            "window_start_device_time": self.t0.isoformat(),
            "mode": self.group.mode.value,
            "reports": self.group.reports,
            "alarms": self.group.alarms,
            "location": self.location.as_dict(),
        }


def locate_recorded(
    network: Network,
    events: Sequence[Event],
    *,
    online: frozenset[str] = frozenset(),
    assume_terminals_online: bool = True,
    feeder: str | None = None,
    before_s: float = 2.0,
    after_s: float = 5.0,
    max_faults: int = 1,
    topology: Topology | None = None,
) -> ReplayResult:
    """Locate the fault the recorded ``events`` show, on ``network`` as its present states
    say it was operated. ``topology``: the index of those states when the caller has it
    (a network snapshot holds one), else built here."""
    if topology is None:
        topology = Topology.build(network.graph_arrays(), network.closed_edges())
    locator = FaultLocator(network, topology)
    trips = [e for e in events if e.kind is EventKind.BREAKER_TRIP and e.device_id in network]
    reclosed: bool | None = None
    for e in events:
        if e.kind is EventKind.BREAKER_RECLOSE:
            reclosed = bool(e.payload.get("success"))
    if any(t.payload.get("lockout") for t in trips):
        reclosed = False
    alarms = [
        e for e in events if e.kind in _REPORTS and is_alarm(e.payload) and e.device_id in network
    ]
    votes: Counter[str] = Counter()
    for event in [*trips, *alarms]:
        assert event.device_id is not None
        if event.kind is EventKind.BREAKER_TRIP:
            edge = network.edge_index(event.device_id)
        else:
            edge = int(network.detectors.edge[network.locate(event.device_id)[1]])
        if edge is not None:
            found = feeder_of_edge(network, topology, edge)
            if found is not None:
                votes[found] += 10 if event.kind is EventKind.BREAKER_TRIP else 1
    chosen = feeder or (votes.most_common(1)[0][0] if votes else None)
    if chosen is None:
        raise NoFaultRecordedError("no trip and no alarm on an energised feeder in the file")
    if feeder is None and not trips and all(earth_fault_only(a.payload) for a in alarms):
        chosen = _selected_feeder(network, locator, chosen, alarms)
    if chosen not in network.feeders.id:
        raise NoFaultRecordedError(f"--feeder {chosen}: not a feeder of {network.name}")
    zones = locator.zones_of_feeder(chosen)
    detectors = feeder_detectors(network, zones)
    if trips:
        t0 = min(t.device_time for t in trips)
    elif alarms:
        t0 = min(a.device_time for a in alarms)
    else:
        raise NoFaultRecordedError(f"no trip and no alarm on feeder {chosen} in the file")
    start, end = t0 - timedelta(seconds=before_s), t0 + timedelta(seconds=after_s)
    rows = [
        (e.device_id or "", e.device_time, e.payload)
        for e in events
        if e.kind in _REPORTS and start <= e.device_time <= end
    ]
    known = set(online) | {e.device_id for e in events if e.device_id is not None}
    if assume_terminals_online:
        det = network.detectors
        known |= {d for d in detectors if det.kind[network.locate(d)[1]] != "fault_indicator"}
    tripped = {t.device_id: t.device_time for t in trips if t.device_id is not None}
    group = group_observations(network, detectors, rows, online=known, tripped=tripped)
    location = locator.locate(
        chosen,
        group.observations,
        reclosed=reclosed,
        max_faults=max_faults,
        trip_seen=bool(trips),
    )
    return ReplayResult(chosen, t0, group, location, zones)


def _selected_feeder(
    network: Network, locator: FaultLocator, voted: str, alarms: Sequence[Event]
) -> str:
    """The feeder of ``voted``'s bus that the heads' earth-fault readings select; ``voted``
    when the bus is effectively earthed or the readings do not decide. Raises
    :class:`NoFaultRecordedError` for a bus fault."""
    substation = int(network.feeders.substation[network.feeders.id.index(voted)])
    if network.substations.earthing(substation) not in SELECTING_EARTHING:
        return voted
    feeders = [
        network.feeders.id[f]
        for f in range(len(network.feeders.id))
        if int(network.feeders.substation[f]) == substation
        and locator.topology.feeder_nodes(f).size
    ]
    heads: dict[str, str] = {}
    for f in feeders:
        root = locator.zones_of_feeder(f)[0]
        heads |= {} if root.implicit else dict.fromkeys(root.detectors, f)
    readings: dict[str, HeadReading] = {}
    for alarm in sorted(alarms, key=lambda a: a.device_time):
        head_of = heads.get(alarm.device_id or "")
        if head_of is not None:
            readings[head_of] = merge_reading(head_of, alarm.payload, readings.get(head_of))
    selection = select_feeder(feeders, list(readings.values()))
    if selection.outcome is SelectionOutcome.BUS:
        raise NoFaultRecordedError(
            f"an earth fault on the bus, not on a feeder: {selection.reason_en}"
        )
    return selection.feeder or voted
