"""What FLISR execution writes, on SQLite and PostgreSQL, without the IEC 104 links where they
are not needed: the restoration steps' momentary / sustained accounting checked against the
reliability figures by hand, two executions that may not hold the same switches, and a
restart with a command in flight (reported, never sent again: checked against a simulated
outstation that records every command it receives).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hat.drivers import iec104
from sqlalchemy.orm import Session, sessionmaker

from openoms.grid import network_from_raw
from openoms.grid.model import Network
from openoms.ingest.iec104 import Iec104Master
from openoms.ingest.iec104_sim import SimulatedOutstation
from openoms.ingest.intake import Intake
from openoms.outages.records import AreaOff, OutageKind
from openoms.service.reliability import Source, run_reliability
from openoms.service.runtime import build_context
from openoms.service.switching_exec import (
    SwitchingExecutor,
    interruption_of,
    queue_execution,
    restoration_how,
)
from openoms.settings import Settings
from openoms.store import outages as outage_store
from openoms.store import restoration_plans as plan_store
from openoms.store import switching as store
from openoms.store.db import make_engine, make_session_factory
from openoms.store.networks import save_network_version
from tests.ingest.conftest import wait_until
from tests.restoration.execution_county import county_with_commands
from tests.restoration.networks import flisr_raw

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
Sessions = sessionmaker[Session]


@pytest.fixture
def sessions(database_url: str) -> Iterator[Sessions]:
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def network() -> Network:
    return network_from_raw(flisr_raw())


def _outage(session: Session, areas: list[AreaOff], *, at: datetime = T0) -> int:
    version_id, _ = save_network_version(
        session, flisr_raw(), source="flisr", actor="admin", now=at, summary={}
    )
    return outage_store.create_outage(
        session,
        kind=OutageKind.FAULT,
        network_version_id=version_id,
        started_at=at,
        actor="system",
        feeder_id="F1",
        operated_device="CB1",
        areas=areas,
        now=at,
    )


def _plan(revision: int, *devices: str, receiving: tuple[str, ...] = ()) -> dict[str, object]:
    steps = [{"device": d, "close": False} for d in devices]
    return {"revision": revision, "steps": steps, "receiving_feeders": list(receiving)}


def _command(
    session: Session, execution_id: int, device: str, *, close: bool, at: datetime
) -> None:
    """A confirmed command on ``device`` (what the executor writes around ``operate``)."""
    execution = store.execution_of(session, execution_id)
    command = store.record_intent(
        session, execution, step=1, device=device, close=close, unit="U", ioa=24577,
        asdu_type="C_DC_NA_1", at=at, actor="system",
    )  # fmt: skip
    store.record_outcome(
        session, command, ok=True, stage="done", reason=None, reason_zh=None, outcome={}, at=at
    )


def test_flisr_steps_count_as_momentary_and_the_figures_agree_by_hand(
    sessions: Sessions, network: Network
) -> None:
    """Fault on s1 of the FLISR test network (tests/restoration/networks.py): TA1 (50
    customers) is in the faulted zone, TA2–TA6 (80 + 40 + 60 + 70 + 30 = 280) come back by
    FLISR through T1 at T0 + 90 s, TA1 by repair at T0 + 2 h. The network has 530 customers
    (50 + 80 + 40 + 60 + 70 + 30 + 100 + 100). IEEE 1366 with the default threshold (5 min,
    longer is sustained): SAIFI = 50 / 530 = 0.094340, SAIDI = 50 × 120 / 530 = 11.3208 min,
    MAIFI = 280 / 530 = 0.528302 (one momentary interruption each)."""
    settings = Settings()
    areas = [
        AreaOff(ta, "transformer_area", n, "李村", T0)
        for ta, n in (("TA1", 50), ("TA2", 80), ("TA3", 40), ("TA4", 60), ("TA5", 70),
                      ("TA6", 30))
    ]  # fmt: skip
    back = T0 + timedelta(seconds=90)
    with sessions.begin() as session:
        outage_id = _outage(session, areas)
        execution = queue_execution(
            session, outage_id, _plan(1, "K1", "T1"), mode="automatic", at=T0, actor="system",
            role="system",
        )  # fmt: skip
        _command(session, execution["id"], "T1", close=True, at=back - timedelta(seconds=2))
        how, operations = restoration_how(settings, session, "T1", close=True, off_at=T0, at=back)
        assert how == "flisr"
        assert operations == [
            {"device": "T1", "close": True, "by": "flisr", "interruption": "momentary",
             "off_s": 90.0}
        ]  # fmt: skip
        outage_store.add_restoration_step(
            session, outage_id, element_ids=["TA2", "TA3", "TA4", "TA5", "TA6"], at=back,
            how=how, operations=operations, actor="system",
        )  # fmt: skip
        repaired = T0 + timedelta(hours=2)
        how, operations = restoration_how(
            settings, session, "CB1", close=True, off_at=T0, at=repaired
        )
        assert (how, operations) == ("switching", [{"device": "CB1", "close": True}])
        outage_store.add_restoration_step(
            session, outage_id, element_ids=["TA1"], at=repaired, how="repair",
            operations=operations, actor="system",
        )  # fmt: skip
    start = int((T0 - timedelta(days=1)).timestamp())
    end = int((T0 + timedelta(days=1)).timestamp())
    with sessions() as session:
        run = run_reliability(
            session, network, start=start, end=end, settings=settings,
            now=T0 + timedelta(days=2), source=Source.RECORDS, med_threshold_min=1e9,
        )  # fmt: skip
    result = run.result
    assert result.index("saifi") == pytest.approx(50 / 530)
    assert result.index("saidi_min") == pytest.approx(50 * 120 / 530)
    assert result.index("momentary_interruptions") == 280
    assert result.index("maifi") == pytest.approx(280 / 530)


def test_the_threshold_itself_follows_the_operator() -> None:
    """Off for exactly 5 minutes: momentary with '>' (the default), sustained with '>='; a
    second more is sustained either way."""
    five = T0 + timedelta(minutes=5)
    inclusive = Settings(reliability_sustained_operator=">=")
    assert interruption_of(Settings(), off_at=T0, at=five) == "momentary"
    assert interruption_of(inclusive, off_at=T0, at=five) == "sustained"
    later = five + timedelta(seconds=1)
    assert interruption_of(Settings(), off_at=T0, at=later) == "sustained"
    assert interruption_of(inclusive, off_at=T0, at=five - timedelta(seconds=1)) == "momentary"


def test_two_executions_never_hold_the_same_switch_or_feeder(sessions: Sessions) -> None:
    with sessions.begin() as session:
        first = _outage(session, [AreaOff("TA1", "transformer_area", 50, None, T0)])
        second = _outage(session, [AreaOff("TA4", "transformer_area", 60, None, T0)])
        third = _outage(session, [AreaOff("TA6", "transformer_area", 30, None, T0)])
        running = queue_execution(
            session, first, _plan(1, "K1", "T1", receiving=("F2",)), mode="automatic", at=T0,
            actor="system", role="system",
        )  # fmt: skip
    with sessions.begin() as session, pytest.raises(store.ExecutionConflictError) as raised:
        queue_execution(
            session, second, _plan(1, "K3", "T1"), mode="advisory", at=T0, actor="调度员乙",
            role="dispatcher",
        )  # fmt: skip
    assert raised.value.reason == "executing"
    assert raised.value.details["shared"] == ["T1"]
    assert raised.value.details["other_outage_ids"] == [first]
    with sessions.begin() as session, pytest.raises(store.ExecutionConflictError) as raised:
        queue_execution(  # another plan fed from the same receiving feeder
            session, third, _plan(1, "K3", receiving=("F2",)), mode="advisory", at=T0,
            actor="调度员乙", role="dispatcher",
        )  # fmt: skip
    assert raised.value.details["shared"] == ["feeder:F2"]
    with sessions.begin() as session, pytest.raises(store.ExecutionConflictError) as raised:
        queue_execution(  # the same outage's plan twice
            session, first, _plan(1, "K2"), mode="advisory", at=T0, actor="调度员乙",
            role="dispatcher",
        )  # fmt: skip
    assert "already being executed" in str(raised.value)
    with sessions.begin() as session:  # once the first is over, the second may go
        store.finish_execution(session, running["id"], state="done", note=None, at=T0)
        queued = queue_execution(
            session, second, _plan(1, "K3", "T1"), mode="advisory", at=T0, actor="调度员乙",
            role="dispatcher",
        )  # fmt: skip
    assert queued["state"] == "queued"


def test_a_restart_reports_the_command_in_flight_and_never_sends_it_again(
    tmp_path: Path, database_url: str
) -> None:
    county_with_commands(tmp_path / "county")
    context = build_context(
        Settings(data_dir=tmp_path, database_url=database_url, network=str(tmp_path / "county"))
    )
    unit = "TU-CG-F01-K04-DTU"
    sim = SimulatedOutstation(unit, context.network)
    sim.start()
    master = Iec104Master(Intake(context.sessions, context.network, utility="t"),
                          context.network, units=[unit], reconnect_s=0.1)  # fmt: skip
    master.start()
    try:
        wait_until(lambda: master.status()[unit].interrogations >= 1)
        with context.sessions.begin() as session:  # what the executor had written before dying
            outage_id = _outage_county(session, context.network_version_id)
            execution = queue_execution(
                session, outage_id, _plan(1, "CG-F01-K04", "CG-F01-K05"), mode="automatic",
                at=T0, actor="system", role="system",
            )  # fmt: skip
            store.set_execution(session, execution["id"], state="running")
            row = store.execution_of(session, execution["id"])
            store.record_intent(
                session, row, step=1, device="CG-F01-K04", close=False, unit=unit, ioa=24577,
                asdu_type="C_DC_NA_1", at=T0, actor="system",
            )  # fmt: skip
        executor = SwitchingExecutor(context, master)
        reported = executor.recover()
        assert [(r["outage_id"], r["device"]) for r in reported] == [(outage_id, "CG-F01-K04")]
        assert executor.run_once() == 0  # nothing left to carry out
        with context.sessions() as session:
            [command] = store.commands_of(session, outage_id)
            [ended] = store.executions_of(session, outage_id)
        assert command["state"] == "unconfirmed"
        assert "Not sent again" in command["reason"]
        assert "不会重发" in command["reason_zh"]
        assert ended["state"] == "interrupted"
        assert "recompute" in ended["note"]["en"]
        sent = [m for m in sim.received_commands if isinstance(m, iec104.CommandMsg)]
        assert sent == []
        assert sim.operations == []
        with context.sessions.begin() as session:  # what it held is free again
            queue_execution(
                session, outage_id, _plan(2, "CG-F01-K04"), mode="advisory", at=T0,
                actor="调度员甲", role="dispatcher",
            )  # fmt: skip
    finally:
        master.stop()
        sim.stop()
        context.dispose()


def _outage_county(session: Session, version_id: int) -> int:
    return outage_store.create_outage(
        session,
        kind=OutageKind.FAULT,
        network_version_id=version_id,
        started_at=T0,
        actor="system",
        feeder_id="CG-F01",
        operated_device="CG-F01-K01",
        now=T0,
    )


def test_the_interlock_refuses_to_close_onto_the_faulted_section(
    tmp_path: Path, database_url: str
) -> None:
    """A plan that would re-close 城关Ⅰ线901开关 (K01) while the faulted cable S0004 is not
    isolated (K04 and K05 still closed): the executor refuses before sending anything."""
    county_with_commands(tmp_path / "county")
    context = build_context(
        Settings(data_dir=tmp_path, database_url=database_url, network=str(tmp_path / "county"))
    )
    master = Iec104Master(
        Intake(context.sessions, context.network, utility="t"), context.network, units=["TU-CG"]
    )  # fmt: skip (never started)
    try:
        k01 = context.network.edge_index("CG-F01-K01")
        assert k01 is not None
        with context.lock:
            context.analyser.topology.operate([(k01, False)])  # the lockout
        step = {"number": 1, "device": "CG-F01-K01", "name": "城关Ⅰ线901开关", "close": True,
                "operation": "close", "remote": True, "action": "restore_upstream"}  # fmt: skip
        plan = {"steps": [step], "region": ["CG-F01-S0004"], "customers_restored": 496}
        with context.sessions.begin() as session:
            outage_id = _outage_county(session, context.network_version_id)
            stored = plan_store.save_plan(session, outage_id, plan, at=T0, actor="system")
            queue_execution(
                session, outage_id, stored, mode="automatic", at=T0, actor="system",
                role="system",
            )  # fmt: skip
        assert SwitchingExecutor(context, master).run_once() == 1
        with context.sessions() as session:
            [execution] = store.executions_of(session, outage_id)
            assert store.commands_of(session, outage_id) == []  # nothing sent
        assert execution["state"] == "stopped"
        assert "would energise the faulted section" in execution["note"]["en"]
        assert "送电至故障区段" in execution["note"]["zh"]
    finally:
        context.dispose()
