"""FLISR planner benchmark: plan + power-flow check per fault, against a pandapower loop.

    python benchmarks/restoration.py [--faults 60] [--pandapower-faults 30] [--seed 1]
                                     [--sizes sample,10k]

Networks: the bundled sample county (4,840 nodes) and a generated ~10,000-node feeder group
(``openoms.grid.generate.generate_county`` with 5 substations × 10 feeders, the generator's
default seed). Faults: single sections drawn at random (seeded) among the energised sections.

Per fault: the wall time of ``RestorationPlanner.plan`` (outage area, isolation, islands,
candidates, topology previews, the one power-grid-model batch over every candidate, the
confirmation of the chosen ones, the steps), and, for the first ``--pandapower-faults``
faults, the same candidates (the plan's base state and each candidate's operations, on the
same sub-network; both stages of a two-stage plan) checked one by one with
``pandapower.runpp`` (a net built once per fault and stage; the build is reported apart, the
ratio uses the runpp calls only, so it favours pandapower). Both sides run single-threaded
(power-grid-model's batch sequentially).
Targets: the pandapower loop / the plan ≥ 15×, and under 100 ms per fault at 10k nodes
(median). Prints a table, writes ``benchmarks/results/restoration.json``; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any, Final

import numpy as np
from _results import machine, versions

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results" / "restoration.json"
TARGET_RATIO: Final = 15.0
TARGET_MS_10K: Final = 100.0
SIZES: Final = {"sample": None, "10k": (5, 10)}

_START: Final = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


def network_of(size: str) -> Any:
    from openoms.grid.load import check_raw, load_network
    from openoms.samples import bundled_path

    if SIZES[size] is None:
        return load_network(bundled_path("sample:county"))
    from openoms.grid.generate import generate_county

    substations, feeders = SIZES[size]  # type: ignore[misc]
    result = check_raw(generate_county(substations=substations, feeders_per_substation=feeders))
    assert result.network is not None
    return result.network


class PandapowerLoop:
    """The plan's candidates, one ``runpp`` each, on the planner's sub-network."""

    def __init__(self, network: Any, nodes: np.ndarray, source_u_pu: float) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandapower as pp
        self.pp = pp
        net = pp.create_empty_network()
        n = len(network.nodes.id)
        keep = np.zeros(n, dtype=np.bool_)
        keep[nodes] = True
        bus = np.full(n, -1, dtype=np.int64)
        kv = float(np.nanmax(network.substations.voltage_kv))
        bus[nodes] = pp.create_buses(net, len(nodes), vn_kv=kv)
        from openoms.grid.topology import STATION, Topology

        topology = Topology.build(network.graph_arrays(), network.closed_edges())
        for v in nodes[topology.feeder_of_nodes[nodes] == STATION].tolist():
            pp.create_ext_grid(net, int(bus[v]), vm_pu=source_u_pu)
        sec = network.sections
        rows = np.flatnonzero(keep[sec.from_node] & keep[sec.to_node])
        self.lines = pp.create_lines_from_parameters(
            net,
            bus[sec.from_node[rows]],
            bus[sec.to_node[rows]],
            length_km=sec.length_km[rows],
            r_ohm_per_km=np.nan_to_num(sec.r_ohm_per_km[rows], nan=0.27),
            x_ohm_per_km=np.nan_to_num(sec.x_ohm_per_km[rows], nan=0.35),
            c_nf_per_km=np.zeros(len(rows)),
            max_i_ka=np.where(sec.ampacity_a[rows] > 0, sec.ampacity_a[rows] / 1e3, 99.0),
        )
        self.line_edges = rows
        sw = network.switches
        srows = np.flatnonzero(keep[sw.from_node] & keep[sw.to_node])
        self.switches = pp.create_switches(
            net, bus[sw.from_node[srows]], bus[sw.to_node[srows]], et="b", closed=True
        )
        self.switch_edges = srows + len(sec.id)
        tan_phi = math.tan(math.acos(0.95))
        tas, hvs = network.transformer_areas, network.hv_customers
        ta = np.flatnonzero(keep[tas.node])
        hv = np.flatnonzero(keep[hvs.node])
        p = np.concatenate([tas.load_kw[ta], hvs.load_kw[hv]])
        load_bus = np.concatenate([bus[tas.node[ta]], bus[hvs.node[hv]]])
        if len(load_bus):
            pp.create_loads(net, load_bus, p_mw=p / 1e3, q_mvar=p * tan_phi / 1e3)
        self.net = net

    def run(self, closed: np.ndarray) -> float:
        """One candidate: set the states, run; the lowest supplied voltage."""
        net = self.net
        net.line["in_service"] = closed[self.line_edges]
        net.switch["closed"] = closed[self.switch_edges]
        try:
            self.pp.runpp(net, algorithm="nr", max_iteration=30)
        except self.pp.LoadflowNotConverged:
            return math.nan
        return float(np.nanmin(net.res_bus.vm_pu.to_numpy()))


def bench(size: str, faults: int, pp_faults: int, seed: int) -> dict[str, Any]:
    from openoms.grid.topology import Topology
    from openoms.restoration import RestorationPlanner

    say(f"{size}: building the network")
    network = network_of(size)
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    n_sections = len(network.sections.id)
    live = np.flatnonzero(topology.feeder_of_nodes[network.sections.to_node] >= 0)
    rng = np.random.default_rng(seed)
    picked = rng.choice(live, size=min(faults, len(live)), replace=False).tolist()
    planner = RestorationPlanner(network)
    planner.plan(topology, [picked[0]])  # warm-up (power-grid-model's first call)
    say(f"{size}: {len(network.nodes.id):,} nodes, planning {len(picked)} faults")
    plan_s: list[float] = []
    scenarios: list[int] = []
    restored = 0
    plans = []
    for section in picked:
        start = time.perf_counter()
        plan = planner.plan(topology, [section])
        plan_s.append(time.perf_counter() - start)
        scenarios.append(plan.scenarios)
        restored += plan.customers_restored
        plans.append(plan)
    say(f"{size}: pandapower loop over the candidates of {pp_faults} faults")
    pp_run_s: list[float] = []
    pp_build_s: list[float] = []
    ratio_plan_s: list[float] = []
    warmed = False
    for plan in plans[:pp_faults]:
        if not plan.candidates:  # nothing to restore from: no candidate to compare
            continue
        # both stages of a two-stage plan: the remote-only planning's candidates too
        stages = [plan] if plan.first_stage is None else [plan.first_stage, plan]
        built = ran = 0.0
        for stage in stages:
            if not stage.candidates:
                continue
            start = time.perf_counter()
            loop = PandapowerLoop(
                network, stage.power_flow_nodes, planner.settings.limits.source_u_pu
            )
            built += time.perf_counter() - start
            states = [stage.base_closed]
            for candidate in stage.candidates:
                closed = stage.base_closed.copy()
                for edge, close in candidate.ops:
                    closed[edge] = close
                states.append(closed)
            if not warmed:
                loop.run(states[0])  # numba compiles pandapower's kernels on the first call
                warmed = True
            start = time.perf_counter()
            for closed in states:
                loop.run(closed)
            ran += time.perf_counter() - start
        pp_build_s.append(built)
        pp_run_s.append(ran)
        ratio_plan_s.append(plan_s[plans.index(plan)])
    assert n_sections > 0
    out = {
        "network": size,
        "nodes": len(network.nodes.id),
        "faults": len(picked),
        "plan_ms_median": 1e3 * median(plan_s),
        "plan_ms_p90": 1e3 * float(np.percentile(plan_s, 90)),
        "plan_ms_max": 1e3 * max(plan_s),
        "scenarios_median": median(scenarios),
        "scenarios_max": max(scenarios),
        "customers_restored_total": restored,
        "pandapower_faults": len(pp_run_s),
        "pandapower_loop_ms_median": 1e3 * median(pp_run_s) if pp_run_s else None,
        "pandapower_build_ms_median": 1e3 * median(pp_build_s) if pp_build_s else None,
        "ratio_pandapower_loop_over_plan": (
            sum(pp_run_s) / sum(ratio_plan_s) if pp_run_s else None
        ),
    }
    say(f"{size}: done")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="FLISR planner benchmark (see the source).")
    parser.add_argument("--faults", type=int, default=60)
    parser.add_argument("--pandapower-faults", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", default="sample,10k")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    load_before = os.getloadavg()[0]
    rows = [
        bench(size, args.faults, args.pandapower_faults, args.seed)
        for size in args.sizes.split(",")
    ]
    load_after = os.getloadavg()[0]
    print(
        f"{'network':8} {'nodes':>7} {'faults':>6} {'plan ms (med/p90/max)':>24} "
        f"{'scen.':>6} {'pp loop ms':>10} {'ratio':>6}"
    )
    for r in rows:
        loop = r["pandapower_loop_ms_median"]
        ratio = r["ratio_pandapower_loop_over_plan"]
        print(
            f"{r['network']:8} {r['nodes']:>7,} {r['faults']:>6} "
            f"{r['plan_ms_median']:>8.1f} /{r['plan_ms_p90']:>6.1f} /{r['plan_ms_max']:>7.1f} "
            f"{r['scenarios_median']:>6} {loop if loop is None else round(loop, 1):>10} "
            f"{'-' if ratio is None else f'{ratio:.1f}×':>6}"
        )
    targets = {}
    for r in rows:
        ratio = r["ratio_pandapower_loop_over_plan"]
        targets[f"{r['network']}: pandapower loop / plan ≥ {TARGET_RATIO:.0f}×"] = (
            ratio is not None and ratio >= TARGET_RATIO
        )
        if r["network"] == "10k":
            targets[f"10k: median plan < {TARGET_MS_10K:.0f} ms"] = (
                r["plan_ms_median"] < TARGET_MS_10K
            )
    for name, met in targets.items():
        print(f"{'met' if met else 'NOT met'}: {name}")
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/restoration.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine(load_before, load_after),
        "versions": versions("openoms", "power-grid-model", "pandapower", "numpy"),
        "results": rows,
        "targets": targets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
