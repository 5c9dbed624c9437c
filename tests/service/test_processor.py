"""Events to outage records on SQLite and PostgreSQL: faults, recloses, step restoration,
trouble calls, crew status; exactly once, and the live state rebuilt after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openoms.events import Event, EventKind, EventSource
from openoms.grid.native import write_csv_folder
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind, OutageRecord
from openoms.service.context import ServiceContext
from openoms.service.processor import EventProcessor
from openoms.service.runtime import build_context
from openoms.settings import Settings
from openoms.store import eventlog, outages
from tests.grid.small import small_raw

T0 = datetime(2026, 11, 28, 0, 12, tzinfo=UTC)


@pytest.fixture
def context(database_url: str, tmp_path: Path) -> Iterator[ServiceContext]:
    write_csv_folder(small_raw(), tmp_path / "small")
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, network=str(tmp_path / "small")
    )
    built = build_context(settings, clock=lambda: T0 + timedelta(hours=12))
    yield built
    built.dispose()


def _event(kind: EventKind, device: str | None, minutes: float, **payload: Any) -> Event:
    return Event(kind, EventSource.HTTP, device, T0 + timedelta(minutes=minutes), payload)


def _feed(context: ServiceContext, *events: Event) -> EventProcessor:
    processor = EventProcessor(context)
    with context.sessions.begin() as session:
        eventlog.append_events(session, events, received_at=T0)
    while processor.process_pending():
        pass
    return processor


def _outages(context: ServiceContext) -> list[OutageRecord]:
    with context.sessions() as session:
        return outages.list_outages(session, limit=100)


def _closed(context: ServiceContext, device: str) -> bool:
    edge = context.network.edge_index(device)
    assert edge is not None
    return bool(context.analyser.topology.closed[edge])


def test_lockout_makes_a_fault_outage_with_its_impact(context: ServiceContext) -> None:
    _feed(context, _event(EventKind.BREAKER_TRIP, "CB1", 0, lockout=True))
    [outage] = _outages(context)
    assert (outage.kind, outage.state, outage.operated_device, outage.feeder_id) == (
        OutageKind.FAULT,
        OutageState.DETECTED,
        "CB1",
        "F1",
    )
    assert {a.element_id for a in outage.areas} == {"TA1", "TA2", "TA3", "HV1"}
    assert outage.customers_off == 40 + 35 + 20 + 1
    assert "李村敬老院" in outage.summary["zh"]
    assert not _closed(context, "CB1")


def test_successful_reclose_is_a_momentary_record(context: ServiceContext) -> None:
    _feed(
        context,
        _event(EventKind.BREAKER_TRIP, "CB3", 0, lockout=False),
        _event(EventKind.BREAKER_RECLOSE, "CB3", 0.02, success=True),
    )
    [outage] = _outages(context)
    assert outage.momentary
    assert outage.state is OutageState.RESTORED
    assert outage.started_at == T0
    [area] = outage.areas
    assert area.element_id == "TA5"
    assert area.restored_at == T0 + timedelta(minutes=0.02)
    assert outage.steps[0].how == "reclose"
    assert _closed(context, "CB3")


def test_isolation_and_repair_restore_in_two_steps(context: ServiceContext) -> None:
    _feed(
        context,
        _event(EventKind.BREAKER_TRIP, "CB1", 0, lockout=True),
        _event(EventKind.SWITCH_POSITION, "K1", 30, closed=False),
        _event(EventKind.SWITCH_POSITION, "CB1", 32, closed=True),
    )
    [outage] = _outages(context)
    assert outage.state is OutageState.PARTLY_RESTORED
    back = {a.element_id: a.restored_in_step for a in outage.areas}
    assert back == {"TA1": 1, "TA3": 1, "TA2": None, "HV1": None}
    _feed(context, _event(EventKind.SWITCH_POSITION, "K1", 150, closed=True))
    [outage] = _outages(context)
    assert outage.state is OutageState.RESTORED
    assert [s.areas_restored for s in outage.steps] == [2, 2]
    assert outage.restored_at == T0 + timedelta(minutes=150)


def test_trouble_calls_attach_or_open_a_customer_record(context: ServiceContext) -> None:
    # TA2 is off in the lockout's outage: attached. TA5 (30 LV customers) on supply, a lone
    # caller: S(TA5) = ln 100 + 29 ln(0.9/0.999) = 1.58 ≤ ln 10 → customer-side, ONE customer
    # counted (docs/calls.md; tests/service/test_calls.py has the rest of the call analysis).
    _feed(
        context,
        _event(EventKind.BREAKER_TRIP, "CB1", 0, lockout=True),
        _event(EventKind.TROUBLE_CALL, None, 5, transformer_area="TA2"),
        _event(EventKind.TROUBLE_CALL, None, 6, transformer_area="TA5"),
    )
    records = _outages(context)
    assert sorted(r.kind for r in records) == [OutageKind.CUSTOMER, OutageKind.FAULT]
    customer = next(r for r in records if r.kind is OutageKind.CUSTOMER)
    assert [(a.element_id, a.customers) for a in customer.areas] == [("TA5", 1)]
    with context.sessions() as session:
        outcomes = [e.outcome for e in _all_events(session)]
    fault = next(r.id for r in records if r.kind is OutageKind.FAULT)
    assert any(o.startswith(f"call attached to outage {fault}") for o in outcomes)
    assert f"customer-side call: outage {customer.id} (1 customer, no line crew)" in outcomes


def _all_events(session: Any) -> list[Any]:
    from sqlalchemy import select

    from openoms.store.tables import EventRow

    return list(session.scalars(select(EventRow).order_by(EventRow.id)))


def test_crew_status_moves_the_lifecycle_and_bad_reports_do_not_stop_the_stream(
    context: ServiceContext,
) -> None:
    _feed(context, _event(EventKind.BREAKER_TRIP, "CB1", 0, lockout=True))
    [outage] = _outages(context)
    _feed(
        context,
        _event(
            EventKind.CREW_STATUS,
            None,
            8,
            outage_id=outage.id,
            status="crew_dispatched",
            crew="城关抢修一班",
        ),
        _event(
            EventKind.CREW_STATUS,
            None,
            9,
            outage_id=outage.id,
            status="closed",
            crew="城关抢修一班",
        ),
        _event(
            EventKind.CREW_STATUS,
            None,
            30,
            outage_id=outage.id,
            status="crew_on_site",
            crew="城关抢修一班",
        ),
    )
    [outage] = _outages(context)
    assert outage.state is OutageState.CREW_ON_SITE
    assert outage.crew == "城关抢修一班"
    with context.sessions() as session:
        outcomes = [e.outcome for e in _all_events(session)]
    assert any(o and o.startswith("crew status not applied") for o in outcomes)
    assert all(e is not None for e in outcomes)


def test_each_event_acts_once_and_a_restart_rebuilds_the_switch_states(
    context: ServiceContext, tmp_path: Path
) -> None:
    processor = _feed(
        context,
        _event(EventKind.BREAKER_TRIP, "CB1", 0, lockout=True),
        _event(EventKind.SWITCH_POSITION, "K1", 30, closed=False),
        _event(EventKind.BREAKER_TRIP, "CB3", 40, lockout=False),
    )
    assert processor.process_pending() == 0
    assert len(_outages(context)) == 1
    # A new process: same database, fresh topology; the log says what was done.
    again = build_context(context.settings, clock=context.clock)
    assert _closed(again, "CB1")  # the network file says closed ...
    restarted = EventProcessor(again)
    with again.sessions() as session:
        restarted.rebuild_live_state(session)
    assert not _closed(again, "CB1")  # ... the log says it tripped
    assert not _closed(again, "K1")
    # The pending trip of CB3 survived the restart: the reclose makes a momentary record.
    with again.sessions.begin() as session:
        eventlog.append_events(
            session, [_event(EventKind.BREAKER_RECLOSE, "CB3", 40.01, success=True)], received_at=T0
        )
    restarted.process_pending()
    momentary = [r for r in _outages(again) if r.momentary]
    again.dispose()
    assert len(momentary) == 1
    assert momentary[0].started_at == T0 + timedelta(minutes=40)
