"""A simulated IEC 60870-5-104 outstation (FTU / DTU / substation RTU) on loopback.

Built with the same library as the master (hat-drivers' ``iec104.listen``), from the unit's
rows of the network's point table. It runs its own asyncio loop in a thread, so tests and the
demo drive it from ordinary code:

>>> sim = SimulatedOutstation("TU-CG-F01-K02-DTU", network)      # doctest: +SKIP
>>> sim.start()
>>> sim.set_points("CG-F01-K02-DTU", {"short_circuit_a": 1, "short_circuit_b": 1}, at=t)
>>> sim.drop_connections()                                       # the master reconnects
>>> sim.stop()

It answers a general interrogation (C_IC_NA_1) with the current value of every point
(untagged types, cause "interrogated by station"), confirms clock synchronisation
(C_CS_NA_1), sends :meth:`set_points` changes spontaneously with CP56Time2a time
tags (wall time in the unit's ``clock`` zone) to every connected master (nothing is buffered
while none is connected: a master learns such changes from its next interrogation), and
records what it received.

Commands to a switch's command address (``switch_command`` / ``switch_command_timed`` rows)
are answered as a select-before-operate FTU does: a select (S/E = 1) is confirmed and the
switch selected; an execute (S/E = 0) of a selected switch is confirmed, the switch moves
(after ``operate_delay_s``: its ``switch_closed`` point changes and is sent spontaneously,
time-tagged), then the activation is terminated (ACT_TERM). An execute without a select, or
with another value than selected, is confirmed negatively; a command to an address that is no
command address is answered "unknown information object address"; a command of another type
than the point table's (single / double, timed or not) "unknown type". :meth:`fail` makes a
switch refuse its selects (``"refuse"``) or confirm them and not move (``"stuck"``). A
deactivation breaks a selection off. Other commands are confirmed as before.
Every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

from hat.drivers import iec104, net

from openoms.errors import InputError
from openoms.grid.model import Network
from openoms.ingest.iec104_points import (
    CommandRef,
    PointRef,
    data_of,
    datetime_of,
    time_of,
    unit_points,
)

__all__ = ["SimulatedOutstation", "UnknownPointError"]

_TIMEOUT_S: Final = 10.0
_INTERROGATED: Final = iec104.DataResCause.INTERROGATED_STATION
_SPONTANEOUS: Final = iec104.DataResCause.SPONTANEOUS


class UnknownPointError(InputError, KeyError):
    """A point that the simulated unit does not have for that element."""

    def __init__(self, unit_id: str, element_id: str, point: str) -> None:
        super().__init__(f"unit {unit_id!r} has no point {point!r} of {element_id!r}")
        self.unit_id = unit_id
        self.element_id = element_id
        self.point = point

    def __str__(self) -> str:  # the sentence, not KeyError's repr of it
        return str(self.args[0])


class SimulatedOutstation:
    """Outstation ``unit_id`` of ``network`` listening on ``host``:``port`` (default: the port
    of the point table). Start values: flags 0, measured values 0.0, a switch position as the
    network's present state."""

    def __init__(
        self,
        unit_id: str,
        network: Network,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        operate_delay_s: float = 0.05,
    ) -> None:
        self.points = unit_points(network, unit_id)
        self.operate_delay_s = operate_delay_s
        self._commands: dict[int, CommandRef] = {c.ioa: c for c in self.points.commands.values()}
        self._selected: dict[int, bool] = {}  # command IOA → the value selected (close)
        self._failing: dict[str, str] = {}  # switch id → "refuse" / "stuck"
        self._operations: list[tuple[str, bool]] = []
        self.unit_id = unit_id
        self.host = host
        self.port = self.points.port if port is None else port
        self._state: dict[int, float] = {}
        for ref in self.points.by_ioa.values():
            value = 0.0
            if ref.is_position:
                index = network.switches.id.index(ref.element_id)
                value = 1.0 if network.switches.present_closed[index] else 0.0
            self._state[ref.ioa] = value
        self._lock = threading.Lock()
        self._received: list[Any] = []
        self._clock_syncs: list[datetime] = []
        self._interrogations = 0
        self._connections: set[Any] = set()
        self._accepted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Listen (returns once the port is open; raises if it cannot be opened)."""
        if self._thread is not None:
            raise RuntimeError("SimulatedOutstation already started")
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"iec104-sim-{self.unit_id}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_TIMEOUT_S):
            raise TimeoutError(f"outstation {self.unit_id} did not start")
        if self._error is not None:
            self._thread.join(_TIMEOUT_S)
            self._thread = None
            raise self._error

    def stop(self) -> None:
        """Close every connection and the listening socket."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_TIMEOUT_S)
        self._thread = None
        self._loop = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                iec104.listen(self._on_connection, net.TcpAddress(self.host, self.port))
            )
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _close(self) -> None:
        for conn in list(self._connections):
            await conn.async_close()
        if self._server is not None:
            await self._server.async_close()

    # -- what tests and the demo call ------------------------------------------------------
    def set_point(self, element_id: str, point: str, value: float, at: datetime) -> None:
        """Change one point and send it spontaneously, time-tagged ``at``."""
        self.set_points(element_id, {point: value}, at=at)

    def set_points(self, element_id: str, values: Mapping[str, float], *, at: datetime) -> None:
        """Change points of one element at once and send them spontaneously, time-tagged
        ``at`` (aware). Raises :class:`UnknownPointError` (a ``KeyError``) for a point the
        unit does not have."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        refs = [self._ref(element_id, point) for point in values]
        with self._lock:
            for ref in refs:
                self._state[ref.ioa] = float(values[ref.point])
        msgs = [self._data(ref, float(values[ref.point]), at) for ref in refs]
        self._send_to_all(msgs)

    def send_raw(self, ioa: int, value: float, at: datetime | None = None) -> None:
        """Send a single point at any address, even one not in the point table (for tests of
        what the master does with an unknown IOA)."""
        data = iec104.SingleData(
            value=iec104.SingleValue.ON if value else iec104.SingleValue.OFF,
            quality=iec104.IndicationQuality(False, False, False, False),
        )
        msg = iec104.DataMsg(
            is_test=False,
            originator_address=0,
            asdu_address=self.points.common_address,
            io_address=ioa,
            data=data,
            time=None if at is None else time_of(at, self.points.zone),
            cause=_SPONTANEOUS,
        )
        self._send_to_all([msg])

    def value(self, element_id: str, point: str) -> float:
        with self._lock:
            return self._state[self._ref(element_id, point).ioa]

    def drop_connections(self) -> None:
        """Close every master connection (the TCP link drops; the port stays open)."""
        loop = self._loop
        if loop is None:
            return

        async def close_all() -> None:
            for conn in list(self._connections):
                await conn.async_close()

        asyncio.run_coroutine_threadsafe(close_all(), loop).result(_TIMEOUT_S)

    @property
    def connected(self) -> int:
        """Master connections open now."""
        return len(self._connections)

    @property
    def connections_accepted(self) -> int:
        return self._accepted

    @property
    def received_commands(self) -> list[Any]:
        """Every message received from masters (interrogations, clock syncs, commands)."""
        with self._lock:
            return list(self._received)

    @property
    def clock_syncs(self) -> list[datetime]:
        """The times of the clock synchronisations received (UTC)."""
        with self._lock:
            return list(self._clock_syncs)

    def fail(self, switch_id: str, how: Literal["refuse", "stuck"] | None) -> None:
        """Make ``switch_id`` refuse its selects (``"refuse"``: negative confirmation) or
        confirm its commands and not move (``"stuck"``); ``None``: work again."""
        with self._lock:
            if how is None:
                self._failing.pop(switch_id, None)
            else:
                self._failing[switch_id] = how

    @property
    def operations(self) -> list[tuple[str, bool]]:
        """The switch operations carried out: (switch id, closed), in order."""
        with self._lock:
            return list(self._operations)

    @property
    def interrogations(self) -> int:
        with self._lock:
            return self._interrogations

    # -- protocol ------------------------------------------------------------------------
    def _ref(self, element_id: str, point: str) -> PointRef:
        try:
            return self.points.by_element_point[(element_id, point)]
        except KeyError:
            raise UnknownPointError(self.unit_id, element_id, point) from None

    def _data(self, ref: PointRef, value: float, at: datetime | None) -> Any:
        return iec104.DataMsg(
            is_test=False,
            originator_address=0,
            asdu_address=self.points.common_address,
            io_address=ref.ioa,
            data=data_of(ref, value),
            time=None if at is None else time_of(at, self.points.zone),
            cause=_SPONTANEOUS if at is not None else _INTERROGATED,
        )

    def _send_to_all(self, msgs: list[Any]) -> None:
        loop = self._loop
        if loop is None:
            return  # not listening: no master to tell (it learns the state by interrogation)

        async def send() -> None:
            for conn in list(self._connections):
                if conn.is_open and conn.is_enabled:
                    try:
                        await conn.send(msgs)
                    except ConnectionError:
                        continue

        asyncio.run_coroutine_threadsafe(send(), loop).result(_TIMEOUT_S)

    async def _on_connection(self, conn: Any) -> None:
        self._connections.add(conn)
        self._accepted += 1
        conn.async_group.spawn(self._serve, conn)

    async def _serve(self, conn: Any) -> None:
        try:
            while True:
                for msg in await conn.receive():
                    with self._lock:
                        self._received.append(msg)
                    await self._answer(conn, msg)
        except ConnectionError:
            pass
        finally:
            self._connections.discard(conn)
            conn.close()

    async def _answer(self, conn: Any, msg: Any) -> None:
        if isinstance(msg, iec104.ClockSyncMsg):
            at = datetime_of(msg.time, self.points.zone)
            if at is not None:
                with self._lock:
                    self._clock_syncs.append(at)
            confirm = iec104.ClockSyncResCause.ACTIVATION_CONFIRMATION
            await conn.send([msg._replace(cause=confirm, is_negative_confirm=at is None)])
        elif isinstance(msg, iec104.InterrogationMsg):
            with self._lock:
                self._interrogations += 1
                state = sorted(self._state.items())
            con = iec104.CommandResCause.ACTIVATION_CONFIRMATION
            term = iec104.CommandResCause.ACTIVATION_TERMINATION
            answer = [msg._replace(cause=con)]
            answer += [self._data(self.points.by_ioa[ioa], value, None) for ioa, value in state]
            answer.append(msg._replace(cause=term))
            await conn.send(answer)
        elif isinstance(msg, iec104.CommandMsg):
            ref = self._commands.get(msg.io_address)
            if ref is None and not isinstance(
                msg.command, iec104.SingleCommand | iec104.DoubleCommand
            ):
                con = iec104.CommandResCause.ACTIVATION_CONFIRMATION
                await conn.send([msg._replace(cause=con)])
                return
            await self._switch_command(conn, msg, ref)

    async def _switch_command(self, conn: Any, msg: Any, ref: CommandRef | None) -> None:
        """Select-before-operate of a switch (see the module docstring)."""
        con = iec104.CommandResCause.ACTIVATION_CONFIRMATION
        if ref is None:
            cause = iec104.CommandResCause.UNKNOWN_IO_ADDRESS
            await conn.send([msg._replace(cause=cause, is_negative_confirm=True)])
            return
        double = isinstance(msg.command, iec104.DoubleCommand)
        if double != ref.double or (msg.time is not None) != ref.timed:
            cause = iec104.CommandResCause.UNKNOWN_TYPE
            await conn.send([msg._replace(cause=cause, is_negative_confirm=True)])
            return
        value = msg.command.value
        close = bool(value == (iec104.DoubleValue.ON if double else iec104.SingleValue.ON))
        if double and value not in (iec104.DoubleValue.ON, iec104.DoubleValue.OFF):
            await conn.send([msg._replace(cause=con, is_negative_confirm=True)])
            return
        with self._lock:
            failing = self._failing.get(ref.switch_id)
        if msg.cause == iec104.CommandReqCause.DEACTIVATION:
            self._selected.pop(ref.ioa, None)
            deact = iec104.CommandResCause.DEACTIVATION_CONFIRMATION
            await conn.send([msg._replace(cause=deact)])
            return
        if msg.command.select:
            refused = failing == "refuse"
            if not refused:
                self._selected[ref.ioa] = close
            await conn.send([msg._replace(cause=con, is_negative_confirm=refused)])
            return
        if self._selected.pop(ref.ioa, None) is not close:  # execute without its select
            await conn.send([msg._replace(cause=con, is_negative_confirm=True)])
            return
        await conn.send([msg._replace(cause=con)])
        if failing != "stuck" and ref.feedback_ioa is not None:
            await asyncio.sleep(self.operate_delay_s)
            position = self.points.by_ioa[ref.feedback_ioa]
            with self._lock:
                self._state[ref.feedback_ioa] = 1.0 if close else 0.0
                self._operations.append((ref.switch_id, close))
            data = self._data(position, 1.0 if close else 0.0, datetime.now(UTC))
            for other in list(self._connections):
                if other.is_open and other.is_enabled:
                    try:
                        await other.send([data])
                    except ConnectionError:
                        continue
        term = iec104.CommandResCause.ACTIVATION_TERMINATION
        await conn.send([msg._replace(cause=term)])
