"""The fault events API: list and detail with the locator's answer and the crew alerts, phone
masked, hand-over latency; an unknown id is a 404 problem."""

from __future__ import annotations

from datetime import timedelta

from openoms.faults.lifecycle import AlertState, FaultTrigger
from openoms.store import outbox
from openoms.store.audit import list_audit
from openoms.store.faults import create_fault_event, get_fault_event, update_fault_event
from openoms.store.tokens import Role
from tests.api.conftest import Api

PHONE = "13812345678"


def _fault_with_alert(api: Api) -> tuple[int, int]:
    outage_id = api.fault_outage("CB1")
    now = api.clock.now
    with api.context.sessions.begin() as session:
        fault_id = create_fault_event(
            session,
            feeder_id="F1",
            trigger=FaultTrigger.TRIP,
            t0=now,
            open_edges=(),
            received_at=now,
            now=now,
            breaker="CB1",
            lockout=True,
        )
        location = {"best": ["D2"], "region": ["D2"], "candidates": [{"zone": "D2"}]}
        update_fault_event(
            session,
            fault_id,
            now=now,
            outage_id=outage_id,
            location=location,
            located_zone="D2",
            fault_type="phase_to_phase",
            alert_state=AlertState.SENT,
        )
        queued = outbox.enqueue(
            session,
            dedupe_key="crew_alert:test",
            kind="crew_alert",
            phone=PHONE,
            name="王师傅",
            body="【故障抢修】…",
            lang="zh",
            now=now,
            outage_id=outage_id,
            trigger_at=now,
        )
        [claimed] = outbox.claim_due(session, now=now)
        assert claimed.id == queued.id
        outbox.mark_sent(
            session, claimed.id, smsc_message_id="1", handed_at=now + timedelta(seconds=0.4)
        )
    return fault_id, outage_id


def test_the_fault_detail_shows_the_location_and_the_masked_alert(api: Api) -> None:
    fault_id, outage_id = _fault_with_alert(api)
    listed = api.get(f"/api/v1/faults?outage_id={outage_id}", role=Role.VIEWER).json()
    assert [f["id"] for f in listed] == [fault_id]
    assert listed[0]["located_zone"] == "D2"
    detail = api.get(f"/api/v1/faults/{fault_id}", role=Role.CREW)
    assert detail.status_code == 200
    body = detail.json()
    assert body["location"]["region"] == ["D2"]
    [alert] = body["alerts"]
    assert alert["recipient"] == "王师傅 138****5678"
    assert alert["handover_s"] == 0.4
    assert PHONE not in detail.text


def test_an_unknown_fault_is_a_404_problem(api: Api) -> None:
    response = api.get("/api/v1/faults/999", role=Role.DISPATCHER)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["fault_id"] == 999


def test_the_crew_confirms_where_the_fault_was(api: Api) -> None:
    fault_id, _ = _fault_with_alert(api)
    path = f"/api/v1/faults/{fault_id}/confirmation"
    wrong = api.post(path, role=Role.CREW, json={"zone": "TA1"})
    assert wrong.status_code == 422
    assert "TA1" in wrong.json()["detail"]
    assert "feeder F1" in wrong.json()["detail"]
    done = api.post(path, role=Role.CREW, json={"zone": "D1"})
    assert done.status_code == 200
    assert done.json()["confirmed_zone"] == "D1"
    head = api.post(path, role=Role.DISPATCHER, json={"zone": "CB1"})  # above the first detector
    assert head.json()["confirmed_zone"] == "CB1"
    with api.context.sessions() as session:
        record = get_fault_event(session, fault_id)
        audit = list_audit(session, object_kind="fault_event", object_id=str(fault_id))
    assert record.confirmed_by is not None
    assert [entry.detail["zone"] for entry in audit] == ["CB1", "D1"]  # newest first
