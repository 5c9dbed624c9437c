"""Reading the event log, the dead letters and telemetry over the API: filters, paging,
roles, raw bytes shown faithfully, bad parameters named (both databases)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from openoms.events import EventSource, TelemetrySample
from openoms.store.tokens import Role
from tests.api.conftest import START, Api

READERS = (Role.ADMIN, Role.DISPATCHER)
NOT_READERS = (Role.CREW, Role.PLANNER, Role.VIEWER)
PATHS = (
    "/api/v1/events",
    "/api/v1/dead-letters",
    "/api/v1/telemetry",
    "/api/v1/telemetry/D2/load_current_a",
)


def _post(api: Api, kind: str, device: str | None, payload: dict[str, Any], **extra: Any) -> None:
    event = {
        "kind": kind,
        "device_id": device,
        "device_time": (api.clock.now - timedelta(seconds=5)).isoformat(),
        "payload": payload,
        **extra,
    }
    response = api.post("/api/v1/events", role=Role.DISPATCHER, json=event)
    assert response.status_code == 202, response.text
    assert response.json()["rejected"] == [], response.text


def _mqtt(api: Api, topic_tail: str, payload: bytes) -> None:
    api.context.intake.accept_mqtt(f"openoms/test/{topic_tail}", payload, received_at=api.clock.now)


def _ms(api: Api) -> int:
    return int((api.clock.now - timedelta(seconds=1)).timestamp() * 1000)


def _log(api: Api) -> None:
    """Five events over five minutes: a trip, a position, a call, two indicator reports."""
    _post(api, "breaker_trip", "CB1", {"lockout": True}, idempotency_key="t1")
    api.clock.advance(minutes=1)
    _post(api, "switch_position", "K1", {"closed": False})
    api.clock.advance(minutes=1)
    _post(api, "trouble_call", None, {"transformer_area": "TA1", "address": "城关镇 12 号"})
    api.clock.advance(minutes=1)
    report = {"ts": _ms(api), "data": {"short_circuit_a": 1}}
    _mqtt(api, "indicators/D1/report", json.dumps(report).encode())
    api.clock.advance(minutes=1)
    report = {"ts": _ms(api), "msg_id": "r2", "data": {"short_circuit_a": 0}}
    _mqtt(api, "indicators/D1/report", json.dumps(report).encode())


def _items(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(path, role=Role.DISPATCHER, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_the_event_log_newest_first_with_its_filters(api: Api) -> None:
    _log(api)
    events = _items(api, "/api/v1/events")
    assert [(e["kind"], e["device_id"], e["source"]) for e in events] == [
        ("indicator_report", "D1", "mqtt"),
        ("indicator_report", "D1", "mqtt"),
        ("trouble_call", None, "http"),
        ("switch_position", "K1", "http"),
        ("breaker_trip", "CB1", "http"),
    ]
    trip = events[-1]
    assert trip["received_at"] == "2024-06-01T08:00:00Z"
    assert trip["device_time"] == "2024-06-01T07:59:55Z"
    assert trip["idempotency_key"] == "k:CB1:t1"
    assert trip["sender"] == {"name": "dispatcher-1", "role": "dispatcher"}
    assert trip["payload"] == {"lockout": True}
    assert (trip["processed_at"], trip["outcome"]) == (None, None)
    assert events[0]["sender"] is None
    assert events[0]["idempotency_key"] == "m:D1:r2"
    assert events[2]["payload"]["address"] == "城关镇 12 号"

    def ids(**params: Any) -> list[int]:
        return [e["id"] for e in _items(api, "/api/v1/events", **params)]

    every = ids()
    assert every == sorted(every, reverse=True)
    assert ids(device="D1") == every[:2]
    assert ids(kind=["breaker_trip", "switch_position"]) == every[3:]
    assert ids(source="mqtt") == every[:2]
    assert ids(source=["http"], kind="trouble_call") == [every[2]]
    # receipt time: from inclusive, to exclusive, with any offset
    assert ids(**{"from": "2024-06-01T16:01:00+08:00", "to": "2024-06-01T08:03:00Z"}) == [
        every[2],
        every[3],
    ]
    assert ids(device="D404") == []


def test_paging_by_cursor_sees_every_event_once_while_new_ones_arrive(api: Api) -> None:
    for n in range(7):
        _post(api, "switch_position", "K1", {"closed": n % 2 == 0}, idempotency_key=f"p{n}")
        api.clock.advance(seconds=1)
    seen: list[int] = []
    cursor: int | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = api.get("/api/v1/events", role=Role.ADMIN, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [e["id"] for e in page["items"]]
        pages += 1
        if pages == 1:  # a newer event arrives between two pages: not in the older pages
            _post(api, "switch_position", "K1", {"closed": True}, idempotency_key="late")
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["items"][-1]["id"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)
    assert len(_items(api, "/api/v1/events", limit=500)) == 8


def test_dead_letters_show_why_and_every_byte(api: Api) -> None:
    _mqtt(api, "indicators/D1/report", b"\xff\xfe not UTF-8")
    api.clock.advance(minutes=1)
    seconds = int(api.clock.now.timestamp())
    _mqtt(api, "switches/CB1/event", json.dumps({"ts": seconds, "event": "trip"}).encode())
    api.clock.advance(minutes=1)
    _mqtt(api, "indicators/D404/report", '{"ts": 1, "备注": "未知"}'.encode())
    api.context.intake.accept_telemetry(
        [TelemetrySample("RTU9-X", "load_current_a", 3.0, api.clock.now, channel="iec104:RTU9")]
    )
    letters = _items(api, "/api/v1/dead-letters")
    assert [(d["reason"], d["source"], d["channel"]) for d in letters] == [
        ("unknown_device", "iec104", "iec104:RTU9"),
        ("unknown_device", "mqtt", "openoms/test/indicators/D404/report"),
        ("malformed", "mqtt", "openoms/test/switches/CB1/event"),
        ("malformed", "mqtt", "openoms/test/indicators/D1/report"),
    ]
    binary = letters[3]
    assert binary["raw_encoding"] == "base64"
    assert base64.b64decode(binary["raw"]) == b"\xff\xfe not UTF-8"
    assert binary["raw_bytes"] == len(b"\xff\xfe not UTF-8") == 12
    assert binary["detail"].startswith("payload: not UTF-8")
    assert binary["received_at"] == "2024-06-01T08:00:00Z"
    text = letters[1]
    assert (text["raw_encoding"], text["raw"]) == ("utf-8", '{"ts": 1, "备注": "未知"}')
    assert text["raw_bytes"] == len('{"ts": 1, "备注": "未知"}'.encode())
    assert "device 'D404' is not in the network" in text["detail"]
    trip = letters[2]  # seconds sent and the lockout missing: both named
    assert "lockout: required" in trip["detail"]
    assert "the device probably sent seconds" in trip["detail"]

    def reasons(**params: Any) -> list[str]:
        return [d["reason"] for d in _items(api, "/api/v1/dead-letters", **params)]

    assert reasons(reason="malformed") == ["malformed", "malformed"]
    assert reasons(device="D404") == ["unknown_device"]
    assert reasons(device="RTU9") == ["unknown_device"]
    assert reasons(device="D1") == ["malformed"]
    assert reasons(device="D_") == []  # LIKE wildcards are matched as such
    assert reasons(source="iec104") == ["unknown_device"]
    assert reasons(**{"from": "2024-06-01T08:01:00Z"}) == ["unknown_device"] * 2 + ["malformed"]
    page = api.get("/api/v1/dead-letters?limit=3", role=Role.DISPATCHER).json()
    rest = api.get(f"/api/v1/dead-letters?cursor={page['next_cursor']}", role=Role.DISPATCHER)
    assert [d["id"] for d in page["items"] + rest.json()["items"]] == [d["id"] for d in letters]
    assert rest.json()["next_cursor"] is None


def test_telemetry_latest_and_history(api: Api) -> None:
    intake = api.context.intake
    samples = [
        TelemetrySample(
            "D2",
            "load_current_a",
            100.0 + s,
            received_at=START + timedelta(seconds=s, milliseconds=100),
            device_time=START + timedelta(seconds=s),
            channel="iec104:RTU1",
        )
        for s in range(0, 300, 2)  # five minutes every 2 s
    ]
    samples.append(TelemetrySample("K1", "active_power_kw", -42.5, START, quality_ok=False))
    assert intake.accept_telemetry(samples) == 151
    latest = _items(api, "/api/v1/telemetry")
    assert [(r["element_id"], r["point"], r["value"]) for r in latest] == [
        ("D2", "load_current_a", 398.0),
        ("K1", "active_power_kw", -42.5),
    ]
    assert latest[0]["at"] == "2024-06-01T08:04:58Z"
    assert latest[0]["received_at"] == "2024-06-01T08:04:58.100000Z"
    assert latest[0]["channel"] == "iec104:RTU1"
    assert (latest[1]["quality_ok"], latest[1]["device_time"]) == (False, None)
    assert [r["element_id"] for r in _items(api, "/api/v1/telemetry", element="K1")] == ["K1"]
    response = api.get("/api/v1/telemetry/D2/load_current_a", role=Role.ADMIN)
    assert response.status_code == 200, response.text
    history = response.json()
    assert history["sample_s"] == 60.0
    assert [r["value"] for r in history["items"]] == [340.0, 280.0, 220.0, 160.0, 100.0]
    assert [r["at"] for r in history["items"]][-1] == "2024-06-01T08:00:00Z"
    window = _items(
        api,
        "/api/v1/telemetry/D2/load_current_a",
        since="2024-06-01T16:01:00+08:00",
        until="2024-06-01T08:03:00Z",
        limit=1,
        offset=1,
    )
    assert [r["value"] for r in window] == [160.0]
    unknown = api.get("/api/v1/telemetry/D404/load_current_a", role=Role.DISPATCHER)
    assert unknown.status_code == 404
    assert "D404" in unknown.json()["detail"]


def _refused(api: Api, path: str, name: str) -> None:
    response = api.get(path, role=Role.DISPATCHER)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    # a repeatable filter (kind, source, reason) names the position too: ["query", "kind", 0]
    assert [e["location"][:2] for e in response.json()["errors"]] == [["query", name]]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/events?kind=breaker_explosion", "kind"),
        ("/api/v1/events?source=carrier_pigeon", "source"),
        ("/api/v1/events?from=1717228800", "from"),
        ("/api/v1/events?to=2024-06-01T08:00:00", "to"),  # no offset
        ("/api/v1/events?from=2024-06-02T00:00:00Z&to=2024-06-01T00:00:00Z", "to"),
        ("/api/v1/events?from=2024-06-01T00:00:00Z&to=2024-06-01T00:00:00Z", "to"),
        ("/api/v1/events?limit=0", "limit"),
        ("/api/v1/events?limit=501", "limit"),
        ("/api/v1/events?cursor=abc", "cursor"),
        ("/api/v1/events?cursor=0", "cursor"),
        ("/api/v1/events?device=", "device"),
        ("/api/v1/events?device=D%0A1", "device"),
        ("/api/v1/dead-letters?reason=bad_luck", "reason"),
        ("/api/v1/dead-letters?from=yesterday", "from"),
        ("/api/v1/dead-letters?cursor=-5", "cursor"),
        ("/api/v1/telemetry?limit=-1", "limit"),
        ("/api/v1/telemetry?point=load%00", "point"),
        ("/api/v1/telemetry?element=D%002", "element"),
        ("/api/v1/telemetry/D2/load_current_a?since=0", "since"),
        (
            "/api/v1/telemetry/D2/load_current_a?since=2024-06-01T08:00:00Z"
            "&until=2024-06-01T07:00:00Z",
            "until",
        ),
        ("/api/v1/telemetry/D2/load_current_a?offset=-1", "offset"),
    ],
)
def test_a_bad_filter_is_a_422_naming_the_parameter(api: Api, path: str, name: str) -> None:
    _refused(api, path, name)


@pytest.mark.parametrize("role", NOT_READERS)
def test_roles_without_the_right_get_403(api: Api, role: Role) -> None:
    _log(api)
    for path in PATHS:
        response = api.get(path, role=role)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["type"] == "urn:openoms:problem:forbidden"
        assert "items" not in response.json()
    assert api.get("/api/v1/events").status_code == 401


@pytest.mark.parametrize("role", READERS)
def test_the_control_room_reads_them(api: Api, role: Role) -> None:
    _log(api)
    for path in PATHS:
        assert api.get(path, role=role).status_code == 200, path
    assert EventSource.MQTT.value in {
        e["source"] for e in api.get("/api/v1/events", role=role).json()["items"]
    }
