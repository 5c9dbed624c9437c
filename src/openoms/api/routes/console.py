"""What the operator console draws: the network once, its live state on every change, and the
dispatcher's corrections of an outage.

- ``GET /console/network``: the drawing of the network (node positions, every branch with its
  name and ends, switches, detectors, substations, transformer areas with their villages).
  It changes only with a new network version, so the console loads it once.
- ``GET /console/state``: what changes: the feeder each branch is on now (``-1``: dead), the
  switch positions, and the open outages with the branches of their located region and
  candidate zones (with posteriors), the indicators that reported and those that contradict
  the location, and the transformer areas off.
- ``POST /console/outages/{id}/corrections``: cause, crew, estimated restoration (dispatcher).

Branches are numbered as the network's edges (sections, then switches); the console refers to
them by index, with the names from ``/console/network``. The live stream that says when to ask
for the state again is :mod:`openoms.api.routes.console_stream`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

import numpy as np
from fastapi import APIRouter, Path, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from openoms.api.auth import PlanApprover, Reader
from openoms.api.deps import ContextDep, SessionDep
from openoms.api.outage_schemas import OutageOut
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.api.schemas import RequestBody, UtcTime
from openoms.faults.lifecycle import FaultEventState
from openoms.grid.model import Network
from openoms.grid.topology import STATION
from openoms.outages.lifecycle import OPEN_STATES
from openoms.outages.records import OutageRecord
from openoms.service.context import ServiceContext
from openoms.service.fault_view import feeder_zones
from openoms.store import faults as fault_store
from openoms.store import outages as store

__all__ = ["FEEDER_COLOURS", "CorrectionIn", "network_drawing", "open_outages", "router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/console", tags=["console"], responses=problem_responses(401, 403)
)

FEEDER_COLOURS: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#7b4173",
)
"""One colour per feeder, in feeder order (repeating); red and grey are kept for faults and
dead lines."""
_DEAD: Final = -1
_STATION: Final = -2
_OPEN_LIST: Final = 200


def _round(values: Any) -> list[float | None]:
    return [None if math.isnan(v) else round(float(v), 6) for v in values]


def _names(names: Sequence[str | None], ids: Sequence[str]) -> list[str]:
    """The names, an element's id where it has none."""
    return [name or element_id for name, element_id in zip(names, ids, strict=True)]


_DRAWINGS: dict[int, tuple[Network, dict[str, Any]]] = {}


def network_drawing(network: Network) -> dict[str, Any]:
    """The network as the console draws it (kept per network: it never changes)."""
    found = _DRAWINGS.get(id(network))
    if found is not None and found[0] is network:
        return found[1]
    n_sections = len(network.sections.id)
    ta, sub, det, sw = (
        network.transformer_areas,
        network.substations,
        network.detectors,
        network.switches,
    )
    drawing = {
        "name": network.name,
        "nodes": {
            "lon": _round(network.nodes.lon_deg),
            "lat": _round(network.nodes.lat_deg),
        },
        "edges": {
            "id": [*network.sections.id, *sw.id],
            "name": _names((*network.sections.name, *sw.name), (*network.sections.id, *sw.id)),
            "from": network.edge_from.tolist(),
            "to": network.edge_to.tolist(),
            "switches_from": n_sections,
        },
        "switches": {"kind": list(sw.kind), "normal_closed": sw.normal_closed.tolist()},
        "feeders": [
            {
                "id": network.feeders.id[f],
                "name": network.feeders.name[f] or network.feeders.id[f],
                "substation": sub.name[int(network.feeders.substation[f])],
                "colour": FEEDER_COLOURS[f % len(FEEDER_COLOURS)],
            }
            for f in range(len(network.feeders.id))
        ],
        "substations": [
            {"id": sub.id[s], "name": sub.name[s] or sub.id[s], "node": int(sub.busbar_node[s])}
            for s in range(len(sub.id))
        ],
        "detectors": {
            "id": list(det.id),
            "name": _names(det.name, det.id),
            "edge": det.edge.tolist(),
        },
        "transformer_areas": {
            "id": list(ta.id),
            "name": _names(ta.name, ta.id),
            "node": ta.node.tolist(),
            "village": [v or "" for v in ta.village],
            "township": [t or "" for t in ta.township],
            "customers": ta.lv_customers.tolist(),
        },
    }
    _DRAWINGS.clear()
    _DRAWINGS[id(network)] = (network, drawing)
    return drawing


@router.get("/me", summary="Who the token is: its name and role (the console shows it)")
def get_me(user: Reader) -> dict[str, str]:
    return {"name": user.name, "role": user.role.value}


_ENCODED: dict[int, tuple[Network, bytes, bytes, str]] = {}


def _encoded(network: Network) -> tuple[bytes, bytes, str]:
    """The drawing as JSON, gzipped, and its ETag (kept per network)."""
    found = _ENCODED.get(id(network))
    if found is not None and found[0] is network:
        return found[1], found[2], found[3]
    plain = json.dumps(network_drawing(network), ensure_ascii=False, separators=(",", ":")).encode()
    packed = gzip.compress(plain, compresslevel=6, mtime=0)
    etag = '"' + hashlib.sha256(plain).hexdigest()[:32] + '"'
    _ENCODED.clear()
    _ENCODED[id(network)] = (network, plain, packed, etag)
    return plain, packed, etag


@router.get(
    "/network",
    summary="The network as the console draws it (positions and names)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, 304: {"description": "Unchanged"}},
)
def get_network(context: ContextDep, _user: Reader, request: Request) -> Response:
    """The same for every caller while the network is the same: gzipped when the client
    accepts it (521 KiB of JSON for the sample county, 100 KiB gzipped), with an ETag."""
    plain, packed, etag = _encoded(context.network)
    headers = {"ETag": etag, "Vary": "Accept-Encoding", "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/json", headers=headers)
    return Response(plain, media_type="application/json", headers=headers)


def _edge_feeders(context: ServiceContext) -> tuple[list[int], list[bool]]:
    """The feeder each branch is on now (-1 dead, -2 inside a substation), switch positions."""
    net = context.network
    with context.lock:
        topology = context.analyser.topology
        code = np.asarray(topology.feeder_of_nodes).copy()
        closed = np.asarray(topology.closed).copy()
    a, b = code[net.edge_from], code[net.edge_to]
    feeder = np.where(a >= 0, a, b)
    feeder = np.where((a == STATION) & (b == STATION), _STATION, feeder)
    feeder = np.where(feeder >= 0, feeder, np.where(feeder == _STATION, _STATION, _DEAD))
    # An open switch carries nothing, though it sits between live nodes.
    n_sections = len(net.sections.id)
    feeder[n_sections:] = np.where(closed[n_sections:], feeder[n_sections:], _DEAD)
    return feeder.astype(int).tolist(), closed[n_sections:].astype(bool).tolist()


def _zone_edges(net: Network, zone_edges: dict[str, tuple[str, ...]], zone: str) -> list[int]:
    out = []
    for element in zone_edges.get(zone, ()):
        edge = net.edge_index(element)
        if edge is not None:
            out.append(edge)
    return out


def _location_of(
    context: ServiceContext, session: Session, outage_id: int
) -> dict[str, Any] | None:
    """The newest located fault event of the outage as branch indexes: region, candidates,
    indicators that reported and those contradicting the location."""
    net = context.network
    events = fault_store.list_fault_events(session, limit=5, outage_id=outage_id)
    located = [e for e in events if e.location and e.state is not FaultEventState.COLLECTING]
    if not located or located[0].feeder_id not in net.feeders.id:
        return None
    event = located[0]
    location = event.location or {}
    zones = feeder_zones(net, event.open_edges, event.feeder_id)
    edges_of = {zone.id: zone.edges for zone in zones}
    settings = context.settings
    reports = fault_store.reports_between(
        session,
        {d for zone in zones for d in zone.detectors},
        event.t0 - timedelta(seconds=settings.fault_window_before_s),
        event.t0 + timedelta(seconds=settings.fault_window_after_s),
    )
    detector_index = {d: i for i, d in enumerate(net.detectors.id)}
    reported = sorted(
        {detector_index[e.device_id] for e, _ in reports if e.device_id in detector_index}
    )
    return {
        "fault_id": event.id,
        "probability": float(location.get("region_mass", 0.0)),
        "region": sorted(
            {e for z in location.get("region", ()) for e in _zone_edges(net, edges_of, z)}
        ),
        "candidates": [
            {"posterior": float(c["posterior"]), "edges": _zone_edges(net, edges_of, c["zone"])}
            for c in location.get("candidates", ())[:20]
        ],
        "reported": reported,
        "contradicting": sorted(
            detector_index[c["detector"]]
            for c in location.get("contradictions", ())
            if c["detector"] in detector_index
        ),
    }


def _areas_off(net: Network, record: OutageRecord) -> list[int]:
    """The nodes of the transformer areas and HV customers still off."""
    nodes = []
    for area in record.areas:
        if area.restored_at is not None or area.element_id not in net:
            continue
        kind, i = net.locate(area.element_id)
        table = net.transformer_areas if kind.value == "transformer_areas" else net.hv_customers
        nodes.append(int(table.node[i]))
    return nodes


def _outage_state(
    context: ServiceContext, session: Session, record: OutageRecord
) -> dict[str, Any]:
    net = context.network
    feeder = record.feeder_id
    feeder_name = (
        net.feeders.name[net.feeders.id.index(feeder)] if feeder in net.feeders.id else feeder
    )
    return OutageOut.from_domain(record).model_dump(mode="json", exclude={"summary"}) | {
        "feeder_name": feeder_name,
        "operated_name": _name(net, record.operated_device),
        "villages": sorted({a.village for a in record.areas if a.village}),
        "nodes_off": _areas_off(net, record),
        "location": _location_of(context, session, record.id),
    }


def _name(net: Network, element_id: str | None) -> str | None:
    if element_id is None or element_id not in net:
        return element_id
    kind, i = net.locate(element_id)
    name: str | None = getattr(net, kind.value).name[i]
    return name or element_id


def open_outages(context: ServiceContext, session: Session) -> list[OutageRecord]:
    """The open outages, newest first (at most a few hundred: the console's list)."""
    return store.list_outages(session, states=sorted(OPEN_STATES), limit=_OPEN_LIST, offset=0)


@router.get("/state", summary="The live state the console draws: feeders, switches, outages")
def get_state(context: ContextDep, session: SessionDep, _user: Reader) -> dict[str, Any]:
    edge_feeder, closed = _edge_feeders(context)
    return {
        "at": context.clock().isoformat(),
        "edge_feeder": edge_feeder,
        "closed": closed,
        "outages": [_outage_state(context, session, r) for r in open_outages(context, session)],
    }


class CorrectionIn(RequestBody):
    """What a dispatcher corrects; a field left out stays, ``null`` clears it."""

    cause: str | None = Field(default=None, max_length=200)
    crew: str | None = Field(default=None, max_length=200)
    estimated_restoration_at: UtcTime | None = None


OutageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The outage's id.")]


@router.post(
    "/outages/{outage_id}/corrections",
    summary="Correct an outage's cause, crew or estimated restoration (dispatcher)",
    responses=problem_responses(404, 422),
)
def correct_outage(
    context: ContextDep,
    session: SessionDep,
    user: PlanApprover,
    outage_id: OutageId,
    body: CorrectionIn,
) -> OutageOut:
    given = body.model_fields_set
    changes: dict[str, Any] = {key: getattr(body, key) for key in ("cause", "crew") if key in given}
    if "estimated_restoration_at" in given:
        at: datetime | None = body.estimated_restoration_at
        record = store.get_outage(session, outage_id)
        changes["summary"] = dict(record.summary) | {
            "estimated_restoration_at": None if at is None else at.isoformat()
        }
    updated = store.update_outage(
        session, outage_id, **changes, at=context.clock(), actor=user.name, role=user.role
    )
    return OutageOut.from_domain(updated)
