"""``openoms reliability savings`` on outage records in the database (SQLite and PostgreSQL),
on the small network (tests/grid/small.py: feeder F1 is CB1 → s1 → D1 → K1/D2 → s2, 1 km each
zone; the zones below CB1 are CB1, D1 and D2, 3 km in all).

The case, by hand: CB1 locks out at 10:00; the crew SMS at 10:02 names region D2 (K1, s2:
1 km). FLISR opens K1 and re-closes CB1 at 10:05: TA1 (40) and TA3 (20) are back. The repair
ends at 13:00: TA2 (35) and the HV customer HV1 (1) are back.

Patrol at 3 km/h, found after half, 60 min per manual switch. Found with the location at
10:02 + 0.5 × 1 km / 3 km/h = 10:12; patrol-only walks 3 km instead of 1: 20 min later, 10:32,
switching back by hand from 11:32.
- TA1 + TA3: actual 5 min × 60 = 300; patrol-only 92 min × 60 = 5,520.
- TA2 + HV1: actual 180 min × 36 = 6,480; patrol-only 200 min × 36 = 7,200.
- Totals: actual 6,780; patrol-only 12,720; saved 5,940 customer-minutes.
A momentary outage of the same day is left out and counted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from openoms.cli import main
from openoms.faults.lifecycle import AlertState, FaultTrigger
from openoms.grid import network_from_raw
from openoms.outages.impact import ImpactAnalyser
from openoms.outages.records import OutageKind
from openoms.outages.summary import areas_of
from openoms.service.location_savings import fault_histories
from openoms.store import faults, networks, outages
from openoms.store.db import make_engine, make_session_factory
from tests.grid.small import small_raw

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing time


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _record_the_day(url: str) -> None:
    network = network_from_raw(small_raw())
    analyser = ImpactAnalyser(network)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            version, _ = networks.save_network_version(
                session, small_raw(), source="tests", actor="tests", now=T0, summary={}
            )
            impact = analyser.of_opening(["CB1"])
            outage = outages.create_outage(
                session,
                kind=OutageKind.FAULT,
                network_version_id=version,
                started_at=T0,
                actor="system",
                feeder_id="F1",
                operated_device="CB1",
                areas=areas_of(impact, at=T0),
                summary={},
                now=T0,
            )
            opened = analyser.topology.closed.nonzero()[0]
            open_edges = [e for e in range(network.n_edges) if e not in set(opened.tolist())]
            event = faults.create_fault_event(
                session,
                feeder_id="F1",
                trigger=FaultTrigger.TRIP,
                t0=T0,
                open_edges=open_edges,
                received_at=T0,
                now=T0,
                breaker="CB1",
                lockout=True,
            )
            faults.update_fault_event(
                session,
                event,
                now=at(2),
                outage_id=outage,
                location={"feeder": "F1", "region": ["D2"], "best": ["D2"]},
                located_zone="D2",
                alert_state=AlertState.SENT,
                alerted_zone="D2",
                alerted_at=at(2),
            )
            outages.add_restoration_step(
                session, outage, element_ids=["TA1", "TA3"], at=at(5), how="flisr", actor="system"
            )
            outages.add_restoration_step(
                session, outage, element_ids=["TA2", "HV1"], at=at(180), how="repair", actor="班长"
            )
            outages.create_outage(
                session,
                kind=OutageKind.FAULT,
                network_version_id=version,
                started_at=at(400),
                actor="system",
                feeder_id="F3",
                operated_device="CB3",
                momentary=True,
                now=at(400),
            )
    finally:
        engine.dispose()


def test_the_records_give_the_hand_figures(database_url: str) -> None:
    _record_the_day(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            read = fault_histories(
                session, network_from_raw(small_raw()), start=at(-60), end=at(24 * 60)
            )
    finally:
        engine.dispose()
    assert read.momentary == 1
    assert read.not_in_network == 0
    (history,) = read.histories
    assert history.feeder == "甲Ⅰ线"
    assert history.located
    assert history.located_at == at(2)
    assert history.patrolled_km == pytest.approx(3.0)
    assert history.region_km == pytest.approx(1.0)
    switched = {a.area for a in history.areas if a.by_switching}
    assert switched == {"TA1", "TA3"}

    env = {"OPENOMS_DATABASE_URL": database_url, "OPENOMS_CONFIG": ""}
    args = ["reliability", "savings", "--from", "2026-07-01", "--to", "2026-07-02"]
    result = CliRunner(env=env).invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["actual_customer_minutes"] == pytest.approx(6_780.0)
    assert out["patrol_only_customer_minutes"] == pytest.approx(12_720.0)
    assert out["saved_customer_minutes"] == pytest.approx(5_940.0)
    assert out["left_out"] == {"momentary": 1, "feeder_not_in_network": 0}
    assert out["period"]["from"] == "2026-07-01T00:00:00+08:00"
    zh = CliRunner(env=env).invoke(main, [*args, "--lang", "zh"], catch_exceptions=False)
    assert zh.stdout.splitlines()[0] == (
        "故障停电 1 次：实际 6,780 户·分钟，若仅靠人工巡线 12,720 户·分钟，"
        "定位与自愈节省 5,940 户·分钟（46.7 %）。"
    )
    assert "  甲Ⅰ线：节省 5,940 户·分钟" in zh.stdout
    faster = CliRunner(env=env).invoke(
        main, [*args, "--json", "--patrol-speed", "6"], catch_exceptions=False
    )
    # At 6 km/h: found at 10:02 + 5 min = 10:07, patrol-only 10 min later (10:17), switching
    # back from 11:17 → TA1 + TA3 77 min × 60 = 4,620; TA2 + HV1 190 × 36 = 6,840; 11,460.
    assert json.loads(faster.stdout)["patrol_only_customer_minutes"] == pytest.approx(11_460.0)


def test_a_bad_period_is_named(database_url: str) -> None:
    env = {"OPENOMS_DATABASE_URL": database_url, "OPENOMS_CONFIG": ""}
    result = CliRunner(env=env).invoke(
        main, ["reliability", "savings", "--from", "2026-13-01"], catch_exceptions=True
    )
    assert result.exit_code != 0
    assert "--from" in str(result.exception)
