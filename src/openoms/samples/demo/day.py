"""A scripted day on the sample county, replayed against a running OpenOMS over HTTP.

08:12 a permanent fault locks out the feeder that supplies the 96-resident nursing home; the
crew is sent and arrives, the faulted stretch is isolated and the upstream customers are
switched back on (restoration step 1), the repair is finished and the rest comes back (step
2), and the dispatcher closes the record. 09:05 a customer in the dark calls (attached to the
outage). 13:05 a transient fault on another feeder trips the breaker, which recloses
successfully (a momentary record). 15:20 a customer calls from a transformer area that is on
supply: a lone call, screened as customer-side (one customer counted, no line crew). 16:40
customers under a lateral fuse call: their calls roll up to one predicted device (the fuse,
docs/calls.md); 17:30 the crew re-fuses it and the record is restored.

The driver only speaks HTTP (stdlib ``urllib``), as any outside system would.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openoms.grid.model import Network
from openoms.grid.topology import Topology

__all__ = ["DemoClient", "ScriptedDay", "plan_day", "run_day"]

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class ScriptedDay:
    day: datetime  # local midnight
    fault_breaker: str
    fault_feeder: str
    isolate_switch: str  # opened to isolate the faulted stretch, closed after repair
    indicators: tuple[str, ...]  # fault indicators upstream of the fault (they alarm)
    called_area_in_fault: str
    transient_breaker: str
    called_area_elsewhere: str
    called_fuse: str  # the lateral fuse the 16:40 calls roll up to
    fuse_calls: tuple[str, ...]  # the transformer areas of those calls, one call each


def plan_day(network: Network, topology: Topology, *, day: datetime) -> ScriptedDay:
    """Pick the devices of the scripted day from the network (deterministic)."""
    sc, ta = network.sensitive_customers, network.transformer_areas
    homes = [
        i for i, c in enumerate(sc.category) if c == "nursing_home" and sc.transformer_area[i] >= 0
    ]
    home = max(homes, key=lambda i: int(sc.people[i]))
    home_node = int(ta.node[sc.transformer_area[home]])
    feeder = topology.feeder_of(home_node)
    head = int(network.feeders.head_edge[feeder])
    _, path_edges = topology.path_to_source(home_node)
    n_sections = len(network.sections.id)
    switch_edges = [
        int(e)
        for e in path_edges[::-1].tolist()
        if e >= n_sections
        and network.switches.kind[e - n_sections] in {"load_break_switch", "sectionaliser"}
    ]
    isolate = switch_edges[min(1, len(switch_edges) - 1)]
    on_path = set(path_edges.tolist())
    below_isolate = set(topology.edges_below_edge(isolate).tolist())
    indicators = tuple(
        network.detectors.id[i]
        for i, e in enumerate(network.detectors.edge.tolist())
        if e in on_path
        and e not in below_isolate
        and network.detectors.kind[i] == "fault_indicator"
    )
    other_feeder = (feeder + 1) % len(network.feeders.id)
    elsewhere_node = topology.feeder_nodes((feeder + 2) % len(network.feeders.id))
    at_node = ta.node.tolist()
    elsewhere = next(ta.id[i] for i, n in enumerate(at_node) if n in set(elsewhere_node.tolist()))
    in_fault = ta.id[int(sc.transformer_area[home])]
    busy = {feeder, other_feeder, (feeder + 2) % len(network.feeders.id)}
    fuse, fuse_calls = _fuse_with_calls(network, topology, busy)
    return ScriptedDay(
        day=day,
        fault_breaker=network.edge_id(head),
        fault_feeder=network.feeders.id[feeder],
        isolate_switch=network.edge_id(isolate),
        indicators=indicators,
        called_area_in_fault=in_fault,
        transient_breaker=network.edge_id(int(network.feeders.head_edge[other_feeder])),
        called_area_elsewhere=elsewhere,
        called_fuse=fuse,
        fuse_calls=fuse_calls,
    )


def _fuse_with_calls(
    network: Network, topology: Topology, busy: set[int]
) -> tuple[str, tuple[str, ...]]:
    """The first lateral fuse (off the busy feeders) that one call from each of its first
    three transformer areas predicts, with those areas."""
    from openoms.outages.calls import Call, CallTree  # noqa: PLC0415

    tree = CallTree(network, topology)
    n_sections = len(network.sections.id)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for edge in tree.candidate.nonzero()[0].tolist():
        if network.switches.kind[edge - n_sections] != "fuse":
            continue
        child = int(tree.edge_child[edge])
        units = [u for u in tree.units_below(child).tolist() if u < tree.n_areas][:3]
        if int(tree.feeder[child]) in busy or len(units) < 2:
            continue
        calls = [Call(u, at + timedelta(minutes=i)) for i, u in enumerate(units)]
        found = [o.device for o in tree.predict(calls).outages]
        if found == [network.edge_id(edge)]:
            return found[0], tuple(tree.unit_ids[u] for u in units)
    raise ValueError("no lateral fuse for the demo's trouble calls")  # pragma: no cover


class DemoClient:
    """A minimal JSON-over-HTTP client with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read().decode()}") from exc


def _at(day: ScriptedDay, hh: int, mm: int, ss: float = 0.0) -> str:
    moment = day.day + timedelta(hours=hh, minutes=mm, seconds=ss)
    return moment.astimezone(UTC).isoformat()


def _event(kind: str, device: str | None, at: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "device_id": device, "device_time": at, "payload": payload}


def run_day(
    client: DemoClient, day: ScriptedDay, *, wait: Callable[[], None], say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Replay the day; ``wait()`` blocks until the service has processed what it got."""

    def post(*events: dict[str, Any]) -> None:
        answer = client.call("POST", "/api/v1/events/batch", {"events": list(events)})
        if answer["rejected"]:
            raise RuntimeError(f"the service refused demo events: {answer['rejected']}")
        wait()

    def fault_outage() -> int:
        found = client.call("GET", f"/api/v1/outages?feeder={day.fault_feeder}&kind=fault")
        return int(found["items"][0]["id"])

    say(
        f"08:12 permanent fault: {len(day.indicators)} indicators alarm, "
        f"{day.fault_breaker} trips to lockout"
    )
    post(
        *[
            _event(
                "indicator_report",
                d,
                _at(day, 8, 12, 3.1 + 0.1 * i),
                {"fault_phases": ["A", "B"], "earth_fault": False},
            )
            for i, d in enumerate(day.indicators)
        ],
        _event("breaker_trip", day.fault_breaker, _at(day, 8, 12, 3.4), {"lockout": True}),
    )
    outage = fault_outage()
    say(f"08:20 crew dispatched to outage {outage}; 08:41 on site")
    post(
        _event(
            "crew_status",
            None,
            _at(day, 8, 20),
            {"outage_id": outage, "status": "crew_dispatched", "crew": "demo crew"},
        ),
        _event(
            "crew_status",
            None,
            _at(day, 8, 41),
            {"outage_id": outage, "status": "crew_on_site", "crew": "demo crew"},
        ),
    )
    say(f"09:05 a customer of {day.called_area_in_fault} calls")
    post(
        _event(
            "trouble_call",
            None,
            _at(day, 9, 5),
            {
                "transformer_area": day.called_area_in_fault,
                "caller_name": "张先生",
                "caller_phone": "13800000000",
                "account_id": "0371-000001",
            },
        )
    )
    say(f"09:12 isolate: open {day.isolate_switch}, close {day.fault_breaker} (step 1)")
    post(
        _event("switch_position", day.isolate_switch, _at(day, 9, 12), {"closed": False}),
        _event("switch_position", day.fault_breaker, _at(day, 9, 14), {"closed": True}),
    )
    say(f"11:30 repaired: close {day.isolate_switch} (step 2)")
    post(_event("switch_position", day.isolate_switch, _at(day, 11, 30), {"closed": True}))
    client.call(
        "POST",
        f"/api/v1/outages/{outage}/transitions",
        {"to": "closed", "note": "repaired: broken insulator replaced"},
    )
    say(f"13:05 transient fault: {day.transient_breaker} trips and recloses")
    post(
        _event("breaker_trip", day.transient_breaker, _at(day, 13, 5), {"lockout": False}),
        _event("breaker_reclose", day.transient_breaker, _at(day, 13, 5, 1.5), {"success": True}),
    )
    say(f"15:20 a customer of {day.called_area_elsewhere} calls")
    post(
        _event(
            "trouble_call", None, _at(day, 15, 20), {"transformer_area": day.called_area_elsewhere}
        )
    )
    say(f"16:40 {len(day.fuse_calls)} customers under {day.called_fuse} call")
    post(
        *[
            _event("trouble_call", None, _at(day, 16, 40 + 3 * i), {"transformer_area": area})
            for i, area in enumerate(day.fuse_calls)
        ]
    )
    found = client.call("GET", "/api/v1/outages?kind=fault&limit=5")
    predicted = next(i for i in found["items"] if i["operated_device"] == day.called_fuse)
    detail = client.call("GET", f"/api/v1/outages/{predicted['id']}")
    say(f"      predicted: {day.called_fuse} (outage {predicted['id']}); 17:30 re-fused")
    client.call(
        "POST",
        f"/api/v1/outages/{predicted['id']}/restoration-steps",
        {
            "element_ids": [a["element_id"] for a in detail["areas"]],
            "how": "repair",
            "at": _at(day, 17, 30),
        },
    )
    found = client.call("GET", "/api/v1/outages?limit=20")
    return [client.call("GET", f"/api/v1/outages/{item['id']}") for item in found["items"]]
