"""Acting on events: from the event log to outage records, exactly once.

The intake writes every event to the log before anything acts on it. The processor takes the
unprocessed events in log order and, for each, changes the outage records and marks the event
processed IN THE SAME TRANSACTION: a crash at any point leaves each event either untouched
(it is processed again after the restart) or fully applied, never half.

What each event does (see also :mod:`.faults`, the fault workflow it drives):

- indicator / FTU report → grouped into the fault event of its feeder and located (or, an
  alarm with no fault event yet, opens one);
- breaker trip with lockout → a sustained fault outage with its impact (who is off), the live
  topology updated, the fault event's location on the record;
- breaker trip then successful reclose → a momentary outage record, restored at the reclose;
- switch position change → the live topology follows; customers of an open outage who regain
  supply make a restoration step (all back → the outage is restored);
- trouble call → attached to the open outage that has the caller's area off, else grouped with
  its feeder's calls and the operated device predicted (:mod:`.calls`, docs/calls.md);
- crew status → the outage's crew and lifecycle state.

After the fault workflow's tick, the restoration plans that are due (a located lockout whose
reports went quiet, again at the final location) are made on advisory feeders and stored on
the outage (:mod:`.restoration`), each in its own transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from openoms.errors import ForbiddenError, InputError
from openoms.events import Event, EventKind
from openoms.i18n import Lang
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind
from openoms.outages.summary import areas_of, outage_summary
from openoms.service import calls, planned, restoration, switching_exec
from openoms.service import outages as workflows
from openoms.service.context import ServiceContext
from openoms.service.faults import AlertSender, FaultTracker
from openoms.store import eventlog, outages
from openoms.store.tokens import Role

__all__ = ["EventProcessor"]

SYSTEM = "system"
UNKNOWN_CREW = "unknown crew"  # a crew status with no sender and no crew named

log = logging.getLogger("openoms.service")

CALIBRATION_CHECK_S = 60.0  # how often to look for newly confirmed fault locations
CALL_STATUS_CHECK_S = 30.0  # how often call predictions may turn probable by time alone


@dataclass(slots=True)
class _PendingTrip:
    event_time: datetime


class EventProcessor:
    """Applies logged events to outage records; one instance per running service."""

    def __init__(self, context: ServiceContext, *, send_alert: AlertSender | None = None) -> None:
        self.context = context
        self.faults = FaultTracker(context, send_alert=send_alert)
        self._next_calibration = 0.0
        self._next_call_refresh = 0.0
        self._pending_trips: dict[str, _PendingTrip] = {}

    def tick(self) -> int:
        """Fault alerts and final locations that are due (call a few times a second)."""
        now = time.monotonic()
        if now >= self._next_calibration:
            self._next_calibration = now + CALIBRATION_CHECK_S
            try:
                with self.context.sessions.begin() as session, self.context.lock:
                    self.faults.calibrate(session)
            except Exception:  # calibration never stops fault handling
                log.exception("device rate calibration failed; keeping the previous rates")
        if now >= self._next_call_refresh:
            self._next_call_refresh = now + CALL_STATUS_CHECK_S
            try:
                with self.context.sessions.begin() as session, self.context.lock:
                    calls.refresh_statuses(self.context, session, now=self.context.clock())
            except Exception:  # never in the way of fault handling
                log.exception("trouble-call predictions not refreshed; trying again later")
        if not self.faults.maybe_open:
            return 0
        with self.context.sessions.begin() as session, self.context.lock:
            changed = self.faults.tick(session)
        flush = getattr(self.faults.send_alert, "flush_wake", None)
        if flush is not None:
            flush()  # the outbox worker sees the committed messages now
        self._plan_due()
        return changed

    def _plan_due(self) -> None:
        """The restoration plans that are due (after the crew SMS: never in its way), each in
        its own transaction; a failure is logged and the fault workflow goes on."""
        due = sorted(self.faults.plans_due)
        self.faults.plans_due.clear()
        for fault_id in due:
            try:
                with self.context.sessions.begin() as session:
                    stored = restoration.plan_fault(
                        self.context, session, fault_id, self.faults.locating.zone
                    )
                if stored is not None:
                    log.info(
                        "fault %s: restoration plan for outage %s (revision %s): %s of %s "
                        "customers restored in %s steps",
                        fault_id,
                        stored["outage_id"],
                        stored["revision"],
                        stored["customers_restored"],
                        stored["customers_out"],
                        len(stored["steps"]),
                    )
            except Exception:
                log.exception("fault %s: no restoration plan; the outage goes on", fault_id)

    # -- the loop -----------------------------------------------------------------------
    def process_pending(self, *, limit: int = 500) -> int:
        """Process up to ``limit`` logged events in order; returns how many.

        One transaction for the batch; each event in a savepoint, so that an event that
        fails is marked with its error and the stream goes on. If the transaction itself
        fails, the in-memory switch states are rebuilt from the log before re-raising.
        """
        done = 0
        try:
            with self.context.sessions.begin() as session:
                batch = eventlog.unprocessed_events(session, limit=limit)
                for event_id, event in batch:
                    try:
                        with self.context.lock, session.begin_nested():
                            outcome = self._handle(session, event_id, event)
                    except Exception as exc:  # one bad event never stops the rest
                        outcome = f"error: {type(exc).__name__}: {exc}"
                        self.rebuild_live_state(session)
                    eventlog.mark_processed(
                        session, event_id, at=self.context.clock(), outcome=outcome[:200]
                    )
                    done += 1
        except Exception:
            with self.context.sessions() as session:
                self.rebuild_live_state(session)
            raise
        return done

    def rebuild_live_state(self, session: Session) -> None:
        """Switch states and pending trips as the processed events left them.

        Starts from the network's present states and replays the topology effect (no outage
        records) of every processed switching event, in log order: used at start-up and after
        a failed transaction, so memory always matches what the database says was done.
        """
        with self.context.lock:
            self._rebuild_live_state(session)

    def _rebuild_live_state(self, session: Session) -> None:
        network = self.context.network
        topology = self.context.analyser.topology
        present = network.closed_edges()
        differs = np.flatnonzero(topology.closed != present)
        if len(differs):
            topology.operate([(int(e), bool(present[e])) for e in differs])
        self._pending_trips.clear()
        kinds = (EventKind.BREAKER_TRIP, EventKind.BREAKER_RECLOSE, EventKind.SWITCH_POSITION)
        for event in eventlog.processed_events(session, kinds=kinds):
            edge = self._edge(event.device_id)
            if edge is None or event.device_id is None:
                continue
            if event.kind is EventKind.BREAKER_TRIP:
                if event.payload.get("lockout", False):
                    topology.operate([(edge, False)])
                else:
                    self._pending_trips[event.device_id] = _PendingTrip(event.device_time)
            elif event.kind is EventKind.BREAKER_RECLOSE:
                self._pending_trips.pop(event.device_id, None)
                topology.operate([(edge, bool(event.payload.get("success", False)))])
            else:
                topology.operate([(edge, bool(event.payload.get("closed")))])

    def _handle(self, session: Session, event_id: int, event: Event) -> str:
        match event.kind:
            case EventKind.INDICATOR_REPORT | EventKind.FTU_REPORT:
                outcome = self.faults.on_report(session, event, event_id)
            case EventKind.BREAKER_TRIP:
                outcome = self._trip(session, event_id, event)
            case EventKind.BREAKER_RECLOSE:
                outcome = self._reclose(session, event)
            case EventKind.SWITCH_POSITION:
                outcome = self._position(session, event)
            case EventKind.TROUBLE_CALL:
                outcome = self._call(session, event)
            case EventKind.CREW_STATUS:
                outcome = self._crew(session, event)
        return outcome

    # -- fault location: never in the way of the outage record --------------------------
    @staticmethod
    def _safely(session: Session, call: Callable[[], int | None]) -> int | None:
        """Run a fault-workflow step in a savepoint; a failure there is logged and the
        outage record is made all the same."""
        try:
            with session.begin_nested():
                return call()
        except Exception:
            log.exception("fault location step failed; the outage record goes on")
            return None

    def _attach(self, session: Session, fault_id: int, outage_id: int) -> None:
        def attach() -> int:
            self.faults.attach_outage(session, fault_id, outage_id)
            return fault_id

        self._safely(session, attach)

    # -- switching devices --------------------------------------------------------------
    def _edge(self, device_id: str | None) -> int | None:
        if device_id is None or device_id not in self.context.network:
            return None
        return self.context.network.edge_index(device_id)

    def _open(
        self,
        session: Session,
        device: str,
        edge: int,
        *,
        at: datetime,
        momentary: bool = False,
        restored_at: datetime | None = None,
    ) -> tuple[str, int | None]:
        analyser = self.context.analyser
        if not analyser.topology.closed[edge]:
            return f"{device} already open", None
        impact = analyser.of_opening([device])
        analyser.topology.operate([(edge, False)])
        if impact.is_empty:
            return f"{device} opened; no customer off", None
        if not momentary:  # the switching of planned work inside its window starts it
            started = planned.record_opening(self.context, session, device, impact, at=at)
            if started is not None:
                return started
        feeder = impact.feeders[0] if impact.feeders else None
        outage_id = outages.create_outage(
            session,
            kind=OutageKind.FAULT,
            network_version_id=self.context.network_version_id,
            started_at=at,
            actor=SYSTEM,
            feeder_id=feeder,
            operated_device=device,
            momentary=momentary,
            areas=areas_of(impact, at=at),
            summary=outage_summary(impact),
            now=self.context.clock(),
        )
        if not momentary:  # predictions from calls under this device are confirmed by it
            self._safely(
                session, lambda: len(calls.on_device_opened(session, device, outage_id, at=at))
            )
        if momentary and restored_at is not None:
            analyser.topology.operate([(edge, True)])
            ids = [a.element_id for a in areas_of(impact, at=at)]
            outages.add_restoration_step(
                session, outage_id, element_ids=ids, at=restored_at, how="reclose", actor=SYSTEM
            )
            return f"momentary outage {outage_id}", outage_id
        return f"outage {outage_id}: {impact.summary(Lang.EN)}", outage_id

    def _trip(self, session: Session, event_id: int, event: Event) -> str:
        device, edge = event.device_id, self._edge(event.device_id)
        if device is None or edge is None:
            return "unknown switching device"
        lockout = bool(event.payload.get("lockout", False))
        fault_id = self._safely(
            session, lambda: self.faults.on_trip(session, event, event_id, lockout=lockout)
        )
        if lockout:
            self._pending_trips.pop(device, None)
            message, outage_id = self._open(session, device, edge, at=event.device_time)
            if fault_id is not None and outage_id is not None:
                self._attach(session, fault_id, outage_id)
            return message
        self._pending_trips[device] = _PendingTrip(event.device_time)
        return "trip; waiting for the reclose"

    def _reclose(self, session: Session, event: Event) -> str:
        device, edge = event.device_id, self._edge(event.device_id)
        if device is None or edge is None:
            return "unknown switching device"
        trip = self._pending_trips.pop(device, None)
        started = trip.event_time if trip else event.device_time
        success = bool(event.payload.get("success", False))
        fault_id = self._safely(
            session, lambda: self.faults.on_reclose(session, event, success=success)
        )
        if success:
            message, outage_id = self._open(
                session, device, edge, at=started, momentary=True, restored_at=event.device_time
            )
        else:
            message, outage_id = self._open(session, device, edge, at=started)
        if fault_id is not None and outage_id is not None:
            self._attach(session, fault_id, outage_id)
        return message

    def _position(self, session: Session, event: Event) -> str:
        device, edge = event.device_id, self._edge(event.device_id)
        if device is None or edge is None:
            return "unknown switching device"
        closed = bool(event.payload.get("closed"))
        topology = self.context.analyser.topology
        if bool(topology.closed[edge]) == closed:
            return f"{device} already {'closed' if closed else 'open'}"
        if not closed:
            return self._open(session, device, edge, at=event.device_time)[0]
        change = topology.operate([(edge, True)])
        regained = np.sort(change.regained.astype(np.int32))
        if len(regained) == 0:
            return f"{device} closed; nobody regained supply"
        impact = self.context.analyser.impact_of_nodes((device,), regained, regained[:0])
        back = {a.element_id for a in areas_of(impact, at=event.device_time)}
        steps = []
        # A planned outage booked for later is not what this switch ends.
        for record in outages.open_outages_with_areas_off(
            session, back, started_by=event.device_time
        ):
            ids = [
                a.element_id for a in record.areas if a.restored_at is None and a.element_id in back
            ]
            if ids:
                off_at = min(a.off_at for a in record.areas if a.element_id in ids)
                how, operations = switching_exec.restoration_how(
                    self.context.settings,
                    session,
                    device,
                    close=True,
                    off_at=off_at,
                    at=event.device_time,
                )
                outages.add_restoration_step(
                    session,
                    record.id,
                    element_ids=ids,
                    at=event.device_time,
                    how=how,
                    operations=operations,
                    actor=SYSTEM,
                )
                steps.append(f"outage {record.id}: {len(ids)} back")
                if workflows.complete_planned_work(session, record.id, at=event.device_time):
                    steps.append("its planned work completed")
        return f"{device} closed; " + ("; ".join(steps) if steps else "no open outage affected")

    # -- people -------------------------------------------------------------------------
    def _call(self, session: Session, event: Event) -> str:
        """A trouble call: merged into an open outage, else grouped and predicted
        (:mod:`openoms.service.calls`)."""
        return calls.handle_call(self.context, session, event)

    def _crew(self, session: Session, event: Event) -> str:
        """The crew status as its sender may make it (the same rules as the routes)."""
        payload = event.payload
        outage_id = payload.get("outage_id")
        status = payload.get("status")
        if not isinstance(outage_id, int) or status not in {s.value for s in OutageState}:
            return "crew status without a valid outage_id and status"
        into = payload.get("merged_into_id")
        note = payload.get("note")
        crew = str(payload.get("crew") or event.device_id or "")
        who = _sender(event, crew)
        try:
            with session.begin_nested():  # refused: the crew named is not kept either
                return workflows.apply_crew_status(
                    session,
                    who,
                    outage_id,
                    OutageState(status),
                    at=event.device_time,
                    now=self.context.clock(),
                    crew=crew or None,
                    merged_into_id=into if isinstance(into, int) else None,
                    note=note if isinstance(note, str) else None,
                )
        except (InputError, ForbiddenError) as exc:  # recorded, not fatal
            return f"crew status not applied: {exc}"[:200]


def _sender(event: Event, crew: str) -> workflows.Principal:
    """Who an event acts for: the sender recorded with it (an API token), else the crew its
    payload names, with the crew role (a crew's app over MQTT; events logged before senders
    were recorded get no more than a crew may do)."""
    if event.sender is not None:
        try:
            return workflows.Principal(event.sender.name, Role(event.sender.role))
        except ValueError:  # a role this version does not know: the least a sender may do
            pass
    return workflows.Principal(crew or UNKNOWN_CREW, Role.CREW)


def replay(processor: EventProcessor, events: Sequence[Event]) -> None:  # pragma: no cover
    """Convenience for notebooks: append and process ``events`` at once."""
    context = processor.context
    with context.sessions.begin() as session:
        eventlog.append_events(session, events, received_at=context.clock())
    while processor.process_pending():
        pass
