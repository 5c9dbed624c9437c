"""What the master knows of one unit's points, and the events their changes become.

Pure: values, addresses and times come in as arguments (the master in :mod:`.iec104` does
the I/O). Per IOA the tracker keeps the last value and the time it last changed; events are
built from that:

- telemetry points (plain measurements: :attr:`~.iec104_points.PointRef.is_telemetry`) and
  measured values sent periodically or by background scan are no event: the master hands
  them to the intake as telemetry samples, and :meth:`UnitTracker.observe` keeps their
  latest value for the next report of their detector;
- a detector's points become one report (``ftu_report`` for an FTU / DTU, ``indicator_report``
  for a fault indicator) holding every point of the detector known so far, normalised by
  :func:`openoms.ingest.points.normalised_report` exactly like an MQTT report; its device time
  is the time tag of the spontaneous points that made it, and for an interrogation the latest
  change time among the detector's points (the same when the tags come in time order);
- a switch's ``switch_closed`` becomes ``switch_position`` ``{"closed": bool}``; a breaker
  point that is set (1) becomes ``breaker_trip`` ``{"lockout": bool}`` (protection_trip:
  false, lockout: true) or ``breaker_reclose`` ``{"success": bool}`` (reclose_success: true,
  reclose_failure: false); a breaker point going back to 0 is no event. Their device time is
  the point's change time.

Every change is seen: spontaneous changes are taken in time-tag order (arrival order among
equal tags), and a second change of the same point never merges with the first. A protection
trip set and cleared within 30 ms gives its ``breaker_trip`` at the set time; an alarm raised
and cleared in one burst gives two reports, each at its own time; a buffered sequence-of-
events flush gives one event per change.

Change times: a spontaneous point carries a CP56Time2a time tag (a point sent without one
takes the receive time). A time tag with the invalid bit (IV) is not trusted: the change
takes the receive time and its events carry ``"device_time_invalid": true``. An interrogated
point without a time tag: when its value is the one already known, it keeps the known change
time; when it is new or different (it changed while the link was down, or the master has
just started) its change time is the receive time.

Idempotency: events keep the derived key of :class:`~openoms.events.Event` (a hash of
device, device time, kind and payload). An interrogation that finds the state unchanged
rebuilds exactly the events already sent (same device time, same payload), so a general
interrogation repeated after a reconnect is counted as a duplicate, never stored twice. The
known state lives in memory: after a restart of OpenOMS the first interrogation is a new
snapshot (receive time) — once per device and restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from openoms.events import Event, EventKind, EventSource
from openoms.grid.schema import DetectorKind
from openoms.ingest.iec104_points import PointRef, UnitPoints
from openoms.ingest.points import normalised_report

__all__ = ["Change", "UnitTracker"]

_FTU_KINDS: Final = frozenset({DetectorKind.FTU.value, DetectorKind.DTU.value})
_BREAKER_EVENTS: Final = {
    "protection_trip": (EventKind.BREAKER_TRIP, {"lockout": False}),
    "lockout": (EventKind.BREAKER_TRIP, {"lockout": True}),
    "reclose_success": (EventKind.BREAKER_RECLOSE, {"success": True}),
    "reclose_failure": (EventKind.BREAKER_RECLOSE, {"success": False}),
}


@dataclass(frozen=True, slots=True)
class Change:
    """A received point value; ``at`` is its time tag in UTC, or ``None`` when it had none
    or an untrusted one (``time_invalid``: the tag's IV bit was set)."""

    ref: PointRef
    value: float
    at: datetime | None
    time_invalid: bool = False


@dataclass(slots=True)
class _Known:
    value: float
    changed_at: datetime


class UnitTracker:
    """The known state of one unit's points; see the module docstring."""

    def __init__(self, points: UnitPoints) -> None:
        self.points = points
        self._known: dict[int, _Known] = {}
        self._refs_of: dict[str, list[PointRef]] = {}
        for ref in points.by_ioa.values():
            self._refs_of.setdefault(ref.element_id, []).append(ref)

    def known(self, ioa: int) -> float | None:
        entry = self._known.get(ioa)
        return None if entry is None else entry.value

    def spontaneous(self, changes: Sequence[Change], *, received_at: datetime) -> list[Event]:
        """Events of spontaneous changes that arrived together, in time order: the points of
        one element with the same time tag make one event; a point changing again (even
        with the same tag) starts the next one, so no change is lost."""
        order = sorted(range(len(changes)), key=lambda i: (changes[i].at or received_at, i))
        groups: list[tuple[str, datetime, list[Change]]] = []
        open_groups: dict[tuple[str, datetime], int] = {}
        for i in order:
            change = changes[i]
            key = (change.ref.element_id, change.at or received_at)
            g = open_groups.get(key)
            if g is None or any(c.ref.ioa == change.ref.ioa for c in groups[g][2]):
                open_groups[key] = len(groups)
                groups.append((key[0], key[1], [change]))
            else:
                groups[g][2].append(change)
        events: list[Event] = []
        for element, at, group in groups:
            for change in group:
                self._known[change.ref.ioa] = _Known(change.value, at)
            untrusted = any(change.time_invalid for change in group)
            refs = [change.ref for change in group]
            events.extend(self._events(element, refs, at=at, untrusted=untrusted))
        return events

    def observe(self, changes: Sequence[Change], *, received_at: datetime) -> None:
        """Take telemetry samples into the known state without events of their own (the next
        report of their detector carries the latest values)."""
        for change in changes:
            self._known[change.ref.ioa] = _Known(change.value, change.at or received_at)

    def interrogated(self, changes: Sequence[Change], *, received_at: datetime) -> list[Event]:
        """Events of a general interrogation's answer: every element's current state."""
        by_element: dict[str, list[PointRef]] = {}
        untrusted: set[str] = set()  # elements with a time tag that had the IV bit
        for change in changes:
            ref = change.ref
            entry = self._known.get(ref.ioa)
            if change.at is not None:
                self._known[ref.ioa] = _Known(change.value, change.at)
            elif entry is None or entry.value != change.value:
                self._known[ref.ioa] = _Known(change.value, received_at)
            by_element.setdefault(ref.element_id, []).append(ref)
            if change.time_invalid:
                untrusted.add(ref.element_id)
        events: list[Event] = []
        for element, refs in by_element.items():
            events.extend(self._events(element, refs, untrusted=element in untrusted))
        return sorted(events, key=lambda event: event.device_time)

    def _events(
        self,
        element: str,
        refs: Iterable[PointRef],
        *,
        at: datetime | None = None,
        untrusted: bool = False,
    ) -> list[Event]:
        refs = list(refs)
        if refs[0].is_detector:
            report = self._report(element, refs[0].detector_kind, at)
            return [_untrusted(report) if untrusted else report]
        events = []
        for ref in refs:
            known = self._known[ref.ioa]
            if ref.is_position:
                payload: dict[str, bool] = {"closed": known.value == 1}
                kind = EventKind.SWITCH_POSITION
            elif ref.point in _BREAKER_EVENTS and known.value == 1:
                kind, payload = _BREAKER_EVENTS[ref.point]
            else:
                continue
            event = Event(kind, EventSource.IEC104, element, known.changed_at, dict(payload))
            events.append(_untrusted(event) if untrusted else event)
        return events

    def _report(self, detector: str, detector_kind: str | None, at: datetime | None) -> Event:
        data: dict[str, float | int] = {}
        latest: datetime | None = None
        for ref in self._refs_of[detector]:
            known = self._known.get(ref.ioa)
            if known is None:
                continue
            flag = ref.asdu_type.value in ("single", "double")
            data[ref.point] = int(known.value) if flag else known.value
            if latest is None or known.changed_at > latest:
                latest = known.changed_at
        assert latest is not None  # at least the point that was just received
        ftu = detector_kind in _FTU_KINDS
        kind = EventKind.FTU_REPORT if ftu else EventKind.INDICATOR_REPORT
        payload = normalised_report(data, ftu=ftu)
        return Event(kind, EventSource.IEC104, detector, at or latest, payload)


def _untrusted(event: Event) -> Event:
    """``event`` flagged: its device time is the receipt time, the time tag was invalid."""
    payload = {**event.payload, "device_time_invalid": True}
    return Event(event.kind, event.source, event.device_id, event.device_time, payload)
