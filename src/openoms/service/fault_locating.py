"""Where the reports put a fault event, read only: the locator of the network as it was
operated at the fault, the detectors of the fault's feeder, and what their reports observe.

The fault workflow (:class:`~.faults.FaultTracker`) asks here at every relocation and writes
what it learns; nothing here writes. A locator is built on the network with the edges that
were open just before the fault (a fault event's ``open_edges``), so the breaker opening
afterwards does not move the fault; eight are kept (the least recently used goes), each with
the device rates calibrated from crew-confirmed faults (:meth:`FaultLocating.use_rates`) and
the network's distributed generation (its ``generators`` table, which the locator takes by
default). Earth faults in isolated and Petersen-coil systems are put on a feeder by the
feeder heads' transient polarity (:meth:`FaultLocating.select_feeder`, 选线).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from openoms.faults.feeder_selection import (
    SELECTING_EARTHING,
    FeederSelection,
    HeadReading,
    earth_fault_only,
    merge_reading,
    select_feeder,
)
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import DeviceRates
from openoms.faults.reports import ReportGroup, feeder_detectors, group_observations
from openoms.faults.result import FaultLocation
from openoms.faults.zones import Zone
from openoms.grid.topology import Topology
from openoms.service.context import ServiceContext
from openoms.store import faults as store
from openoms.store.faults import FaultEventRecord

__all__ = ["FaultLocating"]


@dataclass(slots=True)
class _Cached:
    locator: FaultLocator
    used: int


class FaultLocating:
    """The locators and observations of fault events (see the module docstring)."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self._locators: dict[tuple[int, ...], _Cached] = {}
        self._uses = 0
        # Per-detector rates calibrated from crew-confirmed locations (empty: kind defaults).
        self.device_rates: dict[str, DeviceRates] = {}

    # -- settings -------------------------------------------------------------------------
    @property
    def before(self) -> timedelta:
        """Reports from this long before a fault event's ``t0`` on belong to it."""
        return timedelta(seconds=self.context.settings.fault_window_before_s)

    @property
    def after(self) -> timedelta:
        """Reports until this long after a fault event's ``t0`` belong to it."""
        return timedelta(seconds=self.context.settings.fault_window_after_s)

    def use_rates(self, rates: dict[str, DeviceRates]) -> None:
        """Locate with ``rates`` from now on (the locators are built again)."""
        self.device_rates = rates
        self._locators.clear()

    # -- locators on the state of the fault ----------------------------------------------
    def locator(self, open_edges: tuple[int, ...]) -> FaultLocator:
        """The locator of the network operated with ``open_edges`` open (cached, 8 states)."""
        self._uses += 1
        found = self._locators.get(open_edges)
        if found is None:
            network = self.context.network
            closed = np.ones(network.n_edges, dtype=np.bool_)
            closed[list(open_edges)] = False
            topology = Topology.build(network.graph_arrays(), closed)
            locator = FaultLocator(network, topology, device_rates=self.device_rates or None)
            found = _Cached(locator, self._uses)
            if len(self._locators) >= 8:
                oldest = min(self._locators, key=lambda k: self._locators[k].used)
                del self._locators[oldest]
            self._locators[open_edges] = found
        found.used = self._uses
        return found.locator

    def zone(self, record: FaultEventRecord, zone_id: str) -> Zone:
        """The zone ``zone_id`` of the fault's feeder, as operated at the fault."""
        zones = self.locator(record.open_edges).zones_of_feeder(record.feeder_id)
        return next(zone for zone in zones if zone.id == zone_id)

    def head_detectors(self, open_edges: tuple[int, ...], feeder_id: str) -> list[str]:
        """The detectors at the feeder's head (its root zone's), as operated."""
        root = self.locator(open_edges).zones_of_feeder(feeder_id)[0]
        return [] if root.implicit else list(root.detectors)

    def select_feeder(
        self, session: Session, feeder_id: str, at: datetime, open_edges: tuple[int, ...]
    ) -> FeederSelection | None:
        """Which feeder of ``feeder_id``'s bus an earth fault at device time ``at`` is on,
        from the earth-fault reports of every feeder head of that bus in the window around
        ``at`` (docs/faults.md, "Earth faults: selecting the feeder"); ``None`` when the
        bus is effectively earthed (resistance, solid: the earth fault trips) or has one
        energised feeder."""
        network = self.context.network
        substation = int(network.feeders.substation[network.feeders.id.index(feeder_id)])
        if network.substations.earthing(substation) not in SELECTING_EARTHING:
            return None
        locator = self.locator(open_edges)
        feeders = []
        for f in range(len(network.feeders.id)):
            on_bus = int(network.feeders.substation[f]) == substation
            if on_bus and locator.topology.feeder_nodes(f).size:
                feeders.append(network.feeders.id[f])
        if len(feeders) < 2:
            return None
        heads = {d: f for f in feeders for d in self.head_detectors(open_edges, f)}
        start, end = at - self.before, at + self.after
        readings: dict[str, HeadReading] = {}
        for event, _ in store.reports_between(session, list(heads), start, end):
            payload = event.payload
            if not earth_fault_only(payload) or event.device_id not in heads:
                continue
            feeder = heads[event.device_id]
            readings[feeder] = merge_reading(feeder, payload, readings.get(feeder))
        return select_feeder(feeders, list(readings.values()))

    def detectors(self, record: FaultEventRecord) -> list[str]:
        """The detectors of the fault's feeder, as operated at the fault."""
        zones = self.locator(record.open_edges).zones_of_feeder(record.feeder_id)
        return feeder_detectors(self.context.network, zones)

    # -- locating -------------------------------------------------------------------------
    def observations(self, session: Session, record: FaultEventRecord) -> ReportGroup:
        """The reports of the feeder's detectors in the fault's window, grouped; a detector
        silent in the window counts as online when it was heard within its heartbeat."""
        network = self.context.network
        detectors = self.detectors(record)
        start, end = record.t0 - self.before, record.t0 + self.after
        reports = [
            (e.device_id or "", e.device_time, e.payload)
            for e, _ in store.reports_between(session, detectors, start, end)
        ]
        settings = self.context.settings
        seen = store.last_seen_before(session, detectors, start)
        online: set[str] = set()
        for detector in detectors:
            _, index = network.locate(detector)
            kind = network.detectors.kind[index]
            if kind == "relay":
                online.add(detector)
                continue
            window = (
                settings.heartbeat_indicator_s
                if kind == "fault_indicator"
                else settings.heartbeat_terminal_s
            )
            last = seen.get(detector)
            if last is not None and (start - last).total_seconds() <= window:
                online.add(detector)
        tripped = {record.breaker: record.t0} if record.breaker else {}
        return group_observations(network, detectors, reports, online=online, tripped=tripped)

    def locate(
        self, session: Session, record: FaultEventRecord
    ) -> tuple[ReportGroup, FaultLocation | None]:
        """The observations of a fault event and where they locate it (None: no alarm yet)."""
        group = self.observations(session, record)
        if group.alarms == 0:
            return group, None
        reclosed = record.reclosed
        if reclosed is None and record.lockout:
            reclosed = False
        location = self.locator(record.open_edges).locate(
            record.feeder_id,
            group.observations,
            reclosed=reclosed,
            trip_seen=record.breaker is not None,
            max_faults=self.context.settings.fault_max_faults,
        )
        return group, location
