"""The zone tree of one feeder in the current operated state: the sections fault location
works with.

A zone is everything below a detector down to the next detectors (docs/faults.md, "Zones";
"below" as in docs/topology.md). Zones are built from the topology's feeder tree: the
detectors on tree edges of the feeder start zones; a detector on an open switch, a dead branch
or another feeder starts nothing here. Several detectors on one branch (a relay and an FTU on
the head breaker) start one zone together and all count as its devices; the zone takes the id
of the first of them (a relay first, then in table order). A feeder with no detector on its
head edge gets an implicit root zone named after the head branch (its breaker), whose device
is that breaker's protection (see ``trip_seen`` in :meth:`openoms.faults.FaultLocator.locate`).

Zones are numbered in pre-order, so the subtree of zone ``z`` is the index range
``[z, z + size[z])``. Building is O(nodes of the feeder); everything per event is O(zones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from openoms.faults.kernels import Float64Array, Int64Array, subtree_sums
from openoms.grid.jit import LazyKernels
from openoms.grid.model import Network
from openoms.grid.topology import STATION, Topology

__all__ = ["Zone", "ZoneTree", "build_zone_tree", "compile_kernels"]

Ints = NDArray[np.int32]
ZONE_FLOOR_KM: Final = 0.01  # prior floor: a zone without line length counts as 10 m of line


@dataclass(frozen=True, slots=True)
class Zone:
    """A "section" for fault location: everything below a detector down to the next ones."""

    id: str  # the id of the detector that starts it (implicit root: the head branch's id)
    detector: str
    parent: str | None  # zone id upstream
    edges: tuple[str, ...]  # section and switch ids inside the zone (tree edges only)
    upstream_device: str  # branch id (switch / section) the starting detector sits on
    downstream_devices: tuple[str, ...]  # branch ids where the child zones start
    length_km: float
    detectors: tuple[str, ...] = ()  # every detector on the starting branch
    implicit: bool = False  # the root zone of a feeder without a detector on its head


_kernel: Final = LazyKernels(globals())  # numba only when needed (openoms.grid.jit)


def compile_kernels() -> None:
    """Load numba for the kernels of this module (``openoms warm-up``)."""
    _kernel.compile()


@_kernel
def _assign_zones(  # noqa: PLR0917  (numba: no keyword-only parameters)
    order: Ints,
    parent: Ints,
    parent_edge: Ints,
    starts_zone: NDArray[np.bool_],
    node_zone: Int64Array,
    zone_parent: Int64Array,
    zone_start: Int64Array,
) -> int:
    """Zone of each node (scratch ``node_zone`` indexed by node) in pre-order; returns count."""
    n_zones = 0
    for i in range(order.shape[0]):
        v = order[i]
        if i == 0 or starts_zone[parent_edge[v]]:
            zone_parent[n_zones] = node_zone[parent[v]] if i > 0 else -1
            zone_start[n_zones] = v
            node_zone[v] = n_zones
            n_zones += 1
        else:
            node_zone[v] = node_zone[parent[v]]
    return n_zones


@dataclass(frozen=True, slots=True, eq=False)
class ZoneTree:
    """The arrays of one feeder's zone tree (private to the locator and calibration)."""

    feeder: int
    feeder_id: str
    parent: Int64Array  # zone index of the parent, -1 at the root
    order: Int64Array  # 0..n-1 (zones are numbered in pre-order)
    size: Int64Array  # zones in the subtree (the zone itself included)
    start_edge: Int64Array  # the branch each zone starts at
    ids: tuple[str, ...]
    index: Mapping[str, int]
    zone_of_detector: Int64Array  # per detector of the network: its zone, -1 if not on this tree
    n_devices: int  # detectors on this tree
    child_ptr: Int64Array  # CSR children: the children of z are child_idx[child_ptr[z]:...]
    child_idx: Int64Array
    implicit_root: bool
    source_below: NDArray[np.bool_]  # a source that may feed detectable current lies below
    # per zone: probability that the sources in its subtree feed detectable fault current
    # through its starting device, 1 − Π(1 − p) (docs/faults.md, "Distributed generation")
    source_probability: Float64Array
    log_prior: Float64Array  # normalised: logsumexp = 0
    length_km: Float64Array
    nodes: Ints  # the feeder's nodes in pre-order
    node_zone: Int64Array  # zone of each of `nodes`

    @property
    def n_zones(self) -> int:
        return int(self.parent.shape[0])

    def children(self, zone: int) -> list[int]:
        """The child zones of ``zone``. O(children)."""
        out: list[int] = self.child_idx[self.child_ptr[zone] : self.child_ptr[zone + 1]].tolist()
        return out

    def ancestors(self, zone: int) -> list[int]:
        """``zone`` and the zones above it up to the root. O(depth)."""
        out = []
        while zone >= 0:
            out.append(zone)
            zone = int(self.parent[zone])
        return out

    def is_below(self, zone: int, top: int) -> bool:
        """Whether ``zone`` is ``top`` or in its subtree. O(1)."""
        return top <= zone < top + int(self.size[top])


def _lower_ends(network: Network, topology: Topology) -> Ints:
    """Per detector: the lower node of its branch when the branch is a tree edge, else -1."""
    edges = network.detectors.edge.astype(np.int64)
    parent_edge = topology.parent_edge_of_nodes
    closed = topology.closed
    lower = np.full(edges.shape[0], -1, dtype=np.int32)
    if not edges.size:
        return lower
    to_node, from_node = network.edge_to[edges], network.edge_from[edges]
    is_to = (parent_edge[to_node] == edges) & closed[edges]
    is_from = (parent_edge[from_node] == edges) & closed[edges]
    lower[is_to] = to_node[is_to]
    lower[is_from & ~is_to] = from_node[is_from & ~is_to]
    return lower


def _prior_weights(
    network: Network,
    nodes: Ints,
    *,
    node_zone: Int64Array,
    n_zones: int,
    parent_edge: Ints,
    section_rate: Float64Array,
) -> tuple[Float64Array, Float64Array]:
    """(length_km, failure weight) per zone from the sections on the zone's tree edges."""
    n_sections = len(network.sections.id)
    edges = parent_edge[nodes].astype(np.int64)
    is_section = edges < n_sections
    section = edges[is_section]
    lengths = np.nan_to_num(network.sections.length_km[section], nan=0.0)
    zone = node_zone[is_section]
    length_km = np.bincount(zone, weights=lengths, minlength=n_zones).astype(np.float64)
    weight = np.bincount(zone, weights=lengths * section_rate[section], minlength=n_zones)
    return length_km, weight.astype(np.float64)


def build_zone_tree(
    network: Network,
    topology: Topology,
    feeder: int,
    *,
    lower_ends: Ints,
    sources: Int64Array,
    prior: str,
    section_rate: Float64Array,
    source_probability: Float64Array | None = None,
) -> ZoneTree:
    """The zone tree of ``feeder`` in ``topology``'s current state. O(nodes of the feeder).

    ``lower_ends``: from :func:`_lower_ends`; ``sources``: detectable source nodes (DG nodes of
    the whole network; the feeder's closed ties to live feeders are added here, always
    detectable); ``source_probability``: per source, the probability that it feeds current
    above the devices' pickup (default 1);
    ``section_rate``: failure rate per km of every section (for the "length" prior).
    """
    nodes = topology.feeder_nodes(feeder)
    feeder_of = topology.feeder_of_nodes
    parent_edge = topology.parent_edge_of_nodes
    det = np.flatnonzero((lower_ends >= 0) & (feeder_of[np.maximum(lower_ends, 0)] == feeder))
    # one zone per branch, named after its first detector: a relay first, then table order
    det_edge = network.detectors.edge[det].astype(np.int64)
    not_relay = np.asarray(network.detectors.kind, dtype=object)[det] != "relay"
    det = det[np.lexsort((det, not_relay, det_edge))]
    det_edge = network.detectors.edge[det].astype(np.int64)
    first_of_edge = np.full(network.n_edges, -1, dtype=np.int64)
    edges_with, first_position = np.unique(det_edge, return_index=True)
    first_of_edge[edges_with] = det[first_position]
    starts_zone = first_of_edge >= 0
    head = int(network.feeders.head_edge[feeder])

    n = int(nodes.shape[0])
    scratch = np.full(len(network.nodes.id), -1, dtype=np.int64)
    zone_parent = np.empty(n, dtype=np.int64)
    zone_start = np.empty(n, dtype=np.int64)
    n_zones = int(
        _assign_zones(
            nodes,
            topology.parent_of_nodes,
            parent_edge,
            starts_zone,
            scratch,
            zone_parent,
            zone_start,
        )
    )
    zone_parent = zone_parent[:n_zones].copy()
    start_edge = parent_edge[zone_start[:n_zones]].astype(np.int64)
    node_zone = scratch[nodes]
    order = np.arange(n_zones, dtype=np.int64)
    size = subtree_sums(zone_parent, order, np.ones(n_zones, dtype=np.float64)).astype(np.int64)

    first = first_of_edge[start_edge]
    det_ids = network.detectors.id
    ids = [det_ids[d] if d >= 0 else network.edge_id(head) for d in first.tolist()]
    zone_of_edge = np.full(network.n_edges, -1, dtype=np.int64)
    zone_of_edge[start_edge] = order
    zone_of_detector = np.full(len(det_ids), -1, dtype=np.int64)
    zone_of_detector[det] = zone_of_edge[det_edge]
    child_idx = np.argsort(zone_parent[1:], kind="stable").astype(np.int64) + 1
    child_ptr = np.zeros(n_zones + 1, dtype=np.int64)
    np.cumsum(np.bincount(zone_parent[1:], minlength=n_zones), out=child_ptr[1:])

    # detectable sources: DG nodes on this feeder and the feeder ends of closed parallels
    loop = topology.loop_edges(feeder=feeder).astype(np.int64)
    ends = np.concatenate([network.edge_from[loop], network.edge_to[loop]])
    other = np.concatenate([network.edge_to[loop], network.edge_from[loop]])
    tie_ends = ends[(feeder_of[ends] == feeder) & (feeder_of[other] == STATION)]
    given = np.ones(sources.shape[0]) if source_probability is None else source_probability
    src = np.concatenate([sources, tie_ends]).astype(np.int64)
    p_src = np.concatenate([given, np.ones(tie_ends.shape[0])]).astype(np.float64)
    on_feeder = feeder_of[src] == feeder
    src, p_src = src[on_feeder], p_src[on_feeder]
    # ln Π(1 − p) over each zone's subtree (−inf once a certain source is below)
    with np.errstate(divide="ignore"):
        log_none = np.bincount(scratch[src], weights=np.log1p(-p_src), minlength=n_zones)
    source_probability = -np.expm1(subtree_sums(zone_parent, order, log_none.astype(np.float64)))
    source_below = source_probability > 0

    length_km, weight = _prior_weights(
        network,
        nodes,
        node_zone=node_zone,
        n_zones=n_zones,
        parent_edge=parent_edge,
        section_rate=section_rate,
    )
    if prior == "uniform":
        log_prior = np.full(n_zones, -np.log(n_zones), dtype=np.float64)
    else:
        positive = section_rate[section_rate > 0]
        floor = ZONE_FLOOR_KM * (float(positive.max()) if positive.size else 1.0)
        weight = np.maximum(weight, floor)
        log_prior = np.log(weight / weight.sum())
    return ZoneTree(
        feeder=feeder,
        feeder_id=network.feeders.id[feeder],
        parent=zone_parent,
        order=order,
        size=size,
        start_edge=start_edge,
        ids=tuple(ids),
        index=dict(zip(ids, range(len(ids)), strict=True)),
        zone_of_detector=zone_of_detector,
        n_devices=int(det.size),
        child_ptr=child_ptr,
        child_idx=child_idx,
        implicit_root=bool(first[0] < 0),
        source_below=source_below,
        source_probability=source_probability,
        log_prior=log_prior,
        length_km=length_km,
        nodes=nodes,
        node_zone=node_zone,
    )


def zone_objects(network: Network, topology: Topology, tree: ZoneTree) -> tuple[Zone, ...]:
    """The :class:`Zone` values of ``tree`` (ids, edges): O(nodes of the feeder)."""
    edges_by_zone: list[list[str]] = [[] for _ in range(tree.n_zones)]
    parent_edge = topology.parent_edge_of_nodes[tree.nodes].tolist()
    for zone, edge in zip(tree.node_zone.tolist(), parent_edge, strict=True):
        edges_by_zone[zone].append(network.edge_id(edge))
    children: list[list[str]] = [[] for _ in range(tree.n_zones)]
    for z in range(1, tree.n_zones):
        children[int(tree.parent[z])].append(network.edge_id(int(tree.start_edge[z])))
    members: dict[int, list[str]] = {}
    for d in np.flatnonzero(tree.zone_of_detector >= 0).tolist():
        members.setdefault(int(tree.zone_of_detector[d]), []).append(network.detectors.id[d])
    out = []
    for z, zone_id in enumerate(tree.ids):
        parent = int(tree.parent[z])
        implicit = z == 0 and tree.implicit_root
        out.append(
            Zone(
                id=zone_id,
                detector=zone_id,
                parent=tree.ids[parent] if parent >= 0 else None,
                edges=tuple(edges_by_zone[z]),
                upstream_device=network.edge_id(int(tree.start_edge[z])),
                downstream_devices=tuple(children[z]),
                length_km=float(tree.length_km[z]),
                detectors=tuple(sorted(members.get(z, []), key=_first_is(zone_id))),
                implicit=implicit,
            )
        )
    return tuple(out)


def _first_is(zone_id: str) -> Any:
    return lambda d: (d != zone_id, d)
