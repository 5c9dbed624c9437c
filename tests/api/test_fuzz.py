"""Fuzzing the events and outages endpoints: thousands of malformed requests.

Two fuzzers, both driven by Hypothesis:
- schemathesis strategies from the app's own OpenAPI, negative (schema-violating) and positive,
  for every events and outages operation;
- event batches mixing valid events with mutations of valid events (a field dropped, replaced
  by arbitrary JSON, an unknown field, any JSON value instead of an event), and single
  mutated events.

No request may end in a 5xx, every error is a problem document, no valid event in a batch is
rejected because of its neighbours, and every valid event sent (between the fuzzed requests,
and inside the batches) is in the event log at the end. ``OPENOMS_API_FUZZ_EXAMPLES`` scales
the number of examples (default 20 per schemathesis operation and mode, ×5 for the batches).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from datetime import timedelta
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from openoms.store import eventlog
from openoms.store.tokens import Role
from tests.api.conftest import BASE_URL, START, Api

FUZZED = {
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/events/batch"),
    ("GET", "/api/v1/outages"),
    ("POST", "/api/v1/outages"),
    ("GET", "/api/v1/outages/{outage_id}"),
    ("POST", "/api/v1/outages/{outage_id}/transitions"),
    ("POST", "/api/v1/outages/{outage_id}/restoration-steps"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/dead-letters"),
    ("GET", "/api/v1/telemetry"),
    ("GET", "/api/v1/telemetry/{element_id}/{point}"),
}
EXAMPLES = int(os.environ.get("OPENOMS_API_FUZZ_EXAMPLES", "20"))
VALID_EVERY = 10
D = Role.DISPATCHER

FUZZ_SETTINGS = settings(
    database=None, deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def assert_sane(response: httpx.Response, what: str) -> None:
    label = f"{what} → {response.status_code}: {response.text[:2000]}"
    assert response.status_code < 500, label
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", label


class ValidEvents:
    """Valid events with fresh keys and rising device times (never out of order)."""

    def __init__(self) -> None:
        self._n = itertools.count()
        self.keys: list[str] = []

    def make(self, variant: int) -> dict[str, Any]:
        n = next(self._n)
        at = (START - timedelta(days=1) + timedelta(seconds=n)).isoformat()
        shapes = [
            ("trouble_call", None, {"transformer_area": "TA1", "n": n}),
            ("breaker_trip", "CB1", {"lockout": False}),
            ("switch_position", "K1", {"closed": True}),
            ("indicator_report", "D1", {"short_circuit": n % 2 == 0}),
            ("crew_status", None, {"outage_id": 1, "status": "crew_on_site"}),
        ]
        kind, device, payload = shapes[variant % len(shapes)]
        key = f"v{n}"
        self.keys.append(f"k:{device or ''}:{key}")
        event = {"kind": kind, "device_time": at, "payload": payload, "idempotency_key": key}
        return event | ({"device_id": device} if device else {})

    def post_one(self, api: Api) -> None:
        response = api.post("/api/v1/events", role=D, json=self.make(0))
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1


@st.composite
def mutated(draw: st.DrawFn, event: dict[str, Any]) -> Any:
    """A valid event spoiled in one of several ways (some spoils are still valid)."""
    how = draw(st.sampled_from(["drop", "replace", "add", "payload", "anything", "kind"]))
    spoilt = dict(event)
    spoilt.pop("idempotency_key")
    field = draw(st.sampled_from(sorted(spoilt)))
    if how == "drop":
        spoilt.pop(field)
    elif how == "replace":
        spoilt[field] = draw(json_values)
    elif how == "add":
        spoilt[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    elif how == "payload":
        spoilt["payload"] = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    elif how == "kind":
        spoilt["kind"] = draw(st.text(max_size=20))
    else:
        return draw(json_values)
    return spoilt


def post_json(api: Api, path: str, body: Any) -> httpx.Response:
    """``body`` as JSON with NaN and Infinity where drawn (httpx's ``json=`` refuses them)."""
    content = json.dumps(body, allow_nan=True).encode()
    return api.post(path, role=D, content=content, headers={"content-type": "application/json"})


def logged_keys(api: Api) -> set[str]:
    with api.context.sessions() as session:
        return {e.idempotency_key for _, e in eventlog.unprocessed_events(session, limit=10**6)}


@functools.cache
def case_strategies(openapi: str) -> list[st.SearchStrategy[Case[Any]]]:
    """Negative and positive cases of every fuzzed operation (built once: it is slow)."""
    schema = schemathesis.openapi.from_dict(json.loads(openapi))
    operations = [
        op
        # every operation of our own schema loads (an Err would fail the test here anyway)
        for op in (result.ok() for result in schema.get_all_operations())  # type: ignore[union-attr]
        if (op.method.upper(), op.path) in FUZZED
    ]
    assert len(operations) == len(FUZZED)
    return [op.as_strategy(generation_mode=mode) for op in operations for mode in GenerationMode]


def test_schema_fuzzing_never_fails_the_server_nor_loses_an_event(api: Api) -> None:
    api.fault_outage("K1")  # outage 1, for the path ids to find
    strategies = case_strategies(json.dumps(api.app.openapi(), sort_keys=True))
    auth = api.headers(D)
    valid = ValidEvents()
    sent = itertools.count(1)

    def send(case: Case[Any]) -> None:
        kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=BASE_URL, headers=auth)
        kwargs.pop("cookies", None)
        if "data" in kwargs:
            kwargs["content"] = kwargs.pop("data")
        assert_sane(api.send(**kwargs), f"{case.method} {case.formatted_path}")
        if next(sent) % VALID_EVERY == 0:
            valid.post_one(api)

    for strategy in strategies:
        FUZZ_SETTINGS(given(case=strategy)(send))()

    assert next(sent) > len(FUZZED) * 2 * EXAMPLES * 0.9
    assert len(valid.keys) >= len(FUZZED) * 2 * EXAMPLES * 0.9 // VALID_EVERY
    assert set(valid.keys) <= logged_keys(api)


def test_a_batch_of_good_and_spoilt_events_keeps_every_good_one(api: Api) -> None:
    api.fault_outage("K1")
    valid = ValidEvents()

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES * 5)
    @given(data=st.data(), shape=st.lists(st.integers(0, 9), min_size=1, max_size=8))
    def batch(data: st.DataObject, shape: list[int]) -> None:
        items: list[Any] = []
        good: list[int] = []
        for index, variant in enumerate(shape):
            event = valid.make(variant)
            if variant < 5:
                good.append(index)
                items.append(event)
            else:
                items.append(data.draw(mutated(event)))
        response = post_json(api, "/api/v1/events/batch", {"events": items})
        assert_sane(response, f"batch {items!r}")
        assert response.status_code == 202, response.text
        body = response.json()
        rejected = {r["index"] for r in body["rejected"]}
        assert body["accepted"] + body["duplicates"] + len(rejected) == len(items)
        assert not rejected & set(good), body

        single = data.draw(mutated(valid.make(data.draw(st.integers(0, 4)))))
        response = post_json(api, "/api/v1/events", single)
        assert_sane(response, f"single {single!r}")
        assert response.status_code in (202, 422), response.text

    batch()
    keys = logged_keys(api)
    good_keys = [k for k in valid.keys if k in keys]
    assert len(good_keys) >= EXAMPLES * 5 * 0.9  # at least one good event in most batches
