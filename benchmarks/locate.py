"""Fault location benchmark (issue 4): the locator against the matrix method and the exhaustive
minimum-Hamming search, on the same seeded distortion sets.

    python benchmarks/locate.py          # IEEE 33, county, synthetic 10k / 100k / 1M, ~3 min
    python benchmarks/locate.py --quick  # IEEE 33, county, the 10k-branch feeder, ~1 min
    python benchmarks/locate.py --full   # also one feeder of 1M nodes (~6 min)
    python benchmarks/locate.py --full --only "one feeder"  # the two one-feeder cases (~1 min)

Networks: IEEE 33 with an FTU on every branch; the sample county (its 442 detectors); the
topology benchmark's synthetic networks (feeders of ~2,000 nodes) with a relay per breaker,
an FTU per closed switch and an indicator on ~1 section in 10; one feeder of 10k branches
with a detector on each (10k zones: the exhaustive search's size); one feeder of 1M nodes.

Events: a fault in a random zone (uniform over zones), then 0, 1, 2 or 3 distinct detectors
distorted (a miss, a false alarm, or no data: one in three); on IEEE 33 and the county also 2
and 3 simultaneous faults (with 0 and 1 distortion). Every method sees the same statuses.
Figures: top-1, top-3, true zone inside the 0.95 region (the locator), time per event, and
whether the locator's answer scores the exhaustive optimum (up to 1e-9; ties count as equal).
The locator is measured as the user meets it (``_locate_run``): ``FaultLocator.locate`` on the
observations ``openoms locate`` and the service make (``group_observations``, timed apart),
and on a list of ``Observation`` objects; warm (the median event) and, in a fresh process, the
first run (importing, building the index and the locator, loading numba's compiled kernels or,
once, compiling them). Writes ``benchmarks/results/locate.json`` and ``locate.md``; progress on
stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _locate_cases import (
    ieee33_network,
    sample_network,
    synthetic_every_branch,
    synthetic_with_detectors,
    zone_trees,
)
from _locate_run import (
    METHODS,
    Feeder,
    grouped,
    make_events,
    prepare,
    run_multi,
    run_single,
)
from _results import machine, versions

RESULTS: Final = Path(__file__).resolve().parent / "results"
DISTORTIONS: Final = (0, 1, 2, 3)
SPEEDUP_10K: Final = 100.0
MS_1M: Final = 10.0
_START: Final = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


def plan(args: argparse.Namespace) -> list[tuple[str, Any, int, int, bool]]:
    """(name, builder, single-fault events per distortion count, multi-fault events per
    scenario, whether the exhaustive search runs)."""
    seed, q = args.seed, args.quick
    cases: list[tuple[str, Any, int, int, bool]] = [
        ("IEEE 33 (FTU per branch)", ieee33_network, 150 if q else 1000, 40 if q else 200, True),
        (
            "sample county",
            partial(sample_network, "sample:county"),
            150 if q else 500,
            40 if q else 200,
            True,
        ),
    ]
    if not q:
        cases += [
            (f"synthetic {n // 1000}k", partial(synthetic_with_detectors, n, seed=seed), e, 0, True)
            for n, e in ((10_000, 300), (100_000, 200))
        ]
        cases.append(
            ("synthetic 1M", partial(synthetic_with_detectors, 1_000_000, seed=seed), 200, 0, True)
        )
    ten = partial(synthetic_every_branch, 10_000, seed=seed)
    cases.append(("one feeder, 10k branches", ten, 3 if q else 5, 0, True))
    if args.full:
        one = partial(synthetic_with_detectors, 1_000_000, seed=seed, one_feeder=True)
        cases.append(("one feeder, 1M nodes", one, 3, 0, False))
    return cases


def make_locator(network: Any, topology: Any, m: dict[str, Any], largest: str) -> Any | None:
    """The locator, and its set-up: construction, then the zone tree of the largest feeder
    (built on first use)."""
    try:
        from openoms.faults.locator import FaultLocator
    except ImportError as error:
        m["locator"] = f"not measured: {error}"
        say(f"!!! FaultLocator not importable ({error}): measuring the baselines only")
        return None
    t0 = time.perf_counter()
    locator = FaultLocator(network, topology, prior="uniform")
    m["locator_build_ms"] = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    locator.zone_tree(largest)
    m["largest_tree_build_ms"] = (time.perf_counter() - t0) * 1e3
    return locator


def same_zones(locator: Any, feeders: list[Feeder], m: dict[str, Any]) -> None:
    """The locator's zones must be the benchmark's: same ids, same parents."""
    wrong = []
    for f in feeders:
        zones = {z.id: z.parent for z in locator.zones_of_feeder(f.tree.feeder)}
        ours = {
            z: (f.tree.ids[p] if p >= 0 else None)
            for z, p in zip(f.tree.ids, f.tree.parent.tolist(), strict=True)
        }
        if zones != ours:
            wrong.append(f.tree.feeder)
    m["zone_trees_differ"] = wrong
    if wrong:
        say(f"!!! the locator's zone trees differ from ours on feeders {wrong[:5]}")


def measure(
    name: str, build: Any, n_single: int, n_multi: int, exhaustive: bool, *, seed: int
) -> dict[str, Any]:
    from openoms.faults.observations import DEFAULT_RATES
    from openoms.grid import Topology

    say(f"{name}: building the network")
    t0 = time.perf_counter()
    network = build()
    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    trees = zone_trees(network, topology)
    feeders = [prepare(t, DEFAULT_RATES) for t in trees]
    m: dict[str, Any] = {
        "network": name,
        "nodes": len(network.nodes.id),
        "branches": network.n_edges,
        "feeders": len(trees),
        "detectors": len(network.detectors.id),
        "zones": sum(t.n for t in trees),
        "largest_feeder_zones": max(t.n for t in trees),
        "setup_s": 0.0,
        "scenarios": [],
    }
    largest = max(trees, key=lambda t: t.n).feeder
    locator = make_locator(network, topology, m, largest)
    if locator is not None:
        same_zones(locator, feeders, m)
    m["setup_s"] = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    scenarios: list[tuple[int, int, int]] = [(1, k, n_single) for k in DISTORTIONS]
    if n_multi:
        scenarios += [(faults, k, n_multi) for faults in (2, 3) for k in (0, 1)]
    for faults, k, n in scenarios:
        events = make_events(feeders, n_events=n, n_faults=faults, k=k, rng=rng)
        label = f"{faults} fault{'s' if faults > 1 else ''}, {k} distorted"
        say(f"{name}: {label}, {n} events")
        if faults == 1:
            tallies = run_single(feeders, events, locator, exhaustive=exhaustive, case=name)
        else:
            tallies = run_multi(feeders, events, locator, max_faults=3, case=name)
        row = {"faults": faults, "distorted": k, "events": n}
        row.update({method: tallies[method].summary() for method in METHODS})
        m["scenarios"].append(row)
        for method in ("locator", "objects", "arrays", "kernel"):
            for bad in tallies[method].mismatches[:3]:
                say(
                    f"!!! {method} NOT the exhaustive optimum (or failed): "
                    + json.dumps(bad, ensure_ascii=False)
                )
    return m


def _pct(summary: dict[str, Any], key: str) -> str:
    return "–" if not summary["events"] else f"{100 * summary[key]:.1f}"


def _us(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1e3:,.1f} ms" if value >= 10_000 else f"{value:,.0f} µs"


def _ratio(slow: dict[str, Any], fast: dict[str, Any]) -> str:
    if not (slow["median_us"] and fast["median_us"]):
        return "–"
    ratio = slow["median_us"] / fast["median_us"]
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def table(results: list[dict[str, Any]]) -> str:
    header = (
        "| network | faults | distorted | events | top-1 % locator / exhaustive / matrix "
        "| top-3 % locator / exhaustive | in 0.95 region % | locator = optimum "
        "| per event: locator / objects / arrays / kernel / exhaustive / matrix "
        "| exhaustive ÷ locator / objects / arrays / kernel | grouping (apart) |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        for s in r["scenarios"]:
            loc, obj, arr, ker, exh, mat = (s[m] for m in METHODS)
            ratio = " / ".join(_ratio(exh, x) for x in (loc, obj, arr, ker))
            optimum = f"{loc['optimal']} / {loc['checked']}" if loc["checked"] else "–"
            times = " / ".join(_us(x["median_us"]) for x in (loc, obj, arr, ker, exh, mat))
            lines.append(
                f"| {r['network']} | {s['faults']} | {s['distorted']} | {s['events']} "
                f"| {_pct(loc, 'top1')} / {_pct(exh, 'top1')} / {_pct(mat, 'top1')} "
                f"| {_pct(loc, 'top3')} / {_pct(exh, 'top3')} | {_pct(loc, 'in_region')} "
                f"| {optimum} | {times} | {ratio} | {_us(loc.get('grouping_median_us'))} |"
            )
    return "\n".join(lines)


def first_run_table(results: list[dict[str, Any]]) -> str:
    """Set-up and first calls: in a fresh process (first run), and warm in this one."""
    header = (
        "| network | first run, fresh process: import s / index ms / locator set-up ms / "
        "zone tree ms / grouping ms / first locate ms / second locate ms | warm: locator "
        "set-up ms / largest zone tree ms / locate median (1 fault, 0 distorted) |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        first = r.get("first_run")
        if not first:
            continue
        one = r["scenarios"][0]["locator"]["median_us"]
        lines.append(
            f"| {r['network']} | {first['import_s']:.2f} / {first['index_ms']:,.0f} / "
            f"{first['locator_ms']:,.1f} / {first['tree_ms']:,.1f} / {first['grouping_ms']:,.1f} "
            f"/ {first['locate_first_ms']:,.1f} / {first['locate_second_ms']:,.2f} "
            f"| {r.get('locator_build_ms', float('nan')):,.1f} / "
            f"{r.get('largest_tree_build_ms', float('nan')):,.1f} / {_us(one)} |"
        )
        compiling = first.get("compiling")
        if compiling:
            lines.append(
                f"| {r['network']}, first run ever (empty numba cache) | "
                f"{compiling['import_s']:.2f} / {compiling['index_ms']:,.0f} / "
                f"{compiling['locator_ms']:,.1f} / {compiling['tree_ms']:,.0f} / "
                f"{compiling['grouping_ms']:,.1f} / {compiling['locate_first_ms']:,.0f} / "
                f"{compiling['locate_second_ms']:,.2f} | |"
            )
    return "\n".join(lines)


def targets(results: list[dict[str, Any]]) -> list[dict[str, str]]:
    checks: list[dict[str, str]] = []

    def check(target: str, passed: bool | None, measured: str) -> None:
        status = "not measured" if passed is None else "PASS" if passed else "FAIL"
        checks.append({"target": target, "status": status, "measured": measured})

    for method in ("locator", "objects", "arrays", "kernel"):
        ok = sum(s[method]["optimal"] for r in results for s in r["scenarios"])
        asked = sum(s[method]["checked"] for r in results for s in r["scenarios"])
        check(
            f"{method}: equal to the exhaustive optimum on every event",
            ok == asked if asked else None,
            f"{ok:,} of {asked:,} events",
        )
    by_name = {r["network"]: r for r in results}
    ten = by_name.get("one feeder, 10k branches")
    for method in ("locator", "objects", "arrays", "kernel"):
        fast = [s[method]["median_us"] for s in ten["scenarios"]] if ten else []
        slow = [s["exhaustive"]["median_us"] for s in ten["scenarios"]] if ten else []
        ratio = min(x / y for x, y in zip(slow, fast, strict=True)) if all(fast) else 0.0
        check(
            f"10k sections: {method} ≥ {SPEEDUP_10K:g}× faster than the exhaustive search",
            ratio >= SPEEDUP_10K if fast and all(fast) else None,
            f"lowest over the distortion counts {ratio:,.1f}× "
            f"(slowest median {max(fast) / 1e3:.2f} ms vs {min(slow) / 1e3:.0f} ms)"
            if fast and all(fast)
            else "not run",
        )
    for name in ("synthetic 1M", "one feeder, 1M nodes"):
        r = by_name.get(name)
        for method in ("locator", "objects", "arrays", "kernel"):
            times = [s[method]["median_us"] for s in r["scenarios"]] if r else []
            times = [t for t in times if t is not None]
            check(
                f"{name}: {method} < {MS_1M:g} ms per event (median)",
                max(times) < MS_1M * 1e3 if times else None,
                f"slowest median {max(times) / 1e3:.2f} ms" if times else "not in this run",
            )
    return checks


FIRST_RUN_CASES: Final = ("one feeder, 10k branches", "one feeder, 1M nodes")


def first_run(name: str, seed: int) -> dict[str, Any]:
    """Run in a fresh process (``--first-run NAME``): what ``openoms locate`` or the service
    meets the first time on network ``name``: importing the locator, building the topology
    index and the locator, the feeder's zone tree, grouping an event's reports, the first
    locate (loading numba's compiled kernels, or compiling them with an empty cache) and a
    second one."""
    t0 = time.perf_counter()
    from openoms.faults.locator import FaultLocator
    from openoms.faults.observations import DEFAULT_RATES
    from openoms.grid import Topology

    out: dict[str, Any] = {"import_s": time.perf_counter() - t0}
    builder = next(
        case[1]
        for case in plan(argparse.Namespace(seed=seed, quick=False, full=True))
        if case[0] == name
    )
    network = builder()

    def clock(key: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        value = fn()
        out[key] = (time.perf_counter() - t0) * 1e3
        return value

    topology = clock(
        "index_ms", lambda: Topology.build(network.graph_arrays(), network.closed_edges())
    )
    locator = clock("locator_ms", lambda: FaultLocator(network, topology, prior="uniform"))
    feeders = [prepare(t, DEFAULT_RATES) for t in zone_trees(network, topology)]
    feeder = max(feeders, key=lambda f: f.tree.n)
    clock("tree_ms", lambda: locator.zone_tree(feeder.tree.feeder))
    events = make_events([feeder], n_events=2, n_faults=1, k=1, rng=np.random.default_rng(seed))
    first, grouping_us = grouped(locator, feeder, events[0].status)
    out["grouping_ms"] = grouping_us / 1e3
    second, _ = grouped(locator, feeder, events[1].status)
    clock("locate_first_ms", lambda: locator.locate(feeder.tree.feeder, first))
    clock("locate_second_ms", lambda: locator.locate(feeder.tree.feeder, second))
    return out


def first_runs(names: list[str], seed: int) -> dict[str, dict[str, Any]]:
    """``first_run`` in a fresh process per network, numba's on-disk cache as it is; for the
    first also with an empty cache (compiling every kernel, as the first run after installing
    does)."""
    command = [sys.executable, __file__, "--seed", str(seed), "--first-run"]
    runs: dict[str, dict[str, Any]] = {}
    for name in names:
        say(f"{name}: first run in a fresh process")
        done = subprocess.run([*command, name], capture_output=True, check=True)
        runs[name] = json.loads(done.stdout)
    if names:
        say(f"{names[0]}: first run with an empty numba cache (compiling)")
        with tempfile.TemporaryDirectory() as empty:
            env = {**os.environ, "NUMBA_CACHE_DIR": empty}
            done = subprocess.run([*command, names[0]], capture_output=True, check=True, env=env)
        runs[names[0]]["compiling"] = json.loads(done.stdout)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fault location benchmark (see the source).")
    parser.add_argument(
        "--quick", action="store_true", help="IEEE 33, county, the 10k-branch feeder: ~1 min"
    )
    parser.add_argument("--full", action="store_true", help="also one feeder of 1M nodes")
    parser.add_argument(
        "--only", default="", help="only the networks whose name contains this (e.g. 'one feeder')"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "locate.json")
    parser.add_argument("--first-run", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_run:
        print(json.dumps(first_run(args.first_run, args.seed)))
        return 0
    load_before = os.getloadavg()
    cases = [case for case in plan(args) if args.only in case[0]]
    runs = first_runs([c[0] for c in cases if c[0] in FIRST_RUN_CASES], args.seed)
    # the warm figures are the service's: numba loaded (openoms warm-up at start), every kernel
    # compiled; a one-shot process on a small network runs them interpreted (openoms.grid.jit),
    # which the first-run figures (fresh processes, the default mode) show
    from openoms.faults import kernels, zones
    from openoms.grid import _kernels

    for module in (kernels, zones, _kernels):
        module.compile_kernels()
    results = [measure(*case, seed=args.seed) for case in cases]
    for r in results:
        if r["network"] in runs:
            r["first_run"] = runs[r["network"]]
    checks = targets(results)
    load_after = os.getloadavg()
    text = table(results) + "\n\n" + first_run_table(results)
    lines = [f"{c['status']:>12}  {c['target']}: {c['measured']}" for c in checks]
    print("\n" + text + "\n")
    for r in results:
        print(
            f"{r['network']}: {r['nodes']:,} nodes, {r['feeders']} feeders, {r['zones']:,} zones "
            f"(largest feeder {r['largest_feeder_zones']:,}); locator build "
            f"{r.get('locator_build_ms', float('nan')):,.0f} ms; set-up {r['setup_s']:.1f} s"
        )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after\n"
    )
    print("\n".join(lines))
    document = {
        "benchmark": "locate",
        "command": " ".join(["python", "benchmarks/locate.py", *(argv or sys.argv[1:])]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before[0], load_after[0]),
        "versions": versions("openoms", "numpy", "numba", "scipy"),
        "networks": results,
        "targets": checks,
        "total_s": round(time.perf_counter() - _START, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    args.out.with_suffix(".md").write_text(
        f"# Fault location benchmark\n\n`{document['command']}` at {document['at']}, "
        f"{document['total_s']} s\n\n{text}\n\n```\n" + "\n".join(lines) + "\n```\n",
        "utf-8",
    )
    say(f"done in {time.perf_counter() - _START:.0f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
