"""From logged reports to the locator's observations: what each detector said about a fault.

Pure: events in, :class:`~openoms.faults.observations.Observation` out. Used by the fault
workflow of the service (:mod:`.faults`) and by ``openoms locate`` (replaying a file), so that
both read reports the same way:

- the fault's *mode* comes from the reports: a short circuit when any report carries a
  short-circuit flag, else an earth fault when any carries an earth-fault flag, else a broken
  conductor when any reports a loss of voltage on some phases only;
- a detector that sent a report in the window: ``alarm`` when one of its reports carries the
  mode's flag, else ``no_alarm`` (it spoke, and did not see the fault);
- a relay on a breaker that tripped: ``alarm`` (its trip is the report);
- a detector that sent nothing: ``no_alarm`` when it is known online (a recent heartbeat,
  or a wired relay), else ``no_data``. Silence from an event-only GPRS indicator is not "no
  fault" (docs/faults.md, "Background and sources").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from openoms.faults.observations import Observation, ObservationColumns, Status
from openoms.faults.zones import Zone
from openoms.grid.model import ElementKind, Network
from openoms.grid.topology import Topology

__all__ = [
    "FaultMode",
    "ReportGroup",
    "fault_mode",
    "feeder_detectors",
    "feeder_of_edge",
    "group_observations",
    "is_alarm",
]


class FaultMode(StrEnum):
    SHORT_CIRCUIT = "short_circuit"
    EARTH_FAULT = "earth_fault"
    BROKEN_CONDUCTOR = "broken_conductor"


def _short_circuit(payload: Mapping[str, Any]) -> bool:
    # HTTP senders may send only the phases (the MQTT parser always sets both).
    return bool(payload.get("short_circuit") or payload.get("fault_phases"))


def _broken_conductor(payload: Mapping[str, Any]) -> bool:
    # voltage lost on some phases only; all three is what every device below an open
    # breaker reports, which is not a fault of its own
    return 0 < len(payload.get("loss_of_voltage_phases") or ()) < 3


def is_alarm(payload: Mapping[str, Any]) -> bool:
    """Whether a report shows a fault: a short circuit, an earth fault or a broken
    conductor (the signals :func:`fault_mode` chooses from)."""
    return _short_circuit(payload) or bool(payload.get("earth_fault")) or _broken_conductor(payload)


def feeder_of_edge(network: Network, topology: Topology, edge: int) -> str | None:
    """The feeder that supplies branch ``edge`` in ``topology``'s state (None when dead)."""
    graph = topology.graph
    for node in (int(graph.edge_from[edge]), int(graph.edge_to[edge])):
        feeder = topology.feeder_of(node)
        if feeder >= 0:
            return network.feeders.id[feeder]
    return None


def fault_mode(payloads: Iterable[Mapping[str, Any]]) -> FaultMode:
    """What kind of fault the reports show (see the module docstring)."""
    earth = broken = False
    for payload in payloads:
        if _short_circuit(payload):
            return FaultMode.SHORT_CIRCUIT
        earth = earth or bool(payload.get("earth_fault"))
        broken = broken or _broken_conductor(payload)
    if earth:
        return FaultMode.EARTH_FAULT
    if broken:
        return FaultMode.BROKEN_CONDUCTOR
    return FaultMode.SHORT_CIRCUIT


def _alarmed(payload: Mapping[str, Any], mode: FaultMode) -> bool:
    match mode:
        case FaultMode.SHORT_CIRCUIT:
            return _short_circuit(payload)
        case FaultMode.EARTH_FAULT:
            return bool(payload.get("earth_fault"))
        case FaultMode.BROKEN_CONDUCTOR:
            return bool(payload.get("loss_of_voltage_phases"))


def feeder_detectors(network: Network, zones: Iterable[Zone]) -> list[str]:
    """The detectors that start the zones (a feeder without a relay on its head has an
    implicit root zone started by the head breaker itself: not a detector)."""
    found = []
    for zone in zones:
        if zone.detector in network and network.locate(zone.detector)[0] is ElementKind.DETECTOR:
            found.append(zone.detector)
    return found


@dataclass(slots=True)
class _Said:
    alarm: bool = False
    time: datetime | None = None
    fault_phases: set[str] | None = None
    earth_phases: set[str] | None = None
    lost_phases: set[str] | None = None
    direction: int | None = None
    permanent: bool | None = None


@dataclass(frozen=True, slots=True)
class ReportGroup:
    """The observations of one fault, and what they were made from."""

    mode: FaultMode
    observations: ObservationColumns  # one per detector asked about, in that order
    reports: int  # reports read
    alarms: int  # detectors that alarmed


def _merge(said: _Said, payload: Mapping[str, Any], at: datetime, mode: FaultMode) -> None:
    alarmed = _alarmed(payload, mode)
    if alarmed:
        said.alarm = True
        said.time = at if said.time is None else min(said.time, at)
        key = "earth_fault_direction" if mode is FaultMode.EARTH_FAULT else "fault_direction"
        direction = payload.get(key)
        if isinstance(direction, int) and said.direction is None:
            said.direction = direction
        if payload.get("permanent_fault"):
            said.permanent = True
    for name, attr in (
        ("fault_phases", "fault_phases"),
        ("earth_fault_phases", "earth_phases"),
        ("loss_of_voltage_phases", "lost_phases"),
    ):
        phases = payload.get(name) or ()
        if phases:
            current = getattr(said, attr) or set()
            setattr(said, attr, current | set(phases))


def group_observations(
    network: Network,
    detectors: Sequence[str],
    reports: Iterable[tuple[str, datetime, Mapping[str, Any]]],
    *,
    online: Collection[str] = (),
    tripped: Mapping[str, datetime] | None = None,
    mode: FaultMode | None = None,
) -> ReportGroup:
    """The observation of every detector in ``detectors`` (the feeder's), from ``reports``
    ``(detector id, device time, normalised payload)`` of the fault's window.

    ``tripped``: switch id → trip time of breakers / reclosers that tripped (their relays
    alarm). ``online``: detectors known online (silence = no alarm). ``mode``: taken from the
    reports when not given. O(reports) Python, the detectors that sent nothing by columns
    (C-level passes): :class:`~openoms.faults.observations.ObservationColumns`.
    """
    rows = list(reports)
    chosen = mode if mode is not None else fault_mode(payload for _, _, payload in rows)
    wanted = set(detectors)
    said: dict[str, _Said] = {}
    for device, at, payload in rows:
        if device in wanted:
            _merge(said.setdefault(device, _Said()), payload, at, chosen)
    det = network.detectors
    index = network.indexes(ElementKind.DETECTOR, detectors)
    n = len(index)
    known = online if isinstance(online, set | frozenset) else set(online)
    status = np.where(
        np.fromiter(map(known.__contains__, detectors), dtype=np.bool_, count=n), 0, -1
    )
    # relays on breakers that tripped alarm (their trip is the report)
    trips: dict[int, datetime] = {}
    for switch, at in (tripped or {}).items():
        edge = network.edge_index(switch) if switch in network else None
        if edge is not None:
            trips[edge] = at
    spoke = np.fromiter(map(said.__contains__, detectors), dtype=np.bool_, count=n)
    heard = set(np.flatnonzero(spoke).tolist())
    if trips:
        edges = det.edge[index]
        for i in np.flatnonzero(np.isin(edges, list(trips))).tolist():
            if det.kind[int(index[i])] == "relay":
                said_i = said.setdefault(detectors[i], _Said())
                said_i.alarm = True
                said_i.time = said_i.time or trips[int(edges[i])]
                heard.add(i)
    detail: dict[int, Observation] = {}
    for i in sorted(heard):
        detector = detectors[i]
        heard_i = said[detector]
        alarm = heard_i.alarm
        # phases belong to an alarm: a report that lists phases without raising the flag of
        # this fault's mode (a short-circuit report during an earth fault, a firmware that
        # always fills the phase list) is heard as "no alarm", its phases not used
        detail[i] = Observation(
            detector=detector,
            status=Status.ALARM if alarm else Status.NO_ALARM,
            device_time=heard_i.time,
            fault_phases=_sorted(heard_i.fault_phases) if alarm else (),
            earth_fault=chosen is FaultMode.EARTH_FAULT and alarm,
            earth_fault_phases=_sorted(heard_i.earth_phases) if alarm else (),
            loss_of_voltage_phases=_sorted(heard_i.lost_phases) if alarm else (),
            direction=heard_i.direction,
            permanent=heard_i.permanent,
        )
    observations = ObservationColumns(det.id, index, status, detail)
    alarms = sum(1 for o in detail.values() if o.status is Status.ALARM)
    return ReportGroup(chosen, observations, len(rows), alarms)


def _sorted(phases: set[str] | None) -> tuple[str, ...]:
    return tuple(sorted(phases)) if phases else ()
