"""Whatever arrives, parsing gives an event or a reason, and the intake neither raises nor stops."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openoms.events import Event, EventSource
from openoms.grid.model import Network
from openoms.ingest.documents import MAX_PLAUSIBLE_TS_MS, MIN_PLAUSIBLE_TS_MS, plain_report
from openoms.ingest.intake import Intake
from openoms.ingest.payloads import (
    Channel,
    MqttParser,
    Rejected,
    RejectReason,
    parse_document,
    parse_mqtt,
)
from openoms.ingest.points import POINTS, Point, PointType
from tests.ingest.conftest import Sessions, stored_counts

U = "u1"
AT = datetime(2024, 11, 28, 8, 0, tzinfo=UTC)

_names = st.sampled_from(["D1", "D2", "CB1", "K1", "FU1", "s1", "D404", "", "a+b", "城关"])
_topics = st.one_of(
    st.builds(
        lambda channel, name, leaf: f"openoms/{U}/{channel}/{name}/{leaf}",
        st.sampled_from([*list(Channel), "meters"]),
        _names | st.text(max_size=120),
        st.sampled_from(["report", "event", "status", "x"]),
    ),
    st.text(max_size=60),
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    ["ts", "sn", "msg_id", "data", "event", "lockout", "success", "outage_id", "status", "x_a"]
)
_shaped = st.fixed_dictionaries(
    {"ts": st.integers(min_value=-10, max_value=2**64) | _json},
    optional={
        "data": st.dictionaries(st.sampled_from([p.name for p in POINTS]), _json, max_size=5)
        | _json,
        "sn": _names | _json,
        "msg_id": st.text(max_size=80) | _json,
        "event": st.sampled_from(["trip", "reclose", "open", "close"]) | _json,
        "lockout": _json,
        "success": _json,
        "outage_id": _json,
        "status": st.sampled_from(["restored", "crew_on_site"]) | _json,
    },
)
_documents = st.one_of(_json, st.dictionaries(_keys, _json, max_size=6), _shaped)
_payloads = st.one_of(
    st.binary(max_size=300),
    _documents.map(lambda doc: json.dumps(doc).encode()),
    st.sampled_from([b"", b"{", b"NaN", b'{"ts": 1e999}', b"\xef\xbb\xbf{}", b'"\\ud800"']),
)


def _check(result: Event | Rejected) -> None:
    if isinstance(result, Rejected):
        assert isinstance(result.reason, RejectReason)
        assert result.detail
    else:
        assert isinstance(result, Event)
        assert result.device_time.tzinfo is not None
        json.dumps(dict(result.payload), allow_nan=False)  # storable as JSON


@settings(max_examples=500, deadline=None)
@given(topic=_topics, payload=_payloads)
def test_random_messages_give_an_event_or_a_reason(
    network: Network, topic: str, payload: bytes
) -> None:
    result = parse_mqtt(topic, payload, utility=U, network=network)
    _check(result)
    assert MqttParser(utility=U, network=network).parse(topic, payload) == result


@settings(max_examples=400, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    name=st.sampled_from(["D1", "D2", "CB1", "K1", "c1"]),
    doc=_documents,
)
def test_random_json_on_good_topics_gives_an_event_or_a_reason(
    network: Network, channel: Channel, name: str, doc: Any
) -> None:
    topic = f"openoms/{U}/{channel}/{name}/{channel.leaf}"
    _check(parse_mqtt(topic, json.dumps(doc).encode(), utility=U, network=network))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.tuples(_topics, _payloads), min_size=1, max_size=8))
def test_the_intake_stores_every_random_message_somewhere(
    sessions: Sessions, network: Network, batch: list[tuple[str, bytes]]
) -> None:
    """On both databases: each message is an event, a duplicate or a dead letter; no raise."""
    intake = Intake(sessions, network, utility=U)
    before = intake.counts()
    events_before, dead_before = stored_counts(sessions)
    result = intake.accept_mqtt_batch(batch, received_at=AT)
    stored = len(result.accepted) + len(result.duplicates) + len(result.rejected)
    assert stored + result.ignored == len(batch)
    assert result.ignored == sum(1 for _, payload in batch if not payload)  # retained clears
    events, dead = stored_counts(sessions)
    assert sum(events.values()) - sum(events_before.values()) == len(result.accepted)
    assert sum(dead.values()) - sum(dead_before.values()) == len(result.rejected)
    after = intake.counts()
    assert after.rejected_total - before.rejected_total == len(result.rejected)


def _value(point: Point) -> st.SearchStrategy[Any]:
    if point.type is PointType.FLAG:
        return st.sampled_from([0, 1, False, True, 0.0, 1.0])
    numbers = st.floats(
        min_value=point.minimum, max_value=point.maximum, allow_nan=False, allow_infinity=False
    )
    return numbers | st.integers(
        min_value=None if point.minimum is None else int(point.minimum),
        max_value=None if point.maximum is None else int(point.maximum),
    )


_vendor = st.dictionaries(st.from_regex(r"x_[a-z]{1,5}", fullmatch=True), _json, max_size=2)
_msg_ids = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=64)


@st.composite
def _plain_reports(draw: st.DrawFn, channel: Channel) -> tuple[dict[str, Any], bool]:
    """A report in the plain form, and whether a field or point was then set to any JSON."""
    points = [p for p in POINTS if channel is Channel.FTUS or not p.ftu_only]
    chosen = draw(st.lists(st.sampled_from(points), unique=True, max_size=8))
    data: dict[str, Any] = {p.name: draw(_value(p)) for p in chosen}
    data.update(draw(_vendor))
    ts = draw(st.integers(MIN_PLAUSIBLE_TS_MS, MAX_PLAUSIBLE_TS_MS))
    doc: dict[str, Any] = {"ts": ts, "data": data}
    if draw(st.booleans()):
        doc["msg_id"] = draw(_msg_ids)
    if draw(st.booleans()):
        doc["sn"] = "D2" if channel is Channel.FTUS else "D1"
    doc.update(draw(_vendor))
    changed = draw(st.integers(0, 3)) == 0
    if changed:
        where = doc if draw(st.booleans()) else data
        where[draw(_keys | st.sampled_from([p.name for p in POINTS]))] = draw(_json)
    return doc, changed


@settings(max_examples=400, deadline=None)
@given(channel=st.sampled_from([Channel.INDICATORS, Channel.FTUS]), drawn=st.data())
def test_the_fast_path_gives_what_the_long_way_gives(
    channel: Channel, drawn: st.DataObject
) -> None:
    """Plain reports take the fast path; whatever it accepts, the long way gives the same."""
    report, changed = drawn.draw(_plain_reports(channel))
    name = "D2" if channel is Channel.FTUS else "D1"
    fast = plain_report(channel, name, report)
    if not changed:
        assert fast is not None
    if fast is not None:
        assert fast == parse_document(channel, name, report, source=EventSource.MQTT)
