"""Planned outages end to end: booked ahead as a draft, the notice lead time at booking and
at approval, approval sends the notice, postponement and cancellation, and the outage record
that the switching — not the booking — makes inside the window, completed when supply is
back. The small network (tests/grid/small.py); the clock starts 2024-06-01 08:00 UTC
(16:00 in Beijing), the utility's notice rule is 8 days (the default)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from openoms.service.processor import EventProcessor
from openoms.store import outages
from openoms.store.tokens import Role
from tests.api.conftest import Api

P, D, C = Role.PLANNER, Role.DISPATCHER, Role.CREW
WORK = {
    "work_on": ["s2"],
    "reason": "更换 17 号杆",
    "crews": ["城关检修一班"],
    # 8 days 16 h after the clock: keeps the 8-day notice
    "starts_at": "2024-06-10T08:00:00+08:00",
    "ends_at": "2024-06-10T14:00:00+08:00",
}


def _book(api: Api, **changes: Any) -> dict[str, Any]:
    response = api.post("/api/v1/planned-outages", role=P, json=WORK | changes)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _switch(api: Api, device: str, *, closed: bool) -> None:
    event = {
        "kind": "switch_position",
        "device_id": device,
        "device_time": (api.clock.now - timedelta(seconds=5)).isoformat(),
        "payload": {"closed": closed},
    }
    response = api.post("/api/v1/events", role=D, json=event)
    assert response.status_code == 202, response.text
    EventProcessor(api.context).process_pending()


def test_a_booking_is_a_draft_with_its_switching_impact_and_comparison(api: Api) -> None:
    work = _book(api)
    assert work["state"] == "draft"
    assert work["revision"] == 1
    assert [(op["device"], op["close"]) for op in work["switching"]] == [("K1", False)]
    assert sorted(work["element_ids"]) == ["HV1", "TA2"]
    assert work["customers"] == 36
    summary = work["summary"]
    assert summary["line"] == "甲Ⅰ线"
    assert [s["name"] for s in summary["who"]["sensitive_customers"]] == ["李村敬老院"]
    # 6 h: 36 customers × 6 h = 216 customer-hours; live-line work keeps them all on.
    assert summary["comparison"]["outage"]["customer_hours"] == 216.0
    assert summary["comparison"]["live_line"]["saves_customers"] == 36
    # 8 days before the start, in UTC: 2024-06-02 00:00.
    assert work["notice"]["deadline"] == "2024-06-02T00:00:00+00:00"
    assert work["notice"]["flagged"] is False
    # No outage record yet: the booking is not an outage.
    assert api.get("/api/v1/outages", role=D).json()["items"] == []


def test_the_notice_lead_time_refuses_a_late_booking_and_flags_temporary_work(api: Api) -> None:
    late = {"starts_at": "2024-06-08T08:00:00+08:00", "ends_at": "2024-06-08T14:00:00+08:00"}
    refused = api.post("/api/v1/planned-outages", role=P, json=WORK | late)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:openoms:problem:notice-too-late"
    # The deadline in Beijing time: 8 days before 06-08 08:00 is 05-31 08:00, already past.
    assert "2024-05-31 08:00" in problem["detail"]
    assert "statutory minimum 7 days" in problem["detail"]
    temporary = _book(api, work_type="temporary", **late)
    assert temporary["notice"]["rule"] == "temporary"
    assert temporary["notice"]["flagged"] is True
    tomorrow = {"starts_at": "2024-06-02T08:00:00+08:00", "ends_at": "2024-06-02T09:00:00+08:00"}
    refused = api.post(
        "/api/v1/planned-outages", role=P, json=WORK | tomorrow | {"work_type": "temporary"}
    )
    assert refused.status_code == 422  # 16 h ahead: not even the 24 h to important users
    preview = api.post("/api/v1/planned-outages/preview", role=P, json=WORK | late)
    assert preview.status_code == 200
    assert preview.json()["notice_ok"] is False
    assert "2024-05-31 08:00" in preview.json()["notice_problem"]


def test_approval_checks_the_lead_time_again_and_sends_the_notice(api: Api) -> None:
    work = _book(api, starts_at="2024-06-09T17:00:00+08:00", ends_at="2024-06-09T18:00:00+08:00")
    api.clock.advance(hours=2)  # now 18:00 Beijing: 7 days 23 h before the start
    late = api.post(f"/api/v1/planned-outages/{work['id']}/approve", role=P, json={})
    assert late.status_code == 422
    assert late.json()["type"] == "urn:openoms:problem:notice-too-late"
    assert api.get(f"/api/v1/planned-outages/{work['id']}", role=P).json()["state"] == "draft"

    work = _book(api, starts_at="2024-06-12T08:00:00+08:00", ends_at="2024-06-12T12:00:00+08:00")
    approved = api.post(f"/api/v1/planned-outages/{work['id']}/approve", role=P, json={})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "notified"
    assert [h["to_state"] for h in body["history"]] == ["draft", "approved", "notified"]
    assert body["history"][1]["actor"] == "planner-1"
    # approved once: the lifecycle refuses a second approval
    again = api.post(f"/api/v1/planned-outages/{work['id']}/approve", role=P, json={})
    assert again.status_code == 409
    assert again.json()["allowed"] == ["cancelled", "in_progress", "postponed"]
    # A crew may read but not approve.
    assert (
        api.post(f"/api/v1/planned-outages/{work['id']}/cancel", role=C, json={}).status_code == 403
    )


def test_postponement_raises_the_revision_and_is_approved_again(api: Api) -> None:
    work = _book(api)
    path = f"/api/v1/planned-outages/{work['id']}"
    assert api.post(f"{path}/approve", role=P, json={}).json()["state"] == "notified"
    new = {"starts_at": "2024-06-15T08:00:00+08:00", "ends_at": "2024-06-15T14:00:00+08:00"}
    postponed = api.post(f"{path}/postpone", role=P, json=new | {"note": "rain"}).json()
    assert (postponed["state"], postponed["revision"]) == ("postponed", 2)
    assert postponed["starts_at"] == "2024-06-15T00:00:00Z"
    reapproved = api.post(f"{path}/approve", role=P, json={}).json()
    assert (reapproved["state"], reapproved["revision"]) == ("notified", 2)
    cancelled = api.post(f"{path}/cancel", role=P, json={"note": "work done live"}).json()
    assert cancelled["state"] == "cancelled"
    assert api.post(f"{path}/postpone", role=P, json=new).status_code == 409


def test_the_switching_inside_the_window_makes_the_planned_outage_record(api: Api) -> None:
    """K1 opened a day early is not the work (a fault record); inside the window (from the
    2-hour slack before the start) it starts the work: an outage record of kind planned with
    TA2 and HV1 off; K1 closed again brings them back and completes the work."""
    work = _book(api)
    path = f"/api/v1/planned-outages/{work['id']}"
    api.post(f"{path}/approve", role=P, json={})
    api.clock.now = api.clock.now.replace(day=9, hour=0)  # 2024-06-09 08:00 Beijing: a day early
    _switch(api, "K1", closed=False)
    early = api.get("/api/v1/outages", role=D).json()["items"]
    assert [o["kind"] for o in early] == ["fault"]
    _switch(api, "K1", closed=True)
    assert api.get(path, role=P).json()["state"] == "notified"

    api.clock.now = api.clock.now.replace(day=9, hour=23, minute=10)  # 07:10 on 06-10, Beijing
    _switch(api, "K1", closed=False)
    started = api.get(path, role=P).json()
    assert started["state"] == "in_progress"
    record = api.get(f"/api/v1/outages/{started['outage_id']}", role=D).json()
    assert record["kind"] == "planned"
    assert record["operated_device"] == "K1"
    assert sorted(a["element_id"] for a in record["areas"]) == ["HV1", "TA2"]
    assert record["summary"]["planned_work_id"] == work["id"]

    api.clock.advance(hours=6)
    _switch(api, "K1", closed=True)
    done = api.get(path, role=P).json()
    assert done["state"] == "completed"
    with api.context.sessions() as session:
        restored = outages.get_outage(session, started["outage_id"])
    assert restored.state == "restored"
    assert restored.restored_at is not None
    assert (restored.restored_at - restored.started_at) == timedelta(hours=6)


def test_a_draft_never_starts_and_bad_bookings_are_named(api: Api) -> None:
    bad = api.post("/api/v1/planned-outages", role=P, json=WORK | {"work_on": ["s404"]})
    assert bad.status_code == 422
    assert "s404" in bad.json()["detail"]
    nothing = api.post("/api/v1/planned-outages", role=P, json=WORK | {"work_on": [], "open": []})
    assert nothing.status_code == 422
    backwards = WORK | {"ends_at": "2024-06-10T07:00:00+08:00"}
    assert api.post("/api/v1/planned-outages", role=P, json=backwards).status_code == 422
    assert api.get("/api/v1/planned-outages/999", role=P).status_code == 404
    work = _book(api)
    api.clock.now = api.clock.now.replace(day=10, hour=0, minute=30)
    _switch(api, "K1", closed=False)  # the work was never approved: this is not it
    assert api.get(f"/api/v1/planned-outages/{work['id']}", role=P).json()["state"] == "draft"
    assert [o["kind"] for o in api.get("/api/v1/outages", role=D).json()["items"]] == ["fault"]


def test_work_with_a_tie_transfer_from_start_to_back_to_normal(api: Api) -> None:
    """Work on s1: K1 opened (TA2 and HV1 off), the tie T1 closed (they are back, from the
    other substation, 3 minutes later: a planned interruption record of its own), CB1 opened
    (TA1 and TA3 off: the work zone, the record the work is linked to). Supply back at CB1
    completes the work; putting the network back to normal afterwards (T1 opened, TA2 and HV1
    off for a few minutes, K1 closed) is recorded as planned too, never as a fault."""
    work = _book(api, work_on=["s1"])
    assert [(op["device"], op["close"]) for op in work["switching"]] == [
        ("K1", False),
        ("T1", True),
        ("CB1", False),
    ]
    path = f"/api/v1/planned-outages/{work['id']}"
    api.post(f"{path}/approve", role=P, json={})
    api.clock.now = api.clock.now.replace(day=10, hour=0, minute=5)
    _switch(api, "K1", closed=False)
    api.clock.advance(minutes=3)
    _switch(api, "T1", closed=True)
    api.clock.advance(minutes=3)
    _switch(api, "CB1", closed=False)
    started = api.get(path, role=P).json()
    record = api.get(f"/api/v1/outages/{started['outage_id']}", role=D).json()
    assert sorted(a["element_id"] for a in record["areas"]) == ["TA1", "TA3"]
    first = api.get(f"/api/v1/outages/{started['outage_id'] - 1}", role=D).json()
    assert (first["kind"], first["state"]) == ("planned", "restored")
    assert sorted(a["element_id"] for a in first["areas"]) == ["HV1", "TA2"]
    assert first["steps"][0]["operations"] == [{"device": "T1", "close": True}]
    assert started["state"] == "in_progress"
    api.clock.advance(hours=5)
    _switch(api, "CB1", closed=True)
    assert api.get(path, role=P).json()["state"] == "completed"
    api.clock.advance(minutes=10)
    _switch(api, "T1", closed=False)
    api.clock.advance(minutes=4)
    _switch(api, "K1", closed=True)
    records = api.get("/api/v1/outages", role=D).json()["items"]
    assert [r["kind"] for r in records] == ["planned"] * 3
    assert all(r["state"] == "restored" for r in records)
    assert records[0]["summary"]["planned_work_id"] == work["id"]
    assert records[0]["operated_device"] == "T1"


def test_the_notice_text_names_places_line_and_local_time(api: Api) -> None:
    work = _book(api)
    path = f"/api/v1/planned-outages/{work['id']}/notice"
    zh = api.get(path, role=P, params={"channel": "sms", "lang": "zh-CN"})
    assert zh.status_code == 200, zh.text
    # 2024-06-10 00:00–06:00 UTC is 08:00–14:00 in Beijing; TA2 is in 李村 (HV1 has no
    # village); the line by its name, never its id.
    assert zh.json()["body"] == (
        "【供电公司】停电通知：因计划检修（更换 17 号杆），定于6月10日08:00至14:00对甲Ⅰ线"
        "停电作业，停电范围：李村。如有疑问请拨打95598。"
    )
    en = api.get(path, role=P, params={"channel": "email", "lang": "en"}).json()
    assert en["title"] == "Planned power outage: 10 Jun 08:00 to 14:00"
    assert "Area: 李村" in en["body"]
    assert "F1" not in en["body"]
    assert api.get(path, role=P, params={"channel": "fax"}).status_code == 422
