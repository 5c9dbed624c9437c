"""Trouble calls in the service, on the small network (tests/grid/small.py).

Feeder F1: CB1 ─ A1 ─s1─ A2 (TA1, 40) ─K1─ A3 (HV1) ─s2─ A4 (TA2, 35); A1 ─s3─ A5 ─FU1─ A6
(TA3, 20). With a = ln 100 = 4.605, b = ln(0.9/0.999) = −0.1044, λ = ln 10 = 2.303:

- TA2 alone, one caller: a + 34b = 1.057 ≤ λ → customer-side (one customer);
- then HV1 calls: HV1 alone a = 4.605 (− λ = 2.303); K1 (TA2 + HV1, 36 customers, 2
  callers) 2a + 34b = 5.662 (− λ = 3.359) > 2.303 → K1, which now explains the TA2 call too:
  the customer-side record is merged into K1's record;
- TA1 alone: a + 39b = 0.535 ≤ λ → customer-side; CB1 (96 customers, 3 callers):
  3a + 93b = 4.11 − λ = 1.81 < K1's 3.359 → K1 and the screened TA1 call stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openoms.errors import InputError
from openoms.events import Event, EventKind, EventSource
from openoms.grid.native import write_csv_folder
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind, OutageRecord
from openoms.service import calls as call_workflow
from openoms.service.context import ServiceContext
from openoms.service.processor import EventProcessor
from openoms.service.runtime import build_context
from openoms.settings import Settings
from openoms.store import eventlog, outages
from openoms.store.calls import CallLink
from openoms.store.tables import EventRow, TroubleCall
from tests.grid.small import small_raw

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


@pytest.fixture
def context(database_url: str, tmp_path: Path) -> Iterator[ServiceContext]:
    write_csv_folder(small_raw(), tmp_path / "small")
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, network=str(tmp_path / "small")
    )
    built = build_context(settings, clock=lambda: T0 + timedelta(hours=12))
    yield built
    built.dispose()


def _call(minutes: float, **payload: Any) -> Event:
    return Event(
        EventKind.TROUBLE_CALL, EventSource.HTTP, None, T0 + timedelta(minutes=minutes), payload
    )


def _feed(context: ServiceContext, *events: Event) -> list[str]:
    """Process ``events``; their outcomes."""
    processor = EventProcessor(context)
    with context.sessions.begin() as session:
        eventlog.append_events(session, events, received_at=T0)
    while processor.process_pending():
        pass
    keys = [e.idempotency_key for e in events]
    with context.sessions() as session:
        rows = session.scalars(select(EventRow).where(EventRow.idempotency_key.in_(keys)))
        by_key = {row.idempotency_key: str(row.outcome) for row in rows}
    return [by_key[k] for k in keys]


def _records(context: ServiceContext) -> dict[int, OutageRecord]:
    with context.sessions() as session:
        return {r.id: r for r in outages.list_outages(session, limit=100)}


def _links(context: ServiceContext) -> list[tuple[str | None, str, int | None, bool]]:
    with context.sessions() as session:
        rows = session.scalars(select(TroubleCall).order_by(TroubleCall.id))
        return [(r.element_id, r.link, r.outage_id, r.screened) for r in rows]


def test_a_lone_call_then_a_second_call_rolls_up_to_the_switch(context: ServiceContext) -> None:
    [first] = _feed(context, _call(0, transformer_area="TA2", account="0371-1"))
    [customer] = _records(context).values()
    assert first == f"customer-side call: outage {customer.id} (1 customer, no line crew)"
    assert customer.kind is OutageKind.CUSTOMER
    assert [(a.element_id, a.customers) for a in customer.areas] == [("TA2", 1)]

    [second] = _feed(context, _call(5, element_id="HV1"))
    records = _records(context)
    [predicted] = [r for r in records.values() if r.kind is OutageKind.FAULT]
    assert second == f"call in group 1: predicted K1 (outage {predicted.id}, 2 calls, predicted)"
    assert predicted.operated_device == "K1"
    assert predicted.feeder_id == "F1"
    assert predicted.state is OutageState.DETECTED
    assert sorted((a.element_id, a.customers) for a in predicted.areas) == [
        ("HV1", 1),
        ("TA2", 35),
    ]
    assert predicted.summary["prediction"]["status"] == "predicted"
    assert "K1" in predicted.summary["zh"]
    assert "2 个来电" in predicted.summary["zh"]
    assert "2 calls" in predicted.summary["en"]
    # the customer-side record is merged into the prediction that explains its call now
    merged = records[customer.id]
    assert (merged.state, merged.merged_into_id) == (OutageState.MERGED, predicted.id)
    assert _links(context) == [
        ("TA2", "predicted", predicted.id, False),
        ("HV1", "predicted", predicted.id, False),
    ]

    # TA1 (above K1, 40 customers), one caller: customer-side; K1 stays as it is
    [third] = _feed(context, _call(8, transformer_area="TA1"))
    assert third.startswith("customer-side call")
    assert [
        r.operated_device for r in _records(context).values() if r.kind is OutageKind.FAULT
    ] == ["K1"]
    # 17 minutes after the first call: a call from TA2 makes K1 probable (15 min)
    [fourth] = _feed(context, _call(17, transformer_area="TA2", account="0371-2"))
    assert fourth == f"call in group 1: predicted K1 (outage {predicted.id}, 3 calls, probable)"
    assert _records(context)[predicted.id].summary["prediction"]["status"] == "probable"


def test_calls_after_the_window_start_a_new_group(context: ServiceContext) -> None:
    # TA3 (20): one caller a + 19b = 2.622 > λ → TA3's own transformer (group 1). 31 minutes
    # later is more than the 30-minute window: TA1's lone call (a + 39b = 0.535 ≤ λ) starts
    # group 2 as a customer-side call; a call from TA3 then merges into TA3's open outage.
    outcomes = _feed(
        context,
        _call(0, transformer_area="TA3"),
        _call(31, transformer_area="TA1"),
        _call(32, transformer_area="TA3", account="x"),
    )
    [ta3] = [r for r in _records(context).values() if r.kind is OutageKind.FAULT]
    assert outcomes[0] == f"call in group 1: predicted TA3 (outage {ta3.id}, 1 calls, predicted)"
    assert outcomes[1].startswith("customer-side call")
    assert outcomes[2] == f"call attached to outage {ta3.id} (the caller's area is off in it)"
    with context.sessions() as session:
        rows = list(session.scalars(select(TroubleCall).order_by(TroubleCall.id)))
    assert [(r.group_id, r.link) for r in rows] == [
        (1, "predicted"),
        (2, "screened"),
        (None, "attached"),
    ]


def test_a_call_merges_into_an_open_outage_and_a_device_event_confirms(
    context: ServiceContext,
) -> None:
    _feed(context, _call(0, transformer_area="TA2"), _call(1, element_id="HV1"))
    [predicted] = [r for r in _records(context).values() if r.kind is OutageKind.FAULT]
    # K1 opens (a switch event): its own outage record; the processor confirms the
    # predicted one and merges it into that record
    _feed(
        context,
        Event(
            EventKind.SWITCH_POSITION,
            EventSource.HTTP,
            "K1",
            T0 + timedelta(minutes=3),
            {"closed": False},
        ),
    )
    device = next(
        r for r in _records(context).values() if r.operated_device == "K1" and r.id != predicted.id
    )
    with context.sessions.begin() as session:  # done already: a second time finds nothing
        found = call_workflow.on_device_opened(
            session, "K1", device.id, at=T0 + timedelta(minutes=3)
        )
    assert found == []
    records = _records(context)
    assert (records[predicted.id].state, records[predicted.id].merged_into_id) == (
        OutageState.MERGED,
        device.id,
    )
    assert records[predicted.id].summary["prediction"]["status"] == "confirmed"
    assert {link[2] for link in _links(context)} == {device.id}
    # a later call from TA2 is attached to the open outage: the caller is told so
    [later] = _feed(context, _call(6, transformer_area="TA2", account="0371-3"))
    assert later == f"call attached to outage {device.id} (the caller's area is off in it)"


def test_the_dispatcher_confirms_a_prediction(context: ServiceContext) -> None:
    _feed(context, _call(0, transformer_area="TA2"), _call(1, element_id="HV1"))
    [predicted] = [r for r in _records(context).values() if r.kind is OutageKind.FAULT]
    at = T0 + timedelta(minutes=4)
    with context.sessions.begin() as session:
        record = call_workflow.confirm_prediction(
            context, session, predicted.id, actor="dispatcher-1", role="dispatcher", at=at
        )
    assert record.state is OutageState.LOCATED
    assert record.summary["prediction"]["status"] == "confirmed"
    assert "已确认" in record.summary["zh"]
    # a confirmed record is no longer moved by calls: the next call in its area attaches
    [later] = _feed(context, _call(6, transformer_area="TA2", account="0371-9"))
    assert later == f"call attached to outage {predicted.id} (the caller's area is off in it)"
    customer = next(r for r in _records(context).values() if r.kind is OutageKind.CUSTOMER)
    with context.sessions.begin() as session, pytest.raises(InputError, match="not a predicted"):
        call_workflow.confirm_prediction(
            context, session, customer.id, actor="d", role="dispatcher", at=at
        )


def test_calls_without_an_area_are_kept_for_the_dispatcher(context: ServiceContext) -> None:
    outcomes = _feed(
        context,
        _call(0, account="no-such-account"),
        _call(1, transformer_area="K1"),
        _call(2, caller_name="李女士"),
    )
    assert outcomes == [
        "call kept for the dispatcher: no customer with account 'no-such-account'",
        "call kept for the dispatcher: K1 is not a transformer area",
        "call kept for the dispatcher: call without a transformer area, account or meter id",
    ]
    assert [link[1] for link in _links(context)] == [CallLink.UNRESOLVED.value] * 3
    assert _records(context) == {}


def test_accounts_and_meters_are_resolved_through_the_imported_customers(
    context: ServiceContext,
) -> None:
    from openoms.contacts.customers import Customer
    from openoms.store.customers import replace_customers

    with context.sessions.begin() as session:
        replace_customers(
            session,
            [
                Customer("0371-7", "王先生", None, None, "桃庄 7 号", "", "桃庄", "TA3", "M-7"),
                Customer("0371-8", "李女士", None, None, "桃庄 8 号", "", "桃庄", "HV1", "M-8"),
            ],
            source="customers.csv",
            now=T0,
        )
    # TA3 (20) by account, HV1 by meter: each alone pays for itself (a + 19b = 2.622 and
    # a = 4.605 > λ); they are on different branches, so two predictions
    outcomes = _feed(context, _call(0, account="0371-7"), _call(1, meter_id="M-8"))
    assert outcomes[0].startswith("call in group 1: predicted TA3")
    assert outcomes[1].startswith("call in group 1: predicted HV1")
    with context.sessions() as session:
        rows = list(session.scalars(select(TroubleCall).order_by(TroubleCall.id)))
    assert [(r.element_id, r.account, r.meter_id) for r in rows] == [
        ("TA3", "0371-7", None),
        ("HV1", "0371-8", "M-8"),
    ]


def test_a_prediction_becomes_probable_with_time(context: ServiceContext) -> None:
    _feed(context, _call(0, transformer_area="TA3"))  # TA3 predicted at 0 (see above)
    [record] = _records(context).values()
    with context.sessions.begin() as session:
        early = call_workflow.refresh_statuses(context, session, now=T0 + timedelta(minutes=14))
        due = call_workflow.refresh_statuses(context, session, now=T0 + timedelta(minutes=15))
    assert (early, due) == ([], [record.id])
    summary = _records(context)[record.id].summary
    assert summary["prediction"]["status"] == "probable"
    assert summary["zh"].endswith("（很可能）；停电范围：1 个台区")
