"""Message payloads to :class:`~openoms.ingest.events.Event`, or why one is refused.

Pure: no clock, no session, no I/O; the network comes in as an argument. The topic layout is
in :mod:`.topics`, the point names of indicator and FTU reports in :mod:`.points`, the
reasons for refusal and the device and time checks in :mod:`.rejections` (re-exported here:
this is the module to import for parsing). Described for senders in ``docs/events.md``.

Every function here returns either a value or a :class:`Rejected` naming the field; none
raises on bad input, whatever the bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from openoms.grid.model import Network
from openoms.ingest.events import Event, EventKind, EventSource
from openoms.ingest.points import (
    POINTS_BY_NAME,
    VENDOR_PREFIX,
    Point,
    PointType,
    flag_value,
    is_number,
    normalised_report,
)
from openoms.ingest.rejections import (
    MAX_AHEAD,
    ORDERED_KINDS,
    Rejected,
    RejectReason,
    check_device,
    check_time,
    quoted,
)
from openoms.ingest.topics import MAX_NAME_CHARS, Channel, Topic, parse_topic
from openoms.outages.lifecycle import OutageState

__all__ = [
    "MAX_AHEAD",
    "MAX_MSG_ID_CHARS",
    "MAX_NAME_CHARS",
    "MAX_PAYLOAD_BYTES",
    "MAX_TS_MS",
    "ORDERED_KINDS",
    "Channel",
    "RejectReason",
    "Rejected",
    "Topic",
    "check_device",
    "check_time",
    "decode_json",
    "message_key",
    "parse_document",
    "parse_mqtt",
    "parse_topic",
]

MAX_PAYLOAD_BYTES: Final = 65_536
MAX_MSG_ID_CHARS: Final = 64
MAX_TS_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def message_key(sender: str, msg_id: str) -> str:
    """The idempotency key of a message that carries the sender's own ``msg_id``.

    Namespaced by the sender (device id or crew): message ids are usually per-device
    counters, and the event log's key is unique across all devices.
    """
    return f"m:{sender}:{msg_id}"


def decode_json(payload: bytes) -> object | Rejected:
    """The JSON value of ``payload`` (UTF-8, finite numbers only) or ``malformed``."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejected(
            RejectReason.MALFORMED,
            f"payload: {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}",
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected(
            RejectReason.MALFORMED, f"payload: not UTF-8 ({exc.reason} at byte {exc.start})"
        )
    try:
        doc: object = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        return Rejected(RejectReason.MALFORMED, "payload: JSON nested too deeply")
    except ValueError as exc:  # JSONDecodeError, NaN / Infinity, over-long integers
        return Rejected(RejectReason.MALFORMED, f"payload: not JSON ({exc})")
    if "\\u0000" in text and _has_nul(doc):
        # PostgreSQL text (and jsonb) cannot hold U+0000.
        return Rejected(RejectReason.MALFORMED, "payload: a string holds U+0000 (NUL)")
    return doc


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]} is out of range")
    return value


def _has_nul(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class _Problems:
    """The problems found in one document, each a sentence starting with the field."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(f"{field}: {message}")


_JSON_TYPES: Final[Mapping[type, str]] = {type(None): "null", list: "an array", dict: "an object"}


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {quoted(value, 30)}"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _integer(value: object) -> int | None:
    """An integer, or a float without fraction (an integer in JSON Schema); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _device_time(doc: Mapping[str, Any], problems: _Problems) -> datetime | None:
    if "ts" not in doc:
        problems.add("ts", "required (device time, integer milliseconds since 1970, UTC)")
        return None
    ts = _integer(doc["ts"])
    if ts is None:
        problems.add("ts", f"expected integer milliseconds, got {_type_name(doc['ts'])}")
        return None
    if not 0 <= ts <= MAX_TS_MS:
        problems.add("ts", f"{ts} is outside 0 … {MAX_TS_MS} (years 1970 … 9999)")
        return None
    return _EPOCH + timedelta(milliseconds=ts)


def _msg_id(doc: Mapping[str, Any], problems: _Problems) -> str | None:
    if "msg_id" not in doc:
        return None
    msg_id = doc["msg_id"]
    if not isinstance(msg_id, str):
        problems.add("msg_id", f"expected a string, got {_type_name(msg_id)}")
    elif not 1 <= len(msg_id) <= MAX_MSG_ID_CHARS:
        problems.add("msg_id", f"must have 1 … {MAX_MSG_ID_CHARS} characters")
    elif not all(" " <= ch <= "~" for ch in msg_id):
        problems.add("msg_id", "must be printable ASCII")
    else:
        return msg_id
    return None


def _check_fields(doc: Mapping[str, Any], allowed: frozenset[str], problems: _Problems) -> None:
    for name in doc:
        if name not in allowed and not name.startswith(VENDOR_PREFIX):
            problems.add(
                quoted(name),
                f"unknown field (allowed: {', '.join(sorted(allowed))}; "
                f"vendor fields start with {VENDOR_PREFIX})",
            )


def _check_sn(doc: Mapping[str, Any], device_id: str, problems: _Problems) -> None:
    if "sn" not in doc:
        return
    sn = doc["sn"]
    if not isinstance(sn, str):
        problems.add("sn", f"expected a string, got {_type_name(sn)}")
    elif sn != device_id:
        problems.add("sn", f"{quoted(sn)} is not the device {quoted(device_id)} of the topic")


def _point_value(point: Point, value: object, field: str, problems: _Problems) -> None:
    if point.type is PointType.FLAG:
        if flag_value(value) is None:
            problems.add(field, f"expected 0 or 1 (or false / true), got {_type_name(value)}")
        return
    if not is_number(value):
        problems.add(field, f"expected a number ({point.unit}), got {_type_name(value)}")
        return
    assert isinstance(value, int | float)
    if point.minimum is not None and value < point.minimum:
        problems.add(field, f"{value!r} is less than {point.minimum:g} {point.unit}")
    if point.maximum is not None and value > point.maximum:
        problems.add(field, f"{value!r} is more than {point.maximum:g} {point.unit}")


def _check_points(data: object, channel: Channel, problems: _Problems) -> None:
    if not isinstance(data, dict):
        problems.add("data", f"expected an object of points, got {_type_name(data)}")
        return
    for name, value in data.items():
        field = f"data.{name}" if name.isidentifier() else f"data[{quoted(name)}]"
        if name.startswith(VENDOR_PREFIX):
            continue
        point = POINTS_BY_NAME.get(name)
        if point is None:
            problems.add(field, f"unknown point (vendor points start with {VENDOR_PREFIX})")
        elif point.ftu_only and channel is Channel.INDICATORS:
            problems.add(field, "an FTU / DTU point, not one a fault indicator reports")
        else:
            _point_value(point, value, field, problems)


_REPORT_FIELDS: Final = frozenset({"sn", "ts", "msg_id", "data"})
_SWITCH_FIELDS: Final = frozenset({"sn", "ts", "msg_id", "event", "lockout", "success"})
_CREW_FIELDS: Final = frozenset({"ts", "msg_id", "outage_id", "status", "cause", "note"})
_SWITCH_EVENTS: Final = {
    "trip": EventKind.BREAKER_TRIP,
    "reclose": EventKind.BREAKER_RECLOSE,
    "open": EventKind.SWITCH_POSITION,
    "close": EventKind.SWITCH_POSITION,
}
_CHANNEL_KIND: Final = {
    Channel.INDICATORS: EventKind.INDICATOR_REPORT,
    Channel.FTUS: EventKind.FTU_REPORT,
    Channel.SWITCHES: EventKind.SWITCH_POSITION,  # refined by the payload's "event"
    Channel.CREWS: EventKind.CREW_STATUS,
}
_MAX_TEXT_CHARS: Final = {"cause": 200, "note": 2000}
_STATUSES: Final = frozenset(s.value for s in OutageState)


def _switch_payload(
    doc: Mapping[str, Any], problems: _Problems
) -> tuple[EventKind, dict[str, Any]]:
    for name in ("lockout", "success"):
        if name in doc and not isinstance(doc[name], bool):
            problems.add(name, f"expected true or false, got {_type_name(doc[name])}")
    event = doc.get("event")
    kind = _SWITCH_EVENTS.get(event) if isinstance(event, str) else None
    if kind is None:
        got = "nothing" if "event" not in doc else _type_name(event)
        problems.add("event", f"expected one of trip, reclose, open, close, got {got}")
        return EventKind.SWITCH_POSITION, {}
    if kind is EventKind.SWITCH_POSITION:
        return kind, {"closed": event == "close"}
    needed = "lockout" if kind is EventKind.BREAKER_TRIP else "success"
    if needed not in doc:
        problems.add(needed, f'required with "event": {event!r} (true or false)')
    return kind, {needed: doc.get(needed) is True}


def _crew_payload(doc: Mapping[str, Any], crew: str, problems: _Problems) -> dict[str, Any]:
    payload: dict[str, Any] = {"crew": crew}
    outage_id = _integer(doc.get("outage_id"))
    if outage_id is None or outage_id < 1:
        got = "nothing" if "outage_id" not in doc else _type_name(doc["outage_id"])
        problems.add("outage_id", f"expected a positive integer, got {got}")
    else:
        payload["outage_id"] = outage_id
    status = doc.get("status")
    if not isinstance(status, str) or status not in _STATUSES:
        got = "nothing" if "status" not in doc else _type_name(status)
        choices = ", ".join(s.value for s in OutageState)
        problems.add("status", f"expected one of {choices}, got {got}")
    else:
        payload["status"] = status
    for name, limit in _MAX_TEXT_CHARS.items():
        if name not in doc:
            continue
        value = doc[name]
        if not isinstance(value, str) or len(value) > limit:
            problems.add(name, f"expected a string of at most {limit} characters")
        else:
            payload[name] = value
    return payload


def parse_document(
    channel: Channel, name: str, doc: object, *, source: EventSource
) -> Event | Rejected:
    """The event of a decoded JSON document sent by ``name`` on ``channel``.

    Every problem of the document is named in one ``malformed`` detail. The device is not
    looked up here (see :func:`check_device`); the time is not checked (:func:`check_time`).
    """
    if not isinstance(doc, dict):
        return Rejected(
            RejectReason.MALFORMED, f"payload: expected a JSON object, got {_type_name(doc)}"
        )
    problems = _Problems()
    device_time = _device_time(doc, problems)
    msg_id = _msg_id(doc, problems)
    kind = _CHANNEL_KIND[channel]
    payload: dict[str, Any] = {}
    match channel:
        case Channel.INDICATORS | Channel.FTUS:
            _check_fields(doc, _REPORT_FIELDS, problems)
            _check_sn(doc, name, problems)
            if "data" not in doc:
                problems.add("data", "required (an object of points)")
            else:
                _check_points(doc["data"], channel, problems)
            if not problems.items:
                payload = normalised_report(doc["data"], ftu=channel is Channel.FTUS)
        case Channel.SWITCHES:
            _check_fields(doc, _SWITCH_FIELDS, problems)
            _check_sn(doc, name, problems)
            kind, payload = _switch_payload(doc, problems)
        case Channel.CREWS:
            _check_fields(doc, _CREW_FIELDS, problems)
            payload = _crew_payload(doc, name, problems)
    if problems.items or device_time is None:
        return Rejected(RejectReason.MALFORMED, "; ".join(problems.items))
    device_id = None if channel is Channel.CREWS else name
    key = message_key(name, msg_id) if msg_id is not None else ""
    return Event(
        kind=kind,
        source=source,
        device_id=device_id,
        device_time=device_time,
        payload=payload,
        idempotency_key=key,
    )


def parse_mqtt(topic: str, payload: bytes, *, utility: str, network: Network) -> Event | Rejected:
    """The event of one MQTT message, or why it is refused (never raises).

    Checks, in order: the topic; that the topic's device is in ``network`` and may publish
    there; the payload; for trips and recloses, that the switch is a breaker or recloser.
    """
    parsed = parse_topic(topic, utility=utility)
    if isinstance(parsed, Rejected):
        return parsed
    if parsed.channel is not Channel.CREWS:
        rejected = check_device(network, _CHANNEL_KIND[parsed.channel], parsed.name)
        if rejected is not None:
            return rejected
    doc = decode_json(payload)
    if isinstance(doc, Rejected):
        return doc
    event = parse_document(parsed.channel, parsed.name, doc, source=EventSource.MQTT)
    if isinstance(event, Event) and event.kind is not _CHANNEL_KIND[parsed.channel]:
        rejected = check_device(network, event.kind, event.device_id)
        if rejected is not None:
            return rejected
    return event
