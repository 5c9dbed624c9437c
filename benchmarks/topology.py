"""Topology engine benchmark: the figures behind the README's performance claims.

    python benchmarks/topology.py [--sizes 10000,100000,1000000] [--quick]
                                  [--pandapower-sizes 10000,100000] [--seed 1]

Networks: synthetic radial networks of the given sizes (substations of 10 feeders of ~2,000
nodes, a trunk with branches, normally-open ties between neighbouring feeders, switches on
~10 % of branches, a transformer area per ~3 nodes), built as a ``Network`` straight from
numpy arrays; and SimBench ``1-MVLV-urban-all-0-sw`` through the pandapower importer.

Per network: index build time and memory, "what is below this switch" against networkx
descendants on the oriented tree, the full outage impact summary, incremental updates
(operate, preview), and "open the switch and rerun ``pandapower.topology.unsupplied_buses``",
with correctness cross-checks against networkx and pandapower. Prints a table with the
ratios and which targets are met, writes ``benchmarks/results/topology.json`` and reports
progress on stderr. ``--quick`` runs 10k and SimBench only (under a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any, Final

import numpy as np
from _results import machine, versions
from numpy.typing import NDArray

Ints = NDArray[np.int32]
Bools = NDArray[np.bool_]

RESULTS: Final = Path(__file__).resolve().parent / "results" / "topology.json"
SIMBENCH_CODE: Final = "1-MVLV-urban-all-0-sw"

# -- synthetic network shape
FEEDER_NODES: Final = 2_000
FEEDERS_PER_SUBSTATION: Final = 10
TRUNK_SHARE: Final = 0.15  # trunk nodes per feeder node: depth ~300 at 2,000 nodes
BRANCH_NODES: Final = 30  # mean nodes per branch (a new branch starts with p = 1/30)
SWITCH_SHARE: Final = 0.10  # branches that are switches (besides heads and ties)
NODES_PER_AREA: Final = 3  # one transformer area per ~3 feeder nodes
NODES_PER_HV: Final = 250
NODES_PER_SENSITIVE: Final = 600
NODES_PER_VILLAGE: Final = 20  # ~7 transformer areas a village
NODES_PER_TOWNSHIP: Final = 20_000

# -- measurement sizes
BELOW_QUERIES: Final = 2_000
BELOW_REPEATS: Final = 15  # passes over the query switches
NETWORKX_REPEATS: Final = 5
IMPACT_QUERIES: Final = 300
USER_REPEATS: Final = 5  # passes over the queries for the user-facing calls
OPERATE_QUERIES: Final = 200
PANDAPOWER_QUERIES: Final = 5
PANDAPOWER_BUDGET_S: Final = 45.0  # per network, besides the baseline call

# -- targets (README)
BUILD_1M_S: Final = 1.0
BYTES_PER_NODE: Final = 300
BELOW_VS_NETWORKX: Final = 10.0
USER_VS_NETWORKX: Final = 10.0  # of_opening / switching_effect, at 100k and 1M nodes
OPERATE_1M_MS: Final = 5.0
PANDAPOWER_100K: Final = 10_000.0

_START: Final = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- networks ---------------------------------------------------------------------------------


@dataclass
class Case:
    """One network to measure, and the maps to its pandapower twin."""

    name: str
    graph: Any  # GraphArrays
    closed: Bools
    network: Any | None  # Network; None when the importer failed (no impact summary)
    node_bus: Ints  # pandapower bus of each node, -1 for nodes pandapower does not have
    edge_switch: Ints  # pandapower switch of each edge, -1 for sections
    pandapower: Callable[[], Any] | str  # makes the pandapower net, or why it is skipped
    how: str
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def synthetic_case(n_nodes: int, *, seed: int, with_pandapower: bool) -> Case:
    t0 = time.perf_counter()
    network = synthetic_network(n_nodes, seed=seed)
    made_s = time.perf_counter() - t0
    n_sections, n_switches = len(network.sections.id), len(network.switches.id)
    edge_switch = np.concatenate([np.full(n_sections, -1), np.arange(n_switches)])
    name = f"synthetic {n_nodes / 1e6:g}M" if n_nodes >= 1e6 else f"synthetic {n_nodes // 1000}k"
    return Case(
        name=name,
        graph=network.graph_arrays(),
        closed=network.closed_edges(),
        network=network,
        node_bus=np.arange(n_nodes, dtype=np.int32),
        edge_switch=edge_switch.astype(np.int32),
        pandapower=partial(synthetic_pandapower, network)
        if with_pandapower
        else "skipped: too slow",
        how=f"Network built from numpy arrays in {made_s:.1f} s",
        info={"id_bytes_per_node": id_bytes(network) / n_nodes},
    )


def synthetic_network(n_nodes: int, *, seed: int, feeder_nodes: int = FEEDER_NODES) -> Any:
    """A radial network of ``n_nodes`` nodes as a ``Network`` (ids ``n0``, ``s0``, ``k0``,
    ...), vectorised and seeded. Numbered feeder by feeder, as a utility's export would be:
    a substation's busbar, then its feeders, each trunk first and then its branches.
    ``feeder_nodes``: the size of a feeder (one feeder of ``n_nodes`` when larger)."""
    from openoms.grid.model import (
        Detectors,
        ElementKind,
        Feeders,
        GridCells,
        HVCustomers,
        Network,
        Nodes,
        Sections,
        SensitiveCustomers,
        Substations,
        Switches,
        TransformerAreas,
    )

    rng = np.random.default_rng(seed)
    n_feeders = max(1, round(n_nodes / feeder_nodes))
    n_subs = -(-n_feeders // FEEDERS_PER_SUBSTATION)
    n_line = n_nodes - n_subs  # nodes on feeders
    sizes = np.full(n_feeders, n_line // n_feeders, dtype=np.int64)
    sizes[: n_line % n_feeders] += 1
    sub_of_feeder = np.arange(n_feeders) // FEEDERS_PER_SUBSTATION
    starts = np.cumsum(sizes) - sizes
    first = starts + sub_of_feeder + 1  # node index of each feeder's first node
    busbar = first[::FEEDERS_PER_SUBSTATION] - 1
    trunk = (sizes * TRUNK_SHARE).astype(np.int64)

    feeder = np.repeat(np.arange(n_feeders), sizes)
    local = np.arange(n_line) - np.repeat(starts, sizes)
    node = first[feeder] + local
    branch_start = (local == trunk[feeder]) | (
        (local > trunk[feeder]) & (rng.random(n_line) < 1 / BRANCH_NODES)
    )
    # a branch hangs from any earlier node of its feeder, so branches carry sub-branches
    parent_local = np.where(branch_start, (rng.random(n_line) * local).astype(np.int64), local - 1)
    parent = np.where(local == 0, busbar[sub_of_feeder[feeder]], first[feeder] + parent_local)

    # a branch per feeder node (to its parent); the heads and ~10 % of the others are switches;
    # two normally-open ties per pair of neighbouring feeders: trunk end to trunk end, and
    # between two random nodes
    is_switch = (local == 0) | (rng.random(n_line) < SWITCH_SHARE)
    f = np.arange(n_feeders - 1)
    tie_a = np.concatenate([first[f] + trunk[f] - 1, first[f] + _random_local(rng, sizes[f])])
    g = f + 1
    tie_b = np.concatenate([first[g] + trunk[g] - 1, first[g] + _random_local(rng, sizes[g])])
    n_ties = tie_a.size
    sw_from = np.concatenate([parent[is_switch], tie_a]).astype(np.int32)
    sw_to = np.concatenate([node[is_switch], tie_b]).astype(np.int32)
    sw_head = np.concatenate([local[is_switch] == 0, np.zeros(n_ties, dtype=bool)])
    n_switches = sw_from.size
    sec_from = parent[~is_switch].astype(np.int32)
    sec_to = node[~is_switch].astype(np.int32)
    n_sections = sec_from.size
    kinds = np.array(["load_break_switch", "disconnector", "fuse", "sectionaliser"], dtype=object)
    sw_kind = kinds[rng.integers(0, kinds.size, n_switches)]
    sw_kind[sw_head] = "breaker"
    sw_kind[n_switches - n_ties :] = "load_break_switch"
    sw_closed = np.ones(n_switches, dtype=bool)
    sw_closed[n_switches - n_ties :] = False

    # transformer areas (a quarter in urban streets rather than villages), HV customers and
    # sensitive customers
    ta_node = node[rng.random(n_line) < 1 / NODES_PER_AREA].astype(np.int32)
    n_ta = ta_node.size
    rated_kva = np.array([100.0, 200.0, 315.0, 400.0, 630.0])[rng.integers(0, 5, n_ta)]
    places = [f"V{p}" for p in range(n_nodes // NODES_PER_VILLAGE + 1)]
    townships = [f"T{t}" for t in range(n_nodes // NODES_PER_TOWNSHIP + 1)]
    place = (ta_node // NODES_PER_VILLAGE).tolist()
    village = tuple(None if p % 4 == 0 else places[p] for p in place)
    street = tuple(places[p] if p % 4 == 0 else None for p in place)
    hv_node = np.sort(rng.choice(node, size=max(1, n_nodes // NODES_PER_HV), replace=False))
    n_hv = hv_node.size
    n_sc = max(1, n_nodes // NODES_PER_SENSITIVE)
    sc_on_hv = rng.random(n_sc) < 0.2
    categories = np.array(["hospital", "nursing_home", "school", "water_works", "government"])

    ids = {
        ElementKind.NODE: tuple(f"n{i}" for i in range(n_nodes)),
        ElementKind.SECTION: tuple(f"s{i}" for i in range(n_sections)),
        ElementKind.SWITCH: tuple(f"k{i}" for i in range(n_switches)),
        ElementKind.TRANSFORMER_AREA: tuple(f"t{i}" for i in range(n_ta)),
        ElementKind.HV_CUSTOMER: tuple(f"h{i}" for i in range(n_hv)),
        ElementKind.SENSITIVE_CUSTOMER: tuple(f"c{i}" for i in range(n_sc)),
        ElementKind.FEEDER: tuple(f"F{i}" for i in range(n_feeders)),
        ElementKind.SUBSTATION: tuple(f"S{i}" for i in range(n_subs)),
    }
    node_kind = ["pole"] * n_nodes
    for b in busbar.tolist():
        node_kind[b] = "busbar"
    no_coordinates = np.full(n_nodes, np.nan)
    return Network(
        name=f"synthetic {n_nodes:,}",
        substations=Substations(
            id=ids[ElementKind.SUBSTATION],
            name=(None,) * n_subs,
            busbar_node=busbar.astype(np.int32),
            voltage_kv=np.full(n_subs, 10.0),
        ),
        feeders=Feeders(
            id=ids[ElementKind.FEEDER],
            name=(None,) * n_feeders,
            substation=sub_of_feeder.astype(np.int32),
            head_edge=(n_sections + np.flatnonzero(sw_head)).astype(np.int32),
        ),
        nodes=Nodes(
            id=ids[ElementKind.NODE],
            name=(None,) * n_nodes,
            kind=tuple(node_kind),
            lon_deg=no_coordinates,
            lat_deg=no_coordinates,
            grid_cell=np.full(n_nodes, -1, dtype=np.int32),
        ),
        sections=Sections(
            id=ids[ElementKind.SECTION],
            name=(None,) * n_sections,
            from_node=sec_from,
            to_node=sec_to,
            kind=("overhead",) * n_sections,
            length_km=rng.uniform(0.03, 0.3, n_sections),
            r_ohm_per_km=np.full(n_sections, 0.27),
            x_ohm_per_km=np.full(n_sections, 0.35),
            ampacity_a=np.full(n_sections, 400.0),
            conductor=("JKLYJ-185",) * n_sections,
        ),
        switches=Switches(
            id=ids[ElementKind.SWITCH],
            name=(None,) * n_switches,
            from_node=sw_from,
            to_node=sw_to,
            kind=tuple(sw_kind.tolist()),
            normal_closed=sw_closed,
            present_closed=sw_closed.copy(),
            remote=sw_head | (rng.random(n_switches) < 0.2),
            rated_a=np.full(n_switches, 630.0),
        ),
        detectors=Detectors(
            id=(),
            name=(),
            kind=(),
            edge=np.empty(0, dtype=np.int32),
            directional=np.empty(0, dtype=bool),
        ),
        transformer_areas=TransformerAreas(
            id=ids[ElementKind.TRANSFORMER_AREA],
            name=(None,) * n_ta,
            node=ta_node,
            rated_kva=rated_kva,
            lv_customers=rng.integers(20, 300, n_ta).astype(np.int64),
            load_kw=rated_kva * rng.uniform(0.2, 0.5, n_ta),
            village=village,
            street=street,
            township=tuple(townships[t] for t in (ta_node // NODES_PER_TOWNSHIP).tolist()),
        ),
        hv_customers=HVCustomers(
            id=ids[ElementKind.HV_CUSTOMER],
            name=(None,) * n_hv,
            node=hv_node.astype(np.int32),
            contracted_kva=np.full(n_hv, 800.0),
            importance=("normal",) * n_hv,
            load_kw=np.full(n_hv, 400.0),
            village=(None,) * n_hv,
            street=(None,) * n_hv,
            township=tuple(townships[t] for t in (hv_node // NODES_PER_TOWNSHIP).tolist()),
        ),
        sensitive_customers=SensitiveCustomers(
            id=ids[ElementKind.SENSITIVE_CUSTOMER],
            name=tuple(f"sensitive customer {i}" for i in range(n_sc)),
            category=tuple(categories[rng.integers(0, categories.size, n_sc)].tolist()),
            transformer_area=np.where(sc_on_hv, -1, rng.integers(0, n_ta, n_sc)).astype(np.int32),
            hv_customer=np.where(sc_on_hv, rng.integers(0, n_hv, n_sc), -1).astype(np.int32),
            people=rng.integers(-1, 200, n_sc).astype(np.int64),
            note=(None,) * n_sc,
        ),
        grid_cells=GridCells(id=(), name=(), crew=()),
        _ids={k: (kind, i) for kind, names in ids.items() for i, k in enumerate(names)},
    )


def _random_local(rng: np.random.Generator, sizes: NDArray[np.int64]) -> NDArray[np.int64]:
    """A random node index 1..size-1 inside each feeder (not its first node)."""
    return 1 + (rng.random(sizes.size) * (sizes - 1)).astype(np.int64)


def id_bytes(network: Any) -> int:
    """Bytes held by the network's id strings, id tuples and id → index dict."""
    tables = (
        network.nodes,
        network.sections,
        network.switches,
        network.transformer_areas,
        network.hv_customers,
        network.sensitive_customers,
        network.feeders,
        network.substations,
    )
    total = sys.getsizeof(network._ids)  # the private id → index dict
    for table in tables:
        total += sys.getsizeof(table.id) + sum(map(sys.getsizeof, table.id))
    return total


def synthetic_pandapower(network: Any) -> Any:
    """The same network as a pandapower net: a bus per node, a line per section, a bus-bus
    switch per switch (index = switch index), an ext_grid at each substation busbar."""
    import pandapower as pp

    net = pp.create_empty_network(name=network.name)
    pp.create_buses(net, len(network.nodes.id), vn_kv=10.0)
    sections, switches = network.sections, network.switches
    pp.create_lines_from_parameters(
        net,
        from_buses=sections.from_node,
        to_buses=sections.to_node,
        length_km=sections.length_km,
        r_ohm_per_km=0.27,
        x_ohm_per_km=0.35,
        c_nf_per_km=10.0,
        max_i_ka=0.4,
    )
    pp.create_switches(
        net,
        buses=switches.from_node,
        elements=switches.to_node,
        et="b",
        closed=switches.present_closed,
    )
    for bus in network.substations.busbar_node.tolist():
        pp.create_ext_grid(net, bus)
    return net


def simbench_case() -> Case:
    """SimBench through ``raw_from_pandapower`` + ``network_from_raw``; if that fails, a
    graph built directly from the pandapower tables (and the output says so)."""
    import simbench

    t0 = time.perf_counter()
    net = simbench.get_simbench_net(SIMBENCH_CODE)
    loaded = f"get_simbench_net {time.perf_counter() - t0:.1f} s"
    name = f"SimBench {SIMBENCH_CODE}"
    try:
        from openoms.grid.load import network_from_raw
        from openoms.grid.pandapower_import import raw_from_pandapower

        t0 = time.perf_counter()
        network = network_from_raw(raw_from_pandapower(net))
        imported_s = time.perf_counter() - t0
    except Exception as exc:  # any failure: fall back, and say so
        failure = f"importer FAILED ({type(exc).__name__}: {exc})"
        say(f"SimBench: {failure}; building the graph directly from the pandapower tables")
        case = _simbench_direct(net, name=f"{name} (direct)")
        case.how = f"{failure}; graph built directly from the pandapower tables; {loaded}"
        case.notes.append(f"{failure}: GraphArrays built directly, no impact summary")
        return case
    node_bus = np.array([_number(r"bus:(\d+)", i) for i in network.nodes.id], dtype=np.int32)
    switch = [_number(r"switch:(\d+)", i) for i in network.switches.id]
    edge_switch = np.concatenate([np.full(len(network.sections.id), -1), switch])
    return Case(
        name=name,
        graph=network.graph_arrays(),
        closed=network.closed_edges(),
        network=network,
        node_bus=node_bus,
        edge_switch=edge_switch.astype(np.int32),
        pandapower=lambda: net,
        how=f"raw_from_pandapower + network_from_raw {imported_s:.1f} s; {loaded}",
    )


def _number(pattern: str, element_id: str) -> int:
    match = re.fullmatch(pattern, element_id)
    return int(match.group(1)) if match else -1


def _simbench_direct(net: Any, *, name: str) -> Case:
    """GraphArrays straight from the pandapower tables, for when the importer is broken: a
    node per bus, an auxiliary node per line/trafo switch (between the bus and the branch
    end), an edge per in-service line and trafo and per switch. Station zone: what the
    ext_grid buses reach through closed bus-bus switches and trafos whose LV side is 1 kV or
    more (with their switches); the edges leaving it are the feeder heads, and their ends in
    it the sources."""
    from openoms.grid.topology import GraphArrays

    bus_index = net.bus.index.to_numpy()
    node_of_bus = {int(b): i for i, b in enumerate(bus_index.tolist())}
    vn_kv = net.bus.vn_kv
    trafo = net.trafo[net.trafo.in_service]
    station_trafo = {
        int(i) for i, lv in zip(trafo.index, trafo.lv_bus, strict=True) if vn_kv[lv] >= 1
    }
    aux: dict[tuple[str, int, int], int] = {}  # (et, element, bus) -> auxiliary node
    edges: list[tuple[int, int, bool, int, bool]] = []  # from, to, closed, switch, station
    sw = net.switch
    for i, bus, element, et, closed in zip(
        sw.index, sw.bus, sw.element, sw.et, sw.closed, strict=True
    ):
        if et == "b":
            far = node_of_bus[int(element)]
        else:
            far = aux.setdefault((et, int(element), int(bus)), len(bus_index) + len(aux))
        station = et == "b" or (et == "t" and int(element) in station_trafo)
        edges.append((node_of_bus[int(bus)], far, bool(closed), int(i), station))
    line = net.line[net.line.in_service]
    for et, frame, ends in (
        ("l", line, ("from_bus", "to_bus")),
        ("t", trafo, ("hv_bus", "lv_bus")),
    ):
        for i, a, b in zip(frame.index, frame[ends[0]], frame[ends[1]], strict=True):
            a_node, b_node = (aux.get((et, int(i), int(x)), node_of_bus[int(x)]) for x in (a, b))
            station = et == "t" and int(i) in station_trafo
            edges.append((a_node, b_node, True, -1, station))
    n = len(bus_index) + len(aux)
    columns = [np.array(c) for c in zip(*edges, strict=True)]
    e_from, e_to, closed_edges, switch = columns[0], columns[1], columns[2], columns[3]
    station_edges = columns[4].astype(bool)
    sources = [node_of_bus[int(b)] for b in net.ext_grid.bus[net.ext_grid.in_service]]
    zone = _reach(
        n, e_from[closed_edges & station_edges], e_to[closed_edges & station_edges], sources
    )
    heads = np.flatnonzero((zone[e_from] != zone[e_to]) & ~station_edges)
    busbars = np.unique(np.where(zone[e_from[heads]], e_from[heads], e_to[heads]))
    node_bus = np.full(n, -1, dtype=np.int32)
    node_bus[: len(bus_index)] = bus_index
    return Case(
        name=name,
        graph=GraphArrays(
            n_nodes=n, edge_from=e_from, edge_to=e_to, source_nodes=busbars, feeder_head=heads
        ),
        closed=closed_edges.astype(bool),
        network=None,
        node_bus=node_bus,
        edge_switch=switch.astype(np.int32),
        pandapower=lambda: net,
        how="",
    )


def _bfs(n: int, edge_from: NDArray[Any], edge_to: NDArray[Any], sources: Sequence[int]) -> Ints:
    """Each node's parent in a breadth-first search from ``sources`` over the edges taken as
    undirected (scipy, independent of our engine); -1 for the sources and unreached nodes."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    roots = np.asarray(sources, dtype=np.int64)
    rows = np.concatenate([edge_from, np.full(roots.size, n)])  # n: a virtual root
    cols = np.concatenate([edge_to, roots])
    adjacency = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    _, pred = breadth_first_order(adjacency, n, directed=False, return_predecessors=True)
    parent = pred[:n].astype(np.int32)
    parent[(parent < 0) | (parent == n)] = -1
    return parent


def _reach(n: int, edge_from: NDArray[Any], edge_to: NDArray[Any], sources: Sequence[int]) -> Bools:
    """Whether each node is reached from ``sources`` over the edges."""
    reached = _bfs(n, edge_from, edge_to, sources) >= 0
    reached[list(sources)] = True
    return reached


# -- measurements -----------------------------------------------------------------------------


@dataclass
class Result:
    network: str
    nodes: int
    edges: int
    feeders: int
    how: str
    notes: list[str]
    m: dict[str, Any]  # the measurements


def per_call_us(fn: Callable[[Any], object], args: Sequence[Any], repeats: int) -> float:
    """Mean time per call over ``args``, median over ``repeats`` passes (µs)."""
    means = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for a in args:
            fn(a)
        means.append((time.perf_counter() - t0) / len(args) * 1e6)
    return median(means)


def each_call_ms(fn: Callable[[Any], object], args: Sequence[Any]) -> list[float]:
    """The time of every call (ms)."""
    times = []
    for a in args:
        t0 = time.perf_counter()
        fn(a)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def warm_up() -> None:
    """Load (or compile) every kernel of the engine (numba loaded, so that every later call
    runs compiled, as in the service; a process that never loads numba runs small calls
    interpreted: openoms.grid.jit)."""
    from openoms.grid import _kernels
    from openoms.grid.topology import GraphArrays, Topology

    _kernels.compile_kernels()

    graph = GraphArrays(
        n_nodes=4,
        edge_from=np.array([0, 1, 2]),
        edge_to=np.array([1, 2, 3]),
        source_nodes=np.array([0]),
        feeder_head=np.array([0]),
    )
    topo = Topology.build(graph, np.ones(3, dtype=bool))
    topo.operate([(1, False)])
    topo.path_to_source(1)


def first_call() -> dict[str, float]:
    """Run in a fresh process (``--first-call``): import time and the first calls' time."""
    t0 = time.perf_counter()
    import openoms.grid.topology  # noqa: F401  (the import is what is timed)

    t1 = time.perf_counter()
    warm_up()
    return {"import_s": t1 - t0, "first_calls_s": time.perf_counter() - t1}


def numba_first_calls() -> dict[str, Any]:
    """First-call time in fresh processes: loading the on-disk cache, and compiling from
    scratch (an empty NUMBA_CACHE_DIR). Then warms this process up."""
    from openoms.grid import _kernels

    cache_present = any((Path(_kernels.__file__).parent / "__pycache__").glob("_kernels.*.nbi"))
    command = [sys.executable, __file__, "--first-call"]
    cached = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, "NUMBA_CACHE_DIR": empty}
        cold = json.loads(subprocess.run(command, capture_output=True, check=True, env=env).stdout)
    warm_up()
    return {
        "cache_present": cache_present,
        "import_s": cached["import_s"],
        "first_calls_cached_ms": cached["first_calls_s"] * 1e3,
        "first_calls_compiling_s": cold["first_calls_s"],
    }


def measure(case: Case, *, rng: np.random.Generator) -> Result:
    graph = case.graph
    result = Result(
        case.name, graph.n_nodes, graph.n_edges, graph.n_feeders, case.how, case.notes, {}
    )
    say(f"{case.name}: index build")
    topo = measure_build(case, result.m)
    queries = pick_queries(topo, case, rng, result.m)
    tree = measure_below(topo, case, queries, result)
    if case.network is not None:
        measure_impact(topo, case, queries, result.m)
        measure_user_calls(topo, case, queries, tree, result.m)
    del tree
    measure_operate(topo, case, queries, result.m)
    if isinstance(case.pandapower, str):
        result.m["pandapower"] = case.pandapower
    else:
        measure_pandapower(topo, case, queries, result.m)
    result.m.update(case.info)
    return result


def measure_build(case: Case, m: dict[str, Any]) -> Any:
    """Build time (median), and the peak and held traced memory of one more build."""
    from openoms.grid.topology import Topology

    graph, n = case.graph, case.graph.n_nodes
    builds = []
    for _ in range(3 if n >= 500_000 else 7):
        t0 = time.perf_counter()
        Topology.build(graph, case.closed)
        builds.append((time.perf_counter() - t0) * 1e3)
    m["build_ms"] = median(builds)
    m["build_ms_all"] = [round(b, 2) for b in builds]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    topo = Topology.build(graph, case.closed)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    m["peak_bytes_per_node"] = (peak - base) / n
    m["held_bytes_per_node"] = (held - base) / n
    inputs = (graph.edge_from, graph.edge_to, graph.source_nodes, graph.feeder_head)
    m["graph_bytes_per_node"] = sum(a.nbytes for a in inputs) / n
    depth = topo.depth_of_nodes
    m["max_depth"] = int(depth.max())
    m["mean_depth"] = float(depth[depth > 0].mean())
    m["loop_edges"] = int(topo.loop_edges().size)
    m["dead_nodes"] = int(np.count_nonzero(depth < 0))
    return topo


def pick_queries(topo: Any, case: Case, rng: np.random.Generator, m: dict[str, Any]) -> list[int]:
    """Random closed switches inside feeders (both ends on a feeder, not a head) that are
    tree edges: the pandapower switches among them, in random order."""
    graph = case.graph
    edges = np.flatnonzero(case.edge_switch >= 0)
    a, b = graph.edge_from[edges], graph.edge_to[edges]
    feeder, parent_edge = topo.feeder_of_nodes, topo.parent_edge_of_nodes
    usable = (
        case.closed[edges]
        & ~np.isin(edges, graph.feeder_head)
        & (feeder[a] >= 0)
        & (feeder[b] >= 0)
        & ((parent_edge[a] == edges) | (parent_edge[b] == edges))
    )
    queries: list[int] = rng.permutation(edges[usable])[:BELOW_QUERIES].tolist()
    below = [topo.count_below_edge(e) for e in queries]
    m["candidate_switches"] = int(np.count_nonzero(usable))
    m["query_switches"] = len(queries)
    m["below_mean_nodes"] = float(np.mean(below))
    m["below_max_nodes"] = int(np.max(below))
    return queries


def measure_below(topo: Any, case: Case, queries: list[int], result: Result) -> Any:
    """``nodes_below_edge`` and ``count_below_edge`` against ``nx.descendants`` on the tree
    oriented from the sources (built once, not timed), and whether they give the same nodes.
    Returns the networkx tree."""
    import networkx as nx

    m, graph = result.m, case.graph
    say(f"{case.name}: below this switch, ours ({len(queries)} switches)")
    m["below_us"] = per_call_us(topo.nodes_below_edge, queries, BELOW_REPEATS)
    m["count_below_us"] = per_call_us(topo.count_below_edge, queries, BELOW_REPEATS)
    m["below_as_list_us"] = per_call_us(lambda e: topo.nodes_below_edge(e).tolist(), queries, 3)

    say(f"{case.name}: networkx tree oriented from the sources (not timed)")
    t0 = time.perf_counter()
    closed = case.closed
    parent = _bfs(graph.n_nodes, graph.edge_from[closed], graph.edge_to[closed], graph.source_nodes)
    children = np.flatnonzero(parent >= 0)
    tree = nx.DiGraph()
    tree.add_nodes_from(range(graph.n_nodes))
    tree.add_edges_from(zip(parent[children].tolist(), children.tolist(), strict=True))
    m["networkx_tree_s"] = time.perf_counter() - t0
    lower = [
        int(b) if parent[b] == a else int(a)
        for a, b in zip(graph.edge_from[queries], graph.edge_to[queries], strict=True)
    ]
    say(f"{case.name}: below this switch, networkx descendants")
    m["networkx_us"] = per_call_us(partial(nx.descendants, tree), lower, NETWORKX_REPEATS)
    m["below_ratio"] = m["networkx_us"] / m["below_us"]
    m["below_as_list_ratio"] = m["networkx_us"] / m["below_as_list_us"]
    mismatches = sum(
        set(topo.nodes_below_edge(e).tolist()) != nx.descendants(tree, v) | {v}
        for e, v in zip(queries, lower, strict=True)
    )
    m["networkx_mismatches"] = mismatches
    if mismatches:
        result.notes.append(
            f"networkx descendants differ for {mismatches} of {len(queries)} switches "
            f"({m['loop_edges']} closed loop edges: a BFS tree and the DFS tree can differ)"
        )
    return tree


def measure_impact(topo: Any, case: Case, queries: list[int], m: dict[str, Any]) -> None:
    """``ImpactAnalyser.of_opening([switch]).summary()`` and the counts, per call."""
    from openoms.i18n import Lang
    from openoms.outages.impact import ImpactAnalyser

    say(f"{case.name}: impact summary")
    network = case.network
    t0 = time.perf_counter()
    analyser = ImpactAnalyser(network, topo)
    m["impact_setup_ms"] = (time.perf_counter() - t0) * 1e3
    n_sections = len(network.sections.id)
    switch_ids = [network.switches.id[e - n_sections] for e in queries[:IMPACT_QUERIES]]
    counts: list[tuple[int, int, int]] = []

    def impact(switch_id: str) -> None:
        found = analyser.of_opening([switch_id])
        found.summary()
        counts.append(
            (len(found.node_index), len(found.transformer_area_index), found.lv_customers)
        )

    impact(switch_ids[0])  # warm-up
    times = each_call_ms(impact, switch_ids)
    m["impact_us"] = median(times) * 1e3
    m["impact_p95_us"] = float(np.percentile(times, 95)) * 1e3
    nodes, areas, customers = np.median(np.array(counts[1:]), axis=0).tolist()
    m["impact_median_off"] = {"nodes": nodes, "transformer_areas": areas, "lv_customers": customers}
    largest = max(switch_ids[:50], key=lambda s: analyser.of_opening([s]).lv_customers)
    m["impact_example"] = analyser.of_opening([largest]).summary(Lang.EN)


@dataclass
class Baseline:
    """What a user would write with networkx: ``descendants`` on the oriented tree, then
    plain dicts (built once from the network's tables, not timed) for the same answer as
    ``of_opening``: nodes, sections with both ends off, transformer areas, HV customers,
    sensitive customers, feeders; and the counts (LV customers, load)."""

    tree: Any
    sections_from: dict[int, list[tuple[int, int]]]  # node -> (section, other end)
    areas_at: dict[int, list[int]]
    hv_at: dict[int, list[int]]
    sensitive_of_area: dict[int, list[int]]
    sensitive_of_hv: dict[int, list[int]]
    feeder_of: list[int]
    lv_customers: list[int]
    area_load: list[float]
    hv_load: list[float]

    @classmethod
    def of(cls, network: Any, topo: Any, tree: Any) -> Baseline:
        sections_from: dict[int, list[tuple[int, int]]] = {}
        sec = network.sections
        for s, (a, b) in enumerate(zip(sec.from_node.tolist(), sec.to_node.tolist(), strict=True)):
            sections_from.setdefault(a, []).append((s, b))
        areas_at: dict[int, list[int]] = {}
        for t, v in enumerate(network.transformer_areas.node.tolist()):
            areas_at.setdefault(v, []).append(t)
        hv_at: dict[int, list[int]] = {}
        for h, v in enumerate(network.hv_customers.node.tolist()):
            hv_at.setdefault(v, []).append(h)
        sensitive_of_area: dict[int, list[int]] = {}
        sensitive_of_hv: dict[int, list[int]] = {}
        sc = network.sensitive_customers
        for i, (t, h) in enumerate(
            zip(sc.transformer_area.tolist(), sc.hv_customer.tolist(), strict=True)
        ):
            if t >= 0:
                sensitive_of_area.setdefault(t, []).append(i)
            if h >= 0:
                sensitive_of_hv.setdefault(h, []).append(i)
        return cls(
            tree=tree,
            sections_from=sections_from,
            areas_at=areas_at,
            hv_at=hv_at,
            sensitive_of_area=sensitive_of_area,
            sensitive_of_hv=sensitive_of_hv,
            feeder_of=topo.feeder_of_nodes.tolist(),
            lv_customers=network.transformer_areas.lv_customers.tolist(),
            area_load=network.transformer_areas.load_kw.tolist(),
            hv_load=network.hv_customers.load_kw.tolist(),
        )

    def impact(self, lower: int) -> dict[str, Any]:
        """Who is off when the branch above ``lower`` opens."""
        import networkx as nx

        nodes = nx.descendants(self.tree, lower)
        nodes.add(lower)
        sections = {
            s for n in nodes for s, other in self.sections_from.get(n, ()) if other in nodes
        }
        areas = [t for n in nodes for t in self.areas_at.get(n, ())]
        hvs = [h for n in nodes for h in self.hv_at.get(n, ())]
        sensitive = [c for t in areas for c in self.sensitive_of_area.get(t, ())]
        sensitive += [c for h in hvs for c in self.sensitive_of_hv.get(h, ())]
        return {
            "nodes": nodes,
            "sections": sections,
            "transformer_areas": areas,
            "hv_customers": hvs,
            "sensitive_customers": sensitive,
            "feeders": {self.feeder_of[n] for n in nodes},
        }

    def impact_with_counts(self, lower: int) -> dict[str, Any]:
        found = self.impact(lower)
        areas, hvs = found["transformer_areas"], found["hv_customers"]
        found["lv_customers"] = sum(self.lv_customers[t] for t in areas)
        found["load_kw"] = sum(self.area_load[t] for t in areas) + sum(self.hv_load[h] for h in hvs)
        return found


def _same_impact(impact: Any, expected: dict[str, Any]) -> bool:
    return (
        set(impact.node_index.tolist()) == expected["nodes"]
        and set(impact.section_index.tolist()) == expected["sections"]
        and sorted(impact.transformer_area_index.tolist()) == sorted(expected["transformer_areas"])
        and sorted(impact.hv_customer_index.tolist()) == sorted(expected["hv_customers"])
        and sorted(impact.sensitive_index.tolist()) == sorted(expected["sensitive_customers"])
        and set(impact.feeder_index.tolist()) == expected["feeders"]
    )


def measure_user_calls(
    topo: Any, case: Case, queries: list[int], tree: Any, m: dict[str, Any]
) -> None:
    """The calls behind ``openoms impact`` / ``switching``, the API and the service, warm, on
    the same switches as the networkx baseline (a user's ``descendants`` + dict summary): per
    method the mean per call over the queries (median of ``USER_REPEATS`` passes, as
    ``per_call_us``), the typical query (median over the queries of each one's median) and,
    the methods interleaved query by query, the typical query with caches the other methods
    have just used. The answers are compared."""
    from openoms.outages.impact import ImpactAnalyser
    from openoms.outages.switching import Operation, switching_effect

    network = case.network
    say(f"{case.name}: user-facing calls against networkx + a dict summary")
    setups = []
    for _ in range(5):
        t0 = time.perf_counter()
        analyser = ImpactAnalyser(network, topo)
        setups.append((time.perf_counter() - t0) * 1e3)
    m["user_setup_warm_ms"] = median(setups)
    m["user_setup_warm_ms_all"] = [round(t, 2) for t in setups]
    m["user_compiled"] = analyser.compiled
    plain = ImpactAnalyser(network, topo, compiled=False)
    baseline = Baseline.of(network, topo, tree)
    n_sections = len(network.sections.id)
    graph = case.graph
    parent = {int(b): int(a) for a, b in tree.edges()}
    picked = queries[:IMPACT_QUERIES]
    switch_ids = [network.switches.id[e - n_sections] for e in picked]
    lower = [
        int(b) if parent.get(int(b)) == int(a) else int(a)
        for a, b in zip(graph.edge_from[picked], graph.edge_to[picked], strict=True)
    ]

    def with_counts(switch_id: str) -> Any:
        impact = analyser.of_opening([switch_id])
        return impact, impact.lv_customers, impact.load_kw

    methods: dict[str, Callable[[int], Any]] = {
        "of_opening": lambda i: analyser.of_opening([switch_ids[i]]),
        "switching_effect": lambda i: switching_effect(
            analyser, [Operation(switch_ids[i], close=False)]
        ),
        "networkx": lambda i: baseline.impact(lower[i]),
        "of_opening_counts": lambda i: with_counts(switch_ids[i]),
        "networkx_counts": lambda i: baseline.impact_with_counts(lower[i]),
        "of_opening_numpy": lambda i: plain.of_opening([switch_ids[i]]),
    }
    for fn in methods.values():  # every path once before the clock
        fn(0)
    # each method over every query in turn (as per_call_us), the methods taking turns pass by
    # pass, USER_REPEATS passes each (so that the load of the machine falls on all alike): the
    # mean per call of each pass (its median over the passes), and per query the median of
    # its calls (their median over the queries: the typical query)
    n = len(picked)
    calls: dict[str, list[list[float]]] = {k: [[] for _ in picked] for k in methods}
    means: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(USER_REPEATS):
        for name, fn in methods.items():
            t_pass = time.perf_counter()
            for i in range(n):
                t0 = time.perf_counter_ns()
                fn(i)
                calls[name][i].append((time.perf_counter_ns() - t0) / 1e3)
            means[name].append((time.perf_counter() - t_pass) / n * 1e6)
    for name in methods:
        per_query = [median(c) for c in calls[name]]
        m[f"user_{name}_us"] = median(means[name])
        m[f"user_{name}_us_all"] = [round(t, 2) for t in means[name]]
        m[f"user_{name}_typical_us"] = median(per_query)
        m[f"user_{name}_p95_us"] = float(np.percentile(per_query, 95))
        m[f"user_{name}_per_query_us"] = per_query
    # interleaved: each query's calls one after the other (the order rotating), so that every
    # call meets caches the others have just used (a service answering between other work)
    interleaved = ("of_opening", "switching_effect", "networkx")
    cold: dict[str, list[list[float]]] = {k: [[] for _ in picked] for k in interleaved}
    for rep in range(3):
        for i in range(n):
            shift = (i + rep) % len(interleaved)
            for name in interleaved[shift:] + interleaved[:shift]:
                t0 = time.perf_counter_ns()
                methods[name](i)
                cold[name][i].append((time.perf_counter_ns() - t0) / 1e3)
    for name, times in cold.items():
        m[f"user_{name}_interleaved_us"] = median(median(c) for c in times)
    for ours, theirs in (
        ("of_opening", "networkx"),
        ("switching_effect", "networkx"),
        ("of_opening_counts", "networkx_counts"),
        ("of_opening_numpy", "networkx"),
    ):
        m[f"user_{ours}_ratio"] = m[f"user_{theirs}_us"] / m[f"user_{ours}_us"]
        m[f"user_{ours}_typical_ratio"] = (
            m[f"user_{theirs}_typical_us"] / m[f"user_{ours}_typical_us"]
        )
        ratios = [
            b / a
            for a, b in zip(
                m[f"user_{ours}_per_query_us"], m[f"user_{theirs}_per_query_us"], strict=True
            )
        ]
        m[f"user_{ours}_ratio_per_query_median"] = median(ratios)
    for ours in ("of_opening", "switching_effect"):
        m[f"user_{ours}_interleaved_ratio"] = (
            m["user_networkx_interleaved_us"] / m[f"user_{ours}_interleaved_us"]
        )
    for name in methods:  # (kept in the JSON as lists of per-query medians, rounded)
        m[f"user_{name}_per_query_us"] = [round(t, 2) for t in m[f"user_{name}_per_query_us"]]
    wrong = 0
    for i, switch_id in enumerate(switch_ids):
        expected = baseline.impact(lower[i])
        impact = analyser.of_opening([switch_id])
        effect = switching_effect(analyser, [Operation(switch_id, close=False)])
        numpy_impact = plain.of_opening([switch_id])
        wrong += not (
            _same_impact(impact, expected)
            and _same_impact(effect.lost, expected)
            and _same_impact(numpy_impact, expected)
            and effect.regained.is_empty
            and not len(effect.transferred.node_index)
        )
    m["user_queries"] = len(picked)
    m["user_answers_differ"] = wrong
    if wrong:
        say(f"!!! {case.name}: {wrong} of {len(picked)} impacts differ from networkx + dicts")


def user_first_run(size: int, seed: int) -> dict[str, Any]:
    """Run in a fresh process (``--user-first-run SIZE``): what a user meets the first time:
    importing, building the index, setting the analyser up (numba loading or compiling its
    kernel), the first ``of_opening`` and ``switching_effect``; then the same again."""
    t0 = time.perf_counter()
    from openoms.grid.topology import Topology
    from openoms.outages.impact import ImpactAnalyser
    from openoms.outages.switching import Operation, switching_effect

    out: dict[str, Any] = {"import_s": time.perf_counter() - t0}
    case = synthetic_case(size, seed=seed, with_pandapower=False)
    network = case.network

    def clock(key: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        out[key] = (time.perf_counter() - t0) * 1e3
        return value

    topo = clock("build_first_ms", lambda: Topology.build(case.graph, case.closed))
    queries = pick_queries(topo, case, np.random.default_rng(seed), {})
    n_sections = len(network.sections.id)
    ids = [network.switches.id[e - n_sections] for e in queries[:4]]
    analyser = clock("setup_first_ms", lambda: ImpactAnalyser(network, topo))
    clock("of_opening_first_ms", lambda: analyser.of_opening([ids[0]]))
    clock("switching_first_ms", lambda: switching_effect(analyser, [Operation(ids[1], False)]))
    clock("of_opening_second_ms", lambda: analyser.of_opening([ids[2]]))
    clock("switching_second_ms", lambda: switching_effect(analyser, [Operation(ids[3], False)]))
    clock("setup_second_ms", lambda: ImpactAnalyser(network, topo))
    out["compiled"] = analyser.compiled
    return out


def user_first_runs(sizes: Sequence[int], seed: int) -> dict[int, dict[str, Any]]:
    """``user_first_run`` in a fresh process per size (numba's on-disk cache as it is), and
    for the smallest size also with an empty cache (compiling every kernel, as the first run
    after installing does)."""
    runs: dict[int, dict[str, Any]] = {}
    command = [sys.executable, __file__, "--seed", str(seed), "--user-first-run"]
    for size in sizes:
        say(f"synthetic {size:,}: first run of the user-facing calls in a fresh process")
        done = subprocess.run([*command, str(size)], capture_output=True, check=True)
        runs[size] = json.loads(done.stdout)
    if sizes:
        say(f"synthetic {min(sizes):,}: the same with an empty numba cache (compiling)")
        with tempfile.TemporaryDirectory() as empty:
            env = {**os.environ, "NUMBA_CACHE_DIR": empty}
            done = subprocess.run(
                [*command, str(min(sizes))], capture_output=True, check=True, env=env
            )
        runs[min(sizes)]["compiling"] = json.loads(done.stdout)
    return runs


def measure_operate(topo: Any, case: Case, queries: list[int], m: dict[str, Any]) -> None:
    """Open, close again and preview-open each switch, each timed; then check that the state
    equals a fresh build."""
    from openoms.grid.topology import Topology

    edges = queries[:OPERATE_QUERIES]
    say(f"{case.name}: operate and preview ({len(edges)} switches)")
    topo.operate([(edges[0], False)])  # warm-up: the first update allocates its buffer
    topo.operate([(edges[0], True)])
    times: dict[str, list[float]] = {"open": [], "close": [], "preview": []}
    for e in edges:
        t0 = time.perf_counter()
        topo.operate([(e, False)])
        t1 = time.perf_counter()
        topo.operate([(e, True)])
        t2 = time.perf_counter()
        topo.preview([(e, False)])
        t3 = time.perf_counter()
        times["open"].append((t1 - t0) * 1e3)
        times["close"].append((t2 - t1) * 1e3)
        times["preview"].append((t3 - t2) * 1e3)
    for key, values in times.items():
        m[f"{key}_ms"] = median(values)
        m[f"{key}_max_ms"] = max(values)
    fresh = Topology.build(case.graph, case.closed)
    views = ("feeder_of_nodes", "parent_of_nodes", "parent_edge_of_nodes", "depth_of_nodes")
    m["state_equals_fresh_build"] = all(
        np.array_equal(getattr(topo, v), getattr(fresh, v)) for v in views
    ) and np.array_equal(topo.loop_edges(), fresh.loop_edges())


def measure_pandapower(topo: Any, case: Case, queries: list[int], m: dict[str, Any]) -> None:
    """Open the switch, ``unsupplied_buses(net)``, close it: a handful of times, within the
    budget; and whether pandapower and we name the same buses."""
    say(f"{case.name}: pandapower net (importing pandapower)")
    import pandapower.topology as pp_topology

    assert callable(case.pandapower)
    t0 = time.perf_counter()
    net = case.pandapower()
    m["pandapower_net_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline = set(pp_topology.unsupplied_buses(net))
    m["pandapower_baseline_ms"] = (time.perf_counter() - t0) * 1e3
    say(f"{case.name}: unsupplied_buses, {m['pandapower_baseline_ms']:.0f} ms a call")
    started = time.perf_counter()
    times: list[float] = []
    agree = agree_below = 0
    for e in queries[:PANDAPOWER_QUERIES]:
        if times and time.perf_counter() - started > PANDAPOWER_BUDGET_S:
            break
        switch = int(case.edge_switch[e])
        t0 = time.perf_counter()
        net.switch.at[switch, "closed"] = False
        off = pp_topology.unsupplied_buses(net)
        net.switch.at[switch, "closed"] = True
        times.append((time.perf_counter() - t0) * 1e3)
        theirs = set(off) - baseline
        # buses only: nodes the importer added (bus -1) are not pandapower buses
        lost = topo.preview([(e, False)]).lost
        agree += theirs == set(case.node_bus[lost].tolist()) - {-1}
        agree_below += theirs == set(case.node_bus[topo.nodes_below_edge(e)].tolist()) - {-1}
    m["pandapower_ms"] = median(times)
    m["pandapower_ms_all"] = [round(t, 1) for t in times]
    m["pandapower_queries"] = len(times)
    m["pandapower_agree_preview"] = agree
    m["pandapower_agree_below"] = agree_below
    m["pandapower_ratio_below"] = m["pandapower_ms"] * 1e3 / m["below_us"]
    m["pandapower_ratio_preview"] = m["pandapower_ms"] / m["preview_ms"]


# -- report -----------------------------------------------------------------------------------


def _n(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.{digits}f}"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}×"


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    header = (
        "| network | nodes | build ms | B/node peak (held) | below µs: ours / networkx / ratio "
        "| count µs | impact µs | open / close / preview ms | pandapower ms "
        "| ratio vs below | ratio vs preview |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        m = r.m
        pandapower = _n(m["pandapower_ms"], 0) if "pandapower_ms" in m else m["pandapower"]
        lines.append(
            f"| {r.network} | {r.nodes:,} | {_n(m['build_ms'])} "
            f"| {m['peak_bytes_per_node']:.0f} ({m['held_bytes_per_node']:.0f}) "
            f"| {m['below_us']:.2f} / {_n(m['networkx_us'])} / {_times(m['below_ratio'])} "
            f"| {m['count_below_us']:.2f} | {_n(m.get('impact_us'), 0)} "
            f"| {m['open_ms']:.2f} / {m['close_ms']:.2f} / {m['preview_ms']:.2f} "
            f"| {pandapower} | {_times(m.get('pandapower_ratio_below'))} "
            f"| {_times(m.get('pandapower_ratio_preview'))} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def user_table(results: list[Result]) -> str:
    """The user-facing calls: set-up and first calls in a fresh process, then warm figures
    against networkx + a dict summary (mean per call; the typical query; interleaved)."""
    header = (
        "| network | analyser set-up ms: first run / warm | first run ms: build / of_opening / "
        "switching_effect | µs per call: of_opening / switching_effect / networkx + dict "
        "(ratios) | typical query µs (ratios) | interleaved, typical µs (ratios) "
        "| with counts µs per call (ratio) | numpy path µs per call (ratio) | same answers |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        m = r.m
        if "user_of_opening_us" not in m:
            continue
        first = m.get("user_first_run", {})

        def trio(kind: str, m: dict[str, Any] = m) -> str:
            suffix = {"": "_us", "typical": "_typical_us", "interleaved": "_interleaved_us"}
            ratio = {"": "_ratio", "typical": "_typical_ratio", "interleaved": "_interleaved_ratio"}
            o, sw, nx = (
                m[f"user_{k}{suffix[kind]}"] for k in ("of_opening", "switching_effect", "networkx")
            )
            ro, rs = (m[f"user_{k}{ratio[kind]}"] for k in ("of_opening", "switching_effect"))
            return f"{o:.1f} / {sw:.1f} / {nx:.0f} ({ro:.1f}× / {rs:.1f}×)"

        lines.append(
            f"| {r.network} | {_ms(first.get('setup_first_ms'))} / "
            f"{_ms(m['user_setup_warm_ms'])} "
            f"| {_ms(first.get('build_first_ms'))} / {_ms(first.get('of_opening_first_ms'))} / "
            f"{_ms(first.get('switching_first_ms'))} "
            f"| {trio('')} | {trio('typical')} | {trio('interleaved')} "
            f"| {m['user_of_opening_counts_us']:.1f} / {m['user_networkx_counts_us']:.0f} "
            f"({m['user_of_opening_counts_ratio']:.1f}×) "
            f"| {m['user_of_opening_numpy_us']:.0f} ({m['user_of_opening_numpy_ratio']:.1f}×) "
            f"| {m['user_queries'] - m['user_answers_differ']} / {m['user_queries']} |"
        )
    compiling = [
        (r.network, r.m["user_first_run"]["compiling"])
        for r in results
        if "compiling" in r.m.get("user_first_run", {})
    ]
    for name, c in compiling:
        lines.append(
            f"\nFirst run ever (empty numba cache: a kernel that runs compiled is compiled; "
            f"a small network's run interpreted, openoms.grid.jit), {name}: build "
            f"{_ms(c['build_first_ms'])} ms, analyser set-up {_ms(c['setup_first_ms'])} ms, "
            f"of_opening {_ms(c['of_opening_first_ms'])} ms, switching_effect "
            f"{_ms(c['switching_first_ms'])} ms."
        )
    return "\n".join(lines)


def details(r: Result) -> list[str]:
    m = r.m
    lines = [
        f"{r.network}: {r.nodes:,} nodes, {r.edges:,} branches, {r.feeders} feeders, "
        f"{m['loop_edges']} closed loop edges ({r.how}); depth max {m['max_depth']}, mean "
        f"{m['mean_depth']:.0f}; {m['query_switches']:,} query switches of "
        f"{m['candidate_switches']:,}, {m['below_mean_nodes']:.0f} nodes below on average "
        f"(max {m['below_max_nodes']:,})",
        f"  memory: index {m['peak_bytes_per_node']:.0f} B/node at peak, "
        f"{m['held_bytes_per_node']:.0f} held, besides the {m['graph_bytes_per_node']:.0f} B/node "
        "of input arrays"
        + (
            f"; the Network's id strings and id dict: {m['id_bytes_per_node']:.0f} B/node"
            if "id_bytes_per_node" in m
            else ""
        ),
        f"  below as a Python list: {m['below_as_list_us']:.2f} µs "
        f"({_times(m['below_as_list_ratio'])} networkx, which returns a set)",
    ]
    if "impact_us" in m:
        off = m["impact_median_off"]
        lines.append(
            f"  impact: median {m['impact_us']:,.0f} µs, p95 {m['impact_p95_us']:,.0f} µs, "
            f"median answer {off['nodes']:.0f} nodes, {off['transformer_areas']:.0f} areas, "
            f"{off['lv_customers']:,.0f} LV customers; "
            f"analyser set-up {m['impact_setup_ms']:.0f} ms"
        )
        lines.append(f"  example: {m['impact_example']}")
    lines.append(
        f"  operate: slowest open {m['open_max_ms']:.2f} ms, close {m['close_max_ms']:.2f} ms, "
        f"preview {m['preview_max_ms']:.2f} ms; state equals a fresh build afterwards: "
        f"{m['state_equals_fresh_build']}"
    )
    if "pandapower_ms" in m:
        lines.append(
            f"  pandapower: {m['pandapower_queries']} queries {m['pandapower_ms_all']} ms; "
            f"same de-energised buses as preview for {m['pandapower_agree_preview']}, as "
            f"nodes_below_edge for {m['pandapower_agree_below']}"
        )
    lines += [f"  note: {note}" for note in r.notes]
    return lines


def targets(results: list[Result]) -> list[dict[str, str]]:
    """Each README target, PASS / FAIL / not measured, with what was measured."""
    checks: list[dict[str, str]] = []

    def check(target: str, passed: bool | None, measured: str) -> None:
        status = "not measured" if passed is None else "PASS" if passed else "FAIL"
        checks.append({"target": target, "status": status, "measured": measured})

    by_name = {r.network: r.m for r in results}
    big, mid = by_name.get("synthetic 1M"), by_name.get("synthetic 100k")
    if big:
        check(
            f"1M nodes: build < {BUILD_1M_S:g} s",
            big["build_ms"] < BUILD_1M_S * 1e3,
            f"{big['build_ms']:.0f} ms",
        )
        check(
            f"1M nodes: build < {BYTES_PER_NODE} B/node at peak",
            big["peak_bytes_per_node"] < BYTES_PER_NODE,
            f"{big['peak_bytes_per_node']:.0f} B/node",
        )
        slowest = max(big["open_ms"], big["close_ms"], big["preview_ms"])
        check(
            f"1M nodes: operate and preview < {OPERATE_1M_MS:g} ms (median)",
            slowest < OPERATE_1M_MS,
            f"slowest median {slowest:.2f} ms",
        )
    else:
        for target in (
            f"1M nodes: build < {BUILD_1M_S:g} s",
            f"1M nodes: build < {BYTES_PER_NODE} B/node at peak",
            f"1M nodes: operate and preview < {OPERATE_1M_MS:g} ms (median)",
        ):
            check(target, None, "1M not in --sizes")
    lowest = min(r.m["below_ratio"] for r in results)
    check(
        f"below this switch ≥ {BELOW_VS_NETWORKX:g}× faster than networkx (every network)",
        lowest >= BELOW_VS_NETWORKX,
        f"lowest {lowest:,.0f}×",
    )
    if mid and "pandapower_ms" in mid:
        for key, what in (("below", "nodes_below_edge"), ("preview", "preview (any topology)")):
            ratio = mid[f"pandapower_ratio_{key}"]
            check(
                f"100k: {what} ≥ {PANDAPOWER_100K:,.0f}× faster than pandapower",
                ratio >= PANDAPOWER_100K,
                f"{ratio:,.0f}×",
            )
    else:
        check(
            f"100k: ≥ {PANDAPOWER_100K:,.0f}× faster than pandapower",
            None,
            "100k not run with pandapower",
        )
    radial = [r.m for r in results if r.m["loop_edges"] == 0]
    wrong = sum(m["networkx_mismatches"] for m in radial)
    check("same nodes below as networkx (radial networks)", wrong == 0, f"{wrong} differ")
    runs = [r.m for r in results if "pandapower_ms" in r.m]
    asked = sum(m["pandapower_queries"] for m in runs)
    agree = sum(min(m["pandapower_agree_preview"], m["pandapower_agree_below"]) for m in runs)
    check(
        "same de-energised buses as pandapower",
        agree == asked if asked else None,
        f"{agree} of {asked} switches",
    )
    for name in ("synthetic 100k", "synthetic 1M"):
        u = by_name.get(name)
        for call in ("of_opening", "switching_effect"):
            key = f"user_{call}_ratio"
            check(
                f"{name}: {call} ≥ {USER_VS_NETWORKX:g}× networkx descendants + dict summary "
                "(per call, warm)",
                u[key] >= USER_VS_NETWORKX if u and key in u else None,
                f"{u[key]:.1f}× ({u[f'user_{call}_us']:.1f} vs {u['user_networkx_us']:.0f} µs "
                f"per call; typical query {u[f'user_{call}_typical_ratio']:.1f}×, interleaved "
                f"{u[f'user_{call}_interleaved_ratio']:.1f}×)"
                if u and key in u
                else f"{name} not in --sizes",
            )
    user = [r.m for r in results if "user_queries" in r.m]
    asked = sum(m["user_queries"] for m in user)
    wrong = sum(m["user_answers_differ"] for m in user)
    check(
        "of_opening, switching_effect (compiled and numpy) give networkx + dicts' answer",
        wrong == 0 if asked else None,
        f"{asked - wrong:,} of {asked:,} switches",
    )
    fresh = all(r.m["state_equals_fresh_build"] for r in results)
    check("state after the operations equals a fresh build", fresh, "every network")
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Topology engine benchmark (see the source).")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="synthetic sizes, nodes")
    parser.add_argument("--quick", action="store_true", help="10k and SimBench only")
    parser.add_argument(
        "--pandapower-sizes",
        default="10000,100000",
        help="synthetic sizes also run through pandapower (slow: ~1 s a query at 100k)",
    )
    parser.add_argument("--no-simbench", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--first-call", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--user-first-run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_call:
        print(json.dumps(first_call()))
        return 0
    if args.user_first_run:
        print(json.dumps(user_first_run(args.user_first_run, args.seed)))
        return 0
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    pandapower_sizes = {int(s) for s in args.pandapower_sizes.split(",") if s}

    load_before = os.getloadavg()
    say("numba: first calls in fresh processes")
    numba = numba_first_calls()
    first_runs = user_first_runs(sizes, args.seed)
    results: list[Result] = []
    for size in sizes:
        say(f"synthetic {size:,}: generating")
        case = synthetic_case(size, seed=args.seed, with_pandapower=size in pandapower_sizes)
        results.append(measure(case, rng=np.random.default_rng(args.seed)))
        results[-1].m["user_first_run"] = first_runs[size]
        del case
    if not args.no_simbench:
        say(f"SimBench {SIMBENCH_CODE}: loading")
        results.append(measure(simbench_case(), rng=np.random.default_rng(args.seed)))

    checks = targets(results)
    print()
    print(table(results))
    print()
    print(user_table(results))
    print()
    for r in results:
        print("\n".join(details(r)))
    print(
        f"numba: import {numba['import_s']:.2f} s; first calls {numba['first_calls_cached_ms']:.0f}"
        f" ms loading the on-disk cache (present before this run: {numba['cache_present']}), "
        f"{numba['first_calls_compiling_s']:.1f} s compiling from scratch"
    )
    load_after = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (other processes skew the timings)"
    )
    print()
    for c in checks:
        print(f"{c['status']:>12}  {c['target']}: {c['measured']}")

    document = {
        "benchmark": "topology",
        "command": " ".join(["python", "benchmarks/topology.py", *(argv or sys.argv[1:])]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before[0], load_after[0]),
        "versions": versions(
            "openoms", "numpy", "numba", "scipy", "networkx", "pandapower", "simbench"
        ),
        "numba": numba,
        "networks": [
            {
                "network": r.network,
                "nodes": r.nodes,
                "edges": r.edges,
                "feeders": r.feeders,
                "how": r.how,
                "notes": r.notes,
                **r.m,
            }
            for r in results
        ],
        "targets": checks,
        "total_s": round(time.perf_counter() - _START, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    say(f"done in {time.perf_counter() - _START:.0f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
