"""The shipped JSON Schemas and docs/events.md agree with the point table, and with the parser."""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from openoms.events import Event
from openoms.grid.model import Network
from openoms.ingest.payloads import (
    MAX_PLAUSIBLE_TS_MS,
    MIN_PLAUSIBLE_TS_MS,
    Channel,
    Rejected,
    RejectReason,
    parse_mqtt,
)
from openoms.ingest.points import POINTS, Point, PointType
from openoms.ingest.wire_schema import BEGIN, END, SCHEMA_FILES, points_markdown, schema_text
from openoms.outages.lifecycle import OutageState

ROOT = Path(__file__).resolve().parents[2]
TS = 1732780800123
DEVICE = {
    Channel.INDICATORS: "D1",
    Channel.FTUS: "D2",
    Channel.SWITCHES: "CB1",
    Channel.CREWS: "城关抢修一班",
}


@functools.cache
def _validator(channel: Channel) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_text(channel))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("channel", list(Channel))
def test_shipped_schemas_are_up_to_date(channel: Channel) -> None:
    shipped = files("openoms.ingest").joinpath(SCHEMA_FILES[channel]).read_text(encoding="utf-8")
    assert shipped == schema_text(channel), "run: python -m openoms.ingest.wire_schema"


def test_events_doc_lists_every_point() -> None:
    doc = (ROOT / "docs/events.md").read_text(encoding="utf-8")
    generated = doc.split(BEGIN)[1].split(END)[0].strip()
    assert generated == points_markdown().strip(), "run: python -m openoms.ingest.wire_schema"
    for point in POINTS:
        assert f"`{point.name}`" in generated


def _doc_examples() -> list[dict[str, Any]]:
    """The JSON examples of docs/events.md."""
    doc = (ROOT / "docs/events.md").read_text(encoding="utf-8")
    blocks = [part.split("```", 1)[0] for part in doc.split("```json\n")[1:]]
    return [json.loads(block) for block in blocks]


def test_the_doc_examples_follow_the_schemas_and_parse(network: Network) -> None:
    indicator, switch, crew = _doc_examples()
    indicator["sn"] = "D1"  # the example's device is not in the small network
    for channel, example, name in [
        (Channel.INDICATORS, indicator, "D1"),
        (Channel.SWITCHES, switch, "CB1"),
        (Channel.CREWS, crew, "c1"),
    ]:
        _validator(channel).validate(example)
        topic = f"openoms/u/{channel}/{name}/{channel.leaf}"
        event = parse_mqtt(topic, json.dumps(example).encode(), utility="u", network=network)
        assert isinstance(event, Event), event


def test_a_bad_report_fails_the_schema_at_the_field() -> None:
    errors = list(
        _validator(Channel.INDICATORS).iter_errors(
            {"ts": TS, "data": {"short_circuit_a": 2, "load_current_a": "x"}}
        )
    )
    assert sorted(list(e.absolute_path) for e in errors) == [
        ["data", "load_current_a"],
        ["data", "short_circuit_a"],
    ]


# -- the parser accepts exactly what the schema accepts -----------------------------------

_MISSING = object()
_junk = st.one_of(
    st.just(_MISSING),
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.5, -200.0, 95.0, 1e6, 2.0]),
    st.text(max_size=3),
    st.just([]),
    st.just({}),
)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually (4 in 5) a valid value, else anything or the field left out."""
    return st.integers(0, 4).flatmap(lambda i: _junk if i == 0 else valid)


def _rarely(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually (4 in 5) the field left out, else ``value``."""
    return st.integers(0, 4).flatmap(lambda i: value if i == 0 else st.just(_MISSING))


def _point_value(point: Point) -> st.SearchStrategy[Any]:
    if point.type is PointType.FLAG:
        return _mostly(st.sampled_from([0, 1, True, False, 0.0, 1.0]))
    return _mostly(
        st.floats(
            min_value=-1e6 if point.minimum is None else point.minimum,
            max_value=1e6 if point.maximum is None else point.maximum,
        )
        | st.integers(min_value=0, max_value=1000)
    )


def _doc(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(fields).map(
        lambda doc: {k: v for k, v in doc.items() if v is not _MISSING}
    )


_POINT_VALUES = {p.name: _point_value(p) for p in POINTS}
_POINT_VALUES |= {"x_vendor": _junk, "bogus": _junk, "short_circut_a": _junk}
_data = st.lists(st.sampled_from(sorted(_POINT_VALUES)), unique=True, max_size=6).flatmap(
    lambda names: _doc({n: _POINT_VALUES[n] for n in names})
)
_ts = _mostly(
    st.integers(min_value=MIN_PLAUSIBLE_TS_MS, max_value=MAX_PLAUSIBLE_TS_MS)
    | st.integers(min_value=-(2**50), max_value=2**50)
    | st.floats(0, 1e13).map(round)
)
_msg_id = _mostly(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=64)
) | st.text(max_size=70)


_reports = _doc(
    {
        "ts": _ts,
        "data": _mostly(_data),
        "sn": _rarely(_mostly(st.just("D1"))),
        "msg_id": _rarely(_msg_id),
        "x_extra": _rarely(_junk),
        "extra": _rarely(_junk),
    }
)
_switch_events = _doc(
    {
        "ts": _ts,
        "event": _mostly(st.sampled_from(["trip", "reclose", "open", "close"])),
        "lockout": _mostly(st.booleans()),
        "success": _rarely(_mostly(st.booleans())),
        "sn": _rarely(_mostly(st.just("CB1"))),
        "msg_id": _rarely(_msg_id),
        "extra": _rarely(_junk),
    }
)
_crew_statuses = _doc(
    {
        "ts": _ts,
        "outage_id": _mostly(st.integers(min_value=-1, max_value=10**6)),
        "status": _mostly(st.sampled_from([s.value for s in OutageState])),
        "cause": _rarely(_mostly(st.text(max_size=200)) | st.just("c" * 201)),
        "note": _rarely(_mostly(st.text(max_size=20))),
        "x_app": _rarely(_junk),
        "extra": _rarely(_junk),
    }
)
_DOCS = {
    Channel.INDICATORS: _reports,
    Channel.FTUS: _reports,
    Channel.SWITCHES: _switch_events,
    Channel.CREWS: _crew_statuses,
}


@pytest.mark.parametrize("channel", list(Channel))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_parser_accepts_exactly_what_the_schema_accepts(
    network: Network, channel: Channel, data: st.DataObject
) -> None:
    doc = data.draw(_DOCS[channel])
    name = DEVICE[channel]
    if isinstance(doc.get("sn"), str):
        doc["sn"] = name  # a schema cannot compare sn with the topic
    raw = json.dumps(doc)
    assume("\\u0000" not in raw)  # refused, but a schema cannot say so (see wire_schema)
    topic = f"openoms/u/{channel}/{name}/{channel.leaf}"
    result = parse_mqtt(topic, raw.encode(), utility="u", network=network)
    valid = _validator(channel).is_valid(doc)
    assert isinstance(result, Event) == valid, (doc, result)
    if isinstance(result, Rejected) and result.reason is RejectReason.IMPLAUSIBLE_TIME:
        # the one problem: a ts the schema's range refuses, never a fault at a made-up time
        ts = doc["ts"]
        assert type(ts) in (int, float)  # an integer, or a float without fraction
        assert ts == int(ts)
        assert not MIN_PLAUSIBLE_TS_MS <= ts <= MAX_PLAUSIBLE_TS_MS
    elif isinstance(result, Rejected):
        assert result.reason is RejectReason.MALFORMED
