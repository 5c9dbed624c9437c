"""OpenOMS as IEC 60870-5-104 master station to the FTUs, DTUs and RTUs of the point table.

One :class:`Iec104Master` runs one asyncio loop in its own thread (the service is threaded)
with one task per telecontrol unit. The link layer (APCI: STARTDT, sequence numbers,
acknowledgements, test frames) is hat-drivers' ``apci.connect``; the ASDUs it delivers are
decoded here: the process-information data types by :mod:`.iec104_asdu` (hat-drivers 0.10.10
misreads time-tagged sequences, SQ = 1; that module's docstring says how), everything else
(confirmations, end of initialisation) by hat-drivers' encoder. Per unit, forever until
:meth:`Iec104Master.stop`:

1. connect and start data transfer (STARTDT), retrying with back-off (``reconnect_s``
   doubling up to ``reconnect_max_s``) while the unit cannot be reached;
2. clock synchronisation (C_CS_NA_1, our clock as wall time in the unit's ``clock`` zone;
   not for a unit whose ``clock_sync`` is false), then a general interrogation (C_IC_NA_1,
   station);
3. spontaneous data until the link drops, then back to 1, so every reconnect
   re-synchronises the clock and re-interrogates.

Received points are mapped through the unit's point table and turned into events by
:class:`~openoms.ingest.iec104_state.UnitTracker` (its docstring says which events, which
device times, how two changes of one point in one burst stay two, and why a repeated
interrogation is not stored twice). The answer to an interrogation is written when it
terminates; spontaneous data is gathered for ``group_window_s`` (50 ms) after the first
point so that the points of one detector that arrive together with the same time tag become
one report. Events go through ``Intake.accept_events`` (source ``iec104``, channel
``iec104:<unit>``), the same checks and dead letters as MQTT. Telemetry (plain measurements,
and any measured value sent periodically or by background scan: causes 1 and 2) goes to
``Intake.accept_telemetry`` instead, never to the event log.

Control direction (遥控, :meth:`Iec104Master.operate`): a switch with a ``switch_command`` (or
``switch_command_timed``) row in its unit's point table is operated select-before-operate on
the open link: select (C_SC_NA_1 / C_DC_NA_1, or C_SC_TA_1 / C_DC_TA_1 time-tagged, S/E = 1)
→ its activation confirmation → execute (S/E = 0) → its confirmation → position feedback
(the switch's ``switch_closed`` point reaches the commanded position, spontaneous or
interrogated) → activation termination. Each wait has its timeout (``select_timeout_s``,
``execute_timeout_s``, ``feedback_timeout_s``, ``termination_timeout_s``). A negative
confirmation, a cause naming an unknown type / address, a timeout, feedback that does not
come, or a link that is down or drops = the command failed, with the stage and the reason in
Chinese and English (an execute that gets no answer at all is broken off with a deactivation;
a refused one is not sent again in any form). The activation termination is recorded but not
required: many FTUs send none for single and double commands, and the position feedback is
what says that the switch moved.
One command at a time per unit. The feedback point is still written as a ``switch_position``
event like any other change.

Dead letters, each with the raw ASDU: an ASDU that cannot be decoded (``undecodable``, the
bytes as received); an address not in the point table (``unknown_point``); a type that does
not fit the point or a time tag that is no date (``malformed``); a time tag further ahead of
the receipt time than the intake allows (``clock_skew``, naming the unit, its clock setting
and the offset; counted per unit, and the unit's clock is set again, at most every
``resync_min_s`` (a minute), unless ``clock_sync`` is false). A time tag with the invalid bit
is not trusted: the receipt time stands in, flagged. When the database fails, the batch is
retried with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from hat.drivers import iec104, net
from hat.drivers.iec104 import encoder as hat_encoder
from hat.drivers.iec60870 import apci

from openoms.events import Event, EventSource, TelemetrySample
from openoms.grid.model import Network
from openoms.ingest.iec104_asdu import (
    DATA_TYPES,
    MONITOR_DATA_TYPES,
    AsduError,
    DataAsdu,
    InfoObject,
    cp56_datetime,
    decode_data_asdu,
)
from openoms.ingest.iec104_points import (
    CommandRef,
    UnitPoints,
    object_value,
    time_of,
    unit_points,
)
from openoms.ingest.iec104_state import Change, UnitTracker
from openoms.ingest.intake import Intake
from openoms.ingest.rejections import RejectReason

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["CommandOutcome", "CommandStage", "Iec104Master", "UnitStatus"]

log = logging.getLogger(__name__)

_INTERROGATION_TIMEOUT_S: Final = 30.0  # an answer not terminated by then is written anyway
_STOP_TIMEOUT_S: Final = 10.0
_CYCLIC: Final = frozenset({1, 2})  # causes of transmission: periodic, background scan
_INTERROGATED: Final = frozenset(range(20, 37))  # station and group interrogation


_REFUSALS: Final = {
    iec104.CommandResCause.UNKNOWN_TYPE: "unknown_type",
    iec104.CommandResCause.UNKNOWN_CAUSE: "unknown_cause",
    iec104.CommandResCause.UNKNOWN_ASDU_ADDRESS: "unknown_asdu_address",
    iec104.CommandResCause.UNKNOWN_IO_ADDRESS: "unknown_io_address",
}


def _why(code: str, phase: str, timeout: float) -> tuple[str, str]:
    """The reason (English, Chinese) a select / execute failed."""
    zh_phase = "选择" if phase == "select" else "执行"
    match code:
        case "":
            return (
                f"no confirmation of the {phase} within {timeout:g} s",
                f"{timeout:g} 秒内未收到{zh_phase}确认",
            )
        case "negative":
            return (
                f"the unit refused the {phase} (negative confirmation)",
                f"终端否定{zh_phase}（否定确认）",
            )
        case "link":
            return "the link dropped during the command", "命令过程中链路中断"
    return (
        f"the unit refused the {phase}: {code.replace('_', ' ')}",
        f"终端拒绝{zh_phase}：{code}",
    )


def _offset(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 3600:.2f} h" if abs(seconds) >= 3600 else f"{seconds:.1f} s"


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
    samples: int = 0  # telemetry samples handed to the intake
    clock_skews: int = 0  # time tags refused as clock_skew


class CommandStage(StrEnum):
    """Where a command got to (the last stage reached, or the one that failed)."""

    LINK = "link"  # the unit is not connected (nothing sent)
    SELECT = "select"
    EXECUTE = "execute"
    FEEDBACK = "feedback"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What became of one select-before-operate command. ``ok``: the switch reached the
    commanded position; otherwise ``stage`` is the one that failed and ``reason`` /
    ``reason_zh`` say why. Times are UTC (the master's clock)."""

    switch_id: str
    close: bool
    unit_id: str
    ioa: int
    type_name: str
    ok: bool
    stage: CommandStage
    reason: str | None = None
    reason_zh: str | None = None
    selected_at: datetime | None = None
    executed_at: datetime | None = None
    feedback_at: datetime | None = None
    terminated: bool = False  # an activation termination (ACT_TERM) was received

    def as_dict(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {
            "switch_id": self.switch_id,
            "close": self.close,
            "unit": self.unit_id,
            "ioa": self.ioa,
            "type": self.type_name,
            "ok": self.ok,
            "stage": self.stage.value,
            "reason": self.reason,
            "reason_zh": self.reason_zh,
            "selected_at": iso(self.selected_at),
            "executed_at": iso(self.executed_at),
            "feedback_at": iso(self.feedback_at),
            "terminated": self.terminated,
        }


@dataclass(slots=True)
class _Watch:
    """A command in flight on a unit: its confirmations and the position it waits for."""

    ref: CommandRef
    wanted: float  # the feedback value: 1 closed, 0 open
    responses: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    feedback: asyncio.Event = field(default_factory=asyncio.Event)
    feedback_at: datetime | None = None


class _Link:
    """One connection's receive side: a reader task feeding a local queue of raw ASDUs (so
    waiting with a timeout never cancels the library's own receive); ``None`` at the end."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                self.queue.put_nowait(bytes(await self.conn.receive()))
        except ConnectionError:
            pass
        finally:
            self.queue.put_nowait(None)


@dataclass(slots=True)
class _Unit:
    """One connection to one unit: what has been received and not written yet."""

    conn: Any
    points: UnitPoints
    tracker: UnitTracker
    interrogated: list[Change] = field(default_factory=list)  # the GI answer so far
    pending: list[Change] = field(default_factory=list)  # spontaneous, in the group window
    refreshed: list[Change] = field(default_factory=list)  # flags sent cyclically
    samples: list[TelemetrySample] = field(default_factory=list)
    skewed: bool = False  # a time tag was refused as clock_skew since the last check
    synced_at: float = float("-inf")  # loop time of the last clock synchronisation
    watch: _Watch | None = None  # the command in flight


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
        resync_min_s: float = 60.0,
        select_timeout_s: float = 5.0,
        execute_timeout_s: float = 5.0,
        feedback_timeout_s: float = 30.0,
        termination_timeout_s: float = 2.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        chosen = network.telecontrol_units.id if units is None else tuple(units)
        self._points = [unit_points(network, unit) for unit in chosen]  # KeyError: unknown
        self._intake = intake
        self._clock = clock
        self._reconnect = (reconnect_s, reconnect_max_s)
        self._window = group_window_s
        self._response_timeout = response_timeout_s
        self._resync_min = resync_min_s
        self._command_timeouts = (
            select_timeout_s,
            execute_timeout_s,
            feedback_timeout_s,
            termination_timeout_s,
        )
        self._commands = {
            switch: ref for points in self._points for switch, ref in points.commands.items()
        }
        self._live: dict[str, _Unit] = {}  # unit id → its open session
        self._command_locks: dict[str, asyncio.Lock] = {}
        self._status = {p.unit_id: UnitStatus(p.unit_id) for p in self._points}
        self._status_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._encoder = hat_encoder.Encoder()
        self._gauge: Any = None
        self._skews: Any = None
        if registry is not None:
            from prometheus_client import Counter, Gauge  # noqa: PLC0415  (only with a registry)

            self._gauge = Gauge(
                "openoms_iec104_connected",
                "1 while the IEC 104 link to the unit is up.",
                ["unit"],
                registry=registry,
            )
            self._skews = Counter(
                "openoms_iec104_clock_skew",
                "Time tags refused as clock_skew (the unit's clock is far ahead), by unit.",
                ["unit"],
                registry=registry,
            )
            for unit in self._status:
                self._gauge.labels(unit).set(0)
                self._skews.labels(unit)

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

    # -- control direction -----------------------------------------------------------------
    def command_ref(self, switch_id: str) -> CommandRef | None:
        """The command address of ``switch_id`` among the polled units (None: it has none)."""
        return self._commands.get(switch_id)

    def operate(self, switch_id: str, close: bool) -> CommandOutcome:
        """Close (``close``) or open ``switch_id`` select-before-operate and wait for the
        outcome (blocking; call from any thread but the master's own). Raises ``KeyError``
        for a switch without a command address (:meth:`command_ref`)."""
        ref = self._commands[switch_id]
        loop = self._loop
        if loop is None:
            return self._failed(
                ref,
                close,
                CommandStage.LINK,
                "the IEC 104 master is not running",
                "IEC 104 主站未运行",
            )
        total = sum(self._command_timeouts) + _STOP_TIMEOUT_S
        future = asyncio.run_coroutine_threadsafe(self._operate(ref, close), loop)
        return future.result(total)

    @staticmethod
    def _failed(
        ref: CommandRef, close: bool, stage: CommandStage, reason: str, reason_zh: str, **times: Any
    ) -> CommandOutcome:
        return CommandOutcome(
            ref.switch_id,
            close,
            ref.unit_id,
            ref.ioa,
            ref.type_name,
            ok=False,
            stage=stage,
            reason=reason,
            reason_zh=reason_zh,
            **times,
        )

    def _command_msg(
        self, unit: _Unit, ref: CommandRef, close: bool, *, select: bool, deactivate: bool = False
    ) -> Any:
        command: Any
        if ref.double:
            value = iec104.DoubleValue.ON if close else iec104.DoubleValue.OFF
            command = iec104.DoubleCommand(value=value, select=select, qualifier=0)
        else:
            single = iec104.SingleValue.ON if close else iec104.SingleValue.OFF
            command = iec104.SingleCommand(value=single, select=select, qualifier=0)
        return iec104.CommandMsg(
            is_test=False,
            originator_address=0,
            asdu_address=unit.points.common_address,
            io_address=ref.ioa,
            command=command,
            is_negative_confirm=False,
            time=time_of(self._clock(), unit.points.zone) if ref.timed else None,
            cause=(
                iec104.CommandReqCause.DEACTIVATION
                if deactivate
                else iec104.CommandReqCause.ACTIVATION
            ),
        )

    async def _confirmation(
        self, watch: _Watch, *, select: bool, timeout: float, cause: Any
    ) -> tuple[bool | None, str]:
        """Wait for the response of cause ``cause`` to the select / execute: (True, "") when
        positive, (False, why) when negative or refused, (None, "") on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return None, ""
            try:
                msg = await asyncio.wait_for(watch.responses.get(), left)
            except TimeoutError:
                return None, ""
            if msg is None:
                return False, "link"
            if bool(getattr(msg.command, "select", False)) != select and msg.cause == cause:
                continue  # the other phase's late answer
            if msg.cause == cause:
                return (False, "negative") if msg.is_negative_confirm else (True, "")
            if msg.cause in _REFUSALS:
                return False, _REFUSALS[msg.cause]

    async def _operate(self, ref: CommandRef, close: bool) -> CommandOutcome:
        lock = self._command_locks.setdefault(ref.unit_id, asyncio.Lock())
        async with lock:
            return await self._operate_locked(ref, close)

    async def _operate_locked(  # noqa: PLR0911  (one return per stage that can fail)
        self, ref: CommandRef, close: bool
    ) -> CommandOutcome:
        unit = self._live.get(ref.unit_id)
        what = f"{'close' if close else 'open'} {ref.switch_id}"
        what_zh = f"{'合上' if close else '拉开'} {ref.switch_id}"
        if unit is None:
            return self._failed(
                ref,
                close,
                CommandStage.LINK,
                f"{what}: unit {ref.unit_id} is not connected; nothing sent",
                f"{what_zh}：终端 {ref.unit_id} 未连接，未发送命令",
            )
        t_select, t_execute, t_feedback, t_term = self._command_timeouts
        watch = _Watch(ref, 1.0 if close else 0.0)
        unit.watch = watch
        con = iec104.CommandResCause.ACTIVATION_CONFIRMATION
        try:
            # select
            await self._send(unit, [self._command_msg(unit, ref, close, select=True)])
            ok, why = await self._confirmation(watch, select=True, timeout=t_select, cause=con)
            if not ok:
                reason, reason_zh = _why(why, "select", t_select)
                return self._failed(
                    ref, close, CommandStage.SELECT, f"{what}: {reason}", f"{what_zh}：{reason_zh}"
                )
            selected_at = self._clock()
            # execute
            await self._send(unit, [self._command_msg(unit, ref, close, select=False)])
            ok, why = await self._confirmation(watch, select=False, timeout=t_execute, cause=con)
            if not ok:
                if why == "":  # no answer: break the selection off (never after a refusal)
                    with contextlib.suppress(ConnectionError):
                        await self._send(
                            unit,
                            [self._command_msg(unit, ref, close, select=False, deactivate=True)],
                        )
                reason, reason_zh = _why(why, "execute", t_execute)
                return self._failed(
                    ref,
                    close,
                    CommandStage.EXECUTE,
                    f"{what}: {reason}",
                    f"{what_zh}：{reason_zh}",
                    selected_at=selected_at,
                )
            executed_at = self._clock()
            # position feedback
            if ref.feedback_ioa is None:
                return self._failed(
                    ref,
                    close,
                    CommandStage.FEEDBACK,
                    f"{what}: the unit has no switch_closed point for {ref.switch_id}; the "
                    "position cannot be confirmed",
                    f"{what_zh}：终端无该开关的位置遥信，无法确认分合",
                    selected_at=selected_at,
                    executed_at=executed_at,
                )
            if unit.tracker.known(ref.feedback_ioa) == watch.wanted:
                watch.feedback_at = watch.feedback_at or executed_at
                watch.feedback.set()
            try:
                await asyncio.wait_for(watch.feedback.wait(), t_feedback)
            except TimeoutError:
                position = unit.tracker.known(ref.feedback_ioa)
                now = "unknown" if position is None else ("closed" if position == 1 else "open")
                now_zh = {"unknown": "未知", "closed": "合位", "open": "分位"}[now]
                return self._failed(
                    ref,
                    close,
                    CommandStage.FEEDBACK,
                    f"{what}: executed, but no position feedback within {t_feedback:g} s "
                    f"(the switch is {now})",
                    f"{what_zh}：已执行，但 {t_feedback:g} 秒内未收到位置变位（开关现为{now_zh}）",
                    selected_at=selected_at,
                    executed_at=executed_at,
                )
            # activation termination (recorded, not required)
            term = iec104.CommandResCause.ACTIVATION_TERMINATION
            terminated, _ = await self._confirmation(
                watch, select=False, timeout=t_term, cause=term
            )
            return CommandOutcome(
                ref.switch_id,
                close,
                ref.unit_id,
                ref.ioa,
                ref.type_name,
                ok=True,
                stage=CommandStage.DONE,
                selected_at=selected_at,
                executed_at=executed_at,
                feedback_at=watch.feedback_at,
                terminated=bool(terminated),
            )
        except ConnectionError:
            return self._failed(
                ref,
                close,
                CommandStage.LINK,
                f"{what}: the link to unit {ref.unit_id} dropped during the command",
                f"{what_zh}：命令过程中与终端 {ref.unit_id} 的链路中断",
            )
        finally:
            unit.watch = None

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
            for total in ("events", "samples"):
                if total in changes:
                    changes[total] += getattr(status, total)
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
                conn = await apci.connect(
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
            live = _Unit(conn, points, tracker)
            self._live[points.unit_id] = live
            try:
                await self._session(live)
            except ConnectionError:
                log.warning("IEC 104 unit %s: link lost; reconnecting", points.unit_id)
            finally:
                self._live.pop(points.unit_id, None)
                if live.watch is not None:
                    live.watch.responses.put_nowait(None)  # the command in flight fails
                self._update(points.unit_id, connected=False)
                await asyncio.shield(conn.async_close())
            await asyncio.sleep(first)

    async def _send(self, unit: _Unit, msgs: list[Any]) -> None:
        for asdu in self._encoder.encode(msgs):
            await unit.conn.send(asdu)

    async def _clock_sync(self, unit: _Unit) -> None:
        """C_CS_NA_1 with our clock in the unit's zone (never for a unit we must not set)."""
        if not unit.points.clock_sync:
            return
        unit.synced_at = asyncio.get_running_loop().time()
        msg = iec104.ClockSyncMsg(
            is_test=False,
            originator_address=0,
            asdu_address=unit.points.common_address,
            time=time_of(self._clock(), unit.points.zone),
            is_negative_confirm=False,
            cause=iec104.ClockSyncReqCause.ACTIVATION,
        )
        await self._send(unit, [msg])

    async def _session(self, unit: _Unit) -> None:
        points = unit.points
        await self._clock_sync(unit)
        interrogation = iec104.InterrogationMsg(
            is_test=False,
            originator_address=0,
            asdu_address=points.common_address,
            request=20,  # station interrogation
            is_negative_confirm=False,
            cause=iec104.CommandReqCause.ACTIVATION,
        )
        await self._send(unit, [interrogation])
        link = _Link(unit.conn)
        loop = asyncio.get_running_loop()
        gi_deadline: float | None = loop.time() + _INTERROGATION_TIMEOUT_S
        pending_deadline: float | None = None
        try:
            while True:
                deadlines = [d for d in (gi_deadline, pending_deadline) if d is not None]
                timeout = max(0.0, min(deadlines) - loop.time()) if deadlines else None
                asdus: list[bytes | None] = []
                with contextlib.suppress(TimeoutError):
                    asdus.append(await asyncio.wait_for(link.queue.get(), timeout))
                while not link.queue.empty():  # everything already here, in one go
                    asdus.append(link.queue.get_nowait())
                received_at = self._clock()
                if asdus:
                    self._update(points.unit_id, last_rx=received_at)
                gi_done = False
                for raw in asdus:
                    if raw is None:
                        raise ConnectionError("link closed")
                    gi_done = await self._receive(unit, raw, received_at) or gi_done
                if unit.pending and pending_deadline is None:
                    pending_deadline = loop.time() + self._window
                if unit.skewed and points.clock_sync:
                    unit.skewed = False
                    if loop.time() - unit.synced_at >= self._resync_min:
                        log.warning("IEC 104 unit %s: clock off; setting it again", points.unit_id)
                        await self._clock_sync(unit)
                await self._flush_samples(unit, received_at)
                if unit.refreshed:
                    events = unit.tracker.interrogated(unit.refreshed, received_at=received_at)
                    unit.refreshed = []
                    await self._store(points.unit_id, events, received_at)
                now = loop.time()
                if gi_done or (gi_deadline is not None and now >= gi_deadline):
                    answer, unit.interrogated = unit.interrogated, []
                    events = unit.tracker.interrogated(answer, received_at=received_at)
                    await self._store(points.unit_id, events, received_at)
                    with self._status_lock:
                        count = self._status[points.unit_id].interrogations + 1
                    self._update(points.unit_id, interrogations=count)
                    gi_deadline = None
                if pending_deadline is not None and now >= pending_deadline:
                    changes, unit.pending = unit.pending, []
                    events = unit.tracker.spontaneous(changes, received_at=received_at)
                    await self._store(points.unit_id, events, received_at)
                    pending_deadline = None
        finally:
            if unit.pending:  # received before the link dropped: still written
                at = self._clock()
                events = unit.tracker.spontaneous(unit.pending, received_at=at)
                await asyncio.shield(self._store(points.unit_id, events, at))
            if unit.samples:
                await asyncio.shield(self._flush_samples(unit, self._clock()))
            link.reader.cancel()

    async def _receive(self, unit: _Unit, raw: bytes, received_at: datetime) -> bool:
        """Take one ASDU; True when it terminates the general interrogation."""
        type_id = raw[0] if raw else -1
        if type_id in DATA_TYPES:
            try:
                asdu = decode_data_asdu(raw)
            except AsduError as exc:
                await self._undecodable(unit, raw, str(exc), received_at)
                return False
            for obj in asdu.objects:
                await self._take(unit, asdu, obj, raw, received_at)
            return False
        if type_id in MONITOR_DATA_TYPES:
            await self._undecodable(
                unit, raw, f"type {type_id} is not a data type this master decodes", received_at
            )
            return False
        try:
            msgs = list(self._encoder.decode(raw))
        except Exception as exc:  # whatever hat-drivers raises for bytes it cannot read
            await self._undecodable(unit, raw, f"{type(exc).__name__}: {exc}", received_at)
            return False
        for msg in msgs:
            watch = unit.watch
            if isinstance(msg, iec104.CommandMsg) and watch and msg.io_address == watch.ref.ioa:
                watch.responses.put_nowait(msg)
        return any(
            isinstance(msg, iec104.InterrogationMsg)
            and msg.cause == iec104.CommandResCause.ACTIVATION_TERMINATION
            for msg in msgs
        )

    async def _undecodable(self, unit: _Unit, raw: bytes, why: str, received_at: datetime) -> None:
        await self._reject(
            unit.points.unit_id,
            RejectReason.UNDECODABLE,
            f"unit {unit.points.unit_id!r}: ASDU of {len(raw)} octets cannot be decoded: {why}",
            bytes(raw),
            received_at,
        )

    async def _take(
        self, unit: _Unit, asdu: DataAsdu, obj: InfoObject, raw: bytes, received_at: datetime
    ) -> None:
        """File one element: a point change (spontaneous, interrogated, refreshed), a
        telemetry sample, or a dead letter."""
        change = await self._change(unit, asdu, obj, raw, received_at)
        if change is None:
            return
        ref = change.ref
        watch = unit.watch
        if (
            watch is not None
            and ref.ioa == watch.ref.feedback_ioa
            and change.value == watch.wanted
            and not watch.feedback.is_set()
        ):
            watch.feedback_at = change.at or received_at
            watch.feedback.set()
        cyclic = asdu.cause in _CYCLIC
        if ref.is_number and (ref.is_telemetry or cyclic):
            unit.samples.append(
                TelemetrySample(
                    element_id=ref.element_id,
                    point=ref.point,
                    value=change.value,
                    received_at=received_at,
                    device_time=change.at,
                    source=EventSource.IEC104,
                    channel=f"iec104:{unit.points.unit_id}",
                    quality_ok=obj.quality.good,
                )
            )
            if asdu.cause not in _INTERROGATED:
                unit.tracker.observe([change], received_at=received_at)
                return
        if asdu.cause in _INTERROGATED:
            unit.interrogated.append(change)
        elif cyclic:
            unit.refreshed.append(change)  # a flag sent cyclically: the state, not a change
        else:
            unit.pending.append(change)

    async def _change(
        self, unit: _Unit, asdu: DataAsdu, obj: InfoObject, raw: bytes, received_at: datetime
    ) -> Change | None:
        """The point change of a decoded element; a dead letter when its address is unknown,
        its type does not fit the point, or its time tag is no date or far ahead."""
        points = unit.points
        name = points.unit_id
        ref = points.by_ioa.get(obj.ioa) if asdu.common_address == points.common_address else None
        body = json.dumps(
            {
                "unit": name,
                "common_address": asdu.common_address,
                "type": asdu.type_name,
                "sequence": asdu.sequence,
                "cause": asdu.cause,
                "ioa": obj.ioa,
                "value": obj.value,
                "time": None if obj.time is None else str(obj.time),
                "clock": points.clock,
                "asdu": bytes(raw).hex(),
            }
        ).encode()
        if ref is None:
            await self._reject(
                name,
                RejectReason.UNKNOWN_POINT,
                f"unit {name!r}: common address {asdu.common_address}, IOA "
                f"{obj.ioa} is not in its point table",
                body,
                received_at,
            )
            return None
        value = object_value(ref, obj)
        if value is None and obj.kind == "double" and not ref.is_number:
            return None  # a double point in transit (00) or faulty (11): no position
        if value is None or not math.isfinite(value):
            why = (
                f"is a {ref.asdu_type} point; received {asdu.type_name}"
                if value is None
                else f"value {value!r} is not a finite number"
            )
            await self._reject(
                name,
                RejectReason.MALFORMED,
                f"unit {name!r}: IOA {obj.ioa} ({ref.point} of {ref.element_id}) {why}",
                body,
                received_at,
            )
            return None
        return await self._timed(unit, Change(ref, value, None), obj, body, received_at)

    async def _timed(
        self,
        unit: _Unit,
        change: Change,
        obj: InfoObject,
        body: bytes,
        received_at: datetime,
    ) -> Change | None:
        """``change`` (still without a time) with its time tag read in the unit's zone; a
        dead letter when the tag is no date (``malformed``) or far ahead (``clock_skew``)."""
        points, name, ref = unit.points, unit.points.unit_id, change.ref
        if obj.time is None:
            return change
        if obj.time.invalid:  # IV: the unit says its clock is not to be trusted
            return replace(change, time_invalid=True)
        at = cp56_datetime(obj.time, points.zone)
        if at is None:
            await self._reject(
                name,
                RejectReason.MALFORMED,
                f"unit {name!r}: IOA {obj.ioa} ({ref.point} of {ref.element_id}): time tag "
                f"{obj.time} is no date",
                body,
                received_at,
            )
            return None
        ahead = at - received_at
        if ahead > self._intake.max_ahead:
            unit.skewed = True
            self._count_skew(name)
            await self._reject(
                name,
                RejectReason.CLOCK_SKEW,
                f"unit {name!r} (clock {points.clock}): time tag {obj.time} of IOA {obj.ioa} "
                f"({ref.point} of {ref.element_id}) is {_offset(ahead)} ahead of the receipt "
                f"time {received_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z; the unit's clock is "
                f"off (at most {_offset(self._intake.max_ahead)} allowed)",
                body,
                received_at,
            )
            return None
        return replace(change, at=at)

    def _count_skew(self, unit: str) -> None:
        with self._status_lock:
            count = self._status[unit].clock_skews + 1
        self._update(unit, clock_skews=count)
        if self._skews is not None:
            self._skews.labels(unit).inc()

    async def _flush_samples(self, unit: _Unit, received_at: datetime) -> None:
        if not unit.samples:
            return
        samples, unit.samples = unit.samples, []

        def write() -> None:
            self._intake.accept_telemetry(samples)

        await self._retry(unit.points.unit_id, write)
        self._update(unit.points.unit_id, samples=len(samples))

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
