"""``openoms locate NETWORK --reports FILE``: run the fault locator on recorded messages.

A utility replays a past fault: the indicator / FTU reports and the breaker events as they
came over MQTT (docs/faults.md), on the network as it was operated. The same grouping as the
running service is used (:mod:`.fault_reports`): the window around the trip by device time,
relays of tripped breakers alarm, detectors that sent nothing are "no data" unless known
online (``--online``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import click

from openoms.faults.locator import FaultLocator
from openoms.faults.result import FaultLocation
from openoms.faults.zones import Zone
from openoms.grid.model import Network
from openoms.grid.topology import Topology
from openoms.i18n import Lang
from openoms.ingest.events import Event, EventKind
from openoms.service.fault_reports import (
    ReportGroup,
    feeder_detectors,
    feeder_of_edge,
    group_observations,
    is_alarm,
)
from openoms.service.replay import read_messages

__all__ = ["ReplayResult", "locate_recorded"]

_REPORTS = (EventKind.INDICATOR_REPORT, EventKind.FTU_REPORT)


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
) -> ReplayResult:
    """Locate the fault the recorded ``events`` show, on ``network`` as its present states
    say it was operated."""
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
        raise click.UsageError("no trip and no alarm on an energised feeder in the file")
    if chosen not in network.feeders.id:
        raise click.BadParameter(f"{chosen}: not a feeder of {network.name}", param_hint="--feeder")
    zones = locator.zones_of_feeder(chosen)
    detectors = feeder_detectors(network, zones)
    if trips:
        t0 = min(t.device_time for t in trips)
    elif alarms:
        t0 = min(a.device_time for a in alarms)
    else:
        raise click.UsageError(f"no trip and no alarm on feeder {chosen} in the file")
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


def _permanence(permanent: bool | None, *, zh: bool) -> str:
    if permanent is None:
        return "未知" if zh else "unknown"
    if permanent:
        return "永久性" if zh else "permanent"
    return "瞬时性" if zh else "transient"


def _text(result: ReplayResult, network: Network, lang: Lang) -> str:
    loc = result.location
    zh = lang is Lang.ZH
    feeder_name = network.feeders.name[network.feeders.id.index(result.feeder)] or result.feeder
    lines = [
        f"{'线路' if zh else 'Feeder'}: {feeder_name} ({result.feeder})",
        f"{'故障类型' if zh else 'Fault type'}: {loc.fault_type.value}"
        + (f"  {'相别' if zh else 'phases'}: {''.join(loc.phases)}" if loc.phases else ""),
        f"{'故障时间' if zh else 'Fault time'}: "
        + (loc.fault_time.isoformat() if loc.fault_time else "-"),
        f"{'性质' if zh else 'Permanent'}: " + _permanence(loc.permanent, zh=zh),
        f"{'报告' if zh else 'Reports'}: {result.group.reports}, "
        f"{'告警设备' if zh else 'alarmed devices'}: {result.group.alarms}, "
        f"{'无数据' if zh else 'no data'}: {loc.devices_no_data}",
        "",
        f"{'候选区段' if zh else 'Candidate sections'}:",
    ]
    for rank, candidate in enumerate(loc.candidates[:10], start=1):
        mark = " *" if candidate.zone in loc.best else ""
        lines.append(f"  {rank:2d}. {candidate.zone:30s} {candidate.posterior:8.2%}{mark}")
    lines.append(
        f"{'派往区域' if zh else 'Send the crew to'} (≥{loc.region_mass:.0%}): "
        + ", ".join(loc.region)
    )
    if loc.ties and len(loc.ties) > 1:
        lines.append(f"{'并列' if zh else 'Ties'}: " + ", ".join(loc.ties))
    if loc.contradictions:
        lines.append(f"{'疑似异常指示器' if zh else 'Suspected faulty detectors'}:")
        lines += [
            f"  {c.detector}: {'应为' if zh else 'expected'} {c.expected}, "
            f"{'实为' if zh else 'observed'} {c.observed}"
            for c in loc.contradictions
        ]
    return "\n".join(lines)


def run_locate(
    network: Network,
    reports: Path,
    *,
    lang: Lang,
    as_json: bool,
    feeder: str | None,
    online_terminals: bool,
    max_faults: int,
    map_path: Path | None = None,
) -> str:
    recorded = read_messages(reports, network)
    result = locate_recorded(
        network,
        recorded.events,
        online=recorded.online,
        assume_terminals_online=online_terminals,
        feeder=feeder,
        max_faults=max_faults,
    )
    if map_path is not None:
        from openoms.viz.fault_map import draw_fault_map  # noqa: PLC0415  (matplotlib)

        draw_fault_map(network, result.zones, result.location, result.group.observations, map_path)
    if as_json:
        return json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str)
    return _text(result, network, lang)
