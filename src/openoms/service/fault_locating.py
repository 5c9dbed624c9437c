"""Where the reports put a fault event, read only: the locator of the network as it was
operated at the fault, the detectors of the fault's feeder, and what their reports observe.

The fault workflow (:class:`~.faults.FaultTracker`) asks here at every relocation and writes
what it learns; nothing here writes. A locator is built on the network with the edges that
were open just before the fault (a fault event's ``open_edges``), so the breaker opening
afterwards does not move the fault; eight are kept (the least recently used goes), each with
the device rates calibrated from crew-confirmed faults (:meth:`FaultLocating.use_rates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy.orm import Session

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
