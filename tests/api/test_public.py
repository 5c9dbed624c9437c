"""The public pages: outages now and planned outages booked, by area, with places, counts and
estimates, and never any customer's name, phone number or account id, wherever those were
put. Planned outages are bookings (draft → approved → notified → in progress): a draft or a
cancelled booking never shows; the outage record of the work, made by its switching, shows
as an outage now with the planned end as its estimate."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from openoms.api.routes.public import public_planned
from openoms.contacts.customers import Customer
from openoms.grid import network_from_raw
from openoms.outages.lifecycle import OutageState
from openoms.outages.planned import PlannedState, WorkType
from openoms.outages.records import OutageKind
from openoms.service import planned as planned_workflow
from openoms.service.outages import Principal
from openoms.service.processor import EventProcessor
from openoms.store import outages
from openoms.store import planned as planned_store
from openoms.store.customers import replace_customers
from openoms.store.tokens import Role
from tests.api.conftest import Api, operations
from tests.grid.small import small_raw, small_rows

D = Role.DISPATCHER
PLANNER = Principal("planner-1", Role.PLANNER)

# 10 June 00:00 to 06:00 UTC (08:00 to 14:00 in Beijing): 8 days 16 h after the test clock's
# 1 June 08:00 UTC, so the booking keeps the 8-day notice.
STARTS = datetime(2024, 6, 10, 0, 0, tzinfo=UTC)
ENDS = datetime(2024, 6, 10, 6, 0, tzinfo=UTC)

# How a booking gets to each state (from its draft), as the workflow moves it.
PATHS: dict[PlannedState, tuple[PlannedState, ...]] = {
    PlannedState.DRAFT: (),
    PlannedState.APPROVED: (PlannedState.APPROVED,),
    PlannedState.NOTIFIED: (PlannedState.APPROVED, PlannedState.NOTIFIED),
    PlannedState.CANCELLED: (PlannedState.CANCELLED,),
}

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


def book_planned(
    api: Api,
    *opened: str,
    state: PlannedState = PlannedState.NOTIFIED,
    reason: str = "更换 17 号杆",
    crews: tuple[str, ...] = (),
    starts_at: datetime = STARTS,
    ends_at: datetime = ENDS,
    work_type: WorkType = WorkType.MAINTENANCE,
) -> int:
    """Planned work opening ``opened`` (default CB3: TA5 in 张营, 30 customers), booked by
    the workflow (:func:`openoms.service.planned.book_work`: impact, summary, notice rule)
    and moved to ``state`` in the store, as approval and the notice would (the notice engine
    is not under test here)."""
    with api.context.sessions.begin() as session:
        work = planned_workflow.book_work(
            api.context,
            session,
            PLANNER,
            work_type=work_type,
            reason=reason,
            starts_at=starts_at,
            ends_at=ends_at,
            opened=list(opened or ("CB3",)),
            crews=crews,
            now=api.clock.now,
        )
        for target in PATHS[state]:
            planned_store.transition_work(
                session, work.id, target, at=api.clock.now, actor="planner-1", role="planner"
            )
    return work.id


def postpone_planned(api: Api, work_id: int, starts_at: datetime, ends_at: datetime) -> None:
    with api.context.sessions.begin() as session:
        planned_store.transition_work(
            session,
            work_id,
            PlannedState.POSTPONED,
            at=api.clock.now,
            actor="planner-1",
            role="planner",
            window=(starts_at, ends_at),
        )


def switch(api: Api, device: str, *, closed: bool) -> None:
    """A switch position reported by the SCADA five seconds ago, and processed."""
    event = {
        "kind": "switch_position",
        "device_id": device,
        "device_time": (api.clock.now - timedelta(seconds=5)).isoformat(),
        "payload": {"closed": closed},
    }
    response = api.post("/api/v1/events", role=D, json=event)
    assert response.status_code == 202, response.text
    EventProcessor(api.context).process_pending()


def start_planned(api: Api, work_id: int, *, after: timedelta = timedelta(minutes=5)) -> int:
    """The work's switching begins ``after`` its start: the clock is moved there and its
    first switch opens; returns the outage record the processor made."""
    with api.context.sessions() as session:
        work = planned_store.get_work(session, work_id)
    api.clock.now = work.starts_at + after
    switch(api, work.opened[0], closed=False)
    with api.context.sessions() as session:
        started = planned_store.get_work(session, work_id)
    assert started.state is PlannedState.IN_PROGRESS, started
    assert started.outage_id is not None
    return started.outage_id


def _private_outage_data(api: Api) -> tuple[list[int], list[int]]:
    """Outages and bookings whose every free-text field holds personal data, through the API,
    the workflow and the store: outage ids, then booking ids (notified on CB1, which puts
    off HV1 and the nursing home; a draft and a cancelled one on FU1)."""
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
    reason, crews = "asked by 张秀英, ACCT-7700123, 13912345678", ("Wang Xiaoming 13912345678",)
    planned = book_planned(api, "CB1", reason=reason, crews=crews)
    with api.context.sessions() as session:
        summary = json.dumps(planned_store.get_work(session, planned).summary, ensure_ascii=False)
    assert all(name in summary for name in ("水泥厂", "HV1", "李村敬老院"))  # the booking has them
    hidden = [
        book_planned(api, "FU1", state=state, reason=reason, crews=crews)
        for state in (PlannedState.DRAFT, PlannedState.CANCELLED)
    ]
    with api.context.sessions() as session:
        return [o.id for o in outages.list_outages(session)], [planned, *hidden]


def test_no_public_response_holds_personal_data(api: Api) -> None:
    outage_ids, planned_ids = _private_outage_data(api)
    assert len(outage_ids) == 2  # customer (from TA5's call), fault
    public = {operation for operation, tags in operations(api.app).items() if "public" in tags}
    assert public == {
        ("GET", "/api/v1/public/outages"),
        ("GET", "/api/v1/public/outages/{outage_id}"),
        ("GET", "/api/v1/public/planned/{planned_id}"),
        ("POST", "/api/v1/public/lookup"),
        ("POST", "/api/v1/public/reports"),
        ("POST", "/api/v1/public/subscriptions"),
    }
    with api.context.sessions.begin() as session:  # a customer made of personal data
        customer = Customer(
            "ACCT-7700123", "张秀英", "13912345678", None, "张营 3 号 Wang Xiaoming", "", "张营",
            "TA5",
        )  # fmt: skip
        replace_customers(session, [customer], source="tests", now=api.clock.now)

    def forms() -> list[httpx.Response]:
        """The forms asked about that customer, in a fresh rate-limit minute."""
        api.clock.advance(minutes=1)
        account = {"account": "ACCT-7700123"}
        responses = [
            api.post("/api/v1/public/lookup", json=account),
            api.post("/api/v1/public/lookup", json={"address": "张营 3 号 Wang Xiaoming"}),
            api.post(
                "/api/v1/public/reports",
                json={**account, "description": "张秀英 0371-8888-1234", "phone": "13912345678"},
            ),
            api.post(
                "/api/v1/public/subscriptions",
                json={**account, "channel": "sms", "contact": "13912345678", "subscribed": False},
            ),
        ]
        assert [r.status_code for r in responses] == [200, 200, 202, 200]
        return responses

    def everything() -> list[httpx.Response]:
        responses = [api.get("/api/v1/public/outages")]
        responses += [
            api.get("/api/v1/public/outages", params={"area": area})
            for area in ("李村", "张营", "王庄", "城关", "nowhere")
        ]
        responses += [api.get(f"/api/v1/public/outages/{i}") for i in [*outage_ids, 999]]
        responses += [api.get(f"/api/v1/public/planned/{i}") for i in [*planned_ids, 999]]
        return forms() + responses

    before = everything()
    # outages newest first: customer (private), fault, unknown; bookings: notified, draft,
    # cancelled, unknown
    assert [r.status_code for r in before[-7:]] == [404, 200, 404, 200, 404, 404, 404]
    outage_id = start_planned(api, planned_ids[0])  # the work begins: its outage record shows
    after = everything()
    assert api.get(f"/api/v1/public/outages/{outage_id}").status_code == 200
    for response in [*before, *after, api.get(f"/api/v1/public/outages/{outage_id}")]:
        shown = response.text + json.dumps(response.json(), ensure_ascii=False)
        shown += str(response.headers)
        for secret in PRIVATE:
            assert secret not in shown, (secret, response.url, response.text)
    # Personal data is not searchable either.
    for secret in PRIVATE:
        found = api.get("/api/v1/public/outages", params={"area": secret}).json()
        assert (found["current"], found["upcoming"]) == ([], []), secret


def test_outages_now_and_planned_bookings_by_area_with_places_counts_and_windows(
    api: Api,
) -> None:
    fault = api.fault_outage("K1")
    api.fault_outage("FU1", kind=OutageKind.CUSTOMER)
    planned = book_planned(api)  # CB3: TA5, 张营, 30 customers, on 乙Ⅰ线

    everything = api.get("/api/v1/public/outages").json()
    assert [o["id"] for o in everything["current"]] == [fault]
    assert everything["current"][0] == {
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
        "customers_off": 36,  # TA2's 35 and HV1
        "customers_restored": 0,
        "planned_id": None,
    }
    assert everything["customers_off"] == 36  # the planned outage has not begun
    assert everything["upcoming"] == [
        {
            "id": planned,
            "kind": "planned",
            "state": "notified",
            "starts_at": "2024-06-10T00:00:00Z",
            "ends_at": "2024-06-10T06:00:00Z",
            "work_type": "maintenance",
            "work_type_name": {"zh": "计划检修", "en": "planned maintenance"},
            "line": "乙Ⅰ线",
            "villages": ["张营"],
            "streets": [],
            "townships": [],
            "transformer_areas": 1,
            "customers": 30,
            "outage_id": None,
        }
    ]
    assert api.get(f"/api/v1/public/planned/{planned}").json() == everything["upcoming"][0]

    li = api.get("/api/v1/public/outages", params={"area": "李"}).json()
    assert ([o["id"] for o in li["current"]], li["upcoming"]) == ([fault], [])
    zhang = api.get("/api/v1/public/outages", params={"area": "张营"}).json()
    assert (zhang["current"], [p["id"] for p in zhang["upcoming"]]) == ([], [planned])
    assert api.get("/api/v1/public/outages", params={"area": "王庄"}).json()["current"] == []

    # The start of the window alone starts nothing: the switching does.
    api.clock.now = STARTS + timedelta(minutes=1)
    assert [p["id"] for p in api.get("/api/v1/public/outages").json()["upcoming"]] == [planned]
    record = start_planned(api, planned)  # CB3 opened at 00:04:55 UTC
    now = api.get("/api/v1/public/outages").json()
    assert [o["id"] for o in now["current"]] == [record, fault]  # newest first
    assert now["upcoming"] == []
    assert now["customers_off"] == 36 + 30
    assert now["current"][0] | {"id": 0} == {
        "id": 0,
        "kind": "planned",
        "status": "detected",
        "started_at": "2024-06-10T00:04:55Z",
        "restored_at": None,
        "estimated_restoration_at": "2024-06-10T06:00:00Z",  # the booking's end
        "villages": ["张营"],
        "streets": [],
        "townships": [],
        "transformer_areas_off": 1,
        "customers_off": 30,
        "customers_restored": 0,
        "planned_id": planned,
    }
    booking = api.get(f"/api/v1/public/planned/{planned}").json()
    assert (booking["state"], booking["outage_id"]) == ("in_progress", record)

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
    assert [o["id"] for o in api.get("/api/v1/public/outages").json()["current"]] == [record]

    api.clock.advance(hours=5)
    switch(api, "CB3", closed=True)  # the work is done: supply back, the booking completed
    done = api.get(f"/api/v1/public/planned/{planned}").json()
    assert (done["state"], done["outage_id"]) == ("completed", record)
    assert api.get(f"/api/v1/public/outages/{record}").json()["planned_id"] == planned
    assert api.get("/api/v1/public/outages").json()["current"] == []
    assert api.get("/api/v1/public/outages/999").status_code == 404
    assert api.get("/api/v1/public/planned/999").status_code == 404


def test_drafts_and_cancelled_bookings_are_never_public(api: Api) -> None:
    draft = book_planned(api, "CB3", state=PlannedState.DRAFT)
    cancelled = book_planned(api, "CB3", state=PlannedState.CANCELLED)
    approved = book_planned(api, "FU1", state=PlannedState.APPROVED)  # TA3, 李村
    notified_then_cancelled = book_planned(api, "CB2")  # TA4, 城关
    with api.context.sessions.begin() as session:
        planned_store.transition_work(
            session,
            notified_then_cancelled,
            PlannedState.CANCELLED,
            at=api.clock.now,
            actor="p",
            role="planner",
        )
    listed = api.get("/api/v1/public/outages").json()
    assert [(p["id"], p["state"]) for p in listed["upcoming"]] == [(approved, "approved")]
    for hidden in (draft, cancelled, notified_then_cancelled):
        response = api.get(f"/api/v1/public/planned/{hidden}")
        assert response.status_code == 404
        assert response.json() == api.get("/api/v1/public/planned/999").json() | {
            "detail": f"no planned outage with id {hidden}",
            "instance": f"/api/v1/public/planned/{hidden}",
            "planned_outage_id": hidden,
        }  # the same answer as for an id that does not exist
    for area in ("张营", "城关"):
        assert api.get("/api/v1/public/outages", params={"area": area}).json()["upcoming"] == []
    # Their switching starts nothing either: opening CB3 in the draft's window is a fault.
    api.clock.now = STARTS + timedelta(minutes=5)
    switch(api, "CB3", closed=False)
    [now] = api.get("/api/v1/public/outages").json()["current"]
    assert (now["kind"], now["planned_id"]) == ("fault", None)


def test_a_postponed_booking_says_so_and_shows_its_new_window(api: Api) -> None:
    early = book_planned(api, "FU1")  # 10 June
    later = book_planned(
        api,
        "CB3",
        starts_at=STARTS + timedelta(days=1),
        ends_at=ENDS + timedelta(days=1),
        work_type=WorkType.CONSTRUCTION,
    )
    # The 10 June work is put off to 12 June, 02:00 to 09:00 UTC: after the other one.
    new = (datetime(2024, 6, 12, 2, tzinfo=UTC), datetime(2024, 6, 12, 9, tzinfo=UTC))
    postpone_planned(api, early, *new)
    upcoming = api.get("/api/v1/public/outages").json()["upcoming"]
    assert [(p["id"], p["state"]) for p in upcoming] == [(later, "notified"), (early, "postponed")]
    assert (upcoming[1]["starts_at"], upcoming[1]["ends_at"]) == (
        "2024-06-12T02:00:00Z",
        "2024-06-12T09:00:00Z",
    )
    assert upcoming[0]["work_type_name"] == {"zh": "工程施工", "en": "construction work"}
    # A booking whose window passed without its switching is no longer to come.
    api.clock.now = ENDS + timedelta(days=1)
    assert [p["id"] for p in api.get("/api/v1/public/outages").json()["upcoming"]] == [early]


def test_a_booking_names_its_townships_from_the_network(api: Api) -> None:
    """Places come from the network's transformer areas and HV customers (their townships
    too); an area the network no longer has falls back to the booking's own villages."""
    rows = small_rows()
    for ta in rows["transformer_areas"]:
        ta["township"] = "城关镇" if ta["id"] in ("TA2", "TA3") else "柏山镇"
    rows["hv_customers"][0] |= {"township": "城关镇", "street": "建设路"}
    network = network_from_raw(small_raw(rows))
    work = book_planned(api, "CB1")  # TA1 王庄村, TA2 and TA3 李村, HV1
    with api.context.sessions() as session:
        booked = planned_store.get_work(session, work)
    assert sorted(booked.element_ids) == ["HV1", "TA1", "TA2", "TA3"]
    shown = public_planned(booked, network)
    assert (shown.villages, shown.streets, shown.townships) == (
        ["李村", "王庄村"],
        ["建设路"],  # the HV customer's street: a place, not its name or id
        ["城关镇", "柏山镇"],
    )
    assert (shown.transformer_areas, shown.customers) == (3, 40 + 35 + 20 + 1)
    gone = replace(booked, element_ids=("TA9", "TA1"))  # TA9: no longer in the network
    fallback = public_planned(gone, network)
    assert fallback.villages == ["李村", "王庄村"]  # TA1's, and the booking's own list
    assert fallback.townships == ["柏山镇"]


def test_public_pages_need_no_token_but_accept_one(api: Api) -> None:
    planned = book_planned(api)
    for path in ("/api/v1/public/outages", f"/api/v1/public/planned/{planned}"):
        assert api.get(path).status_code == 200
        assert api.get(path, role=Role.VIEWER).status_code == 200
    assert api.get("/api/v1/public/outages", params={"area": "x" * 101}).status_code == 422
    assert api.get("/api/v1/public/planned/0").status_code == 422


def test_a_planned_record_dated_ahead_is_not_shown_before_it_begins(api: Api) -> None:
    """A planned outage recorded ahead as an outage record (before bookings existed) is
    neither now nor to come until its start; then it is an outage now."""
    ahead = api.fault_outage(
        "CB3", kind=OutageKind.PLANNED, started_at=api.clock.now + timedelta(days=2)
    )
    listed = api.get("/api/v1/public/outages").json()
    assert (listed["current"], listed["upcoming"]) == ([], [])
    api.clock.advance(days=2, minutes=1)
    [now] = api.get("/api/v1/public/outages").json()["current"]
    assert (now["id"], now["kind"], now["planned_id"]) == (ahead, "planned", None)
