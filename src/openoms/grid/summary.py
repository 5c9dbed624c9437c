"""The counts a planner or engineer checks first about a network (``openoms grid show``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from openoms.grid.model import Network
from openoms.grid.topology import Topology

__all__ = ["network_summary"]


def network_summary(network: Network) -> dict[str, Any]:
    """Counts a planner or engineer checks first."""
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    sw, sec = network.switches, network.sections
    ta, hv = network.transformer_areas, network.hv_customers
    ties = [i for i in range(len(sw.id)) if not sw.normal_closed[i]]
    length = Counter[str]()
    for kind, km in zip(sec.kind, sec.length_km.tolist(), strict=True):
        length[kind] += km
    return {
        "name": network.name,
        "substations": len(network.substations.id),
        "feeders": len(network.feeders.id),
        "nodes": len(network.nodes.id),
        "sections": len(sec.id),
        "length_km": {k: round(v, 1) for k, v in sorted(length.items())},
        "switches": dict(sorted(Counter(sw.kind).items())),
        "normally_open_switches": len(ties),
        "remote_switches": int(sw.remote.sum()),
        "detectors": dict(sorted(Counter(network.detectors.kind).items())),
        "transformer_areas": len(ta.id),
        "rated_mva": round(float(ta.rated_kva.sum()) / 1000, 1),
        "lv_customers": int(ta.lv_customers.sum()),
        "hv_customers": len(hv.id),
        "sensitive_customers": len(network.sensitive_customers.id),
        "villages": len({v for v in (*ta.village, *hv.village) if v}),
        "grid_cells": len(network.grid_cells.id),
        "energised_nodes": int((topology.feeder_of_nodes != -1).sum()),
        "loops": len(topology.loop_edges()),
    }
