"""Events into the log: single and batch, a bad event never fails the batch, re-posts are
duplicates, and nothing unstorable gets past the schema."""

from __future__ import annotations

from typing import Any, get_args

from openoms.api.event_schemas import EventIn
from openoms.events import EventKind
from openoms.store import deadletters, eventlog
from openoms.store.tokens import Role
from tests.api.conftest import Api

D, C = Role.DISPATCHER, Role.CREW


def event(kind: str = "trouble_call", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": kind, "device_time": "2024-06-01T07:59:00+00:00", "payload": {}}
    return base | fields


def stored(api: Api) -> tuple[dict[str, int], dict[str, int]]:
    with api.context.sessions() as session:
        return eventlog.event_counts(session), deadletters.dead_letter_counts(session)


def test_one_model_per_event_kind() -> None:
    union = get_args(get_args(EventIn)[0])
    tags = {get_args(model.model_fields["kind"].annotation)[0] for model in union}
    assert tags == {kind.value for kind in EventKind}


def test_a_single_event_is_stored_once_however_often_it_is_posted(api: Api) -> None:
    trip = event("breaker_trip", device_id="CB1", payload={"lockout": True})
    first = api.post("/api/v1/events", role=D, json=trip)
    assert first.status_code == 202
    assert first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    again = api.post("/api/v1/events", role=D, json=trip)
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}

    keyed = event(device_id="CALL-1", idempotency_key="call-42", payload={"address": "a"})
    assert api.post("/api/v1/events", role=D, json=keyed).json()["accepted"] == 1
    changed = keyed | {"payload": {"address": "b"}}
    assert api.post("/api/v1/events", role=D, json=changed).json()["duplicates"] == 1
    assert stored(api) == ({"breaker_trip": 1, "trouble_call": 1}, {})


def test_a_bad_event_in_a_batch_is_rejected_alone(api: Api) -> None:
    batch = [
        event("breaker_trip", device_id="CB1", payload={"lockout": False}),
        event("switch_position", device_id="K1", payload={"closed": "maybe"}),  # malformed
        event("switch_position", device_id="K404", payload={"closed": False}),  # unknown device
        17,  # not an event at all
        event("ftu_report", device_id="D2", payload={"short_circuit_a": 1}),
        event("trouble_call", payload={"transformer_area": "TA1"}),
        event("breaker_reclose", device_id="CB1", device_time="2024-06-01T07:59:30Z",
              payload={"success": True}),
        event("indicator_report", device_id="D1", device_time="2024-06-01T09:00:00Z"),  # future
    ]  # fmt: skip
    response = api.post("/api/v1/events/batch", role=D, json={"events": batch})
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 4
    assert body["duplicates"] == 0
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert reasons == {1: "malformed", 2: "unknown_device", 3: "malformed", 7: "future"}
    assert "payload.closed" in body["rejected"][0]["detail"]
    assert "K404" in body["rejected"][1]["detail"]
    events, dead = stored(api)
    assert events == {"breaker_trip": 1, "ftu_report": 1, "trouble_call": 1, "breaker_reclose": 1}
    assert dead == {"malformed": 2, "unknown_device": 1, "future": 1}

    again = api.post("/api/v1/events/batch", role=D, json={"events": batch}).json()
    assert again["accepted"] == 0
    assert again["duplicates"] == 4


def test_batches_hold_at_most_1000_events(api: Api) -> None:
    calls = [event(payload={"n": i}) for i in range(1000)]
    response = api.post("/api/v1/events/batch", role=D, json={"events": calls})
    assert response.json()["accepted"] == 1000
    too_many = api.post("/api/v1/events/batch", role=D, json={"events": [*calls, event()]})
    assert too_many.status_code == 413  # counted before the events are validated
    assert too_many.json()["type"] == "urn:openoms:problem:request-too-large"
    assert (too_many.json()["size"], too_many.json()["limit"]) == (1001, 1000)
    assert api.post("/api/v1/events/batch", role=D, json={"events": []}).status_code == 422


def test_a_crew_posts_crew_status_under_its_own_name(api: Api) -> None:
    outage = api.fault_outage("K1")
    status = event(
        "crew_status", payload={"outage_id": outage, "status": "crew_on_site", "crew": "other"}
    )
    assert api.post("/api/v1/events", role=C, json=status).json()["accepted"] == 1
    with api.context.sessions() as session:
        [(_, logged)] = eventlog.unprocessed_events(session)
    assert logged.payload == {"outage_id": outage, "status": "crew_on_site", "crew": "crew-1"}
    by_dispatcher = event("crew_status", payload={"outage_id": outage, "status": "isolated"})
    assert api.post("/api/v1/events", role=D, json=by_dispatcher).json()["accepted"] == 1
    with api.context.sessions() as session:
        _, (_, second) = eventlog.unprocessed_events(session)
    assert "crew" not in second.payload  # a dispatcher's report names no crew unless given

    trip = event("breaker_trip", device_id="CB1", payload={"lockout": True})
    assert api.post("/api/v1/events", role=C, json=trip).status_code == 403
    mixed = [trip, status | {"idempotency_key": "s2"}]
    body = api.post("/api/v1/events/batch", role=C, json={"events": mixed}).json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {
            "index": 0,
            "reason": "forbidden",
            "detail": "role 'crew' may not post breaker_trip events",
        }
    ]


UNSTORABLE: list[tuple[dict[str, Any], str]] = [
    ({"device_time": "2024-06-01T07:59:00"}, "device_time"),  # naive
    ({"device_time": "0001-01-01T00:00:00+05:00"}, "device_time"),  # no UTC year
    ({"device_time": "1969-12-31T23:59:59Z"}, "device_time"),
    ({"payload": {"note": "a\u0000b"}}, "payload"),  # PostgreSQL cannot store NUL
    ({"payload": {"big": "x" * 70_000}}, "payload"),
    ({"device_id": "T\u0000A1"}, "device_id"),
    ({"device_id": "x" * 101}, "device_id"),
    ({"idempotency_key": ""}, "idempotency_key"),
    ({"colour": "red"}, "colour"),
]


def test_unstorable_events_are_refused_with_the_field_named(api: Api) -> None:
    for fields, location in UNSTORABLE:
        response = api.post("/api/v1/events", role=D, json=event(**fields))
        assert response.status_code == 422, fields
        assert response.json()["errors"][0]["location"][-1] == location, fields
    assert stored(api) == ({}, {})


def test_non_finite_numbers_are_refused(api: Api) -> None:
    body = b'{"kind": "trouble_call", "device_time": "2024-06-01T07:59:00Z", "payload": {"x": NaN}}'
    response = api.post(
        "/api/v1/events", role=D, content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert stored(api) == ({}, {})
