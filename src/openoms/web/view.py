"""What the public pages and the feed show of an outage or a planned booking, from the public
allow-list.

:func:`public_view` adds to :func:`openoms.api.routes.public.public_outage` only values that
cannot carry personal data: the cause as one of a fixed list of categories (the record's
cause is free text a dispatcher or crew typed and is never shown), the crew's stage from the
outage's state (never the crew's name or phone), and the map positions of the transformer
areas off (the network's public transformers, each supplying many households) and the lines
between them. HV customers count in the numbers but have no position on the map: one HV
connection is one customer, and its place would say who is off.

:func:`planned_view` does the same for a booked planned outage not begun
(:func:`openoms.api.routes.public.public_planned`): its transformer areas and the lines from
them up to the switches its work opens.

The lines off are drawn on the network's normal (as-built) feeder trees: from every
transformer area off up to where their paths meet, and on up to the device the outage opened
when it is known. They show where the outage is, not the live switching state.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from openoms.api.outage_schemas import PublicOutage, PublicPlanned
from openoms.api.routes.public import public_outage, public_planned
from openoms.grid.model import ElementKind, Network
from openoms.grid.topology import Topology
from openoms.outages.lifecycle import OPEN_STATES, OutageState
from openoms.outages.planned import PlannedWork, WorkType
from openoms.outages.records import OutageKind, OutageRecord

__all__ = [
    "CAUSES",
    "CREW_STAGES",
    "CrewStage",
    "PlannedView",
    "PublicView",
    "by_township",
    "cause_category",
    "planned_view",
    "public_view",
]

CrewStage = Literal["assigned", "en_route", "on_site", "repairing"]
CREW_STAGES: Final[tuple[CrewStage, ...]] = ("assigned", "en_route", "on_site", "repairing")

# Category → words that put a free-text cause in it (first match wins; lower case).
CAUSES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("lightning", ("雷", "lightning", "thunder")),
    ("wind", ("大风", "台风", "风偏", "wind", "typhoon", "storm")),
    ("ice", ("覆冰", "冰", "雪", "ice", "snow")),
    ("tree", ("树", "竹", "tree", "vegetation", "branch", "bamboo")),
    ("bird", ("鸟", "bird", "nest")),
    ("animal", ("动物", "蛇", "鼠", "animal", "snake", "rodent")),
    (
        "external",
        ("外力", "施工", "挖", "车辆", "撞", "external", "vehicle", "excavat", "construction"),
    ),
    ("maintenance", ("检修", "计划", "maintenance", "planned", "live-line", "带电作业")),
    ("overload", ("过载", "过负荷", "overload")),
    ("equipment", ("设备", "绝缘", "老化", "故障", "equipment", "insulator", "cable", "failure")),
)
OTHER_CAUSE: Final = "other"
_PLACES: Final = 5  # decimals of a position: about a metre


def cause_category(cause: str | None, kind: OutageKind) -> str | None:
    """The public category of a free-text cause; ``None`` while it is not known. A planned
    outage's cause is its work: always ``maintenance`` (its record's cause is the work type,
    and "construction" work is not third-party damage)."""
    if kind is OutageKind.PLANNED:
        return "maintenance"
    if cause is None or not cause.strip():
        return None
    text = cause.casefold()
    for category, words in CAUSES:
        if any(word in text for word in words):
            return category
    return OTHER_CAUSE


def crew_stage(record: OutageRecord) -> CrewStage | None:
    """Where the crew is, from the outage's state and history: assigned (a crew is named),
    en route (dispatched), on site, repairing (isolated or partly restored after the crew
    reached the site); ``None`` while no crew is named and once the outage is over.

    A fault isolated by remote switching before any crew went out is not "repairing": the
    stage is then the furthest the crew has got."""
    if record.state not in OPEN_STATES:
        return None
    if record.state is OutageState.CREW_DISPATCHED:
        return "en_route"
    if record.state is OutageState.CREW_ON_SITE:
        return "on_site"
    reached = {change.to_state for change in record.history}
    if record.state in (OutageState.ISOLATED, OutageState.PARTLY_RESTORED):
        if OutageState.CREW_ON_SITE in reached:
            return "repairing"
        if OutageState.CREW_DISPATCHED in reached:
            return "en_route"
    return "assigned" if record.crew else None


@dataclass(frozen=True, slots=True)
class PublicView:
    """One outage as the public pages show it."""

    outage: PublicOutage
    cause: str | None  # a CAUSES category or OTHER_CAUSE
    crew: CrewStage | None
    positions: tuple[tuple[float, float], ...]  # (lon, lat) of the transformer areas shown
    lines: tuple[tuple[tuple[float, float], ...], ...]  # polylines of (lon, lat): lines off
    work_type: WorkType | None = None  # a planned outage under way: the kind of work

    upcoming = False  # begun

    @property
    def places(self) -> list[str]:
        """Villages, or townships where no village is known."""
        return self.outage.villages or self.outage.townships

    @property
    def townships(self) -> list[str]:
        return self.outage.townships


@dataclass(frozen=True, slots=True)
class PlannedView:
    """One planned outage booked and not begun, as the public pages show it."""

    planned: PublicPlanned
    positions: tuple[tuple[float, float], ...]  # (lon, lat) of its transformer areas
    lines: tuple[tuple[tuple[float, float], ...], ...]  # the lines it puts off

    upcoming = True

    @property
    def places(self) -> list[str]:
        """Villages, or townships where no village is known."""
        return self.planned.villages or self.planned.townships

    @property
    def townships(self) -> list[str]:
        return self.planned.townships


Point = tuple[float, float]


def _area_nodes(element_ids: Sequence[str], network: Network) -> list[int]:
    """Nodes of the transformer areas among ``element_ids``, in their order."""
    nodes: dict[int, None] = {}
    for element_id in element_ids:
        if element_id not in network:
            continue
        kind, i = network.locate(element_id)
        if kind is ElementKind.TRANSFORMER_AREA:  # an HV connection is one customer's
            nodes[int(network.transformer_areas.node[i])] = None
    return list(nodes)


def _point(network: Network, node: int) -> Point | None:
    lon = float(network.nodes.lon_deg[node])
    lat = float(network.nodes.lat_deg[node])
    if math.isfinite(lon) and math.isfinite(lat):
        return (round(lon, _PLACES), round(lat, _PLACES))
    return None


@dataclass(frozen=True, slots=True)
class _Trees:
    """The normal feeder trees of one network: parent node, edge to it, depth, feeder."""

    network: Network
    parent: list[int]
    parent_edge: list[int]
    depth: list[int]
    feeder: list[int]


_TREES: dict[int, _Trees] = {}
_TREES_LOCK = threading.Lock()


def _trees(network: Network) -> _Trees:
    with _TREES_LOCK:
        found = _TREES.get(id(network))
        if found is None or found.network is not network:
            topology = Topology.build(network.graph_arrays(), network.closed_edges(normal=True))
            found = _Trees(
                network,
                topology.parent_of_nodes.tolist(),
                topology.parent_edge_of_nodes.tolist(),
                topology.depth_of_nodes.tolist(),
                topology.feeder_of_nodes.tolist(),
            )
            _TREES.clear()  # one network at a time: the service's
            _TREES[id(network)] = found
        return found


def _meeting_node(trees: _Trees, nodes: list[int]) -> int:
    """The node where the paths up from ``nodes`` (one feeder) meet; -1 if they do not."""
    top = nodes[0]
    for node in nodes[1:]:
        a, b = top, node
        while a >= 0 and b >= 0 and a != b:
            if trees.depth[a] >= trees.depth[b]:
                a = trees.parent[a]
            else:
                b = trees.parent[b]
        top = a if a == b else -1
        if top < 0:
            return -1
    return top


def _lines(network: Network, nodes: list[int], opened: Sequence[object]) -> list[list[int]]:
    """Node paths of the lines off: up from each area to where the paths meet, then on up
    to the opened device when one of ``opened`` is on that path."""
    if not nodes:
        return []
    trees = _trees(network)
    stops = {network.edge_index(d) for d in opened if isinstance(d, str) and d in network}
    by_feeder: dict[int, list[int]] = {}
    for node in nodes:
        if trees.depth[node] > 0:  # in a feeder tree in the normal state
            by_feeder.setdefault(trees.feeder[node], []).append(node)
    paths: list[list[int]] = []
    for members in by_feeder.values():
        top = _meeting_node(trees, members)
        seen: set[int] = set()
        for start in members:
            path, node = [start], start
            while node != top and node not in seen and trees.parent[node] >= 0:
                seen.add(node)
                node = trees.parent[node]
                path.append(node)
            if len(path) > 1:
                paths.append(path)
        up, node = [top], top
        while top >= 0 and stops:
            edge = trees.parent_edge[node]
            if edge < 0:
                break
            above = trees.parent[node]
            if above < 0:  # the feeder's head edge: its other end is in the station
                ends = int(network.edge_from[edge]), int(network.edge_to[edge])
                above = ends[0] if ends[1] == node else ends[1]
            up.append(above)
            if edge in stops:
                paths.append(up)
                break
            if trees.parent[node] < 0:
                break
            node = above
    return paths


def _geometry(
    network: Network, element_ids: Sequence[str], opened: Sequence[object]
) -> tuple[tuple[Point, ...], tuple[tuple[Point, ...], ...]]:
    nodes = _area_nodes(element_ids, network)
    positions = tuple(dict.fromkeys(p for n in nodes if (p := _point(network, n)) is not None))
    lines: list[tuple[Point, ...]] = []
    for path in _lines(network, nodes, opened):
        run: list[Point] = []
        for node in [*path, -1]:  # a node without a position ends a run
            point = _point(network, node) if node >= 0 else None
            if point is not None:
                run.append(point)
            elif len(run) > 1:
                lines.append(tuple(run))
                run = []
            else:
                run = []
    return positions, tuple(lines)


def public_view(
    record: OutageRecord, network: Network, work: PlannedWork | None = None
) -> PublicView:
    """An outage record (``work``: the booking of a planned one) as the pages show it."""
    off = [a for a in record.areas if a.restored_at is None] or list(record.areas)
    opened = record.summary.get("opened") or [record.operated_device]
    positions, lines = _geometry(
        network, [a.element_id for a in off], opened if isinstance(opened, list) else []
    )
    return PublicView(
        outage=public_outage(record, network, work),
        cause=cause_category(record.cause, record.kind),
        crew=crew_stage(record),
        positions=positions,
        lines=lines,
        work_type=work.work_type if work is not None else None,
    )


def planned_view(work: PlannedWork, network: Network) -> PlannedView:
    """A booking as the pages show it: its areas and the lines up to the switches it opens."""
    opened = [*work.opened, *(op.get("device") for op in work.switching if not op.get("close"))]
    positions, lines = _geometry(network, work.element_ids, opened)
    return PlannedView(planned=public_planned(work, network), positions=positions, lines=lines)


AnyView = PublicView | PlannedView


def by_township(views: Sequence[AnyView]) -> list[tuple[str | None, list[AnyView]]]:
    """Views grouped by their first township (``None``: not known), groups in name order."""
    groups: dict[str | None, list[AnyView]] = {}
    for view in views:
        township = view.townships[0] if view.townships else None
        groups.setdefault(township, []).append(view)
    return sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))
