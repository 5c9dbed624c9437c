"""Imported history in the database (SQLite and PostgreSQL), and interruptions from OpenOMS's
own outage records, with the customer-hours kept on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.grid import network_from_raw
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import AreaOff, OutageKind
from openoms.reliability.base import (
    customer_base_from_network,
    merge_bases,
    parse_customer_base,
)
from openoms.reliability.data import CustomerBase, OutageClass, RestoredBy
from openoms.reliability.history_csv import HistoryRows, parse_history
from openoms.store import history, networks, outages
from openoms.store.db import make_engine, make_session_factory
from openoms.store.tables import ReliabilityHistoryRow, ReliabilityImport
from tests.grid.small import small_raw

T0 = datetime(2024, 3, 5, 0, 15, tzinfo=UTC)  # 08:15 in Asia/Shanghai
S0 = int(T0.timestamp())
FILE = """event_id,unit_id,customers,start,step_end,class,cause,restored_by,avoided_hours
E1,TA1,40,2024-03-05 08:15:00,2024-03-05 09:15:00,fault_internal,tree,,
E1,TA2,35,2024-03-05 08:15:00,2024-03-05 08:16:00,fault_internal,tree,flisr,1.5
E2,OLD1,100,2024-04-01 10:00:00,2024-04-01 12:00:00,planned,maintenance,,
"""
BASE = "unit_id,customers,kva,feeder,substation,grid_cell,village\nOLD1,120,315,F9,S9,,\n"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def network_base() -> CustomerBase:
    return customer_base_from_network(network_from_raw(small_raw()))


def _import(
    session: Session, network_base: CustomerBase, text: str = FILE, sha: str = "a" * 64
) -> tuple[history.ImportInfo, HistoryRows]:
    known = history.history_base(session, network_base)
    units = parse_customer_base(csv.reader(io.StringIO(BASE)), source="base.csv")
    new = units if "OLD1" not in known.unit_id else None
    base = known if new is None else merge_bases(known, new, source="base.csv")
    rows = parse_history(csv.reader(io.StringIO(text)), base, source="h.csv")
    info = history.import_history(
        session,
        rows,
        base,
        source="h.csv",
        content_sha256=sha,
        timezone="Asia/Shanghai",
        actor="tests",
        now=T0,
        new_units=new,
        base_source="base.csv",
    )
    return info, rows


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ReliabilityHistoryRow)) or 0


def test_an_import_reads_back_the_same_rows(
    sessions: sessionmaker[Session], network_base: CustomerBase
) -> None:
    with sessions.begin() as session:
        info, parsed = _import(session, network_base)
    assert (info.rows, info.events, info.source, info.timezone) == (3, 2, "h.csv", "Asia/Shanghai")
    assert info.first_start == T0
    with sessions.begin() as session:
        base = history.history_base(session, network_base)
        assert base.unit_id[-1] == "OLD1"  # the stored customer-base unit
        loaded = history.load_history(session, base, start=S0, end=S0 + 40 * 86_400)
    for field in ("customers", "start", "end", "outage_class", "restored_by", "avoided_hours"):
        assert getattr(loaded, field).tolist() == getattr(parsed, field).tolist(), field
    assert [base.unit_id[u] for u in loaded.unit.tolist()] == ["TA1", "TA2", "OLD1"]
    assert [loaded.event_ids[e] for e in loaded.event.tolist()] == ["E1", "E1", "E2"]
    with sessions.begin() as session:  # the period filters by start: E2 began on 1 April
        march = history.load_history(session, base, start=S0, end=S0 + 86_400)
    assert len(march) == 2


def test_the_same_file_or_an_imported_event_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session], network_base: CustomerBase
) -> None:
    with sessions.begin() as session:
        first, _ = _import(session, network_base)
    duplicate = f"as import {first.id} from h.csv"
    with pytest.raises(history.DuplicateImportError, match=duplicate), sessions.begin() as session:
        _import(session, network_base)
    other = FILE.replace("E2,", "E3,")  # a different file that repeats event E1
    clash = "event 'E1' is already in import"
    with pytest.raises(history.DuplicateImportError, match=clash), sessions.begin() as session:
        _import(session, network_base, other, sha="b" * 64)
    with sessions.begin() as session:
        assert _count(session) == 3
        assert len(history.list_imports(session)) == 1
        history.delete_import(session, first.id)
    with sessions.begin() as session:
        assert _count(session) == 0
        assert session.scalar(select(func.count()).select_from(ReliabilityImport)) == 0
        second, _ = _import(session, network_base, other, sha="b" * 64)  # now it goes in
    assert second.rows == 3


def _store_outages(session: Session) -> tuple[int, int, int]:
    version, _ = networks.save_network_version(
        session, small_raw(), source="tests", actor="tests", now=T0, summary={}
    )

    def area(unit: str, customers: int, kind: str = "transformer_area") -> AreaOff:
        return AreaOff(unit, kind, customers, None, T0)

    fault = outages.create_outage(
        session,
        kind=OutageKind.FAULT,
        network_version_id=version,
        started_at=T0,
        actor="tests",
        cause="tree",
        areas=[area("TA1", 40), area("TA2", 35), area("HV1", 1, "hv_customer")],
        now=T0,
    )
    # FLISR brings TA1 back after 1 min; the repair brings TA2 back after 2 h; HV1 stays off
    outages.add_restoration_step(
        session,
        fault,
        element_ids=["TA1"],
        at=T0 + timedelta(minutes=1),
        how="flisr",
        actor="tests",
    )
    outages.add_restoration_step(
        session,
        fault,
        element_ids=["TA2"],
        at=T0 + timedelta(hours=2),
        how="repair",
        actor="tests",
    )
    live = outages.create_outage(
        session,
        kind=OutageKind.PLANNED,
        network_version_id=version,
        started_at=T0 + timedelta(days=1),
        actor="tests",
        cause="live_line 带电作业",
        areas=[AreaOff("TA4", "transformer_area", 50, None, T0 + timedelta(days=1))],
        now=T0,
    )
    outages.add_restoration_step(
        session,
        live,
        element_ids=["TA4"],
        at=T0 + timedelta(days=1, hours=3),
        how="live_line",
        actor="tests",
    )
    cancelled = outages.create_outage(
        session,
        kind=OutageKind.PLANNED,
        network_version_id=version,
        started_at=T0 + timedelta(days=2),
        actor="tests",
        areas=[AreaOff("TA5", "transformer_area", 30, None, T0 + timedelta(days=2))],
        now=T0,
    )
    outages.transition_outage(session, cancelled, OutageState.CANCELLED, at=T0, actor="tests")
    return fault, live, cancelled


def test_outage_records_become_rows_with_the_documented_rules(
    sessions: sessionmaker[Session], network_base: CustomerBase
) -> None:
    with sessions.begin() as session:
        fault, live, _ = _store_outages(session)
    now = T0 + timedelta(hours=5)
    with sessions.begin() as session:
        found = history.interruptions_from_outages(
            session, network_base, start=S0, end=S0 + 7 * 86_400, now=now
        )
    rows = found.rows
    assert found.outages == 2  # the cancelled one does not count
    assert found.open_rows == 1  # HV1 is still off: it ends at now (5 h)
    assert found.unknown_units == ()
    units = [network_base.unit_id[u] for u in rows.unit.tolist()]
    assert units == ["TA1", "TA2", "HV1", "TA4"]
    assert rows.source_row.tolist() == [fault, fault, fault, live]
    assert rows.customers.tolist() == [40, 35, 1, 50]
    assert (rows.end - rows.start).tolist() == [60, 7_200, 5 * 3_600, 0]
    assert rows.outage_class.tolist() == [OutageClass.FAULT_INTERNAL] * 3 + [OutageClass.PLANNED]
    assert rows.restored_by.tolist() == [
        RestoredBy.AUTOMATIC,
        RestoredBy.REPAIR,
        RestoredBy.REPAIR,
        RestoredBy.LIVE_LINE,
    ]
    # avoided: TA1's 40 customers would have waited for the last restoration; the fault is
    # not restored yet (HV1 off), so no figure for FLISR; the live-line outage kept TA4's
    # 50 customers on for its 3 h: 150 customer-hours, and TA4 is not an interruption
    assert rows.avoided_hours.tolist() == [0.0, 0.0, 0.0, 3.0]
    assert len(rows.interruptions()) == 3
    avoided = rows.avoided()
    assert float((avoided.customers * avoided.hours).sum()) == 150.0


def test_flisr_hours_saved_count_up_to_the_last_restoration(
    sessions: sessionmaker[Session], network_base: CustomerBase
) -> None:
    with sessions.begin() as session:
        fault, _, _ = _store_outages(session)
        outages.add_restoration_step(
            session,
            fault,
            element_ids=["HV1"],
            at=T0 + timedelta(hours=4),
            how="repair",
            actor="tests",
        )
    with sessions.begin() as session:
        found = history.interruptions_from_outages(
            session, network_base, start=S0, end=S0 + 86_400, now=T0 + timedelta(days=9)
        )
    # the last area came back at 4 h; TA1 was back by FLISR at 1 min: 40 × (4 h − 1 min)
    rows = found.rows
    assert found.open_rows == 0
    assert rows.avoided_hours.tolist()[0] == pytest.approx(4 - 1 / 60)
    avoided = rows.avoided()
    assert float((avoided.customers * avoided.hours).sum()) == pytest.approx(40 * (4 - 1 / 60))


def test_live_line_work_in_progress_is_kept_on_up_to_now(
    sessions: sessionmaker[Session], network_base: CustomerBase
) -> None:
    with sessions.begin() as session:
        version, _ = networks.save_network_version(
            session, small_raw(), source="tests", actor="tests", now=T0, summary={}
        )
        outages.create_outage(
            session,
            kind=OutageKind.PLANNED,
            network_version_id=version,
            started_at=T0,
            actor="tests",
            cause="带电作业",
            areas=[AreaOff("TA5", "transformer_area", 30, None, T0)],
            now=T0,
        )
    with sessions.begin() as session:
        found = history.interruptions_from_outages(
            session, network_base, start=S0, end=S0 + 86_400, now=T0 + timedelta(hours=2)
        )
    # TA5's 30 customers kept on for the 2 h so far: 60 customer-hours, no interruption
    assert found.open_rows == 0
    assert len(found.rows.interruptions()) == 0
    avoided = found.rows.avoided()
    assert float((avoided.customers * avoided.hours).sum()) == 60.0
