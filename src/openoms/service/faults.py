"""The fault workflow: group reports per feeder, locate, refine, alert the crew.

docs/faults.md, "In the running service". A fault event starts with a breaker / recloser
trip or with the first indicator alarm on a feeder. Reports whose device time lies in [t0 − before,
t0 + after] of the trip, from detectors of that feeder *as it was operated just before the
fault*, belong to it (the breaker opening afterwards does not change where the fault is).

- Every report that joins relocates at once (a provisional location, on the record).
- A lockout makes the fault sustained: the outage record (made by the processor) gets the
  located section; once no report has arrived for ``fault_quiet_s``, the crew on duty for the
  grid cell of the located section gets one SMS (through the outbox).
- A successful reclose makes it transient: located, a patrol advisory raised, no SMS.
- Late reports (GPRS indicators) keep refining until ``fault_final_s``; if the final region no
  longer contains the section the crew was sent to, a correction SMS goes out.
- Earth faults in isolated and Petersen-coil systems (no trip): the feeder is selected first
  from the transient polarity of the feeder heads of the bus (选线,
  :mod:`openoms.faults.feeder_selection`); the healthy feeders get no fault event.

State lives in the ``fault_events`` table, so a restart picks up where it stopped; its state,
alert state and trigger move only as the tables of :mod:`openoms.faults.lifecycle` allow.
Where the reports put a fault (locators on the network as operated at the fault, the
observations of its detectors) is read by :mod:`.fault_locating`; this module writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from openoms.events import Event
from openoms.faults.feeder_selection import SelectionOutcome, earth_fault_only
from openoms.faults.lifecycle import AlertState, FaultEventState, FaultTrigger
from openoms.faults.locator import FaultLocator
from openoms.faults.observations import DeviceRates
from openoms.faults.reports import ReportGroup, feeder_of_edge, is_alarm
from openoms.faults.result import FaultLocation
from openoms.faults.zones import Zone
from openoms.outages.lifecycle import OutageState
from openoms.service.context import ServiceContext
from openoms.service.fault_history import advisory_text, rates_from_confirmed
from openoms.service.fault_locating import FaultLocating
from openoms.store import eventlog, outages
from openoms.store import faults as store
from openoms.store.faults import UNCHANGED, FaultEventRecord
from openoms.store.outage_queries import outage_row

__all__ = ["AlertSender", "FaultTracker"]

log = logging.getLogger("openoms.faults")

# (session, fault event, location, the located zone, is a correction) -> alert state
AlertSender = Callable[[Session, FaultEventRecord, FaultLocation, Zone, bool], AlertState]


class FaultTracker:
    """Keeps ``fault_events`` up to date; called by the processor in its transaction."""

    def __init__(self, context: ServiceContext, *, send_alert: AlertSender | None = None) -> None:
        self.context = context
        self.send_alert = send_alert
        self.locating = FaultLocating(context)
        # Whether a fault event may still be open: lets :meth:`tick` skip the database when
        # nothing is going on (True at start: events may be open from before a restart).
        self.maybe_open = True
        self._calibrated_on = -1  # how many confirmed fault events the rates come from
        # Fault events whose restoration plan is due (a located lockout once reports went
        # quiet, and again at the final location); the processor plans them after the tick.
        self.plans_due: set[int] = set()
        self._planned: set[int] = set()

    @property
    def device_rates(self) -> dict[str, DeviceRates]:
        """Per-detector rates calibrated from crew-confirmed locations (empty: kind defaults)."""
        return self.locating.device_rates

    @device_rates.setter
    def device_rates(self, rates: dict[str, DeviceRates]) -> None:
        self.locating.device_rates = rates

    # -- the network as operated ----------------------------------------------------------
    def locator(self, open_edges: tuple[int, ...]) -> FaultLocator:
        """The locator of the network operated with ``open_edges`` open (cached, 8 states)."""
        return self.locating.locator(open_edges)

    def _live_open_edges(self) -> tuple[int, ...]:
        closed = self.context.analyser.topology.closed
        return tuple(int(e) for e in np.flatnonzero(~closed))

    def _live_feeder(self, edge: int) -> str | None:
        """The feeder that supplies ``edge`` now (None when dead)."""
        return feeder_of_edge(self.context.network, self.context.analyser.topology, edge)

    # -- events ---------------------------------------------------------------------------
    def on_report(self, session: Session, event: Event, event_id: int) -> str:
        device = event.device_id
        if device is None or device not in self.context.network:
            return "recorded"
        alarm = is_alarm(event.payload)
        if not alarm and not self.maybe_open:
            return "recorded"  # a heartbeat while no fault is open: nothing to look up
        for record in store.open_fault_events(session):
            if not self._in_window(record, event.device_time):
                continue
            if device in self.locating.detectors(record):
                received = eventlog.received_at(session, event_id)
                store.update_fault_event(
                    session,
                    record.id,
                    now=self.context.clock(),
                    reports=record.reports + 1,
                    last_report_at=max(received, record.last_report_at),
                )
                location = self.relocate(session, record.id)
                return f"fault {record.id}: report joined; best {_best(location)}"
        if not alarm:
            return "recorded"
        _, index = self.context.network.locate(device)
        feeder = self._live_feeder(int(self.context.network.detectors.edge[index]))
        held = self._no_event_for(session, event, feeder)
        if held is not None or feeder is None:
            return held or "alarm from a dead part of the network; recorded"
        fault_id = store.create_fault_event(
            session,
            feeder_id=feeder,
            trigger=FaultTrigger.ALARM,
            t0=event.device_time,
            open_edges=self._live_open_edges(),
            received_at=eventlog.received_at(session, event_id),
            now=self.context.clock(),
        )
        store.update_fault_event(session, fault_id, now=self.context.clock(), reports=1)
        self.maybe_open = True
        location = self.relocate(session, fault_id)
        return f"fault {fault_id} opened by an alarm on {feeder}; best {_best(location)}"

    def _no_event_for(self, session: Session, event: Event, feeder: str | None) -> str | None:
        """Why an alarm on ``feeder`` opens no fault event (None: it opens one): an earth
        fault for which the bus's feeder selection chose another feeder or the bus, or cannot
        choose yet while the device itself reads −1 (the fault is not beyond it)."""
        if feeder is None or not earth_fault_only(event.payload):
            return None
        selection = self.locating.select_feeder(
            session, feeder, event.device_time, self._live_open_edges()
        )
        if selection is None or selection.feeder == feeder:
            return None
        match selection.outcome:
            case SelectionOutcome.FEEDER:
                return (
                    f"earth fault selected on feeder {selection.feeder} "
                    f"({selection.reason_en}); {feeder} is healthy: no fault event"
                )
            case SelectionOutcome.BUS:
                log.warning("earth fault on the bus of feeder %s: %s", feeder, selection.reason_en)
                return f"earth fault on the bus ({selection.reason_en}): no feeder fault event"
        if event.payload.get("earth_fault_direction") == -1:
            return (
                f"earth fault, feeder not selected yet ({selection.reason_en}); this device "
                "reads -1: no fault event"
            )
        return None

    def on_trip(
        self, session: Session, event: Event, event_id: int, *, lockout: bool
    ) -> int | None:
        """A breaker / recloser tripped (call BEFORE the live topology opens it)."""
        device = event.device_id
        edge = None if device is None else self.context.network.edge_index(device)
        if device is None or edge is None:
            return None
        feeder = self._live_feeder(edge)
        if feeder is None:
            return None
        now = self.context.clock()
        received = eventlog.received_at(session, event_id)
        for record in store.open_fault_events(session, feeder_id=feeder):
            late = timedelta(seconds=self.context.settings.fault_lockout_window_s)
            if record.t0 - self.locating.before <= event.device_time <= record.t0 + late:
                # An alarm-opened event: the window is around the trip (docs/faults.md, "In the
                # running service").
                by_alarm = record.trigger is FaultTrigger.ALARM
                store.update_fault_event(
                    session,
                    record.id,
                    now=now,
                    last_report_at=max(received, record.last_report_at),
                    breaker=device,
                    lockout=lockout,
                    trigger=FaultTrigger.TRIP if by_alarm else UNCHANGED,
                    t0=event.device_time if by_alarm else UNCHANGED,
                )
                self.relocate(session, record.id)
                return record.id
        fault_id = store.create_fault_event(
            session,
            feeder_id=feeder,
            trigger=FaultTrigger.TRIP,
            t0=event.device_time,
            open_edges=self._live_open_edges(),
            received_at=received,
            now=now,
            breaker=device,
            lockout=lockout,
        )
        self.maybe_open = True
        self.relocate(session, fault_id)
        return fault_id

    def on_reclose(self, session: Session, event: Event, *, success: bool) -> int | None:
        device = event.device_id
        for record in store.open_fault_events(session):
            if record.breaker == device:
                store.update_fault_event(
                    session,
                    record.id,
                    now=self.context.clock(),
                    reclosed=success,
                    lockout=not success,
                )
                self.relocate(session, record.id)
                return record.id
        return None

    def attach_outage(self, session: Session, fault_id: int, outage_id: int) -> None:
        store.update_fault_event(session, fault_id, now=self.context.clock(), outage_id=outage_id)
        record = store.get_fault_event(session, fault_id)
        if record.located_zone is not None:
            self._record_location(session, outage_id, record.located_zone)

    def _record_location(self, session: Session, outage_id: int, zone: str) -> None:
        """The outage's located section, and its move from ``detected`` to ``located`` (the
        dispatcher sees that the fault is located; later states are left alone)."""
        now = self.context.clock()
        outages.update_outage(session, outage_id, located_section=zone, at=now, actor="system")
        if outage_row(session, outage_id).state == OutageState.DETECTED.value:
            outages.transition_outage(
                session,
                outage_id,
                OutageState.LOCATED,
                at=now,
                actor="system",
                note="located by the fault indicators (故障指示器定位)",
            )

    # -- locating -------------------------------------------------------------------------
    def _in_window(self, record: FaultEventRecord, at: datetime) -> bool:
        return record.t0 - self.locating.before <= at <= record.t0 + self.locating.after

    def observations(self, session: Session, record: FaultEventRecord) -> ReportGroup:
        return self.locating.observations(session, record)

    def locate_record(
        self, session: Session, record: FaultEventRecord
    ) -> tuple[ReportGroup, FaultLocation | None]:
        """The observations of a fault event and where they locate it (None: no alarm yet);
        reads only."""
        return self.locating.locate(session, record)

    def relocate(self, session: Session, fault_id: int) -> FaultLocation | None:
        record = store.get_fault_event(session, fault_id)
        group, location = self.locate_record(session, record)
        if location is None:
            return None
        store.update_fault_event(
            session,
            fault_id,
            now=self.context.clock(),
            state=(
                FaultEventState.LOCATED if record.state is FaultEventState.COLLECTING else UNCHANGED
            ),
            location=location.as_dict() | {"mode": group.mode.value, "reports": group.reports},
            located_zone=location.best[0] if location.best else None,
            fault_type=location.fault_type.value,
        )
        if record.outage_id is not None and location.best:
            self._record_location(session, record.outage_id, location.best[0])
        return location

    # -- calibration ----------------------------------------------------------------------
    def calibrate(self, session: Session, *, min_events: int = 10) -> int:
        """Recalibrate device rates from every crew-confirmed fault event (when their number
        changed since the last time); returns how many devices have calibrated rates.

        Each confirmed event is read again from the event log (the same grouping as when it
        happened) and scored against the confirmed zone (Laplace's rule; docs/faults.md,
        "Calibration")."""
        count = store.count_confirmed(session)
        if count == self._calibrated_on:
            return len(self.device_rates)
        rates = rates_from_confirmed(
            self.context.network,
            store.confirmed_fault_events(session),
            lambda record: self.observations(session, record).observations,
            min_events=min_events,
        )
        self.locating.use_rates(rates)  # the locators are rebuilt with the new rates
        self._calibrated_on = count
        log.info("device rates calibrated from %d confirmed faults: %d devices", count, len(rates))
        return len(rates)

    # -- time passing ---------------------------------------------------------------------
    def tick(self, session: Session) -> int:
        """Alerts and finals that are due; returns how many fault events changed."""
        now = self.context.clock()
        quiet = timedelta(seconds=self.context.settings.fault_quiet_s)
        final = timedelta(seconds=self.context.settings.fault_final_s)
        changed = 0
        still_open = store.open_fault_events(session)
        self.maybe_open = bool(still_open)
        for record in still_open:
            settled = now - record.last_report_at >= quiet
            relapsed = record.alert_state is AlertState.SKIPPED and bool(record.lockout)
            if (
                settled
                and (record.alert_state is AlertState.NONE or relapsed)
                and record.located_zone is not None
            ):
                changed += self._settle(session, record)
            permanent = bool(record.lockout) and record.outage_id is not None
            if settled and permanent and record.located_zone and record.id not in self._planned:
                self._planned.add(record.id)
                self.plans_due.add(record.id)
            if now - record.created_at >= final:
                location = self.relocate(session, record.id)
                store.update_fault_event(session, record.id, now=now, state=FaultEventState.FINAL)
                changed += 1
                fresh = store.get_fault_event(session, record.id)
                if fresh.lockout and fresh.outage_id is not None:
                    self.plans_due.add(record.id)  # planned again if the zones moved
                self._planned.discard(record.id)
                moved = (
                    location is not None
                    and fresh.alerted_zone is not None
                    and fresh.alerted_zone not in location.region
                )
                if moved and self.send_alert is not None and location is not None:
                    outcome = self.send_alert(
                        session, fresh, location, self.locating.zone(fresh, location.best[0]), True
                    )
                    store.update_fault_event(
                        session, record.id, now=now, alerted_zone=location.best[0]
                    )
                    log.info("fault %s: location moved, correction: %s", record.id, outcome)
        return changed

    def _advise_untripped(self, session: Session, record: FaultEventRecord) -> int:
        """Alarms no trip has followed for ``fault_window_after_s``: an earth fault, or a
        fault cleared downstream; a patrol advisory (a lockout joining later still alerts
        the crew). Waits because the substation RTU may report after the indicators."""
        now = self.context.clock()
        if record.advisory is not None or now - record.created_at < self.locating.after:
            return 0
        location = self.relocate(session, record.id)
        if location is None or not location.best:
            return 0
        advisory = advisory_text(self.context, record, location)
        store.update_fault_event(session, record.id, now=now, advisory=advisory)
        return 1

    def _settle(self, session: Session, record: FaultEventRecord) -> int:
        """Once reports have gone quiet: the crew SMS of a lockout, the advisory of a
        transient fault or of alarms that no trip followed."""
        now = self.context.clock()
        if record.breaker is None:  # alarms only, no trip (yet)
            return self._advise_untripped(session, record)
        if not record.lockout and not record.reclosed:
            return 0  # a trip waiting for its reclose outcome
        location = self.relocate(session, record.id)
        if location is None:
            return 0
        if record.reclosed and not record.lockout:  # transient: patrol, no crew alert
            store.update_fault_event(
                session,
                record.id,
                now=now,
                alert_state=AlertState.SKIPPED,
                advisory=advisory_text(self.context, record, location),
            )
            return 1
        if record.outage_id is None or self.send_alert is None:
            return 0
        fresh = store.get_fault_event(session, record.id)
        # One SMS per located fault (several only with fault_max_faults > 1); with none, one
        # for the feeder's first zone (the SMS then says no section is located).
        first = self.locating.locator(fresh.open_edges).zones_of_feeder(fresh.feeder_id)[0]
        outcomes = [
            self.send_alert(session, fresh, location, self.locating.zone(fresh, zone_id), False)
            for zone_id in location.best or (first.id,)
        ]
        outcome = AlertState.SENT if AlertState.SENT in outcomes else outcomes[0]
        store.update_fault_event(
            session,
            record.id,
            now=now,
            alert_state=outcome,
            alerted_zone=location.best[0] if location.best else None,
            alerted_at=now,
        )
        return 1


def _best(location: FaultLocation | None) -> str:
    if location is None or not location.best:
        return "none yet"
    return ", ".join(location.best)
