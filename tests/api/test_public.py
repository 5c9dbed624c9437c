"""The public pages: outages by area with places, counts and estimates, and never any
customer's name, phone number or account id, wherever those were put."""

from __future__ import annotations

import json

from openoms.outages.lifecycle import OutageState
from openoms.outages.records import OutageKind
from openoms.service.processor import EventProcessor
from openoms.store import outages
from openoms.store.tokens import Role
from tests.api.conftest import Api, operations

D = Role.DISPATCHER

# Personal data put everywhere a record can hold free text.
PRIVATE = [
    "张秀英",
    "Wang Xiaoming",
    "13912345678",
    "+86 139 1234 5678",
    "ACCT-7700123",
    "0371-8888-1234",
    "水泥厂",  # the HV customer's name
    "HV1",  # the HV customer's id is its account with the utility
    "李村敬老院",  # a sensitive customer's name
]


def _private_outage_data(api: Api) -> list[int]:
    """Outages whose every free-text field holds personal data, through the API and the store."""
    calls = [
        {
            "kind": "trouble_call",
            "device_time": "2024-06-01T07:50:00Z",
            "payload": {
                "transformer_area": "TA5",
                "caller": "张秀英",
                "phone": "13912345678",
                "account_id": "ACCT-7700123",
                "address": "张营 3 号 Wang Xiaoming",
            },
        },
        {
            "kind": "trouble_call",
            "device_time": "2024-06-01T07:51:00Z",
            "payload": {
                "transformer_area": "TA2",
                "caller": "Wang Xiaoming",
                "phone": "+86 139 1234 5678",
            },
        },
    ]
    body = api.post("/api/v1/events/batch", role=D, json={"events": calls}).json()
    assert body["accepted"] == 2
    fault = api.fault_outage(
        "K1",
        cause="reported by 张秀英 (13912345678)",
        summary={"en": "call 0371-8888-1234", "callers": PRIVATE, "estimated_restoration_at": "x"},
    )
    EventProcessor(api.context).process_pending()  # TA5's call makes a customer outage
    with api.context.sessions.begin() as session:
        outages.update_outage(
            session, fault, crew="Wang Xiaoming 13912345678", at=api.clock.now, actor="张秀英"
        )
        outages.transition_outage(
            session, fault, OutageState.LOCATED, at=api.clock.now, actor="ACCT-7700123",
            note="phoned 0371-8888-1234",
        )  # fmt: skip
        outages.add_restoration_step(
            session,
            fault,
            element_ids=["HV1"],
            at=api.clock.now,
            how="switching",
            operations=[{"by": "张秀英", "phone": "13912345678"}],
            actor="Wang Xiaoming",
        )
    planned = api.post(
        "/api/v1/outages",
        role=Role.PLANNER,
        json={
            "open": ["FU1"],
            "starts_at": "2024-06-08T00:00:00Z",
            "ends_at": "2024-06-08T06:00:00Z",
            "note": "asked by 张秀英, ACCT-7700123, 13912345678",
        },
    )
    assert planned.status_code == 201
    with api.context.sessions() as session:
        return [o.id for o in outages.list_outages(session)]


def test_no_public_response_holds_personal_data(api: Api) -> None:
    outage_ids = _private_outage_data(api)
    assert len(outage_ids) == 3  # fault, customer (from TA5's call), planned
    public = {operation for operation, tags in operations(api.app).items() if "public" in tags}
    assert public == {
        ("GET", "/api/v1/public/outages"),
        ("GET", "/api/v1/public/outages/{outage_id}"),
    }
    responses = [api.get("/api/v1/public/outages")]
    responses += [
        api.get("/api/v1/public/outages", params={"area": area})
        for area in ("李村", "张营", "王庄", "城关", "nowhere")
    ]
    responses += [api.get(f"/api/v1/public/outages/{i}") for i in [*outage_ids, 999]]
    assert [r.status_code for r in responses[-4:]] == [200, 404, 200, 404]  # customer: private
    for response in responses:
        shown = response.text + json.dumps(response.json(), ensure_ascii=False)
        shown += str(response.headers)
        for secret in PRIVATE:
            assert secret not in shown, (secret, response.url, response.text)
    # Personal data is not searchable either.
    for secret in PRIVATE:
        found = api.get("/api/v1/public/outages", params={"area": secret}).json()
        assert (found["current"], found["upcoming"]) == ([], []), secret


def test_outages_by_area_with_places_counts_and_estimates(api: Api) -> None:
    fault = api.fault_outage("K1")
    api.fault_outage("FU1", kind=OutageKind.CUSTOMER)
    planned = api.post(
        "/api/v1/outages",
        role=Role.PLANNER,
        json={
            "open": ["CB3"],
            "starts_at": "2024-06-08T00:00:00Z",
            "ends_at": "2024-06-08T06:00:00Z",
        },
    ).json()["id"]

    everything = api.get("/api/v1/public/outages").json()
    assert [o["id"] for o in everything["current"]] == [fault]
    assert [o["id"] for o in everything["upcoming"]] == [planned]
    now = everything["current"][0]
    assert now == {
        "id": fault,
        "kind": "fault",
        "status": "detected",
        "started_at": "2024-06-01T07:30:00Z",
        "restored_at": None,
        "estimated_restoration_at": None,
        "villages": ["李村"],
        "streets": [],
        "townships": [],
        "transformer_areas_off": 1,
        "customers_off": 36,
        "customers_restored": 0,
    }
    assert everything["customers_off"] == 36
    assert everything["upcoming"][0]["estimated_restoration_at"] == "2024-06-08T06:00:00Z"
    assert everything["upcoming"][0]["villages"] == ["张营"]

    li = api.get("/api/v1/public/outages", params={"area": "李"}).json()
    assert ([o["id"] for o in li["current"]], li["upcoming"]) == ([fault], [])
    assert api.get("/api/v1/public/outages", params={"area": "王庄"}).json()["current"] == []

    api.clock.advance(days=7, hours=1)  # the planned outage has begun
    assert [o["id"] for o in api.get("/api/v1/public/outages").json()["current"]] == [
        planned,
        fault,
    ]

    with api.context.sessions.begin() as session:
        outages.add_restoration_step(
            session, fault, element_ids=["TA2", "HV1"], at=api.clock.now, how="switching", actor="d"
        )
    restored = api.get(f"/api/v1/public/outages/{fault}").json()
    assert (restored["status"], restored["customers_off"], restored["customers_restored"]) == (
        "restored",
        0,
        36,
    )
    assert restored["villages"] == ["李村"]  # where it was
    assert api.get("/api/v1/public/outages").json()["current"][0]["id"] == planned
    assert api.get("/api/v1/public/outages/999").status_code == 404


def test_public_pages_need_no_token_but_accept_one(api: Api) -> None:
    assert api.get("/api/v1/public/outages").status_code == 200
    assert api.get("/api/v1/public/outages", role=Role.VIEWER).status_code == 200
    assert api.get("/api/v1/public/outages", params={"area": "x" * 101}).status_code == 422
