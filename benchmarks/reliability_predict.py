"""Predictive reliability benchmark: the vectorised engine against a straightforward loop.

    python benchmarks/reliability_predict.py [--sizes sample,100k] [--repeat 5]

``openoms.reliability.predict.predict`` (numpy over the zones of the topology index) on the
bundled sample county and on a generated county of about 100,000 nodes (40 substations × 12
feeders, ``openoms.grid.generate``), side by side with :func:`naive_predict`: the same rules
(docs/reliability.md, "Predictive reliability") written the obvious way, a networkx tree per
feeder and a loop over every load point and every component in pure Python. Both give the same
λ and U for every load point (checked here, and in tests/reliability/test_predict.py); the
table shows the times and their ratio. ``benchmarks/results/reliability_predict.json`` is
written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any, Final

import networkx as nx
import numpy as np

ROOT: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import machine, versions  # noqa: E402

from openoms.grid.model import Network  # noqa: E402
from openoms.reliability.predict import (  # noqa: E402
    PROTECTIVE,
    Override,
    PredictSettings,
    predict,
)

RESULTS: Final = ROOT / "benchmarks" / "results" / "reliability_predict.json"
SIZES: Final = {"sample": None, "100k": (40, 12)}
TARGET_SAMPLE_S: Final = 1.0
_START: Final = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- the straightforward implementation -------------------------------------------------------


def naive_predict(
    network: Network,
    settings: PredictSettings,
    overrides: Mapping[str, Override] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """λ and U of every load point (transformer areas, then HV customers; NaN when on no
    feeder), one load point and one component at a time."""
    over = overrides or {}
    s = settings
    sec, sw = network.sections, network.switches
    n_sec = len(sec.id)
    protective = {k.value for k in PROTECTIVE}

    def switching_h(k: int) -> float:
        o = over.get(sw.id[k])
        if o is not None and o.switching_h is not None:
            return o.switching_h
        return s.remote_switching_h if bool(sw.remote[k]) else s.manual_switching_h

    graph = nx.Graph()
    for e in range(n_sec):
        graph.add_edge(int(sec.from_node[e]), int(sec.to_node[e]), edge=e)
    for k in range(len(sw.id)):
        if bool(sw.normal_closed[k]):
            graph.add_edge(int(sw.from_node[k]), int(sw.to_node[k]), edge=n_sec + k)
    busbars = {int(b) for b in network.substations.busbar_node.tolist()}
    heads = set(network.feeders.head_edge.tolist())
    # per feeder: a BFS tree from its first node, not through busbars (other feeders' heads)
    feeder_of: dict[int, int] = {}
    up: dict[int, tuple[int, int]] = {}  # node → (parent node, edge to it)
    inner = graph.subgraph([v for v in graph.nodes if v not in busbars])
    for f, head in enumerate(network.feeders.head_edge.tolist()):
        a, b = int(network.edge_from[head]), int(network.edge_to[head])
        first, top = (b, a) if a in busbars else (a, b)
        if first in feeder_of or first not in inner:
            continue
        feeder_of[first] = f
        up[first] = (top, head)
        for parent, child in nx.bfs_edges(inner, first):
            if child in feeder_of:
                continue
            feeder_of[child] = f
            up[child] = (parent, graph.edges[parent, child]["edge"])

    def path_up(node: int) -> list[int]:
        edges = []
        while node in up:
            node, edge = up[node]
            edges.append(edge)
        return edges

    def is_switch(edge: int) -> bool:
        return edge >= n_sec

    # the least tie time below each tree edge: walk up from every usable tie end
    tie_below: dict[int, float] = {}
    for k in range(len(sw.id)):
        if bool(sw.normal_closed[k]):
            continue
        ends = (int(sw.from_node[k]), int(sw.to_node[k]))
        for here, there in (ends, ends[::-1]):
            if here not in feeder_of:
                continue
            if not (there in busbars or feeder_of.get(there, feeder_of[here]) != feeder_of[here]):
                continue
            for edge in path_up(here):
                tie_below[edge] = min(tie_below.get(edge, np.inf), switching_h(k))

    # components: tree sections and closed switches with λ > 0
    components: dict[int, list[tuple[float, float, int | None, list[int], set[int]]]] = {}
    for e in range(network.n_edges):
        if is_switch(e):
            k = e - n_sec
            rate, repair = s.switch, s.switch_repair_h
            element = sw.id[k]
        else:
            length = float(sec.length_km[e]) if np.isfinite(sec.length_km[e]) else 0.0
            kind = sec.kind[e]
            if kind == "cable":
                rate, repair = s.cable_per_km * length, s.cable_repair_h
            elif kind == "transformer":
                rate, repair = s.transformer_section, s.transformer_section_repair_h
            else:
                rate, repair = s.overhead_per_km * length, s.overhead_repair_h
            element = sec.id[e]
        o = over.get(element)
        if o is not None:
            rate = rate if o.failure_rate is None else o.failure_rate
            repair = repair if o.repair_h is None else o.repair_h
        if rate <= 0 or (is_switch(e) and e in heads):
            continue  # a feeder-head switch belongs to the substation: not counted
        lower = next(
            (
                v
                for v in (int(network.edge_to[e]), int(network.edge_from[e]))
                if up.get(v, (0, -1))[1] == e
            ),
            None,
        )
        if lower is None:
            continue  # not on a feeder tree
        above = path_up(lower)
        epath = above[1:] if is_switch(e) else above  # a switch fails at its supply side
        protection = next(
            (x for x in epath if is_switch(x) and sw.kind[x - n_sec] in protective), None
        )
        below_p = epath if protection is None else epath[: epath.index(protection)]
        isolators = [x for x in below_p if is_switch(x)]
        item = (rate, repair, protection, isolators, set(epath))
        components.setdefault(feeder_of[lower], []).append(item)

    ta, hv = network.transformer_areas, network.hv_customers
    nodes = [*ta.node.tolist(), *hv.node.tolist()]
    lam = np.full(len(nodes), np.nan)
    unav = np.full(len(nodes), np.nan)
    for i, node in enumerate(nodes):
        if node not in feeder_of:
            continue
        f = feeder_of[node]
        ppath = path_up(node)
        pset = set(ppath)
        own_l, own_u = 0.0, 0.0
        if i < len(ta.id):
            own_l, own_r = s.transformer_area, s.transformer_area_repair_h
            o = over.get(ta.id[i])
            if o is not None:
                own_l = own_l if o.failure_rate is None else o.failure_rate
                own_r = own_r if o.repair_h is None else o.repair_h
            own_u = own_l * own_r
        total_l, total_u = own_l, own_u
        for rate, repair, protection, isolators, eset in components.get(f, []):
            if protection is not None and protection not in pset:
                continue
            best = repair
            for x in isolators:  # upstream: a switch above the fault not feeding the LP
                if x not in pset:
                    best = min(best, switching_h(x - n_sec))
            for x in ppath:  # downstream: a switch on the LP's path below the branching
                if x in eset:
                    break
                if is_switch(x) and x in tie_below:
                    best = min(best, max(switching_h(x - n_sec), tie_below[x]))
            total_l += rate
            total_u += rate * best
        lam[i], unav[i] = total_l, total_u
    return lam, unav


# -- the benchmark ----------------------------------------------------------------------------


def network_of(size: str) -> Network:
    from openoms.grid.load import check_raw, load_network
    from openoms.samples import bundled_path

    if SIZES[size] is None:
        return load_network(bundled_path("sample:county"))
    from openoms.grid.generate import generate_county

    substations, feeders = SIZES[size]  # type: ignore[misc]
    result = check_raw(generate_county(substations=substations, feeders_per_substation=feeders))
    assert result.network is not None
    return result.network


def cli_seconds() -> float:
    """Wall time of the command a planner runs, in a fresh process: once to build the
    network snapshot, then the measured run."""
    openoms = str(Path(sys.executable).with_name("openoms"))
    command = [openoms, "reliability", "predict", "sample:county"]
    subprocess.run([*command, "--json"], check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([*command, "--json"], check=True, capture_output=True)
    return time.perf_counter() - t0


def bench(size: str, repeat: int) -> dict[str, Any]:
    say(f"{size}: loading")
    network = network_of(size)
    settings = PredictSettings(switch=0.002)  # switches fail too: every rule is exercised
    t0 = time.perf_counter()
    predict(network, settings)  # the first call in the process (what a user waits for)
    first_ms = 1e3 * (time.perf_counter() - t0)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fast = predict(network, settings)
        times.append(time.perf_counter() - t0)
    say(f"{size}: vectorised {median(times) * 1e3:.1f} ms; the loop now")
    t0 = time.perf_counter()
    lam, unav = naive_predict(network, settings)
    naive_s = time.perf_counter() - t0
    ok = fast.load_points.feeder >= 0
    same = bool(
        np.allclose(fast.load_points.failure_rate[ok], lam[ok], rtol=1e-9)
        and np.allclose(fast.load_points.unavailability_h[ok], unav[ok], rtol=1e-9)
    )
    say(f"{size}: loop {naive_s:.1f} s, same results: {same}")
    return {
        "network": size,
        "nodes": len(network.nodes.id),
        "load_points": int(ok.sum()),
        "feeders": len(network.feeders.id),
        "switches": len(network.switches.id),
        "vectorised_ms_first_call": first_ms,
        "vectorised_ms_median": 1e3 * median(times),
        "vectorised_ms_max": 1e3 * max(times),
        "naive_s": naive_s,
        "ratio_naive_over_vectorised": naive_s / median(times),
        "ratio_naive_over_first_call": naive_s / (first_ms / 1e3),
        "same_results": same,
        "system_saifi": fast.system.saifi,
        "system_saidi_h": fast.system.saidi_h,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predictive reliability benchmark (see source).")
    parser.add_argument("--sizes", default="sample,100k")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    cli_s = cli_seconds()
    rows = [bench(size, args.repeat) for size in args.sizes.split(",")]
    load_after = os.getloadavg()[0]
    print(
        "`openoms reliability predict sample:county --json`, a fresh process (snapshot "
        f"cached): {cli_s:.2f} s wall"
    )
    print(
        f"{'network':8} {'nodes':>8} {'LPs':>6} {'first call ms':>14} {'median ms':>10} "
        f"{'loop s':>8} {'ratio (first)':>14} same"
    )
    for r in rows:
        print(
            f"{r['network']:8} {r['nodes']:>8,} {r['load_points']:>6,} "
            f"{r['vectorised_ms_first_call']:>14.1f} {r['vectorised_ms_median']:>10.1f} "
            f"{r['naive_s']:>8.2f} {r['ratio_naive_over_first_call']:>13.0f}× "
            f"{r['same_results']}"
        )
    targets = {f"{r['network']}: same λ and U as the loop": r["same_results"] for r in rows}
    for r in rows:
        if r["network"] == "sample":
            targets[f"sample: vectorised < {TARGET_SAMPLE_S:.0f} s"] = (
                r["vectorised_ms_median"] < 1e3 * TARGET_SAMPLE_S
            )
    for name, met in targets.items():
        print(f"{'met' if met else 'NOT met'}: {name}")
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/reliability_predict.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine(load_before, load_after),
        "versions": versions("openoms", "numpy", "networkx"),
        "cli_sample_county_s": cli_s,
        "results": rows,
        "targets": targets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
