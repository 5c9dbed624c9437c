"""The IEC 104 master against simulated outstations on loopback, on SQLite and PostgreSQL.

Real sessions of hat-drivers on both ends: STARTDT, clock sync, general interrogation,
spontaneous time-tagged data, a dropped link and the reconnect. What is checked is what the
intake wrote: the event log and the dead letters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from openoms.grid.model import Network
from openoms.ingest.iec104 import Iec104Master
from openoms.ingest.iec104_sim import SimulatedOutstation
from openoms.ingest.intake import Intake
from openoms.store.tables import DeadLetter, EventRow
from tests.ingest.conftest import Sessions, wait_until
from tests.ingest.iec104_network import free_port, telecontrol_network


def soon(seconds: float = 0.0) -> datetime:
    """A time tag a little after now (a fault the FTU stamps with its synchronised clock)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1 + seconds)


@pytest.fixture
def net() -> Network:
    return telecontrol_network({u: free_port() for u in ("U-FTU", "U-FI", "U-RTU")})


@pytest.fixture
def sims(net: Network) -> Iterator[dict[str, SimulatedOutstation]]:
    made = {unit: SimulatedOutstation(unit, net) for unit in net.telecontrol_units.id}
    for sim in made.values():
        sim.start()
    yield made
    for sim in made.values():
        sim.stop()


@pytest.fixture
def master_of(sessions: Sessions, net: Network) -> Iterator[Any]:
    started: list[Iec104Master] = []

    def start(units: list[str] | None = None) -> tuple[Iec104Master, Intake]:
        intake = Intake(sessions, net, utility="t")
        master = Iec104Master(intake, net, units=units, reconnect_s=0.1, reconnect_max_s=0.5)
        master.start()
        started.append(master)
        return master, intake

    yield start
    for master in started:
        master.stop()


def events(sessions: Sessions) -> list[EventRow]:
    with sessions() as session:
        return list(session.scalars(select(EventRow).order_by(EventRow.id)))


def interrogated(master: Iec104Master, unit: str, count: int = 1) -> None:
    wait_until(lambda: master.status()[unit].interrogations >= count, timeout=5)


def test_interrogation_gives_the_current_state_and_the_clock_is_synchronised(
    sims: dict[str, SimulatedOutstation], master_of: Any, sessions: Sessions
) -> None:
    sims["U-FTU"].set_points("D2", {"load_current_a": 120.5, "active_power_kw": 812.3}, at=soon())
    before = datetime.now(UTC)
    master, _ = master_of(["U-FTU", "U-RTU"])
    interrogated(master, "U-FTU")
    interrogated(master, "U-RTU")
    stored = {(e.kind, e.device_id): e for e in events(sessions)}
    assert set(stored) == {
        ("ftu_report", "D2"),
        ("switch_position", "K1"),
        ("switch_position", "CB1"),
    }
    report = stored[("ftu_report", "D2")].payload
    # 120.5 is exact in a 32-bit float; 812.3 kW is sent scaled by 0.1: 8123 × 0.1
    assert report["measurements"] == {
        "load_current_a": 120.5,
        "load_current_b": 0.0,
        "load_current_c": 0.0,
        "active_power_kw": pytest.approx(812.3),
    }
    assert report["fault_phases"] == []
    assert report["switch_closed"] is None
    assert stored[("switch_position", "K1")].payload == {"closed": True}
    assert all(e.source == "iec104" for e in stored.values())
    # C_CS_NA_1 carried the master's UTC clock (to the millisecond)
    (synced,) = sims["U-FTU"].clock_syncs
    assert before - timedelta(seconds=1) <= synced <= datetime.now(UTC)
    assert master.status()["U-FTU"].connected


def test_phase_flags_with_one_time_tag_become_one_ftu_report(
    sims: dict[str, SimulatedOutstation], master_of: Any, sessions: Sessions
) -> None:
    master, _ = master_of(["U-FTU"])
    interrogated(master, "U-FTU")
    at = soon(20.345)
    sims["U-FTU"].set_points("D2", {"short_circuit_a": 1, "short_circuit_b": 1}, at=at)
    wait_until(lambda: len(events(sessions)) == 3, timeout=5)  # GI: report, K1; then this
    last = events(sessions)[-1]
    assert (last.kind, last.device_id) == ("ftu_report", "D2")
    assert last.device_time.replace(tzinfo=UTC) == at  # the CP56Time2a tag, to the ms
    assert last.payload["fault_phases"] == ["A", "B"]
    assert last.payload["short_circuit"] is True
    assert last.payload["earth_fault"] is False
    assert last.payload["points"]["short_circuit_a"] == 1


def test_indicator_points_position_and_breaker_events(
    sims: dict[str, SimulatedOutstation], master_of: Any, sessions: Sessions
) -> None:
    master, _ = master_of()
    for unit in ("U-FTU", "U-FI", "U-RTU"):
        interrogated(master, unit)
    n = len(events(sessions))  # D2, K1, D1, CB1
    assert n == 4
    sims["U-FI"].set_point("D1", "short_circuit_c", 1, at=soon(1))
    sims["U-RTU"].set_point("CB1", "protection_trip", 1, at=soon(1))
    sims["U-RTU"].set_points("CB1", {"reclose_failure": 1, "switch_closed": 0}, at=soon(2))
    sims["U-FTU"].set_point("K1", "switch_closed", 0, at=soon(30))
    wait_until(lambda: len(events(sessions)) == n + 5, timeout=5)
    fi = next(e for e in events(sessions)[n:] if e.kind == "indicator_report")
    assert fi.payload["fault_phases"] == ["C"]
    assert "switch_closed" not in fi.payload
    kinds = sorted((e.kind, e.device_id) for e in events(sessions)[n:])
    assert kinds == [
        ("breaker_reclose", "CB1"),
        ("breaker_trip", "CB1"),
        ("indicator_report", "D1"),
        ("switch_position", "CB1"),
        ("switch_position", "K1"),
    ]


def test_a_dropped_link_reconnects_reinterrogates_and_loses_or_repeats_nothing(
    sims: dict[str, SimulatedOutstation], master_of: Any, sessions: Sessions
) -> None:
    sim = sims["U-FTU"]
    master, intake = master_of(["U-FTU"])
    interrogated(master, "U-FTU")
    sim.set_point("D2", "earth_fault", 1, at=soon(5))
    wait_until(lambda: len(events(sessions)) == 3, timeout=5)
    sim.drop_connections()
    interrogated(master, "U-FTU", 2)  # unchanged state: the same events, counted duplicates
    assert len(events(sessions)) == 3
    assert intake.counts().duplicates == 2  # D2's report and K1's position
    assert sim.connections_accepted == 2
    assert len(sim.clock_syncs) == 2
    # a change while the link is down reaches the master through the next interrogation
    sim.stop()
    wait_until(lambda: not master.status()["U-FTU"].connected, timeout=5)
    sim.set_point("D2", "load_current_a", 300.0, at=soon(6))
    sim.start()
    interrogated(master, "U-FTU", 3)
    stored = events(sessions)
    assert len(stored) == 4
    assert stored[-1].payload["measurements"]["load_current_a"] == 300.0
    assert stored[-1].payload["earth_fault"] is True
    assert master.status()["U-FTU"].connections == 3


def test_an_unknown_address_is_dead_lettered(
    sims: dict[str, SimulatedOutstation], master_of: Any, sessions: Sessions
) -> None:
    master, intake = master_of(["U-FTU"])
    interrogated(master, "U-FTU")
    sims["U-FTU"].send_raw(999, 1, at=soon())
    wait_until(lambda: intake.counts().rejected_total == 1, timeout=5)
    with sessions() as session:
        (letter,) = session.scalars(select(DeadLetter))
    assert (letter.source, letter.channel, letter.reason) == (
        "iec104",
        "iec104:U-FTU",
        "unknown_point",
    )
    assert "IOA 999" in letter.detail
    assert "U-FTU" in letter.detail
