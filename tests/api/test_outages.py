"""Outage records through the API: filters, detail, planned bookings, lifecycle and steps."""

from __future__ import annotations

from datetime import timedelta

from openoms.outages.records import OutageKind
from openoms.store.tokens import Role
from tests.api.conftest import START, Api

D, C, P, V = Role.DISPATCHER, Role.CREW, Role.PLANNER, Role.VIEWER


def ids(api: Api, query: str) -> list[int]:
    response = api.get(f"/api/v1/outages{query}", role=V)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_list_filters_by_state_kind_feeder_and_time(api: Api) -> None:
    early = api.fault_outage("K1", started_at=START - timedelta(days=2))
    f3 = api.fault_outage("CB3")
    customer = api.fault_outage("FU1", kind=OutageKind.CUSTOMER)
    api.post(f"/api/v1/outages/{f3}/transitions", role=D, json={"to": "located"})

    assert ids(api, "") == [customer, f3, early]  # newest first (same start: higher id first)
    assert ids(api, "?state=located") == [f3]
    assert ids(api, "?state=located&state=detected") == [customer, f3, early]
    assert ids(api, "?kind=customer") == [customer]
    assert ids(api, "?feeder=F3") == [f3]
    assert ids(api, "?from=2024-06-01T00:00:00Z") == [customer, f3]
    assert ids(api, "?to=2024-06-01T00:00:00%2B00:00") == [early]
    assert ids(api, "?limit=1&offset=1") == [f3]
    page = api.get("/api/v1/outages?limit=2", role=V).json()
    assert (page["limit"], page["offset"], len(page["items"])) == (2, 0, 2)
    naive = api.get("/api/v1/outages?from=2024-06-01T00:00:00", role=V)
    assert naive.status_code == 422


def test_detail_has_areas_steps_and_history(api: Api) -> None:
    outage = api.fault_outage("K1", cause="tree on the line")
    detail = api.get(f"/api/v1/outages/{outage}", role=V).json()
    assert detail["kind"] == "fault"
    assert detail["state"] == "detected"
    assert detail["feeder_id"] == "F1"
    assert {a["element_id"] for a in detail["areas"]} == {"TA2", "HV1"}
    assert detail["customers_off"] == 36
    assert detail["areas_off"] == 2
    assert detail["steps"] == []
    assert [h["to_state"] for h in detail["history"]] == ["detected"]
    assert detail["cause"] == "tree on the line"


def test_a_fault_goes_through_its_lifecycle_and_restoration(api: Api) -> None:
    outage = api.fault_outage("K1")
    path = f"/api/v1/outages/{outage}"
    for to in ("located", "crew_dispatched"):
        response = api.post(f"{path}/transitions", role=D, json={"to": to, "note": f"→ {to}"})
        assert response.status_code == 200
        assert response.json()["state"] == to
    arrived = api.post(f"{path}/transitions", role=C, json={"to": "crew_on_site"})
    assert arrived.json()["history"][-1] | {"at": None} == {
        "from_state": "crew_dispatched",
        "to_state": "crew_on_site",
        "at": None,
        "actor": "crew-1",
        "note": None,
    }

    api.clock.advance(minutes=40)
    step = api.post(
        f"{path}/restoration-steps", role=C, json={"element_ids": ["TA2"], "how": "repair"}
    )
    assert step.status_code == 201
    assert step.json() | {"at": None} == {
        "number": 1,
        "at": None,
        "how": "repair",
        "operations": [],
        "areas_restored": 1,
        "customers_restored": 35,
    }
    assert api.get(path, role=V).json()["state"] == "partly_restored"

    at = (api.clock.now - timedelta(minutes=5)).isoformat()
    last = api.post(
        f"{path}/restoration-steps",
        role=D,
        json={"element_ids": ["HV1"], "how": "switching", "at": at},
    )
    assert last.status_code == 201
    detail = api.get(path, role=V).json()
    assert detail["state"] == "restored"
    assert detail["customers_off"] == 0
    assert [s["number"] for s in detail["steps"]] == [1, 2]

    future = (api.clock.now + timedelta(hours=1)).isoformat()
    refused = api.post(
        f"{path}/restoration-steps",
        role=D,
        json={"element_ids": ["HV1"], "how": "switching", "at": future},
    )
    assert refused.status_code == 422
    assert (
        api.post(f"{path}/transitions", role=D, json={"to": "closed"}).json()["state"] == "closed"
    )


def test_planned_work_is_not_recorded_as_an_outage_but_booked(api: Api) -> None:
    """A planned outage booked ahead used to sit in ``detected``; now /outages refuses it and
    names the booking route, and a planner records no outage by hand at all."""
    booking = {
        "kind": "planned",
        "open": ["K1"],
        "starts_at": "2024-06-09T08:00:00+08:00",
        "ends_at": "2024-06-09T14:00:00+08:00",
    }
    refused = api.post("/api/v1/outages", role=D, json=booking)
    assert refused.status_code == 422
    assert "/api/v1/planned-outages" in refused.json()["detail"]
    assert api.post("/api/v1/outages", role=P, json=booking | {"kind": "fault"}).status_code == 403
    assert api.get("/api/v1/outages", role=D).json()["items"] == []


def test_a_move_to_restored_with_areas_still_off_is_refused(api: Api) -> None:
    """Restored means every area back: a bare move would leave the areas off for ever in the
    reliability figures. The dispatcher records a restoration step instead."""
    outage = api.fault_outage("K1")
    path = f"/api/v1/outages/{outage}"
    refused = api.post(f"{path}/transitions", role=D, json={"to": "restored"})
    assert refused.status_code == 422, refused.text
    assert "still off" in refused.json()["detail"]
    assert api.get(path, role=V).json()["state"] == "detected"
    step = api.post(
        f"{path}/restoration-steps",
        role=D,
        json={"element_ids": ["TA2", "HV1"], "how": "switching"},
    )
    assert step.status_code == 201, step.text
    assert api.get(path, role=V).json()["state"] == "restored"
