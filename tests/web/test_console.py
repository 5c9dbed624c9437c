"""The operator console's data: the drawing of the network, the live state, the outage list
and panel fragments, the corrections, the single-line diagram, and the live stream (over a
real HTTP server: a new outage arrives as an event within a second).

The network is the small hand-made one of tests/grid/small.py (drawn in its docstring)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from openoms.api import create_app
from openoms.api.routes.console_stream import Changes
from openoms.faults.lifecycle import FaultEventState, FaultTrigger
from openoms.faults.result import Candidate, Contradiction, FaultLocation, FaultType
from openoms.grid.model import Network
from openoms.i18n import Lang
from openoms.outages.lifecycle import OutageState
from openoms.outages.records import AreaOff, OutageKind, OutageRecord
from openoms.server import free_port
from openoms.store import outages
from openoms.store.audit import list_audit
from openoms.store.faults import create_fault_event, update_fault_event
from openoms.store.tokens import Role
from openoms.web.console_panel import impact_of
from tests.api.conftest import Api
from tests.web.conftest import api, small_network, web

__all__ = ["api", "small_network", "web"]

T1_EDGE = 12  # 7 sections, then CB1 CB2 CB3 K1 FU1 T1


def _located(web: Api, outage_id: int) -> int:
    """A fault event of ``outage_id`` located to zone D2 (below K1) with 90 %, D1 10 %, and
    D1 contradicting it."""
    location = FaultLocation(
        feeder="F1",
        candidates=(Candidate("D2", 0.9, -1.0), Candidate("D1", 0.1, -3.2)),
        best=("D2",),
        ties=("D2",),
        region=("D2",),
        region_mass=0.9,
        contradictions=(Contradiction("D1", "no_alarm", "alarm"),),
        fault_time=web.clock.now,
        fault_type=FaultType.PHASE_TO_PHASE,
        phases=("A", "B"),
        permanent=True,
        reports_used=2,
        devices_no_data=0,
        region_target=0.85,
    )
    now = web.clock.now
    with web.context.sessions.begin() as session:
        fault_id = create_fault_event(
            session,
            feeder_id="F1",
            trigger=FaultTrigger.TRIP,
            t0=now,
            open_edges=(T1_EDGE,),
            received_at=now,
            now=now,
            breaker="CB1",
            lockout=True,
        )
        update_fault_event(
            session,
            fault_id,
            now=now,
            state=FaultEventState.LOCATED,
            outage_id=outage_id,
            location=location.as_dict(),
            located_zone="D2",
        )
    return fault_id


def test_the_drawing_has_every_branch_with_its_name_and_ends(web: Api) -> None:
    net = web.context.network
    drawing = web.get("/api/v1/console/network", role=Role.VIEWER).json()
    edges = drawing["edges"]
    assert len(edges["id"]) == len(net.sections.id) + len(net.switches.id) == 13
    assert edges["switches_from"] == 7
    k1 = edges["id"].index("K1")
    assert (edges["from"][k1], edges["to"][k1]) == (2, 3)  # A2 → A3
    assert drawing["nodes"]["lon"][3] == pytest.approx(113.03)
    assert [f["name"] for f in drawing["feeders"]] == ["甲Ⅰ线", "甲Ⅱ线", "乙Ⅰ线"]
    assert [s["name"] for s in drawing["substations"]] == ["甲变", "乙变"]
    assert drawing["transformer_areas"]["village"][:2] == ["王庄村", "李村"]
    assert drawing["switches"]["normal_closed"][5] is False  # T1, the tie


def test_the_drawing_is_sent_gzipped_and_not_again_while_unchanged(web: Api) -> None:
    path = "/api/v1/console/network"
    packed = web.get(path, role=Role.VIEWER, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    plain = web.get(path, role=Role.VIEWER, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert packed.json() == plain.json()
    etag = plain.headers["etag"]
    again = web.get(path, role=Role.VIEWER, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_the_state_shows_dead_branches_open_switches_and_the_located_region(web: Api) -> None:
    outage = web.fault_outage("K1")
    _located(web, outage)
    with web.context.lock:
        web.context.analyser.topology.operate([(10, False)])  # K1 opens: A3, A4 dead
    state = web.get("/api/v1/console/state", role=Role.CREW).json()
    feeder = state["edge_feeder"]
    # s1 (A1–A2) on F1 (0); s2 (A3–A4) dead; K1 open: dead; s5 on F3 (2); CB1 in the station
    # zone on one end only: on F1.
    assert feeder[0] == 0
    assert feeder[1] == -1
    assert feeder[10] == -1
    assert feeder[4] == 2
    assert state["closed"] == [True, True, True, False, True, False]
    (shown,) = state["outages"]
    assert shown["id"] == outage
    assert shown["feeder_name"] == "甲Ⅰ线"
    assert shown["operated_name"] == "K1"  # no name in the data: the id
    assert shown["villages"] == ["李村"]
    # TA2 at A4 (node 4) and HV1 at A3 (node 3) are off.
    assert sorted(shown["nodes_off"]) == [3, 4]
    location = shown["location"]
    assert location["probability"] == pytest.approx(0.9)
    # Zone D2 with T1 open: K1 and s2 (edges 10 and 1).
    assert location["region"] == [1, 10]
    assert location["candidates"] == [
        {"posterior": pytest.approx(0.9), "edges": [10, 1]},
        {"posterior": pytest.approx(0.1), "edges": [0]},
    ]
    assert location["contradicting"] == [0]  # D1
    assert location["reported"] == []  # no report in the event log


def test_the_panel_names_the_impact_location_and_the_role_s_actions(web: Api) -> None:
    outage = web.fault_outage("K1")
    _located(web, outage)
    panel = web.get(f"/console/parts/outages/{outage}", role=Role.DISPATCHER).text
    assert "甲Ⅰ线" in panel
    assert "李村敬老院 (敬老院)" in panel  # sensitive customer behind TA2
    assert "水泥厂" in panel  # the HV customer
    assert "90.0%" in panel  # the region's probability
    assert "与定位矛盾的指示器" in panel
    assert 'data-action="dispatch"' in panel
    assert 'data-action="correct"' in panel
    assert 'data-offset="+08:00"' in panel
    crew = web.get(f"/console/parts/outages/{outage}", role=Role.CREW).text
    assert 'data-action="dispatch"' not in crew
    assert 'data-to="crew_on_site"' in crew
    assert 'data-to="cancelled"' not in crew
    assert '<option value="repair">' in crew
    assert "switching" not in crew
    planner = web.get(f"/console/parts/outages/{outage}", role=Role.PLANNER).text
    assert "data-action=" not in planner  # a fault is the dispatcher's
    planned = web.fault_outage("FU1", kind=OutageKind.PLANNED)
    planner = web.get(f"/console/parts/outages/{planned}", role=Role.PLANNER).text
    assert 'data-to="cancelled"' in planner  # a planner may call planned work off
    assert 'data-to="crew_dispatched"' not in planner
    viewer = web.get(f"/console/parts/outages/{outage}?lang=en", role=Role.VIEWER).text
    assert "Your role has no action on this outage." in viewer
    assert "Outage" in viewer


def test_customer_minutes_count_each_area_until_it_came_back(small_network: Network) -> None:
    """Hand calculation: TA1 40 customers off 30 min and back; TA2 35 customers off 30 min,
    still off at 'now' (60 min after the start): 40 × 30 + 35 × 60 = 3300."""
    start = datetime(2024, 6, 1, tzinfo=UTC)
    record = OutageRecord(
        id=1,
        kind=OutageKind.FAULT,
        state=OutageState.PARTLY_RESTORED,
        network_version_id=1,
        feeder_id="F1",
        operated_device="K1",
        located_section=None,
        cause=None,
        crew=None,
        momentary=False,
        started_at=start,
        restored_at=None,
        closed_at=None,
        merged_into_id=None,
        summary={},
        areas=(
            AreaOff("TA1", "transformer_area", 40, "王庄村", start, start + timedelta(minutes=30)),
            AreaOff("TA2", "transformer_area", 35, "李村", start),
            AreaOff("HV1", "hv_customer", 1, None, start + timedelta(minutes=60)),
        ),
    )
    impact = impact_of(record, small_network, start + timedelta(minutes=60), Lang.EN)
    assert impact.customer_minutes == 40 * 30 + 35 * 60 + 1 * 0
    assert impact.areas_off == 2
    assert impact.hv_customers == ("水泥厂",)
    assert impact.sensitive == ("李村敬老院 (nursing home)",)
    assert impact.villages == ("李村", "王庄村")


def test_a_dispatcher_corrects_cause_crew_and_estimate_audited(web: Api) -> None:
    outage = web.fault_outage("K1")
    response = web.post(
        f"/api/v1/console/outages/{outage}/corrections",
        role=Role.DISPATCHER,
        json={
            "cause": "雷击",
            "crew": "抢修一班",
            "estimated_restoration_at": "2024-06-01T18:00+08:00",
        },
    )
    assert response.status_code == 200, response.text
    assert (response.json()["cause"], response.json()["crew"]) == ("雷击", "抢修一班")
    with web.context.sessions() as session:
        record = outages.get_outage(session, outage)
        entries = list_audit(session, object_kind="outage", object_id=outage)
    assert record.summary["estimated_restoration_at"] == "2024-06-01T10:00:00+00:00"
    assert entries[0].action == "outage.update"
    assert entries[0].actor == "dispatcher-1"
    panel = web.get(f"/console/parts/outages/{outage}", role=Role.VIEWER).text
    timeline = panel[panel.index('class="timeline"') :]
    # Local time (Asia/Shanghai) and the fields' names, not the stored UTC text.
    assert "更正 原因 雷击、抢修队 抢修一班、预计恢复 06-01 18:00" in timeline
    # A field left out stays; null clears.
    cleared = web.post(
        f"/api/v1/console/outages/{outage}/corrections", role=Role.DISPATCHER, json={"cause": None}
    )
    assert (cleared.json()["cause"], cleared.json()["crew"]) == (None, "抢修一班")
    bad = web.post(
        f"/api/v1/console/outages/{outage}/corrections",
        role=Role.DISPATCHER,
        json={"estimated_restoration_at": "tomorrow"},
    )
    assert bad.status_code == 422
    missing = web.post(
        "/api/v1/console/outages/999/corrections", role=Role.DISPATCHER, json={"cause": "x"}
    )
    assert missing.status_code == 404


def test_the_pages_need_no_token_and_the_fragments_need_one(web: Api) -> None:
    page = web.get("/console")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert 'data-stream="/api/v1/console/stream"' in page.text
    assert web.get("/console/outages/5?lang=en").status_code == 200
    assert web.get("/console/feeders/F1/sld").status_code == 200
    for path in (
        "/console/parts/outages",
        "/console/parts/outages/1",
        "/console/parts/feeders/F1/sld.svg",
    ):
        refused = web.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["content-type"] == "application/problem+json"
    empty = web.get("/console/parts/outages", role=Role.VIEWER)
    assert "目前没有停电事件" in empty.text
    outage = web.fault_outage("K1")
    listed = web.get("/console/parts/outages", role=Role.VIEWER).text
    assert f'data-outage="{outage}"' in listed
    assert "甲Ⅰ线 · 36 户" in listed  # TA2 35 + HV1


def test_the_single_line_diagram_draws_the_feeder_as_operated_now(web: Api) -> None:
    with web.context.lock:
        web.context.analyser.topology.operate([(10, False)])  # K1 opens
    svg = web.get("/console/parts/feeders/F1/sld.svg", role=Role.VIEWER)
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    text = svg.text
    assert text.startswith("<svg")
    # Switches on F1 as normally operated: CB1 is the head (drawn as the busbar's edge),
    # K1 (open now) and FU1 are drawn as squares on their lines.
    assert 'data-switch="K1"' in text
    assert 'class="switch open"' in text
    assert 'data-switch="FU1"' in text
    assert 'stroke-dasharray="6 4"' in text  # A3–A4 dead behind K1
    assert "TA2台区" in text
    unknown = web.get("/console/parts/feeders/NOPE/sld.svg", role=Role.VIEWER)
    assert unknown.status_code == 404
    not_a_feeder = web.get("/console/parts/feeders/K1/sld.svg", role=Role.VIEWER)
    assert not_a_feeder.status_code == 404


# -- the live stream ------------------------------------------------------------------------
def test_changes_are_sent_once_each_new_ones_marked_new(web: Api) -> None:
    first = web.fault_outage("K1")
    with web.context.sessions() as session:
        changes = Changes.start(session)
        assert changes.poll(session) == []  # what was there at the start counts as sent
    web.clock.advance(seconds=1)
    second = web.fault_outage("FU1")
    with web.context.sessions.begin() as session:
        outages.transition_outage(session, first, OutageState.LOCATED, at=web.clock.now, actor="d")
    with web.context.sessions() as session:
        found = changes.poll(session)
        again = changes.poll(session)
    assert sorted((event, data["id"], data["new"], data["state"]) for event, data in found) == [
        ("outage", first, False, "located"),
        ("outage", second, True, "detected"),
    ]
    assert again == []


@contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real loopback HTTP server (streams need one); its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def served(web: Api) -> Iterator[str]:
    with _serving(web.app) as base:
        yield base


def _events(response: httpx.Response) -> Iterator[tuple[str, dict[str, object]]]:
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


def test_a_new_outage_arrives_on_the_stream_within_a_second(web: Api, served: str) -> None:
    token = web.tokens[Role.VIEWER]
    with httpx.stream(
        "GET", f"{served}/api/v1/console/stream?token={token}", timeout=5
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
        assert next(events)[0] == "ready"
        created = time.monotonic()
        outage = web.fault_outage("K1")
        event, data = next(events)
        delay_s = time.monotonic() - created
    assert (event, data["id"], data["new"]) == ("outage", outage, True)
    assert delay_s < 1.0, delay_s


def test_the_stream_refuses_bad_tokens_and_more_streams_than_allowed(web: Api, served: str) -> None:
    assert httpx.get(f"{served}/api/v1/console/stream?token=oms_nope").status_code == 401
    settings = web.context.settings
    web.context.settings = settings.model_copy(
        update={"console_max_streams": 1, "console_heartbeat_s": 0.2}
    )
    headers = {"Authorization": f"Bearer {web.tokens[Role.CREW]}"}
    with httpx.stream(
        "GET", f"{served}/api/v1/console/stream", headers=headers, timeout=5
    ) as first:
        lines = first.iter_lines()
        assert next(lines) == "retry: 2000"
        refused = httpx.get(f"{served}/api/v1/console/stream", headers=headers)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["type"] == "urn:openoms:problem:overloaded"
        assert ": heartbeat" in [next(lines) for _ in range(5)]  # a quiet stream stays alive
    # The slot is given back when the client goes.
    deadline = time.monotonic() + 3
    while True:
        with httpx.stream(
            "GET", f"{served}/api/v1/console/stream?max_s=0", headers=headers
        ) as again:
            if again.status_code == 200 or time.monotonic() > deadline:
                break
        time.sleep(0.1)
    assert again.status_code == 200


def test_an_open_stream_holds_no_admission_slot(web: Api) -> None:
    """With one request admitted at a time and none queued, a request still gets through
    while a stream is open (a stream counted by the gate would make it 503)."""
    web.context.settings = web.context.settings.model_copy(
        update={"http_max_in_flight": 1, "http_max_queued": 0, "console_heartbeat_s": 0.2}
    )
    headers = {"Authorization": f"Bearer {web.tokens[Role.VIEWER]}"}
    with (
        _serving(create_app(web.context)) as base,
        httpx.stream("GET", f"{base}/api/v1/console/stream", headers=headers, timeout=5) as stream,
    ):
        lines = stream.iter_lines()  # one iterator: a dropped one closes the stream
        assert next(lines) == "retry: 2000"
        answer = httpx.get(f"{base}/api/v1/console/me", headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"name": "viewer-1", "role": "viewer"}
        assert ": heartbeat" in [next(lines) for _ in range(5)]  # the stream is still open
