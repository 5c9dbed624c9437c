"""The master's select-before-operate commands against an independent outstation: lib60870
through ``c104`` (test-only), whose command points run select-and-execute themselves
(``CommandMode.SELECT_AND_EXECUTE``: lib60870 confirms the select and refuses an execute
without one; the callback is called for the execute) and answer the execute with the
callback's SUCCESS / FAILURE. The commands as received are read from c104's raw-message
callback (type 46, the S/E bit of the DCO). The callback moves the switch: its
``switch_closed`` point (M_DP_TB_1) is set and sent spontaneously, which is the feedback the
master waits for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import c104
import pytest

from openoms.grid.model import Network
from openoms.ingest.iec104 import CommandStage, Iec104Master
from openoms.ingest.intake import Intake
from tests.ingest.conftest import Sessions, wait_until
from tests.ingest.iec104_network import free_port
from tests.ingest.test_iec104_c104 import C104Unit
from tests.ingest.test_iec104_commands import command_network


class SwitchingUnit(C104Unit):
    """U-FTU with K1's command point (C_DC_NA_1 at 24577, select-and-execute)."""

    def __init__(self, net: Network) -> None:
        super().__init__(net, "U-FTU")
        station = self.server.get_station(common_address=1)
        assert station is not None
        command = station.add_point(
            io_address=24577,
            type=c104.Type.C_DC_NA_1,
            command_mode=c104.CommandMode.SELECT_AND_EXECUTE,
        )
        assert command is not None
        self.refuse = False
        self.move = True
        self.seen: list[tuple[bool, bool]] = []  # (select, close) of every command executed
        self.received: list[tuple[bool, int]] = []  # (select, DCS) of every C_DC_NA_1 received
        self._seen_lock = threading.Lock()

        def on_receive_raw(server: c104.Server, data: bytes) -> None:
            apdu = bytes(data)
            if len(apdu) > 15 and apdu[6] == 46:  # APCI (6), ASDU header (6), IOA (3), DCO
                with self._seen_lock:
                    self.received.append((bool(apdu[15] & 0x80), apdu[15] & 0x03))

        on_receive_raw.__annotations__ = {"server": c104.Server, "data": bytes, "return": None}
        self.server.on_receive_raw(callable=on_receive_raw)

        def on_command(
            point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
        ) -> c104.ResponseState:
            close = point.value == c104.Double.ON
            with self._seen_lock:
                self.seen.append((message.is_select_command, close))
            if self.refuse:
                return c104.ResponseState.FAILURE
            if not message.is_select_command and self.move:
                self.send("K1", "switch_closed", 1 if close else 0, datetime.now(UTC))
            return c104.ResponseState.SUCCESS

        on_command.__annotations__ = {
            "point": c104.Point,
            "previous_info": c104.Information,
            "message": c104.IncomingMessage,
            "return": c104.ResponseState,
        }
        command.on_receive(callable=on_command)


@pytest.fixture
def net() -> Network:
    return command_network({u: free_port() for u in ("U-FTU", "U-FI", "U-RTU")})


@pytest.fixture
def unit(net: Network) -> Iterator[SwitchingUnit]:
    made = SwitchingUnit(net)
    made.server.start()
    yield made
    made.server.stop()


@pytest.fixture
def master(sessions: Sessions, net: Network) -> Iterator[Iec104Master]:
    started = Iec104Master(
        Intake(sessions, net, utility="t"),
        net,
        units=["U-FTU"],
        reconnect_s=0.1,
        feedback_timeout_s=1.0,
        termination_timeout_s=0.3,
    )
    started.start()
    wait_until(lambda: started.status()["U-FTU"].interrogations >= 1)
    yield started
    started.stop()


def test_c104_opens_and_closes_k1(unit: SwitchingUnit, master: Iec104Master) -> None:
    opened = master.operate("K1", close=False)
    assert opened.ok, opened.reason
    assert opened.stage is CommandStage.DONE
    closed = master.operate("K1", close=True)
    assert closed.ok, closed.reason
    assert unit.seen == [(False, False), (False, True)]
    # select then execute, DCS 1 (off) then 2 (on)
    assert unit.received == [(True, 1), (False, 1), (True, 2), (False, 2)]


def test_c104_refusal_is_a_failed_execute(unit: SwitchingUnit, master: Iec104Master) -> None:
    unit.refuse = True
    outcome = master.operate("K1", close=False)
    assert not outcome.ok
    assert outcome.stage is CommandStage.EXECUTE
    assert outcome.selected_at is not None  # lib60870 confirmed the select
    assert outcome.reason == "open K1: the unit refused the execute (negative confirmation)"
    assert unit.seen == [(False, False)]
    assert unit.received == [(True, 1), (False, 1)]  # nothing after the refusal


def test_c104_switch_that_does_not_move(unit: SwitchingUnit, master: Iec104Master) -> None:
    unit.move = False
    outcome = master.operate("K1", close=False)
    assert not outcome.ok
    assert outcome.stage is CommandStage.FEEDBACK
    assert outcome.executed_at is not None
    assert "no position feedback within 1 s" in (outcome.reason or "")
