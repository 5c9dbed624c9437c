"""The IEC 104 master against an independent outstation: lib60870 through its Python bindings
``c104`` (GPL-3.0, a test-only dev dependency; nothing in ``src/`` imports it).

c104 sends what lib60870-based FTUs and RTUs send: general interrogation answers and
batches of time-tagged points (M_SP_TB_1, M_DP_TB_1, M_ME_TF_1, M_ME_TE_1) as SQ = 1
sequences with a CP56Time2a after every element, spontaneous changes, periodic measurements.
What it cannot be made to send (a time tag with the invalid bit, bytes that fit no type) comes
from a bare APCI peer (hat-drivers' link layer) sending ASDUs of the test-side encoder in
``tests.ingest.iec104_network``. What is checked is what the intake wrote.
"""

from __future__ import annotations

import ast
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import c104
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from openoms.grid.model import Network
from openoms.ingest.iec104 import Iec104Master
from openoms.ingest.iec104_points import unit_points
from openoms.ingest.intake import Intake
from openoms.store import telemetry
from openoms.store.tables import DeadLetter, EventRow
from tests.ingest.conftest import Sessions, wait_until
from tests.ingest.iec104_network import (
    asdu,
    cp56,
    float_qds,
    free_port,
    siq,
    telecontrol_network,
)

BEIJING = ZoneInfo("Asia/Shanghai")
_TYPES = {
    "single": c104.Type.M_SP_TB_1,
    "double": c104.Type.M_DP_TB_1,
    "float": c104.Type.M_ME_TF_1,
    "scaled": c104.Type.M_ME_TE_1,
}


START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def now_ms() -> datetime:
    """Now in UTC, to the millisecond (what a CP56Time2a carries)."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


class C104Unit:
    """One telecontrol unit of the network as a c104 server; time tags as wall time in
    ``zone`` (the unit's clock)."""

    def __init__(self, net: Network, unit: str, *, zone: Any = UTC, periodic_ms: int = 0) -> None:
        points = unit_points(net, unit)
        self.zone = zone
        self.server = c104.Server(ip="127.0.0.1", port=points.port, tick_rate_ms=50)
        station = self.server.add_station(common_address=points.common_address)
        assert station is not None
        self.points: dict[tuple[str, str], Any] = {}
        self.kinds: dict[tuple[str, str], str] = {}
        for ref in sorted(points.by_ioa.values(), key=lambda r: r.ioa):
            periodic = periodic_ms if ref.is_telemetry else 0
            point = station.add_point(
                io_address=ref.ioa, type=_TYPES[ref.asdu_type.value], report_ms=periodic
            )
            key = (ref.element_id, ref.point)
            self.points[key], self.kinds[key] = point, ref.asdu_type.value
            # every point starts with a value and a time tag three hours old
            self.set(*key, 1 if ref.point == "switch_closed" else 0, START)
        self.clock_syncs: list[datetime] = []
        self.sent: list[bytes] = []
        self._lock = threading.Lock()

        def on_clock_sync(server: c104.Server, ip: str, date_time: datetime) -> c104.ResponseState:
            with self._lock:
                self.clock_syncs.append(date_time)
            return c104.ResponseState.SUCCESS

        def on_send_raw(server: c104.Server, data: bytes) -> None:
            with self._lock:
                self.sent.append(bytes(data))

        # c104 checks the callbacks' annotations as objects (this module's are strings)
        on_clock_sync.__annotations__ = {
            "server": c104.Server,
            "ip": str,
            "date_time": datetime,
            "return": c104.ResponseState,
        }
        on_send_raw.__annotations__ = {"server": c104.Server, "data": bytes, "return": None}
        self.server.on_clock_sync(callable=on_clock_sync)
        self.server.on_send_raw(callable=on_send_raw)

    def set(self, element: str, point: str, value: float, at: datetime) -> Any:
        """Set a point's value and time tag (``at`` aware; sent as wall time in the zone)."""
        key = (element, point)
        wall = at.astimezone(self.zone).replace(tzinfo=None)
        kind = self.kinds[key]
        if kind == "single":
            info: Any = c104.SingleInfo(on=bool(value), recorded_at=wall)
        elif kind == "double":
            state = c104.Double.ON if value else c104.Double.OFF
            info = c104.DoubleInfo(state=state, recorded_at=wall)
        elif kind == "float":
            info = c104.ShortInfo(actual=float(value), recorded_at=wall)
        else:
            info = c104.ScaledInfo(actual=c104.Int16(round(value / 0.1)), recorded_at=wall)
        self.points[key].info = info
        return self.points[key]

    def send(self, element: str, point: str, value: float, at: datetime) -> None:
        assert self.set(element, point, value, at).transmit(cause=c104.Cot.SPONTANEOUS)

    def burst(self, element: str, values: dict[str, float], at: list[datetime]) -> None:
        """One batch (one ASDU, SQ = 1 for consecutive addresses), each with its own time."""
        points = [self.set(element, p, v, t) for (p, v), t in zip(values.items(), at, strict=True)]
        assert self.server.transmit_batch(c104.Batch(cause=c104.Cot.SPONTANEOUS, points=points))

    def sq1_timed(self) -> list[bytes]:
        """The ASDUs sent as time-tagged SQ = 1 sequences (APDU: 6 octets of APCI first)."""
        with self._lock:
            return [
                d[6:] for d in self.sent if len(d) > 8 and d[6] in (30, 31, 35, 36) and d[7] & 0x80
            ]


@pytest.fixture
def ports() -> dict[str, int]:
    return {u: free_port() for u in ("U-FTU", "U-FI", "U-RTU")}


@pytest.fixture
def started(sessions: Sessions) -> Iterator[Any]:
    servers: list[Any] = []
    masters: list[Iec104Master] = []

    def start(
        net: Network, units: list[str], zones: dict[str, Any] | None = None, **options: Any
    ) -> tuple[Iec104Master, Intake, dict[str, C104Unit]]:
        outstations = {}
        for unit in units:
            outstations[unit] = C104Unit(net, unit, zone=(zones or {}).get(unit, UTC))
        return run(net, units, outstations, **options)

    def run(
        net: Network, units: list[str], outstations: dict[str, Any], **options: Any
    ) -> tuple[Iec104Master, Intake, dict[str, Any]]:
        for outstation in outstations.values():
            outstation.server.start()
            servers.append(outstation.server)
        intake = Intake(sessions, net, utility="t")
        master = Iec104Master(
            intake, net, units=units, reconnect_s=0.1, reconnect_max_s=0.5, **options
        )
        master.start()
        masters.append(master)
        return master, intake, outstations

    start.run = run  # type: ignore[attr-defined]
    yield start
    for master in masters:
        master.stop()
    for server in servers:
        server.stop()


def stored(sessions: Sessions) -> list[EventRow]:
    with sessions() as session:
        return list(session.scalars(select(EventRow).order_by(EventRow.id)))


def letters(sessions: Sessions) -> list[DeadLetter]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def utc(row: EventRow) -> datetime:
    return row.device_time.replace(tzinfo=UTC)


def interrogated(master: Iec104Master, unit: str, count: int = 1) -> None:
    wait_until(lambda: master.status()[unit].interrogations >= count, timeout=10)


def test_sq1_time_tagged_gi_answer_every_flag_value_and_time_lands_once(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    net = telecontrol_network(ports)
    t = now_ms() - timedelta(minutes=5)
    ftu = C104Unit(net, "U-FTU")
    # an a = 1, b = 1 alarm (hat-drivers stored b = 0) with its own times, 10 ms apart
    ftu.set("D2", "short_circuit_a", 1, t)
    ftu.set("D2", "short_circuit_b", 1, t + timedelta(milliseconds=10))
    ftu.set("D2", "short_circuit_c", 0, t - timedelta(hours=1))
    ftu.set("D2", "earth_fault", 0, t - timedelta(hours=1))
    ftu.set("K1", "switch_closed", 1, t - timedelta(hours=2))
    for i, phase in enumerate("abc"):
        ftu.set("D2", f"load_current_{phase}", 100.25 + i, t - timedelta(seconds=1))
    ftu.set("D2", "active_power_kw", 812.3, t - timedelta(seconds=1))
    master, intake, _ = started.run(net, ["U-FTU"], {"U-FTU": ftu})
    interrogated(master, "U-FTU")
    # c104 did answer with SQ = 1 time-tagged sequences (singles IOA 1-4, floats 16385-16387)
    kinds = {(raw[0], raw[1] & 0x7F) for raw in ftu.sq1_timed()}
    assert {(30, 4), (36, 3)} <= kinds
    rows = stored(sessions)
    by_kind = {(r.kind, r.device_id): r for r in rows}
    assert set(by_kind) == {("ftu_report", "D2"), ("switch_position", "K1")}
    report = by_kind[("ftu_report", "D2")]
    assert report.payload["fault_phases"] == ["A", "B"]
    assert report.payload["earth_fault"] is False
    assert report.payload["measurements"]["load_current_c"] == 102.25
    assert report.payload["measurements"]["active_power_kw"] == pytest.approx(812.3)
    assert utc(report) == t + timedelta(milliseconds=10)  # the latest element's own tag
    assert utc(by_kind[("switch_position", "K1")]) == t - timedelta(hours=2)
    assert letters(sessions) == []
    # clock synchronisation in the unit's zone (UTC here): c104 got our clock
    (synced,) = ftu.clock_syncs
    assert abs(synced - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=5)
    assert intake.counts().accepted == 2


def test_sq1_burst_and_a_30_ms_trip_pulse_land_once_each(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    net = telecontrol_network(ports)
    master, _, units = started(net, ["U-FTU", "U-RTU"])
    interrogated(master, "U-FTU")
    interrogated(master, "U-RTU")
    before = len(stored(sessions))
    t = now_ms()
    # a burst: a, b, c short circuit and an earth fault, consecutive IOAs, 5 ms apart
    times = [t + timedelta(milliseconds=5 * i) for i in range(4)]
    values = {"short_circuit_a": 1, "short_circuit_b": 1, "short_circuit_c": 0, "earth_fault": 1}
    units["U-FTU"].burst("D2", values, times)
    # a protection trip set and cleared 30 ms later, back to back
    rtu = units["U-RTU"]
    rtu.send("CB1", "protection_trip", 1, t)
    rtu.send("CB1", "protection_trip", 0, t + timedelta(milliseconds=30))
    wait_until(lambda: len(stored(sessions)) >= before + 5, timeout=10)
    time.sleep(0.3)  # nothing more comes
    new = stored(sessions)[before:]
    trips = [r for r in new if r.kind == "breaker_trip"]
    assert [(r.device_id, utc(r), r.payload) for r in trips] == [("CB1", t, {"lockout": False})]
    reports = [r for r in new if r.kind == "ftu_report"]
    # one report per element time tag, each with the flags known at that instant
    assert [utc(r) for r in reports] == times
    assert [r.payload["fault_phases"] for r in reports] == [
        ["A"],
        ["A", "B"],
        ["A", "B"],
        ["A", "B"],
    ]
    assert [r.payload["earth_fault"] for r in reports] == [False, False, False, True]
    assert len(new) == 5
    assert any(raw[0] == 30 and raw[1] == 0x84 for raw in units["U-FTU"].sq1_timed())


def test_a_unit_on_beijing_time_gives_utc_device_times_and_is_synced_in_its_zone(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    net = telecontrol_network(ports, **{"U-RTU": {"clock": "Asia/Shanghai"}})
    master, _, units = started(net, ["U-RTU"], zones={"U-RTU": BEIJING})
    interrogated(master, "U-RTU")
    rtu = units["U-RTU"]
    (synced,) = rtu.clock_syncs  # C_CS_NA_1 carried Beijing wall-clock time
    beijing_now = datetime.now(BEIJING).replace(tzinfo=None)
    assert abs(synced - beijing_now) < timedelta(seconds=5)
    t = now_ms()
    rtu.send("CB1", "lockout", 1, t)  # on the wire: t + 8 h as wall time
    wait_until(lambda: any(r.kind == "breaker_trip" for r in stored(sessions)), timeout=10)
    (trip,) = [r for r in stored(sessions) if r.kind == "breaker_trip"]
    assert utc(trip) == t
    assert trip.payload == {"lockout": True}
    assert letters(sessions) == []


def test_a_unit_owned_by_the_main_scada_is_never_clock_synced(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    net = telecontrol_network(ports, **{"U-FI": {"clock_sync": False}})
    master, _, units = started(net, ["U-FI", "U-RTU"])
    interrogated(master, "U-FI")
    interrogated(master, "U-RTU")
    time.sleep(0.2)
    assert units["U-FI"].clock_syncs == []
    assert len(units["U-RTU"].clock_syncs) == 1  # the control: the other unit is synced


def test_a_clock_far_ahead_is_clock_skew_counted_and_resynced(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    # the network says UTC, the RTU keeps Beijing time: its tags are 8 h ahead
    net = telecontrol_network(ports)
    registry = CollectorRegistry()
    master, intake, units = started(
        net, ["U-RTU"], zones={"U-RTU": BEIJING}, registry=registry, resync_min_s=0.0
    )
    interrogated(master, "U-RTU")
    # the GI answer: the RTU's five points, tagged 3 h ago in Beijing time (5 h ahead)
    wait_until(lambda: intake.counts().rejected["clock_skew"] == 5, timeout=10)
    units["U-RTU"].send("CB1", "protection_trip", 1, now_ms())
    wait_until(lambda: intake.counts().rejected["clock_skew"] == 6, timeout=10)
    dead = letters(sessions)
    assert {(d.reason, d.channel) for d in dead} == {("clock_skew", "iec104:U-RTU")}
    # START is set when the module is imported (minutes before this test in a full run):
    # the tags are 8 h − (now − START) ahead of receipt
    expected_h = 8 - (datetime.now(UTC) - START).total_seconds() / 3600
    for letter in dead[:5]:
        ahead = re.search(r"(\d+\.\d\d) h ahead", letter.detail)
        assert ahead is not None, letter.detail
        assert abs(float(ahead.group(1)) - expected_h) < 0.02, letter.detail
    trip = dead[-1].detail
    assert "unit 'U-RTU' (clock UTC)" in trip
    assert "8.00 h ahead" in trip
    assert "protection_trip of CB1" in trip
    assert intake.counts().rejected["future"] == 0
    assert [r for r in stored(sessions) if r.kind == "breaker_trip"] == []
    value = registry.get_sample_value("openoms_iec104_clock_skew_total", {"unit": "U-RTU"})
    assert value == 6.0
    assert master.status()["U-RTU"].clock_skews == 6
    wait_until(lambda: len(units["U-RTU"].clock_syncs) >= 2, timeout=5)  # set again


def test_a_dropped_link_reconnects_and_every_event_lands_exactly_once(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    net = telecontrol_network(ports)
    master, intake, units = started(net, ["U-FTU"])
    ftu = units["U-FTU"]
    interrogated(master, "U-FTU")
    t = now_ms()
    ftu.send("D2", "earth_fault", 1, t)
    wait_until(lambda: len(stored(sessions)) == 3, timeout=10)  # GI: D2, K1; then this
    ftu.server.stop()  # the link drops
    wait_until(lambda: not master.status()["U-FTU"].connected, timeout=10)
    ftu.set("D2", "short_circuit_c", 1, t + timedelta(seconds=1))  # while down
    ftu.server.start()
    interrogated(master, "U-FTU", 2)
    rows = stored(sessions)
    assert master.status()["U-FTU"].connections == 2
    assert len(rows) == 4  # only the change made while down is new
    assert rows[-1].payload["fault_phases"] == ["C"]
    assert rows[-1].payload["earth_fault"] is True
    assert utc(rows[-1]) == t + timedelta(seconds=1)  # its own time tag from the GI answer
    keys = [(r.kind, r.device_id, r.device_time, str(r.payload)) for r in rows]
    assert len(set(keys)) == len(keys)
    assert intake.counts().duplicates >= 1  # K1 and the earth-fault report came again
    assert letters(sessions) == []


def test_cyclic_load_currents_are_telemetry_not_events(
    ports: dict[str, int], started: Any, sessions: Sessions
) -> None:
    net = telecontrol_network(ports)
    ftu = C104Unit(net, "U-FTU", periodic_ms=200)  # telemetry points: cause "periodic"
    t = now_ms() - timedelta(minutes=10)
    ftu.set("D2", "load_current_a", 151.5, t)
    master, _, _ = started.run(net, ["U-FTU"], {"U-FTU": ftu})
    interrogated(master, "U-FTU")
    events_after_gi = len(stored(sessions))
    wait_until(lambda: master.status()["U-FTU"].samples >= 12, timeout=10)  # a few periods
    ftu.set("D2", "load_current_a", 160.25, t + timedelta(minutes=2))  # the next frames
    samples = master.status()["U-FTU"].samples
    wait_until(lambda: master.status()["U-FTU"].samples >= samples + 8, timeout=10)
    assert len(stored(sessions)) == events_after_gi  # no event-log row per frame
    assert letters(sessions) == []
    with sessions() as session:
        (latest,) = telemetry.latest_telemetry(session, element_id="D2", point="load_current_a")
        history = telemetry.telemetry_history(session, "D2", "load_current_a", since=START)
    assert (latest.value, latest.device_time, latest.source, latest.channel) == (
        160.25,
        t + timedelta(minutes=2),
        "iec104",
        "iec104:U-FTU",
    )
    # one history row per sampling interval (a minute), not one per frame
    assert [(h.value, h.device_time) for h in history] == [
        (160.25, t + timedelta(minutes=2)),
        (151.5, t),
    ]


# -- what c104 cannot send: a bare APCI peer with raw ASDUs ----------------------------------


class RawOutstation:
    """Answers STARTDT (hat-drivers' APCI layer), confirms and terminates interrogations, and
    sends the raw ASDUs it is given."""

    def __init__(self, port: int, common_address: int) -> None:
        import asyncio

        from hat.drivers import net as hat_net
        from hat.drivers.iec60870 import apci

        self._asyncio = asyncio
        self.common_address = common_address
        self.conns: list[Any] = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve(conn: Any) -> None:
            self.conns.append(conn)
            try:
                while True:
                    data = bytes(await conn.receive())
                    if data[0] in (100, 103):  # C_IC_NA_1, C_CS_NA_1: confirm
                        await conn.send(data[:2] + bytes([7]) + data[3:])
                    if data[0] == 100:
                        await conn.send(data[:2] + bytes([10]) + data[3:])
            except ConnectionError:
                pass

        async def on_connection(conn: Any) -> None:
            conn.async_group.spawn(serve, conn)

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            addr = hat_net.TcpAddress("127.0.0.1", port)
            self.server = self.loop.run_until_complete(apci.listen(on_connection, addr))
            ready.set()
            try:
                self.loop.run_forever()
            finally:
                self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def send(self, raw: bytes) -> None:
        async def send() -> None:
            for conn in self.conns:
                await conn.send(raw)

        self._asyncio.run_coroutine_threadsafe(send(), self.loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            for conn in self.conns:
                await conn.async_close()
            await self.server.async_close()

        self._asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_invalid_time_tags_and_undecodable_asdus_from_a_raw_peer(
    ports: dict[str, int], sessions: Sessions
) -> None:
    net = telecontrol_network(ports)
    peer = RawOutstation(ports["U-RTU"], common_address=3)
    intake = Intake(sessions, net, utility="t")
    master = Iec104Master(intake, net, units=["U-RTU"], reconnect_s=0.1)
    master.start()
    try:
        interrogated(master, "U-RTU")
        wall = datetime(2031, 1, 1, 0, 0)  # IV set: the RTU's clock is not to be trusted
        before = datetime.now(UTC)
        # M_SP_TB_1, SQ = 1: lockout (IOA 3) and reclose_success (IOA 4), both IV
        trip = [(3, siq(True), cp56(wall, invalid=True)), (4, siq(True), cp56(wall, invalid=True))]
        peer.send(asdu(30, trip, common_address=3, sequence=True))
        # an M_ME_TF_1 one octet short, and a type this master does not decode (M_IT_TB_1)
        short = asdu(36, [(9, float_qds(1.0), cp56(wall))], common_address=3)[:-1]
        peer.send(short)
        counter = asdu(37, [(9, b"\x01\x00\x00\x00\x00", cp56(wall))], common_address=3)
        peer.send(counter)
        wait_until(lambda: len(stored(sessions)) == 2 and len(letters(sessions)) == 2, timeout=10)
        rows = stored(sessions)
        assert sorted(r.kind for r in rows) == ["breaker_reclose", "breaker_trip"]
        for row in rows:
            assert row.payload["device_time_invalid"] is True
            assert before - timedelta(seconds=1) <= utc(row) <= datetime.now(UTC)
        dead = letters(sessions)
        assert [d.reason for d in dead] == ["undecodable", "undecodable"]
        assert [bytes(d.raw) for d in dead] == [short, counter]  # the bytes as received
        assert "U-RTU" in dead[0].detail
        assert "M_ME_TF_1" in dead[0].detail
        assert "type 37" in dead[1].detail
    finally:
        master.stop()
        peer.stop()


def test_src_never_imports_c104() -> None:
    """c104 is GPL-3.0: a test dependency only. No module of ``src/`` may import it."""
    src = Path(__file__).resolve().parents[2] / "src"
    offenders = []
    for path in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "c104" for name in names):
                offenders.append(f"{path.relative_to(src)}: {', '.join(names)}")
    assert offenders == []
    assert len(list(src.rglob("iec104*.py"))) >= 4  # the scan did look at the master


def test_a_non_finite_measurement_and_a_flag_on_a_number_point_are_malformed(
    ports: dict[str, int], sessions: Sessions
) -> None:
    net = telecontrol_network(ports)
    peer = RawOutstation(ports["U-FTU"], common_address=1)
    intake = Intake(sessions, net, utility="t")
    master = Iec104Master(intake, net, units=["U-FTU"], reconnect_s=0.1)
    master.start()
    try:
        interrogated(master, "U-FTU")
        wall = datetime.now(UTC).replace(tzinfo=None)
        nan = asdu(36, [(16385, float_qds(float("nan")), cp56(wall))], common_address=1)
        flag = asdu(30, [(16386, siq(True), cp56(wall))], common_address=1)
        peer.send(nan)
        peer.send(flag)
        wait_until(lambda: len(letters(sessions)) == 2, timeout=10)
        first, second = letters(sessions)
        assert first.reason == second.reason == "malformed"
        assert "load_current_a of D2) value nan is not a finite number" in first.detail
        assert "load_current_b of D2) is a float point; received M_SP_TB_1" in second.detail
        assert nan.hex() in bytes(first.raw).decode()
        assert stored(sessions) == []
        assert master.status()["U-FTU"].samples == 0
    finally:
        master.stop()
        peer.stop()
