"""OpenOMS as IEC 60870-5-104 master station to the FTUs, DTUs and RTUs of the point table.

One :class:`Iec104Master` runs one asyncio loop in its own thread (the service is threaded)
with one task per telecontrol unit (hat-drivers' ``iec104.connect``). Per unit, forever until
:meth:`Iec104Master.stop`:

1. connect and start data transfer (STARTDT), retrying with back-off (``reconnect_s``
   doubling up to ``reconnect_max_s``) while the unit cannot be reached;
2. clock synchronisation (C_CS_NA_1, our clock in UTC), then a general interrogation
   (C_IC_NA_1, station);
3. spontaneous data until the link drops, then back to 1 — so every reconnect
   re-synchronises the clock and re-interrogates.

Received points are mapped through the unit's point table and turned into events by
:class:`~openoms.ingest.iec104_state.UnitTracker` (its docstring says which events, which
device times and why a repeated interrogation is not stored twice). The answer to an
interrogation is written when it terminates; spontaneous data is gathered for
``group_window_s`` (50 ms) after the first point so that the points of one detector that
arrive together with the same time tag become one report. Everything goes through
``Intake.accept_events`` (source ``iec104``, channel ``iec104:<unit>``), the same checks and
dead letters as MQTT; an address that is not in the point table is dead-lettered as
``unknown_point``. When the database fails, the batch is retried with back-off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from hat.drivers import iec104, net

from openoms.events import Event, EventSource
from openoms.grid.model import Network
from openoms.ingest.iec104_points import UnitPoints, datetime_of, time_of, unit_points, value_of
from openoms.ingest.iec104_state import Change, UnitTracker
from openoms.ingest.intake import Intake
from openoms.ingest.rejections import RejectReason

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Iec104Master", "UnitStatus"]

log = logging.getLogger(__name__)

_INTERROGATION_TIMEOUT_S: Final = 30.0  # an answer not terminated by then is written anyway
_STOP_TIMEOUT_S: Final = 10.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UnitStatus:
    """The link to one unit, for health and metrics."""

    unit_id: str
    connected: bool = False
    last_rx: datetime | None = None  # last message received
    connections: int = 0  # successful connections since start
    interrogations: int = 0  # interrogation answers written
    events: int = 0  # events handed to the intake (stored or duplicate)


class _Link:
    """One connection's receive side: a reader task feeding a local queue (so waiting with a
    timeout never cancels the library's own receive)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[list[Any] | None] = asyncio.Queue()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                self.queue.put_nowait(await self.conn.receive())
        except ConnectionError:
            pass
        finally:
            self.queue.put_nowait(None)


class Iec104Master:
    """Polls the telecontrol units of ``network`` (or only ``units``); see the module doc."""

    def __init__(
        self,
        intake: Intake,
        network: Network,
        *,
        clock: Callable[[], datetime] = _utc_now,
        units: Sequence[str] | None = None,
        reconnect_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        group_window_s: float = 0.05,
        response_timeout_s: float = 15.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        chosen = network.telecontrol_units.id if units is None else tuple(units)
        self._points = [unit_points(network, unit) for unit in chosen]  # KeyError: unknown
        self._intake = intake
        self._clock = clock
        self._reconnect = (reconnect_s, reconnect_max_s)
        self._window = group_window_s
        self._response_timeout = response_timeout_s
        self._status = {p.unit_id: UnitStatus(p.unit_id) for p in self._points}
        self._status_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._gauge: Any = None
        if registry is not None:
            from prometheus_client import Gauge  # noqa: PLC0415  (only with a registry)

            self._gauge = Gauge(
                "openoms_iec104_connected",
                "1 while the IEC 104 link to the unit is up.",
                ["unit"],
                registry=registry,
            )
            for unit in self._status:
                self._gauge.labels(unit).set(0)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start polling every unit (returns at once; connections come up in the background)."""
        if self._thread is not None:
            raise RuntimeError("Iec104Master already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="openoms-iec104", daemon=True
        )
        self._thread.start()
        ready.wait(_STOP_TIMEOUT_S)

    def stop(self) -> None:
        """Close every link and end the thread (what was received is written first)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        def cancel() -> None:
            for task in self._tasks:
                task.cancel()

        loop.call_soon_threadsafe(cancel)
        thread.join(_STOP_TIMEOUT_S)
        self._thread = None
        self._loop = None

    def status(self) -> dict[str, UnitStatus]:
        with self._status_lock:
            return dict(self._status)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            self._tasks = [loop.create_task(self._poll(points)) for points in self._points]
            ready.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def _update(self, unit: str, **changes: Any) -> None:
        with self._status_lock:
            status = self._status[unit]
            if "events" in changes:
                changes["events"] += status.events
            self._status[unit] = replace(status, **changes)
        if self._gauge is not None and "connected" in changes:
            self._gauge.labels(unit).set(1 if changes["connected"] else 0)

    # -- one unit ----------------------------------------------------------------------------
    async def _poll(self, points: UnitPoints) -> None:
        tracker = UnitTracker(points)
        delay, longest = self._reconnect
        first = delay
        while True:
            try:
                conn = await iec104.connect(
                    net.TcpAddress(points.host, points.port),
                    response_timeout=self._response_timeout,
                )
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.debug("IEC 104 unit %s not reachable (%s)", points.unit_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)
                continue
            delay = first
            with self._status_lock:
                connections = self._status[points.unit_id].connections + 1
            self._update(points.unit_id, connected=True, connections=connections)
            log.info("IEC 104 unit %s connected", points.unit_id)
            try:
                await self._session(conn, points, tracker)
            except ConnectionError:
                log.warning("IEC 104 unit %s: link lost; reconnecting", points.unit_id)
            finally:
                self._update(points.unit_id, connected=False)
                await asyncio.shield(conn.async_close())
            await asyncio.sleep(first)

    async def _session(self, conn: Any, points: UnitPoints, tracker: UnitTracker) -> None:
        address = points.common_address
        await conn.send(
            [
                iec104.ClockSyncMsg(
                    is_test=False,
                    originator_address=0,
                    asdu_address=address,
                    time=time_of(self._clock()),
                    is_negative_confirm=False,
                    cause=iec104.ClockSyncReqCause.ACTIVATION,
                ),
                iec104.InterrogationMsg(
                    is_test=False,
                    originator_address=0,
                    asdu_address=address,
                    request=20,  # station interrogation
                    is_negative_confirm=False,
                    cause=iec104.CommandReqCause.ACTIVATION,
                ),
            ]
        )
        link = _Link(conn)
        loop = asyncio.get_running_loop()
        interrogated: list[Change] = []
        gi_deadline: float | None = loop.time() + _INTERROGATION_TIMEOUT_S
        pending: list[Change] = []
        pending_deadline: float | None = None
        try:
            while True:
                deadlines = [d for d in (gi_deadline, pending_deadline) if d is not None]
                timeout = max(0.0, min(deadlines) - loop.time()) if deadlines else None
                try:
                    msgs = await asyncio.wait_for(link.queue.get(), timeout)
                except TimeoutError:
                    msgs = []
                if msgs is None:
                    raise ConnectionError("link closed")
                received_at = self._clock()
                if msgs:
                    self._update(points.unit_id, last_rx=received_at)
                gi_done = False
                for msg in msgs:
                    if isinstance(msg, iec104.DataMsg):
                        change = await self._change(points, msg, received_at)
                        if change is None:
                            continue
                        if msg.cause == iec104.DataResCause.INTERROGATED_STATION:
                            interrogated.append(change)
                        else:
                            pending.append(change)
                            if pending_deadline is None:
                                pending_deadline = loop.time() + self._window
                    elif isinstance(msg, iec104.InterrogationMsg):
                        gi_done = msg.cause == iec104.CommandResCause.ACTIVATION_TERMINATION
                now = loop.time()
                if gi_done or (gi_deadline is not None and now >= gi_deadline):
                    events = tracker.interrogated(interrogated, received_at=received_at)
                    await self._store(points.unit_id, events, received_at)
                    with self._status_lock:
                        count = self._status[points.unit_id].interrogations + 1
                    self._update(points.unit_id, interrogations=count)
                    interrogated, gi_deadline = [], None
                if pending_deadline is not None and now >= pending_deadline:
                    events = tracker.spontaneous(pending, received_at=received_at)
                    await self._store(points.unit_id, events, received_at)
                    pending, pending_deadline = [], None
        finally:
            if pending:  # received before the link dropped: still written
                events = tracker.spontaneous(pending, received_at=self._clock())
                await asyncio.shield(self._store(points.unit_id, events, self._clock()))
            link.reader.cancel()

    async def _change(self, points: UnitPoints, msg: Any, received_at: datetime) -> Change | None:
        """The point change of a data message; a dead letter when the address is unknown."""
        ref = (
            points.by_ioa.get(msg.io_address) if msg.asdu_address == points.common_address else None
        )
        raw = json.dumps(
            {
                "unit": points.unit_id,
                "common_address": msg.asdu_address,
                "ioa": msg.io_address,
                "data": repr(msg.data),
                "time": None if msg.time is None else str(datetime_of(msg.time)),
                "cause": str(msg.cause),
            }
        ).encode()
        if ref is None:
            await self._reject(
                points.unit_id,
                RejectReason.UNKNOWN_POINT,
                f"unit {points.unit_id!r}: common address {msg.asdu_address}, IOA "
                f"{msg.io_address} is not in its point table",
                raw,
                received_at,
            )
            return None
        value = value_of(ref, msg.data)
        if value is None:
            if isinstance(msg.data, iec104.DoubleData):
                return None  # a double point in transit (00) or faulty (11): no position
            await self._reject(
                points.unit_id,
                RejectReason.MALFORMED,
                f"unit {points.unit_id!r}: IOA {msg.io_address} ({ref.point} of "
                f"{ref.element_id}) is a {ref.asdu_type} point; received "
                f"{type(msg.data).__name__}",
                raw,
                received_at,
            )
            return None
        at = datetime_of(msg.time) if msg.time is not None else None
        return Change(ref, value, at)

    # -- writing -----------------------------------------------------------------------------
    async def _store(self, unit: str, events: list[Event], received_at: datetime) -> None:
        if not events:
            return

        def raw_of(_i: int, event: Event) -> bytes:
            body = {"unit": unit, "device": event.device_id, "kind": event.kind.value}
            return json.dumps({**body, "payload": event.payload}, default=str).encode()

        def write() -> None:
            self._intake.accept_events(
                events,
                source=EventSource.IEC104,
                channel=f"iec104:{unit}",
                raw_of=raw_of,
                received_at=received_at,
            )

        await self._retry(unit, write)
        self._update(unit, events=len(events))

    async def _reject(
        self, unit: str, reason: RejectReason, detail: str, raw: bytes, received_at: datetime
    ) -> None:
        def write() -> None:
            self._intake.reject(
                source=EventSource.IEC104,
                channel=f"iec104:{unit}",
                reason=reason,
                detail=detail,
                raw=raw,
                received_at=received_at,
            )

        await self._retry(unit, write)

    async def _retry(self, unit: str, write: Callable[[], None]) -> None:
        """Run ``write`` in a worker thread until it commits (database errors: back-off)."""
        loop = asyncio.get_running_loop()
        delay = 0.2
        while True:
            try:
                await loop.run_in_executor(None, write)
            except Exception:
                log.exception("IEC 104 unit %s: writing failed; retrying in %.1f s", unit, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            else:
                return
