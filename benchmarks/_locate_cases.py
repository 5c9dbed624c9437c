"""Networks with detectors for the fault-location benchmark, and their detector trees.

The detector tree is built here from the topology index on its own (not from the locator),
so that the baselines do not share code with what they check: each detector starts a zone
(everything below it down to the next detectors); zones are numbered in preorder, parents
first, so zone ``d`` is an ancestor of (or is) zone ``z`` exactly when
``d <= z < d + size[d]``.

Detector placement: on IEEE 33 an FTU on every branch; on the synthetic networks a relay at
each feeder breaker, an FTU at every other closed switch and a fault indicator on ~1 section
in 10; the sample county has its own 442 detectors.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numba import njit
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
from topology import synthetic_network  # the topology benchmark's builder

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]

SECTION_INDICATOR_SHARE: Final = 0.10  # synthetic: a fault indicator on ~1 section in 10

__all__ = [
    "ZoneTree",
    "ieee33_network",
    "sample_network",
    "synthetic_every_branch",
    "synthetic_with_detectors",
    "zone_trees",
]


@dataclass(frozen=True, slots=True, eq=False)
class ZoneTree:
    """The detectors of one feeder as a tree of zones, in preorder (parents first)."""

    feeder: str
    ids: tuple[str, ...]  # zone id = the id of the detector starting it
    kind: tuple[str, ...]  # detector kind
    parent: Int64s  # parent zone, -1 for the root (the feeder head's detector)
    size: Int64s  # zones in the subtree, itself included
    depth: Int64s  # root 0
    length_km: Floats  # section length inside the zone

    @property
    def n(self) -> int:
        return len(self.ids)

    def ancestors(self, zone: int) -> Int64s:
        """The zones on the path root → ``zone`` (both included)."""
        path = [zone]
        while self.parent[path[-1]] >= 0:
            path.append(int(self.parent[path[-1]]))
        return np.array(path[::-1], dtype=np.int64)

    def expected_alarms(self, faults: Int64s) -> NDArray[np.bool_]:
        """Expected alarm of every zone's detector for faults in ``faults`` (any number)."""
        zones = np.arange(self.n)
        alarm = np.zeros(self.n, dtype=np.bool_)
        for f in np.asarray(faults).tolist():
            alarm |= (zones <= f) & (f < zones + self.size)
        return alarm


@njit(cache=True)
def _zone_of_nodes(order: Any, parent: Any, parent_edge: Any, det_of_edge: Any, zone: Any) -> None:
    """Propagate down the preorder: a node's zone is the detector on its parent edge, or else
    its parent's zone (``-1`` above the first detector)."""
    for v in order:
        d = det_of_edge[parent_edge[v]]
        zone[v] = d if d >= 0 else zone[parent[v]]


def zone_trees(network: Any, topology: Any) -> list[ZoneTree]:
    """One zone tree per energised feeder, from the operated state of ``topology``."""
    n_nodes = len(network.nodes.id)
    detectors = network.detectors
    det_of_edge = np.full(network.n_edges + 1, -1, dtype=np.int64)  # last slot: no edge
    det_of_edge[detectors.edge] = np.arange(len(detectors.id))
    parent = topology.parent_of_nodes.astype(np.int64)
    parent_edge = np.where(
        topology.parent_edge_of_nodes < 0, network.n_edges, topology.parent_edge_of_nodes
    ).astype(np.int64)
    zone = np.full(n_nodes, -1, dtype=np.int64)
    lengths = np.zeros(network.n_edges, dtype=np.float64)
    lengths[: len(network.sections.id)] = network.sections.length_km
    trees = []
    for f, feeder_id in enumerate(network.feeders.id):
        order = topology.feeder_nodes(f).astype(np.int64)
        if order.size == 0:
            continue
        _zone_of_nodes(order, parent, parent_edge, det_of_edge, zone)
        starts = order[det_of_edge[parent_edge[order]] >= 0]  # zone-starting nodes, preorder
        if starts.size == 0 or starts[0] != order[0]:
            raise ValueError(
                f"{network.name}: feeder {feeder_id} has no detector on its head branch "
                f"{network.edge_id(int(network.feeders.head_edge[f]))}"
            )
        det = det_of_edge[parent_edge[starts]]
        local = np.full(len(detectors.id), -1, dtype=np.int64)
        local[det] = np.arange(det.size)
        up = zone[parent[starts[1:]]]
        zone_parent = np.concatenate([[-1], local[up]])
        size = np.ones(det.size, dtype=np.int64)
        depth = np.zeros(det.size, dtype=np.int64)
        for z in range(1, det.size):  # parents first
            depth[z] = depth[zone_parent[z]] + 1
        for z in range(det.size - 1, 0, -1):  # children first
            size[zone_parent[z]] += size[z]
        edges = parent_edge[order]
        length = np.bincount(local[zone[order]], weights=lengths[edges], minlength=det.size)
        trees.append(
            ZoneTree(
                feeder=feeder_id,
                ids=tuple(detectors.id[d] for d in det.tolist()),
                kind=tuple(detectors.kind[d] for d in det.tolist()),
                parent=zone_parent,
                size=size,
                depth=depth,
                length_km=length,
            )
        )
    return trees


def sample_network(name: str) -> Any:
    """A bundled network (``sample:county``, ``sample:ieee33``) as shipped."""
    from openoms.grid import load_network
    from openoms.samples import network_path

    return load_network(network_path(name))


def ieee33_network() -> Any:
    """IEEE 33 with an FTU on every closed branch (the bundled network has no detectors): the
    detectors table is added to the raw records in memory and the network checked as usual."""
    from openoms.grid import Location, network_from_raw
    from openoms.grid.load import read_network_records
    from openoms.samples import network_path

    raw = read_network_records(network_path("sample:ieee33"))
    for row in list(raw.table("sections").rows):
        raw.add(
            "detectors",
            {
                "id": f"FTU-{row['id']}",
                "name": f"FTU on {row['id']}",
                "kind": "ftu",
                "branch": row["id"],
                "directional": "false",
            },
            Location("benchmarks/_locate_cases.py", element=f"FTU on {row['id']}"),
        )
    return network_from_raw(raw)


def synthetic_with_detectors(n_nodes: int, *, seed: int, one_feeder: bool = False) -> Any:
    """``benchmarks/topology.py``'s synthetic network (feeders of ~2,000 nodes, or a single
    feeder) with a relay on each feeder breaker, an FTU on every other closed switch and a
    fault indicator on ~1 section in 10."""
    network = (
        synthetic_network(n_nodes, seed=seed, feeder_nodes=n_nodes)
        if one_feeder
        else synthetic_network(n_nodes, seed=seed)
    )
    rng = np.random.default_rng(seed + 1)
    indicated = rng.random(len(network.sections.id)) < SECTION_INDICATOR_SHARE
    return _with_detectors(network, indicated)


def synthetic_every_branch(n_nodes: int, *, seed: int) -> Any:
    """One synthetic feeder of ``n_nodes`` nodes with a detector on every branch (a relay at
    the breaker, FTUs at the switches, fault indicators on the sections): a zone per branch."""
    network = synthetic_network(n_nodes, seed=seed, feeder_nodes=n_nodes)
    return _with_detectors(network, np.ones(len(network.sections.id), dtype=np.bool_))


def _with_detectors(network: Any, indicated: NDArray[np.bool_]) -> Any:
    """``network`` with detectors on its closed switches and on the ``indicated`` sections."""
    from openoms.grid.model import Detectors, ElementKind

    n_sections = len(network.sections.id)
    closed = np.flatnonzero(network.switches.normal_closed)
    sw_kind = np.asarray(network.switches.kind, dtype=object)[closed]
    sections = np.flatnonzero(indicated)
    kinds = [
        *np.where(sw_kind == "breaker", "relay", "ftu").tolist(),
        *(["fault_indicator"] * sections.size),
    ]
    edge = np.concatenate([n_sections + closed, sections]).astype(np.int32)
    ids = tuple(f"d{i}" for i in range(edge.size))
    detectors = Detectors(
        id=ids,
        name=(None,) * edge.size,
        kind=tuple(kinds),
        edge=edge,
        directional=np.zeros(edge.size, dtype=np.bool_),
    )
    all_ids = dict(network._ids)
    all_ids.update({d: (ElementKind.DETECTOR, i) for i, d in enumerate(ids)})
    return dataclasses.replace(network, detectors=detectors, _ids=all_ids)
