"""The network as it is now: feeders, one device and where it sits, search.

Read from the context's network and the analyser's live topology (the present switch state).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Path, Query

from openoms.api.auth import Reader
from openoms.api.deps import ContextDep
from openoms.api.grid_schemas import (
    DeviceMatch,
    DeviceOut,
    FeederCounts,
    FeederOut,
    Position,
    SearchResult,
)
from openoms.api.problems import problem_responses
from openoms.api.routes import API_PREFIX
from openoms.grid.model import ElementKind, Network
from openoms.grid.topology import STATION, Topology

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/grid", tags=["grid"], responses=problem_responses(401, 403)
)


@router.get("/feeders", summary="Every feeder and what it supplies now")
def list_feeders(context: ContextDep, _user: Reader) -> list[FeederOut]:
    net, topology = context.network, context.analyser.topology
    with context.lock:
        counts = _feeder_counts(net, topology)
    feeders, substations = net.feeders, net.substations
    return [
        FeederOut(
            id=feeders.id[f],
            name=feeders.name[f],
            substation_id=substations.id[int(feeders.substation[f])],
            substation_name=substations.name[int(feeders.substation[f])],
            energised=counts["nodes"][f] > 0,
            counts=FeederCounts(**{key: int(values[f]) for key, values in counts.items()}),
        )
        for f in range(len(feeders.id))
    ]


@router.get(
    "/devices/{device_id}",
    summary="One element of the network: kind, name, feeder, position, energised",
    responses=problem_responses(404, 422),
)
def get_device(
    context: ContextDep,
    _user: Reader,
    device_id: Annotated[str, Path(min_length=1, max_length=100)],
) -> DeviceOut:
    with context.lock:
        return _describe(context.network, context.analyser.topology, device_id)


@router.get(
    "/search",
    summary="Find elements by id prefix, name or village / street / township",
    responses=problem_responses(422),
)
def search(
    context: ContextDep,
    _user: Reader,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Text to look for.")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SearchResult:
    matches = _search(context.network, q.strip() or q, limit=limit + 1)
    return SearchResult(query=q, items=matches[:limit], truncated=len(matches) > limit)


# -- feeders --------------------------------------------------------------------------------------
def _feeder_counts(net: Network, topology: Topology) -> dict[str, Any]:
    """Per feeder (present state): nodes, sections, switches, TAs, LV/HV/sensitive customers."""
    n = len(net.feeders.id)
    code = topology.feeder_of_nodes

    def count(nodes: Any, weights: Any = None) -> Any:
        feeders = code[nodes]
        on = feeders >= 0
        picked = None if weights is None else weights[on]
        return np.bincount(feeders[on], weights=picked, minlength=n).astype(np.int64)

    def branch_nodes(from_node: Any, to_node: Any) -> Any:
        return np.where(code[from_node] >= 0, from_node, to_node)

    ta, hv, sc = net.transformer_areas, net.hv_customers, net.sensitive_customers
    sensitive_nodes = np.where(
        sc.transformer_area >= 0, ta.node[sc.transformer_area], hv.node[sc.hv_customer]
    )
    return {
        "nodes": count(np.arange(len(net.nodes.id))),
        "sections": count(branch_nodes(net.sections.from_node, net.sections.to_node)),
        "switches": count(branch_nodes(net.switches.from_node, net.switches.to_node)),
        "transformer_areas": count(ta.node),
        "lv_customers": count(ta.node, ta.lv_customers),
        "hv_customers": count(hv.node),
        "sensitive_customers": count(sensitive_nodes),
    }


# -- one device -----------------------------------------------------------------------------------
def _place_node_and_edge(net: Network, kind: ElementKind, i: int) -> tuple[int | None, int | None]:
    """The node a device stands at, or the branch (edge) it is on (neither for a grid cell)."""
    ta, hv, sc = net.transformer_areas, net.hv_customers, net.sensitive_customers
    node: int | None = None
    edge: int | None = None
    match kind:
        case ElementKind.NODE:
            node = i
        case ElementKind.SUBSTATION:
            node = int(net.substations.busbar_node[i])
        case ElementKind.TRANSFORMER_AREA:
            node = int(ta.node[i])
        case ElementKind.HV_CUSTOMER:
            node = int(hv.node[i])
        case ElementKind.GENERATOR:
            node = int(net.generators.node[i])
        case ElementKind.SENSITIVE_CUSTOMER:
            supplier = int(sc.transformer_area[i])
            node = int(ta.node[supplier]) if supplier >= 0 else int(hv.node[sc.hv_customer[i]])
        case ElementKind.SECTION | ElementKind.SWITCH | ElementKind.DETECTOR | ElementKind.FEEDER:
            edge = _edge_of(net, kind, i)
    return node, edge


def _edge_of(net: Network, kind: ElementKind, i: int) -> int:
    if kind is ElementKind.SECTION:
        return i
    if kind is ElementKind.SWITCH:
        return len(net.sections.id) + i
    if kind is ElementKind.DETECTOR:
        return int(net.detectors.edge[i])
    return int(net.feeders.head_edge[i])


def _position(
    net: Network, topology: Topology, node: int, *, own_edge: int | None = None
) -> Position:
    """Where ``node`` is now; for a branch (``own_edge``), ``node`` is its lower end."""
    _, edges_up = topology.path_to_source(node)
    upstream = next(
        (int(e) for e in edges_up.tolist() if net.is_switch_edge(int(e)) and e != own_edge), None
    )
    feeder = topology.feeder_of(node)
    depth = int(topology.depth_of_nodes[node])
    lon, lat = float(net.nodes.lon_deg[node]), float(net.nodes.lat_deg[node])
    return Position(
        nodes=[net.nodes.id[n] for n in _ends(net, own_edge)]
        if own_edge is not None
        else [net.nodes.id[node]],
        lon_deg=None if math.isnan(lon) else lon,
        lat_deg=None if math.isnan(lat) else lat,
        feeder_id=net.feeders.id[feeder] if feeder >= 0 else None,
        in_station=feeder == STATION,
        depth=depth if depth >= 0 else None,
        upstream_switch_id=net.edge_id(upstream) if upstream is not None else None,
    )


def _ends(net: Network, edge: int) -> tuple[int, int]:
    return int(net.edge_from[edge]), int(net.edge_to[edge])


def _lower_end(net: Network, topology: Topology, edge: int) -> int:
    """The end of a branch further from the source (or the energised end, or its to-node)."""
    a, b = _ends(net, edge)
    parent_edge = topology.parent_edge_of_nodes
    if parent_edge[b] == edge:
        return b
    if parent_edge[a] == edge:
        return a
    return a if topology.is_energised(a) and not topology.is_energised(b) else b


def _describe(net: Network, topology: Topology, device_id: str) -> DeviceOut:
    kind, i = net.locate(device_id)
    node, edge = _place_node_and_edge(net, kind, i)
    table = getattr(net, kind.value)
    out: dict[str, Any] = {"id": device_id, "kind": kind, "name": table.name[i]}
    if edge is not None:
        out["position"] = _position(net, topology, _lower_end(net, topology, edge), own_edge=edge)
        out["energised"] = any(topology.is_energised(n) for n in _ends(net, edge))
    elif node is not None:
        out["position"] = _position(net, topology, node)
        out["energised"] = topology.is_energised(node)
    else:
        out["position"] = out["energised"] = None
    if kind is ElementKind.SWITCH:
        out["closed"] = bool(topology.closed[len(net.sections.id) + i])
        out["normally_closed"] = bool(net.switches.normal_closed[i])
    if kind in (ElementKind.TRANSFORMER_AREA, ElementKind.HV_CUSTOMER):
        out |= {key: getattr(table, key)[i] for key in ("village", "street", "township")}
    if kind is ElementKind.TRANSFORMER_AREA:
        out["lv_customers"] = int(net.transformer_areas.lv_customers[i])
    return DeviceOut(**out)


# -- search ---------------------------------------------------------------------------------------
_PLACES = ("village", "street", "township")


def _search(net: Network, q: str, *, limit: int) -> list[DeviceMatch]:
    """Exact id first, then id prefix, then name substring, then place; O(elements)."""
    needle = q.casefold()
    ranked: list[tuple[int, DeviceMatch]] = []
    for kind in ElementKind:
        table = getattr(net, kind.value)
        with_places = kind in (ElementKind.TRANSFORMER_AREA, ElementKind.HV_CUSTOMER)
        for i, element_id in enumerate(table.id):
            name = table.name[i]
            places = [getattr(table, p)[i] for p in _PLACES] if with_places else []
            place = next((p for p in places if p), None)
            folded = element_id.casefold()
            matched: Literal["id", "name", "place"]
            if folded.startswith(needle):
                rank, matched = (0 if folded == needle else 1), "id"
            elif name and needle in name.casefold():
                rank, matched = 2, "name"
            elif any(p and needle in p.casefold() for p in places):
                rank, matched = 3, "place"
            else:
                continue
            match = DeviceMatch(id=element_id, kind=kind, name=name, matched=matched, place=place)
            ranked.append((rank, match))
    ranked.sort(key=lambda item: (item[0], item[1].id))
    return [match for _, match in ranked[:limit]]
