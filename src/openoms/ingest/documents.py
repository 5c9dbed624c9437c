"""Decoded JSON documents to :class:`~openoms.events.Event`, or why one is refused.

Pure: no clock, no session, no I/O. :func:`parse_document` turns a JSON value sent on a
channel (decoded by :func:`~.json_decode.decode_json`) into an event, naming every problem of
a refused one; :func:`plain_report` is its fast path for the plain reports nearly every
indicator and FTU sends. Import them from :mod:`.payloads`, with the rest of parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from openoms.events import Event, EventKind, EventSource
from openoms.ingest.points import (
    POINTS_BY_NAME,
    VENDOR_PREFIX,
    Point,
    PointType,
    flag_value,
    is_number,
    normalised_report,
)
from openoms.ingest.rejections import Rejected, RejectReason, quoted
from openoms.ingest.topics import Channel
from openoms.outages.lifecycle import OutageState

__all__ = [
    "CHANNEL_KIND",
    "MAX_MSG_ID_CHARS",
    "MAX_PLAUSIBLE_TS_MS",
    "MAX_TS_MS",
    "MIN_PLAUSIBLE_TS_MS",
    "implausible_ts",
    "message_key",
    "parse_document",
    "plain_report",
]

MAX_MSG_ID_CHARS: Final = 64
MAX_TS_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: what a datetime holds
MIN_PLAUSIBLE_TS_MS: Final = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_PLAUSIBLE_TS_MS: Final = 4_102_444_799_999  # 2099-12-31T23:59:59.999Z
"""A device time ``ts`` outside these (milliseconds since 1970) is refused as
``implausible_time``: a device sending seconds lands in 1970, one sending microseconds
tens of thousands of years ahead; neither may become a fault at some made-up time."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def message_key(sender: str, msg_id: str) -> str:
    """The idempotency key of a message that carries the sender's own ``msg_id``.

    Namespaced by the sender (device id or crew): message ids are usually per-device
    counters, and the event log's key is unique across all devices.
    """
    return f"m:{sender}:{msg_id}"


class _Problems:
    """The problems found in one document, each a sentence starting with the field; and
    whether its time is implausible (refused as that when nothing else is wrong)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.implausible: str | None = None

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
    if not MIN_PLAUSIBLE_TS_MS <= ts <= MAX_PLAUSIBLE_TS_MS:
        problems.implausible = implausible_ts(ts)
        return None
    return _EPOCH + timedelta(milliseconds=ts)


def _shown(ms: int) -> str:
    """A time in milliseconds since 1970 as ISO 8601 UTC, or the year range it is beyond."""
    if not -62_135_596_800_000 <= ms <= MAX_TS_MS:  # 0001-01-01 … 9999-12-31
        return "beyond the year 9999" if ms > 0 else "before the year 1"
    at = _EPOCH + timedelta(milliseconds=ms)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def implausible_ts(ts: int) -> str:
    """The detail of an ``implausible_time`` refusal of ``ts`` (milliseconds since 1970):
    what it is as milliseconds, and what the sender probably sent instead."""
    said = f"ts: {ts} as milliseconds since 1970 is {_shown(ts)}"
    wanted = "; ts must be integer milliseconds since 1970-01-01 UTC"
    if MIN_PLAUSIBLE_TS_MS <= ts * 1000 <= MAX_PLAUSIBLE_TS_MS:
        return (
            f"{said}, before 2000: the device probably sent seconds "
            f"(as seconds it is {_shown(ts * 1000)}){wanted}"
        )
    if MIN_PLAUSIBLE_TS_MS <= ts // 1000 <= MAX_PLAUSIBLE_TS_MS:
        return (
            f"{said}, after 2099: the device probably sent microseconds "
            f"(as microseconds it is {_shown(ts // 1000)}){wanted}"
        )
    when = "before 2000" if ts < MIN_PLAUSIBLE_TS_MS else "after 2099"
    return f"{said}, {when}: not a plausible device time{wanted}"


def _printable_ascii(text: str) -> bool:
    """Every character in " " … "~" (an ASCII character is printable exactly then)."""
    return text.isascii() and text.isprintable()


def _msg_id(doc: Mapping[str, Any], problems: _Problems) -> str | None:
    if "msg_id" not in doc:
        return None
    msg_id = doc["msg_id"]
    if not isinstance(msg_id, str):
        problems.add("msg_id", f"expected a string, got {_type_name(msg_id)}")
    elif not 1 <= len(msg_id) <= MAX_MSG_ID_CHARS:
        problems.add("msg_id", f"must have 1 … {MAX_MSG_ID_CHARS} characters")
    elif not _printable_ascii(msg_id):
        problems.add("msg_id", "must be printable ASCII")
    else:
        return msg_id
    return None


def _check_fields(doc: Mapping[str, Any], allowed: frozenset[str], problems: _Problems) -> None:
    if doc.keys() <= allowed:
        return
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
        if name.startswith(VENDOR_PREFIX):
            continue
        field = f"data.{name}" if name.isidentifier() else f"data[{quoted(name)}]"
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
CHANNEL_KIND: Final = {
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

    Every problem of the document is named in one ``malformed`` detail. A document whose
    only problem is a ``ts`` outside :data:`MIN_PLAUSIBLE_TS_MS` … :data:`MAX_PLAUSIBLE_TS_MS`
    is ``implausible_time`` (:func:`implausible_ts` says why). The device is not looked up
    here (see :func:`check_device`); the time against the clock neither (:func:`check_time`).
    """
    if not isinstance(doc, dict):
        return Rejected(
            RejectReason.MALFORMED, f"payload: expected a JSON object, got {_type_name(doc)}"
        )
    problems = _Problems()
    device_time = _device_time(doc, problems)
    msg_id = _msg_id(doc, problems)
    kind = CHANNEL_KIND[channel]
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
        if not problems.items and problems.implausible is not None:
            return Rejected(RejectReason.IMPLAUSIBLE_TIME, problems.implausible)
        items = [*problems.items, *([problems.implausible] if problems.implausible else [])]
        return Rejected(RejectReason.MALFORMED, "; ".join(items))
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


# -- the plain report: what nearly every indicator and FTU sends, checked in one pass ----------

# Per report channel: point name -> (is a flag, minimum, maximum). FTU / DTU points are not
# in the indicators' table.
_REPORT_POINTS: Final = {
    channel: {
        p.name: (p.type is PointType.FLAG, p.minimum, p.maximum)
        for p in POINTS_BY_NAME.values()
        if channel is Channel.FTUS or not p.ftu_only
    }
    for channel in (Channel.INDICATORS, Channel.FTUS)
}
_FLAGS: Final = (0, 1)  # a JSON value equal to one of these is 0, 1, 0.0, 1.0, false or true


def plain_report(channel: Channel, name: str, doc: object) -> Event | None:
    """The event of a report of ``name`` in its plain form, else ``None``.

    The plain form: an object of known (or vendor) fields, ``ts`` a plausible integer,
    ``msg_id`` (if any) a good one, ``sn`` (if any) the device, ``data`` an object of points
    whose flags are 0 / 1 / false / true and numbers within their limits. Every document this
    accepts, :func:`parse_document` accepts too, with the same event; for anything else the
    caller falls back on :func:`parse_document`, which names every problem. It checks exact
    types (``type(x) is int``): the values of a decoded JSON document have no subclasses.
    """
    if type(doc) is not dict or not _plain_fields(doc, name):
        return None
    ts, data = doc.get("ts"), doc.get("data")
    if (
        type(ts) is not int
        or not MIN_PLAUSIBLE_TS_MS <= ts <= MAX_PLAUSIBLE_TS_MS
        or type(data) is not dict
    ):
        return None
    if not _plain_points(_REPORT_POINTS[channel], data):
        return None
    msg_id = doc.get("msg_id")
    return Event(
        kind=CHANNEL_KIND[channel],
        source=EventSource.MQTT,
        device_id=name,
        device_time=_EPOCH + timedelta(milliseconds=ts),
        payload=normalised_report(data, ftu=channel is Channel.FTUS),
        idempotency_key=message_key(name, msg_id) if msg_id is not None else "",
    )


def _plain_fields(doc: dict[str, Any], name: str) -> bool:
    """Known or vendor fields only, a good ``msg_id`` if any, ``sn`` the device if any."""
    if not doc.keys() <= _REPORT_FIELDS and not all(
        field in _REPORT_FIELDS or field.startswith(VENDOR_PREFIX) for field in doc
    ):
        return False
    if "msg_id" in doc:
        msg_id = doc["msg_id"]
        if type(msg_id) is not str or not 1 <= len(msg_id) <= MAX_MSG_ID_CHARS:
            return False
        if not _printable_ascii(msg_id):
            return False
    return "sn" not in doc or doc["sn"] == name


def _plain_points(
    points: Mapping[str, tuple[bool, float | None, float | None]], data: dict[str, Any]
) -> bool:
    """Every point known (or a vendor's), every flag 0 / 1, every number within its limits."""
    for point, value in data.items():
        spec = points.get(point)
        if spec is None:
            if not point.startswith(VENDOR_PREFIX):
                return False
            continue
        flag, minimum, maximum = spec
        if flag:
            if value not in _FLAGS:
                return False
        elif (
            (type(value) is not int and type(value) is not float)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            return False
    return True
