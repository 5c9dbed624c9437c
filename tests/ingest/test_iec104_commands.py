"""The IEC 104 master's control direction against the simulated outstation: select-before-
operate single and double commands (and the time-tagged variants), the position feedback, and
each way a command fails (refused, stuck switch, no link), with the stage and the reason.

The network is the ingest tests' small one with command addresses added to the point table
(``switch_command`` / ``switch_command_timed`` rows, docs/formats.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hat.drivers import iec104
from sqlalchemy import select

from openoms.grid import network_from_raw
from openoms.grid.load import check_raw
from openoms.grid.model import Network
from openoms.ingest.iec104 import CommandStage, Iec104Master
from openoms.ingest.iec104_points import unit_points
from openoms.ingest.iec104_sim import SimulatedOutstation
from openoms.ingest.intake import Intake
from openoms.store.tables import EventRow
from tests.grid.small import small_raw
from tests.ingest.conftest import Sessions, wait_until
from tests.ingest.iec104_network import free_port, telecontrol_rows


def command_network(ports: dict[str, int]) -> Network:
    """K1 (FTU) takes double commands at IOA 24577; CB1 (RTU) time-tagged single commands."""
    rows = telecontrol_rows(ports)
    rows["telecontrol_points"] += [
        {"unit": "U-FTU", "ioa": 24577, "asdu_type": "double", "element": "K1",
         "point": "switch_command"},
        {"unit": "U-RTU", "ioa": 24577, "asdu_type": "single", "element": "CB1",
         "point": "switch_command_timed"},
    ]  # fmt: skip
    return network_from_raw(small_raw(rows))


@pytest.fixture
def net() -> Network:
    return command_network({u: free_port() for u in ("U-FTU", "U-FI", "U-RTU")})


@pytest.fixture
def sims(net: Network) -> Iterator[dict[str, SimulatedOutstation]]:
    made = {u: SimulatedOutstation(u, net) for u in ("U-FTU", "U-RTU")}
    for sim in made.values():
        sim.start()
    yield made
    for sim in made.values():
        sim.stop()


@pytest.fixture
def master(
    sessions: Sessions, net: Network, sims: dict[str, SimulatedOutstation]
) -> Iterator[Iec104Master]:
    """The master polling both units (stopped before them, so that no link drops under it
    while it writes)."""
    intake = Intake(sessions, net, utility="t")
    started = Iec104Master(
        intake,
        net,
        units=["U-FTU", "U-RTU"],
        reconnect_s=0.1,
        reconnect_max_s=0.5,
        feedback_timeout_s=0.5,
        termination_timeout_s=0.5,
    )
    started.start()
    yield started
    started.stop()


def connected(master: Iec104Master, *units: str) -> None:
    wait_until(lambda: all(master.status()[u].interrogations >= 1 for u in units))


def test_the_point_table_gives_the_command_addresses(net: Network) -> None:
    ftu, rtu = unit_points(net, "U-FTU"), unit_points(net, "U-RTU")
    k1, cb1 = ftu.commands["K1"], rtu.commands["CB1"]
    assert (k1.ioa, k1.type_id, k1.type_name, k1.feedback_ioa) == (24577, 46, "C_DC_NA_1", 5)
    assert (cb1.ioa, cb1.type_id, cb1.type_name, cb1.feedback_ioa) == (24577, 58, "C_SC_TA_1", 1)
    assert 24577 not in ftu.by_ioa  # a command address is no point the unit sends


def test_open_by_double_command_with_position_feedback(
    master: Iec104Master, sims: dict[str, SimulatedOutstation], sessions: Sessions
) -> None:
    connected(master, "U-FTU", "U-RTU")
    outcome = master.operate("K1", close=False)
    assert outcome.ok, outcome.reason
    assert outcome.stage is CommandStage.DONE
    assert outcome.terminated
    assert outcome.selected_at is not None
    assert outcome.executed_at is not None
    assert outcome.feedback_at is not None
    assert sims["U-FTU"].operations == [("K1", False)]
    commands = [m for m in sims["U-FTU"].received_commands if isinstance(m, iec104.CommandMsg)]
    assert [(type(m.command).__name__, m.command.select) for m in commands] == [
        ("DoubleCommand", True),
        ("DoubleCommand", False),
    ]
    assert all(m.command.value == iec104.DoubleValue.OFF and m.time is None for m in commands)

    def position_stored() -> bool:  # the feedback is also an ordinary switch_position event
        with sessions() as session:
            rows = session.scalars(
                select(EventRow).where(
                    EventRow.device_id == "K1", EventRow.kind == "switch_position"
                )
            ).all()
            return any(row.payload == {"closed": False} for row in rows)

    wait_until(position_stored)


def test_close_by_time_tagged_single_command(
    master: Iec104Master, sims: dict[str, SimulatedOutstation]
) -> None:
    connected(master, "U-FTU", "U-RTU")
    assert master.operate("CB1", close=False).ok
    outcome = master.operate("CB1", close=True)
    assert outcome.ok, outcome.reason
    assert outcome.type_name == "C_SC_TA_1"
    assert sims["U-RTU"].operations == [("CB1", False), ("CB1", True)]
    commands = [m for m in sims["U-RTU"].received_commands if isinstance(m, iec104.CommandMsg)]
    assert len(commands) == 4
    assert all(isinstance(m.command, iec104.SingleCommand) for m in commands)
    assert all(m.time is not None for m in commands)  # C_SC_TA_1 (58): CP56Time2a


def test_a_refused_select_fails_at_select(
    master: Iec104Master, sims: dict[str, SimulatedOutstation]
) -> None:
    connected(master, "U-FTU")
    sims["U-FTU"].fail("K1", "refuse")
    outcome = master.operate("K1", close=False)
    assert not outcome.ok
    assert outcome.stage is CommandStage.SELECT
    assert outcome.reason == "open K1: the unit refused the select (negative confirmation)"
    assert outcome.reason_zh == "拉开 K1：终端否定选择（否定确认）"
    assert sims["U-FTU"].operations == []
    sent = [m for m in sims["U-FTU"].received_commands if isinstance(m, iec104.CommandMsg)]
    assert len(sent) == 1  # never executed after a refused select


def test_a_stuck_switch_fails_for_want_of_feedback(
    master: Iec104Master, sims: dict[str, SimulatedOutstation]
) -> None:
    connected(master, "U-FTU")
    sims["U-FTU"].fail("K1", "stuck")
    outcome = master.operate("K1", close=False)
    assert not outcome.ok
    assert outcome.stage is CommandStage.FEEDBACK
    assert outcome.executed_at is not None
    assert outcome.reason == (
        "open K1: executed, but no position feedback within 0.5 s (the switch is closed)"
    )


def test_no_link_no_command(sessions: Sessions, net: Network) -> None:
    master = Iec104Master(Intake(sessions, net, utility="t"), net, units=["U-FTU"])
    master.start()
    try:
        outcome = master.operate("K1", close=True)  # nobody listens on the unit's port
    finally:
        master.stop()
    assert not outcome.ok
    assert outcome.stage is CommandStage.LINK
    assert outcome.reason == "close K1: unit U-FTU is not connected; nothing sent"


def test_a_switch_without_command_address(master: Iec104Master) -> None:
    assert master.command_ref("CB2") is None
    with pytest.raises(KeyError):
        master.operate("CB2", close=True)


def test_a_command_address_belongs_to_a_switch() -> None:
    rows = telecontrol_rows({"U-FTU": 1, "U-FI": 2, "U-RTU": 3})
    rows["telecontrol_points"].append(
        {"unit": "U-FTU", "ioa": 24578, "asdu_type": "single", "element": "D2",
         "point": "switch_command"}
    )  # fmt: skip
    result = check_raw(small_raw(rows))
    assert result.network is None
    [problem] = [p for p in result.problems if p.table == "telecontrol_points"]
    assert problem.field == "element"
    assert "switch_command is a switch's command address" in problem.message
