"""Times in the API are ISO 8601 text with a UTC offset, never numbers (issue 10).

Pydantic reads a number as seconds since 1970: ``starts_at: -1`` booked an outage in 1969.
Every time field of a request (body or query) refuses a number, a numeric string, a date
without a time and a time without an offset, with a 422 problem naming the field; nothing is
stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from openoms.store.tokens import Role
from tests.api.conftest import Api

NOT_TIMES: list[Any] = [-1, 0, 1717228800, 1717228800.5, True, "1717228800", "2024-06-09"]
NAIVE = "2024-06-09T08:00:00"
BOOKING = {
    "work_on": ["s2"],
    "reason": "pole 17",
    "starts_at": "2024-06-10T08:00:00+08:00",
    "ends_at": "2024-06-10T14:00:00+08:00",
}


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["location"][-1] for e in response.json()["errors"]] == [field], response.text


def _outages(api: Api) -> list[Any]:
    listed = api.get("/api/v1/outages", role=Role.VIEWER)
    assert listed.status_code == 200
    return list(listed.json()["items"])


@pytest.mark.parametrize("value", [*NOT_TIMES, NAIVE])
def test_a_planned_booking_refuses_a_time_that_is_not_iso_8601_with_offset(
    api: Api, value: Any
) -> None:
    for field in ("starts_at", "ends_at"):
        body = BOOKING | {field: value}
        _refused(api.post("/api/v1/planned-outages", role=Role.PLANNER, json=body), field)
    assert api.get("/api/v1/planned-outages", role=Role.VIEWER).json() == []
    for field in ("starts_at", "ends_at"):  # a manual outage record the same
        body = {"kind": "fault", "open": ["K1"], "starts_at": "2024-06-01T07:00:00Z", field: value}
        _refused(api.post("/api/v1/outages", role=Role.DISPATCHER, json=body), field)
    assert _outages(api) == []


def test_an_iso_time_still_books(api: Api) -> None:
    created = api.post("/api/v1/planned-outages", role=Role.PLANNER, json=BOOKING)
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"] == "2024-06-10T00:00:00Z"


@pytest.mark.parametrize("value", [*NOT_TIMES, NAIVE])
def test_a_restoration_step_refuses_a_number_for_its_time(api: Api, value: Any) -> None:
    outage = api.fault_outage("K1")
    body = {"element_ids": ["TA2"], "how": "repair", "at": value}
    path = f"/api/v1/outages/{outage}/restoration-steps"
    _refused(api.post(path, role=Role.DISPATCHER, json=body), "at")
    assert api.get(f"/api/v1/outages/{outage}", role=Role.VIEWER).json()["steps"] == []


@pytest.mark.parametrize("value", NOT_TIMES)
def test_an_event_refuses_a_number_for_its_device_time(api: Api, value: Any) -> None:
    event = {"kind": "trouble_call", "device_time": value, "payload": {}}
    _refused(api.post("/api/v1/events", role=Role.DISPATCHER, json=event), "device_time")


@pytest.mark.parametrize("value", ["0", "-1", "1717228800", "2024-06-09"])
def test_the_outage_list_refuses_a_number_for_its_period(api: Api, value: str) -> None:
    for name in ("from", "to"):
        response = api.get(f"/api/v1/outages?{name}={value}", role=Role.VIEWER)
        _refused(response, name)
