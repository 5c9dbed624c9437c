"""Parsing the MQTT wire formats: good messages of every kind, and every reason to refuse one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openoms.events import Event, EventKind, EventSource
from openoms.grid.model import Network
from openoms.ingest.documents import plain_report
from openoms.ingest.payloads import (
    MAX_PAYLOAD_BYTES,
    Channel,
    MqttParser,
    Rejected,
    RejectReason,
    Topic,
    check_device,
    check_time,
    message_key,
    parse_document,
    parse_mqtt,
    parse_topic,
)
from openoms.ingest.topics import topic_of

U = "u1"
TS = 1732780800123
AT = datetime(2024, 11, 28, 8, 0, 0, 123000, tzinfo=UTC)


def _parse(network: Network, path: str, payload: object) -> Event | Rejected:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_mqtt(f"openoms/{U}/{path}", raw, utility=U, network=network)


# -- good messages ------------------------------------------------------------------------

_NO_FAULT = {
    "fault_phases": [],
    "short_circuit": False,
    "earth_fault": False,
    "earth_fault_phases": [],
    "permanent_fault": False,
    "loss_of_voltage_phases": [],
    "loss_of_voltage": False,
    "reclose": False,
}

GOOD: list[Any] = [
    pytest.param(
        "indicators/D1/report",
        {
            "sn": "D1",
            "ts": TS,
            "data": {
                "short_circuit_a": 1,
                "short_circuit_b": 0,
                "short_circuit_c": 0,
                "earth_fault": 0,
                "outage_a": 0,
                "load_current_a": 12.5,
                "fault_current_a": 820.0,
                "battery_v": 3.6,
            },
        },
        EventKind.INDICATOR_REPORT,
        {
            **_NO_FAULT,
            "fault_phases": ["A"],
            "short_circuit": True,
            "measurements": {"load_current_a": 12.5, "fault_current_a": 820.0, "battery_v": 3.6},
        },
        id="indicator: DOMAIN §1 example, short circuit on A",
    ),
    pytest.param(
        "indicators/D1/report",
        {
            "ts": TS,
            "data": {
                "transient_short_circuit_b": True,
                "permanent_short_circuit_c": 1,
                "transient_earth_fault_a": 1,
                "outage_b": 1,
                "outage_c": 1,
                "reclose_a": 1,
                "earth_fault_current_a": 3,
                "x_firmware": "2.1.7",
            },
        },
        EventKind.INDICATOR_REPORT,
        {
            "fault_phases": ["B", "C"],
            "short_circuit": True,
            "earth_fault": True,
            "earth_fault_phases": ["A"],
            "permanent_fault": True,
            "loss_of_voltage_phases": ["B", "C"],
            "loss_of_voltage": True,
            "reclose": True,
            "measurements": {"earth_fault_current_a": 3.0},
        },
        id="indicator: transient / permanent flags, vendor point kept",
    ),
    pytest.param(
        "indicators/D1/report",
        {"ts": TS, "data": {"short_circuit": 1, "earth_fault": 1, "outage": 1}},
        EventKind.INDICATOR_REPORT,
        {
            **_NO_FAULT,
            "short_circuit": True,
            "earth_fault": True,
            "loss_of_voltage": True,
            "measurements": {},
        },
        id="indicator: collecting-unit flags only (no phase known)",
    ),
    pytest.param(
        "indicators/D1/report",
        {"ts": TS, "data": {}},
        EventKind.INDICATOR_REPORT,
        {**_NO_FAULT, "measurements": {}, "points": {}},
        id="indicator: empty data (online, nothing to report)",
    ),
    pytest.param(
        "ftus/D2/report",
        {"ts": TS, "data": {"switch_closed": 0, "voltage_kv_a": 5.8, "short_circuit_a": 1}},
        EventKind.FTU_REPORT,
        {
            **_NO_FAULT,
            "fault_phases": ["A"],
            "short_circuit": True,
            "switch_closed": False,
            "measurements": {"voltage_kv_a": 5.8},
        },
        id="ftu: position and voltage",
    ),
    pytest.param(
        "ftus/D2/report",
        {"ts": TS, "data": {"load_current_a": 100}},
        EventKind.FTU_REPORT,
        {"switch_closed": None, "measurements": {"load_current_a": 100.0}},
        id="ftu: position not sent",
    ),
    pytest.param(
        "switches/CB1/event",
        {"ts": TS, "event": "trip", "lockout": True},
        EventKind.BREAKER_TRIP,
        {"lockout": True},
        id="switch: breaker trip to lockout",
    ),
    pytest.param(
        "switches/CB1/event",
        {"ts": TS, "event": "reclose", "success": True, "lockout": False},
        EventKind.BREAKER_RECLOSE,
        {"success": True},
        id="switch: successful reclose",
    ),
    pytest.param(
        "switches/K1/event",
        {"ts": TS, "event": "open"},
        EventKind.SWITCH_POSITION,
        {"closed": False},
        id="switch: load-break switch opened",
    ),
    pytest.param(
        "switches/FU1/event",
        {"ts": TS, "event": "close", "sn": "FU1"},
        EventKind.SWITCH_POSITION,
        {"closed": True},
        id="switch: fuse closed",
    ),
    pytest.param(
        "crews/城关抢修一班/status",
        {"ts": TS, "outage_id": 7, "status": "crew_on_site", "note": "到达现场"},
        EventKind.CREW_STATUS,
        {"crew": "城关抢修一班", "outage_id": 7, "status": "crew_on_site", "note": "到达现场"},
        id="crew: on site",
    ),
]


@pytest.mark.parametrize(("path", "doc", "kind", "expected"), GOOD)
def test_good_messages_become_events(
    network: Network, path: str, doc: dict[str, Any], kind: EventKind, expected: dict[str, Any]
) -> None:
    event = _parse(network, path, doc)
    assert isinstance(event, Event), event
    assert event.kind is kind
    assert event.source is EventSource.MQTT
    assert event.device_time == AT
    assert event.device_id == (None if path.startswith("crews/") else path.split("/")[1])
    assert {k: event.payload[k] for k in expected} == expected
    if "points" in event.payload:
        assert event.payload["points"] == doc["data"]
    assert event.idempotency_key.startswith("h:")


def test_msg_id_is_the_key_namespaced_by_the_sender(network: Network) -> None:
    event = _parse(network, "indicators/D1/report", {"ts": TS, "msg_id": "17", "data": {}})
    assert isinstance(event, Event)
    assert event.idempotency_key == message_key("D1", "17") == "m:D1:17"
    crew = _parse(
        network, "crews/c9/status", {"ts": TS, "msg_id": "17", "outage_id": 1, "status": "restored"}
    )
    assert isinstance(crew, Event)
    assert crew.idempotency_key == "m:c9:17"


def test_the_same_report_gets_the_same_key_and_another_report_another(network: Network) -> None:
    doc = {"ts": TS, "data": {"short_circuit_a": 1}}
    first, again = (
        _parse(network, "indicators/D1/report", doc),
        _parse(network, "indicators/D1/report", json.dumps(doc, indent=2).encode()),
    )
    other = _parse(network, "indicators/D1/report", {"ts": TS, "data": {"short_circuit_b": 1}})
    later = _parse(network, "indicators/D1/report", {"ts": TS + 1, "data": {"short_circuit_a": 1}})
    assert isinstance(first, Event)
    assert isinstance(again, Event)
    assert isinstance(other, Event)
    assert isinstance(later, Event)
    assert first.idempotency_key == again.idempotency_key
    assert len({first.idempotency_key, other.idempotency_key, later.idempotency_key}) == 3


# -- refused messages ------------------------------------------------------------------------

M, T, D = RejectReason.MALFORMED, RejectReason.UNKNOWN_TOPIC, RejectReason.UNKNOWN_DEVICE
I = RejectReason.IMPLAUSIBLE_TIME  # noqa: E741
IND = "indicators/D1/report"

BAD: list[Any] = [
    # malformed: the bytes
    pytest.param(IND, b"\xff\xfe", M, "payload: not UTF-8", id="not UTF-8"),
    pytest.param(IND, b"short_circuit_a=1", M, "payload: not JSON", id="not JSON"),
    pytest.param(IND, b'{"ts": NaN, "data": {}}', M, "NaN is not a JSON number", id="NaN"),
    pytest.param(
        IND,
        b'{"ts": 1, "data": {"fault_current_a": 1e999}}',
        M,
        "out of range",
        id="number overflows to infinity",
    ),
    pytest.param(IND, b'{"ts": 1, "data": {"x_v": "a\\u0000"}}', M, "U+0000", id="NUL"),
    pytest.param(IND, b"[" * 100_000, M, "payload:", id="nested too deeply"),
    pytest.param(IND, b" " * (MAX_PAYLOAD_BYTES + 1), M, "bytes, more than", id="too large"),
    # malformed: the shape
    pytest.param(IND, [1, 2], M, "payload: expected a JSON object, got an array", id="array"),
    pytest.param(IND, {"data": {}}, M, "ts: required", id="ts missing"),
    pytest.param(
        IND,
        {"ts": "1732780800123", "data": {}},
        M,
        "ts: expected integer milliseconds, got the string",
        id="ts as text",
    ),
    pytest.param(
        IND, {"ts": 1.5, "data": {}}, M, "ts: expected integer milliseconds", id="ts fractional"
    ),
    pytest.param(
        IND,
        {"ts": "x", "data": {}, "sn": 1},
        M,
        "ts: expected integer milliseconds, got the string 'x'; sn: expected a string",
        id="ts and sn wrong",
    ),
    pytest.param(
        IND,
        {"ts": 1, "data": {"a b": 1}},
        M,
        "data['a b']: unknown point (vendor points start with x_); ts: 1 as milliseconds",
        id="implausible ts among other problems",
    ),
    # implausible_time: a time that is no plausible count of milliseconds
    pytest.param(
        IND,
        {"ts": 1732780800, "data": {"short_circuit_a": 1}},
        I,
        "ts: 1732780800 as milliseconds since 1970 is 1970-01-21T01:19:40.800Z, before 2000: "
        "the device probably sent seconds (as seconds it is 2024-11-28T08:00:00.000Z); "
        "ts must be integer milliseconds since 1970-01-01 UTC",
        id="ts in seconds",
    ),
    pytest.param(
        "switches/CB1/event",
        {"ts": 1732780800, "event": "trip", "lockout": True},
        I,
        "the device probably sent seconds",
        id="trip with ts in seconds",
    ),
    pytest.param(
        IND,
        {"ts": TS * 1000, "data": {}},
        I,
        "is beyond the year 9999, after 2099: the device probably sent microseconds "
        "(as microseconds it is 2024-11-28T08:00:00.123Z)",
        id="ts in microseconds",
    ),
    pytest.param(
        IND,
        {"ts": 4_102_444_800_000, "data": {}},
        I,
        "is 2100-01-01T00:00:00.000Z, after 2099: not a plausible device time",
        id="ts far ahead",
    ),
    pytest.param(
        IND,
        {"ts": -1, "data": {}},
        I,
        "ts: -1 as milliseconds since 1970 is 1969",
        id="ts negative",
    ),
    pytest.param(
        "crews/c1/status",
        {"ts": 0, "outage_id": 1, "status": "restored"},
        I,
        "ts: 0 as milliseconds since 1970 is 1970-01-01T00:00:00.000Z, before 2000: not a",
        id="crew status ts 0",
    ),
    pytest.param(
        IND,
        {"ts": True, "data": {}},
        M,
        "ts: expected integer milliseconds, got a boolean",
        id="ts boolean",
    ),
    pytest.param(IND, {"ts": TS}, M, "data: required", id="data missing"),
    pytest.param(
        IND,
        {"ts": TS, "data": [1]},
        M,
        "data: expected an object of points",
        id="data not an object",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {}, "sn": "D9"},
        M,
        "sn: 'D9' is not the device 'D1' of the topic",
        id="sn mismatch",
    ),
    pytest.param(
        IND, {"ts": TS, "data": {}, "sn": 1}, M, "sn: expected a string", id="sn not a string"
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {}, "msg_id": 5},
        M,
        "msg_id: expected a string",
        id="msg_id a number",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {}, "msg_id": "a\tb"},
        M,
        "msg_id: must be printable",
        id="msg_id with a tab",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {}, "msg_id": "x" * 65},
        M,
        "msg_id: must have 1",
        id="msg_id too long",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {}, "device": "D1"},
        M,
        "'device': unknown field",
        id="unknown top-level field",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"short_circut_a": 1}},
        M,
        "data.short_circut_a: unknown point",
        id="misspelt point",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"short_circuit_a": 2}},
        M,
        "data.short_circuit_a: expected 0 or 1",
        id="flag out of range",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"outage_b": "1"}},
        M,
        "data.outage_b: expected 0 or 1 (or false / true), got the string '1'",
        id="flag as text",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"load_current_c": None}},
        M,
        "data.load_current_c: expected a number (A), got null",
        id="number null",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"fault_current_a": -3}},
        M,
        "data.fault_current_a: -3 is less than 0 A",
        id="negative current",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"gps_lat_deg": 95}},
        M,
        "data.gps_lat_deg: 95 is more than 90",
        id="latitude",
    ),
    pytest.param(
        IND,
        {"ts": TS, "data": {"switch_closed": 1}},
        M,
        "data.switch_closed: an FTU / DTU point",
        id="FTU point from an indicator",
    ),
    pytest.param(
        IND,
        {"ts": "x", "data": {"a b": 1}},
        M,
        "ts: expected integer milliseconds, got the string 'x'; data['a b']: unknown",
        id="every problem named",
    ),
    pytest.param(
        "switches/CB1/event",
        {"ts": TS, "event": "trip"},
        M,
        "lockout: required with \"event\": 'trip'",
        id="trip without lockout",
    ),
    pytest.param(
        "switches/CB1/event",
        {"ts": TS, "event": "reclose", "success": "yes"},
        M,
        "success: expected true or false",
        id="reclose success not a bool",
    ),
    pytest.param(
        "switches/CB1/event",
        {"ts": TS, "event": "opened"},
        M,
        "event: expected one of trip, reclose, open, close, got the string 'opened'",
        id="unknown switch event",
    ),
    pytest.param(
        "crews/c1/status",
        {"ts": TS, "status": "crew_on_site"},
        M,
        "outage_id: expected a positive integer, got nothing",
        id="crew no outage",
    ),
    pytest.param(
        "crews/c1/status",
        {"ts": TS, "outage_id": 1, "status": "lunch"},
        M,
        "status: expected one of detected",
        id="crew unknown status",
    ),
    pytest.param(
        "crews/c1/status",
        {"ts": TS, "outage_id": 1, "status": "restored", "cause": "x" * 201},
        M,
        "cause: expected a string of at most 200",
        id="crew cause too long",
    ),
    # unknown_topic
    pytest.param("indicators/D1", {}, T, "is not openoms/<utility>/", id="too few levels"),
    pytest.param("indicators/D1/report/extra", {}, T, "is not openoms/", id="too many levels"),
    pytest.param(
        "meters/M1/report", {}, T, "'meters' is not one of indicators, ftus", id="unknown channel"
    ),
    pytest.param(
        "indicators/D1/event",
        {},
        T,
        "indicators topics end in /report, not 'event'",
        id="wrong leaf",
    ),
    pytest.param("indicators//report", {}, T, "the name is empty", id="empty name"),
    pytest.param("crews/a\x01b/status", {}, T, "control characters", id="control character"),
    pytest.param(f"crews/{'c' * 101}/status", {}, T, "longer than 100", id="name too long"),
    # unknown_device
    pytest.param(
        "indicators/D404/report",
        {"ts": TS, "data": {}},
        D,
        "device 'D404' is not in the network 'small'",
        id="not in the network",
    ),
    pytest.param(
        "indicators/D2/report",
        {"ts": TS, "data": {}},
        D,
        "device 'D2' is of kind 'ftu'; indicator_report events come from a fault_indicator",
        id="FTU on an indicator topic",
    ),
    pytest.param(
        "ftus/D1/report",
        {"ts": TS, "data": {}},
        D,
        "'fault_indicator'; ftu_report events come from an ftu or dtu",
        id="indicator on an FTU topic",
    ),
    pytest.param(
        "indicators/K1/report",
        {"ts": TS, "data": {}},
        D,
        "'K1' is one of the switches of the network; indicator_report events come from",
        id="a switch on an indicator topic",
    ),
    pytest.param(
        "switches/s1/event",
        {"ts": TS, "event": "open"},
        D,
        "'s1' is one of the sections",
        id="a section on a switch topic",
    ),
    pytest.param(
        "switches/K1/event",
        {"ts": TS, "event": "trip", "lockout": False},
        D,
        "device 'K1' is of kind 'load_break_switch'; breaker_trip events come from a "
        "breaker or recloser",
        id="trip of a load-break switch",
    ),
    pytest.param(
        "switches/FU1/event",
        {"ts": TS, "event": "reclose", "success": True},
        D,
        "breaker_reclose events come from a breaker or recloser",
        id="reclose of a fuse",
    ),
    pytest.param(
        "indicators/D404/report", b"garbage", D, "D404", id="unknown device wins over a bad payload"
    ),
]


@pytest.mark.parametrize(("path", "payload", "reason", "detail"), BAD)
def test_bad_messages_are_refused_naming_the_field(
    network: Network, path: str, payload: object, reason: RejectReason, detail: str
) -> None:
    rejected = _parse(network, path, payload)
    assert isinstance(rejected, Rejected), rejected
    assert rejected.reason is reason
    assert detail in rejected.detail


def test_a_byte_order_mark_before_the_json_is_skipped(network: Network) -> None:
    doc = {"ts": TS, "msg_id": "bom-1", "data": {"short_circuit_a": 1}}
    plain = json.dumps(doc).encode()
    with_bom = parse_mqtt(f"openoms/{U}/{IND}", b"\xef\xbb\xbf" + plain, utility=U, network=network)
    assert isinstance(with_bom, Event)
    assert with_bom == parse_mqtt(f"openoms/{U}/{IND}", plain, utility=U, network=network)
    twice = parse_mqtt(
        f"openoms/{U}/{IND}", b"\xef\xbb\xbf" * 2 + plain, utility=U, network=network
    )
    assert isinstance(twice, Rejected)
    assert twice.reason is RejectReason.MALFORMED  # one BOM only


def test_topics_of_another_utility_are_unknown(network: Network) -> None:
    rejected = parse_mqtt("openoms/other/indicators/D1/report", b"{}", utility=U, network=network)
    assert rejected == Rejected(
        RejectReason.UNKNOWN_TOPIC,
        "topic 'openoms/other/indicators/D1/report' is for utility 'other', not 'u1'",
    )


def test_a_topic_names_its_parts() -> None:
    topic = parse_topic("openoms/u1/switches/CB1/event", utility=U)
    assert topic == Topic(U, Channel.SWITCHES, "CB1")
    assert str(topic) == topic_of(U, Channel.SWITCHES, "CB1") == "openoms/u1/switches/CB1/event"


# -- the fast paths -----------------------------------------------------------------------

PLAIN = [
    pytest.param(
        "indicators/D1/report",
        {
            "sn": "D1",
            "ts": TS,
            "msg_id": "0007-000815",
            "data": {
                "short_circuit_a": 1,
                "short_circuit_b": 0,
                "earth_fault": False,
                "outage_c": True,
                "load_current_a": 12.5,
                "fault_current_a": 820,
                "battery_v": 3.6,
                "temperature_b": -12.0,
                "gps_lat_deg": 35.2,
                "x_firmware": {"v": [1, 2]},
            },
            "x_seq": 17,
        },
        id="indicator",
    ),
    pytest.param(
        "ftus/D2/report",
        {
            "ts": TS,
            "data": {"switch_closed": 1, "voltage_kv_a": 5.8, "active_power_kw": -120.5},
        },
        id="FTU",
    ),
    pytest.param("indicators/D1/report", {"ts": TS, "data": {}}, id="nothing to report"),
    pytest.param(
        "indicators/D1/report", {"ts": 946_684_800_000, "data": {}}, id="the first plausible ms"
    ),
    pytest.param("indicators/D1/report", {"ts": TS, "data": {"outage_a": 1.0}}, id="flag as 1.0"),
]


@pytest.mark.parametrize(("path", "doc"), PLAIN)
def test_plain_reports_take_the_fast_path_to_the_same_event(
    network: Network, path: str, doc: dict[str, Any]
) -> None:
    channel_text, name, _ = path.split("/")
    channel = Channel(channel_text)
    fast = plain_report(channel, name, doc)
    assert fast is not None
    assert fast == parse_document(channel, name, doc, source=EventSource.MQTT)
    assert fast == _parse(network, path, doc)


NOT_PLAIN = [
    pytest.param({"ts": float(TS), "data": {}}, id="ts as a float"),
    pytest.param({"ts": TS, "data": {"voltage_kv_a": 5.8}}, id="FTU point"),
    pytest.param({"ts": TS, "data": {"load_current_a": -1}}, id="below the minimum"),
    pytest.param({"ts": TS, "data": {"short_circuit_a": 2}}, id="flag 2"),
    pytest.param({"ts": TS, "data": {}, "sn": "D9"}, id="sn of another device"),
    pytest.param({"ts": TS, "data": {}, "msg_id": ""}, id="empty msg_id"),
    pytest.param({"ts": TS, "data": {}, "colour": "red"}, id="unknown field"),
    pytest.param({"ts": TS, "data": None}, id="data null"),
    pytest.param({"ts": None, "data": {}}, id="ts null"),
]


@pytest.mark.parametrize("doc", NOT_PLAIN)
def test_anything_else_goes_the_long_way(network: Network, doc: dict[str, Any]) -> None:
    assert plain_report(Channel.INDICATORS, "D1", doc) is None
    long_way = parse_document(Channel.INDICATORS, "D1", doc, source=EventSource.MQTT)
    assert _parse(network, IND, doc) == long_way


def test_the_stream_parser_answers_as_parse_mqtt(network: Network) -> None:
    report = json.dumps({"ts": TS, "msg_id": "1", "data": {"short_circuit_a": 1}}).encode()
    trip = json.dumps({"ts": TS, "event": "trip", "lockout": True}).encode()
    messages = [
        (f"openoms/{U}/{IND}", report),
        (f"openoms/{U}/{IND}", b"{"),
        (f"openoms/{U}/indicators/D404/report", report),
        (f"openoms/{U}/ftus/D1/report", report),  # D1 is a fault indicator
        ("openoms/other/indicators/D1/report", report),
        (f"openoms/{U}/switches/CB1/event", trip),
        (f"openoms/{U}/switches/K1/event", trip),  # a load-break switch cannot trip
        (f"openoms/{U}/crews/c1/status", b'{"ts": 1, "outage_id": 3, "status": "restored"}'),
    ]
    parser = MqttParser(utility=U, network=network, max_topics=3)
    for _ in range(2):  # the second time from what it kept (and past max_topics)
        for topic, payload in messages:
            expected = parse_mqtt(topic, payload, utility=U, network=network)
            assert parser.parse(topic, payload) == expected


# -- time ----------------------------------------------------------------------------------


def _event(at: datetime, kind: EventKind = EventKind.INDICATOR_REPORT) -> Event:
    return Event(kind=kind, source=EventSource.MQTT, device_id="D1", device_time=at)


def test_a_device_clock_more_than_five_minutes_ahead_is_refused() -> None:
    ok = _event(AT + timedelta(minutes=5))
    ahead = _event(AT + timedelta(minutes=7, seconds=30))
    assert check_time(ok, received_at=AT, last=None) is None
    rejected = check_time(ahead, received_at=AT, last=None)
    assert rejected is not None
    assert rejected.reason is RejectReason.FUTURE
    assert rejected.detail == (
        "device time 2024-11-28T08:07:30.123Z is 7.5 min after the receipt time "
        "2024-11-28T08:00:00.123Z (at most 5.0 min allowed)"
    )


def test_older_than_the_last_accepted_is_out_of_order_the_same_time_is_not() -> None:
    last = AT
    assert check_time(_event(AT), received_at=AT, last=last) is None
    rejected = check_time(_event(AT - timedelta(seconds=1)), received_at=AT, last=last)
    assert rejected is not None
    assert rejected.reason is RejectReason.OUT_OF_ORDER
    assert rejected.detail == (
        "device time 2024-11-28T07:59:59.123Z of 'D1' is older than its last accepted "
        "indicator_report at 2024-11-28T08:00:00.123Z"
    )


def test_people_are_not_held_to_device_order() -> None:
    call = Event(
        kind=EventKind.TROUBLE_CALL, source=EventSource.HTTP, device_id=None, device_time=AT
    )
    assert check_time(call, received_at=AT, last=AT + timedelta(minutes=1)) is None


def test_device_checks_of_parsed_events(network: Network) -> None:
    assert check_device(network, EventKind.INDICATOR_REPORT, "D1") is None
    assert check_device(network, EventKind.TROUBLE_CALL, None) is None
    assert check_device(network, EventKind.CREW_STATUS, "anyone") is None
    missing = check_device(network, EventKind.SWITCH_POSITION, None)
    assert missing == Rejected(
        RejectReason.UNKNOWN_DEVICE, "a switch_position event needs a device id"
    )
