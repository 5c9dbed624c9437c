"""The speed users feel (issue 11): whole ``openoms`` processes, wall time and peak RSS.

    python benchmarks/cli.py                         # county + 100k nodes, ~5 min
    python benchmarks/cli.py --quick                 # the county only, ~1 min
    python benchmarks/cli.py --sizes 100000,1000000  # also a 1M-node county (slow to generate)

Commands, each run as its own process exactly as a user types it: ``openoms --help``,
``openoms grid check NET``, ``openoms impact NET --open SWITCH``, ``openoms switching NET
open:… close:…`` and ``openoms locate NET --reports FILE``, on the sample county
(``sample:county`` with the recorded fault ``docs/examples/fault-bs-f05.txt``; switching: the
transfer of ``openoms switching --help``) and on counties made by ``openoms.grid.generate`` with
about ``--sizes`` nodes (written as CSV folders; the switch and a recorded fault, trip,
failed reclose and the alarms on the path to the deepest indicator of the feeder with the
most detectors, are picked from the network).

Per command, side by side:

- **old path**: ``--no-cache`` (read, parse, validate, index: what every call did before the
  snapshots), kernels already compiled; median of ``--repeats``;
- **first run, cold**: no snapshot and an empty ``NUMBA_CACHE_DIR`` (the first command after
  installing: numba compiles what the command runs); one run;
- **first run**: no snapshot, kernels compiled (the first command on a new network); one run;
- **repeated**: the snapshot saved by the first run; median of ``--repeats``;

and the ratio old / repeated. ``grid check`` always reads its files (listing every problem is
its job) and runs no kernel: one figure, median of ``--repeats``. Also timed: ``openoms warm-up``
with an empty cache and again with a full one.

Wall time from ``time.perf_counter`` around the process; peak RSS ("Maximum resident set
size") and CPU time from GNU ``/usr/bin/time`` (Debian package ``time``), or without it from
``os.wait4`` in a small Python parent. Every process gets a fresh ``OPENOMS_DATA_DIR`` or the
one holding the snapshot, and its own ``NUMBA_CACHE_DIR``. Prints a Markdown table and writes
``benchmarks/results/cli.json`` with every raw run; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any, Final

from _results import machine, versions

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results" / "cli.json"
COUNTY_FAULT: Final = ROOT / "docs" / "examples" / "fault-bs-f05.txt"
COUNTY_SWITCH: Final = "CG-F01-K03"
COUNTY_SWITCHING: Final = ("open:CG-F01-K06", "close:CG-F01-K13")  # the --help example
NODES_PER_FEEDER: Final = 210  # of the generated county, about
KNOWN_SIZES: Final = {100_000: 40, 1_000_000: 390}  # substations, as benchmarks/generate.py
FEEDERS_PER_SUBSTATION: Final = 12
TARGET_REPEATED_COUNTY_S: Final = 0.5
TARGET_REPEATED_100K_S: Final = 1.0
TARGET_HELP_S: Final = 0.3
_START: Final = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- running one process -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    rss_mib: float
    code: int


_TIME: Final = Path("/usr/bin/time")  # GNU time: the child's own peak RSS
# Without it, a small Python parent waits for the command and reports its rusage: the peak RSS
# of a process started straight from this one would include this process's own (Linux keeps
# the high-water mark across fork and exec).
_WAITER: Final = (
    "import json, os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); "
    "_, s, u = os.wait4(p.pid, 0); "
    "json.dump([os.waitstatus_to_exitcode(s), u.ru_maxrss, u.ru_utime + u.ru_stime], sys.stderr)"
)


def run_process(args: list[str], env: dict[str, str]) -> Run:
    """One process: wall time around it; its peak RSS and CPU time from GNU time (or a small
    waiting parent where there is none)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        if _TIME.exists():
            command = [str(_TIME), "-f", "%x %M %U %S", "-o", report.name, *args]
        else:
            command = [sys.executable, "-c", _WAITER, *args]
        start = time.perf_counter()
        done = subprocess.run(
            command,
            check=False,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=env["BENCH_CWD"],
        )
        wall = time.perf_counter() - start
        if _TIME.exists():
            fields = report.read().split()[-4:]
            code, rss_kib, cpu = int(fields[0]), int(fields[1]), float(fields[2]) + float(fields[3])
        else:
            code, rss_kib, cpu = json.loads(done.stderr.decode().splitlines()[-1])
    if code not in (0, 1):  # grid check exits 1 on errors; anything else is a failure
        message = done.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(args)} exited {code}: {message}")
    if sys.platform == "darwin":  # ru_maxrss in bytes there
        rss_kib //= 1024
    return Run(wall, cpu, rss_kib / 1024, code)


def openoms() -> list[str]:
    script = Path(sys.executable).with_name("openoms")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from openoms.cli import run; run()"]


class Scratch:
    """Fresh folders for data dirs and numba caches, under one temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def fresh(self, what: str) -> Path:
        self.n += 1
        path = self.root / f"{what}-{self.n}"
        path.mkdir(parents=True)
        return path


def environment(data_dir: Path, numba_cache: Path, cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENOMS_", "NUMBA_"))}
    env |= {
        "OPENOMS_DATA_DIR": str(data_dir),
        "NUMBA_CACHE_DIR": str(numba_cache),
        "BENCH_CWD": str(cwd),
    }
    return env


# -- networks ------------------------------------------------------------------------------------


@dataclass
class Net:
    name: str
    path: str  # what the command is given
    nodes: int
    switch: str
    reports: Path
    how: str
    info: dict[str, Any] = field(default_factory=dict)
    switching: tuple[str, ...] = ()  # the operations of ``openoms switching``


def generated(n_nodes: int, folder: Path) -> Net:
    """A county of about ``n_nodes`` nodes from the generator, written as CSV, with a switch
    to open and a recorded fault on it."""
    from openoms.grid.generate import generate_county
    from openoms.grid.load import load_network
    from openoms.grid.native import write_csv_folder

    substations = KNOWN_SIZES.get(n_nodes) or max(
        1, round(n_nodes / NODES_PER_FEEDER / FEEDERS_PER_SUBSTATION)
    )
    t0 = time.perf_counter()
    raw = generate_county(substations=substations, feeders_per_substation=FEEDERS_PER_SUBSTATION)
    made_s = time.perf_counter() - t0
    write_csv_folder(raw, folder)
    del raw
    network = load_network(folder)
    switch, reports = fault_on(network, folder.with_suffix(".reports.txt"))
    size = sum(f.stat().st_size for f in folder.iterdir())
    return Net(
        name=f"generated {len(network.nodes.id) / 1000:,.0f}k",
        path=str(folder),
        nodes=len(network.nodes.id),
        switch=switch,
        reports=reports,
        switching=(f"open:{switch}",),
        how=f"generate_county(substations={substations}, feeders_per_substation="
        f"{FEEDERS_PER_SUBSTATION}) in {made_s:.1f} s, CSV {size / 2**20:.0f} MiB",
        info={
            "sections": len(network.sections.id),
            "switches": len(network.switches.id),
            "detectors": len(network.detectors.id),
            "feeders": len(network.feeders.id),
            "generate_s": round(made_s, 2),
            "csv_mib": round(size / 2**20, 1),
        },
    )


def fault_on(network: Any, target: Path) -> tuple[str, Path]:
    """A trunk switch to open and a recorded permanent fault below the deepest indicator of
    the feeder with the most detectors (the ``mosquitto_sub -v`` form of the example)."""
    import numpy as np

    from openoms.grid.topology import Topology

    topology = Topology.build(network.graph_arrays(), network.closed_edges())
    det = network.detectors
    ends = np.stack([network.edge_from[det.edge], network.edge_to[det.edge]])
    lower = np.where(topology.parent_edge_of_nodes[ends[1]] == det.edge, ends[1], ends[0])
    feeder_of = topology.feeder_of_nodes[lower]
    feeder = int(np.argmax(np.bincount(feeder_of[feeder_of >= 0])))
    on_feeder = np.flatnonzero((feeder_of == feeder) & (np.asarray(det.kind) != "relay"))
    deepest = int(on_feeder[np.argmax(topology.depth_of_nodes[lower[on_feeder]])])
    _, path_edges = topology.path_to_source(int(lower[deepest]))
    on_path = set(path_edges.tolist())
    n_sections = len(network.sections.id)
    trunk = [int(e) for e in path_edges[::-1].tolist() if e >= n_sections]
    switch = network.edge_id(trunk[len(trunk) // 2] if trunk else int(path_edges[-1]))
    head = network.edge_id(int(network.feeders.head_edge[feeder]))
    ts = 1_764_294_722_000
    lines = [f"# a permanent AB fault below {det.id[deepest]} on {network.feeders.id[feeder]}"]
    for i in np.flatnonzero(feeder_of == feeder).tolist():
        kind = det.kind[i]
        if kind == "relay" or int(det.edge[i]) not in on_path:
            continue
        topic = "indicators" if kind == "fault_indicator" else "ftus"
        payload = {
            "sn": det.id[i],
            "ts": ts + i % 50,
            "msg_id": f"m{i}",
            "data": {"short_circuit_a": 1, "short_circuit_b": 1},
        }
        lines.append(f"openoms/demo/{topic}/{det.id[i]}/report {json.dumps(payload)}")
    for n, (event, extra) in enumerate(
        [("trip", {"lockout": False}), ("reclose", {"success": False})]
    ):
        payload = {"sn": head, "ts": ts + 100 + 1500 * n, "event": event, "msg_id": f"h{n}"}
        lines.append(f"openoms/demo/switches/{head}/event {json.dumps(payload | extra)}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return switch, target


def county() -> Net:
    from openoms.samples import bundled_path

    return Net(
        name="sample county",
        path="sample:county",
        nodes=(bundled_path("sample:county") / "nodes.csv").read_text("utf-8").count("\n") - 1,
        switch=COUNTY_SWITCH,
        reports=COUNTY_FAULT,
        switching=COUNTY_SWITCHING,
        how="bundled sample:county, docs/examples/fault-bs-f05.txt",
    )


# -- measuring -------------------------------------------------------------------------------


def summary(runs: list[Run]) -> dict[str, Any]:
    return {
        "wall_s": round(median(r.wall_s for r in runs), 3),
        "cpu_s": round(median(r.cpu_s for r in runs), 3),
        "rss_mib": round(max(r.rss_mib for r in runs), 1),
        "runs": [
            {
                "wall_s": round(r.wall_s, 3),
                "cpu_s": round(r.cpu_s, 3),
                "rss_mib": round(r.rss_mib, 1),
            }
            for r in runs
        ],
    }


def measure_command(
    net: Net, command: str, scratch: Scratch, warm_numba: Path, repeats: int
) -> dict[str, Any]:
    base = openoms()
    if command == "grid check":
        args = [*base, "grid", "check", net.path, "--lang", "en"]
        cacheable = False
    elif command == "impact":
        args = [*base, "impact", net.path, "--open", net.switch, "--lang", "en"]
        cacheable = True
    elif command == "switching":
        args = [*base, "switching", net.path, *net.switching, "--lang", "en"]
        cacheable = True
    else:
        args = [*base, "locate", net.path, "--reports", str(net.reports), "--lang", "en"]
        cacheable = True
    cwd = scratch.fresh("cwd")

    def env(data: Path | None = None, numba: Path | None = None) -> dict[str, str]:
        return environment(data or scratch.fresh("data"), numba or warm_numba, cwd)

    label = {"label": command, "command": " ".join(["openoms", *args[len(base) :]])}
    if command not in _PRIMED:  # the kernels this command runs, compiled into warm_numba
        run_process(args, env())
        _PRIMED.add(command)
    if not cacheable:
        say(f"{net.name}: {command}")
        runs = [run_process(args, env()) for _ in range(repeats)]
        return {**label, "old": summary(runs), "cacheable": False}
    say(f"{net.name}: {command}: old path")
    old = [run_process([*args, "--no-cache"], env()) for _ in range(repeats)]
    say(f"{net.name}: {command}: first run, cold (empty numba cache)")
    cold = [run_process(args, env(numba=scratch.fresh("numba")))]
    say(f"{net.name}: {command}: first run")
    data = scratch.fresh("data")
    first = [run_process(args, env(data))]  # and saves the snapshot
    say(f"{net.name}: {command}: repeated")
    repeated = [run_process(args, env(data)) for _ in range(repeats)]
    out: dict[str, Any] = {
        **label,
        "old": summary(old),
        "first_cold": summary(cold),
        "first": summary(first),
        "repeated": summary(repeated),
        "cacheable": True,
    }
    out["old_over_repeated"] = round(out["old"]["wall_s"] / out["repeated"]["wall_s"], 1)
    return out


_PRIMED: set[str] = set()


def measure_help(scratch: Scratch, warm_numba: Path, repeats: int) -> dict[str, Any]:
    cwd = scratch.fresh("cwd")
    runs = [
        run_process([*openoms(), "--help"], environment(scratch.fresh("data"), warm_numba, cwd))
        for _ in range(repeats)
    ]
    return {"command": "openoms --help", "repeated": summary(runs)}


def measure_warm_up(scratch: Scratch, warm_numba: Path) -> dict[str, Any]:
    cwd = scratch.fresh("cwd")
    data = scratch.fresh("data")
    say("openoms warm-up, empty numba cache")
    cold = run_process([*openoms(), "warm-up"], environment(data, warm_numba, cwd))
    say("openoms warm-up, again")
    again = run_process([*openoms(), "warm-up"], environment(data, warm_numba, cwd))
    return {"first": summary([cold]), "again": summary([again])}


# -- reporting ---------------------------------------------------------------------------------


def cell(figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "–"
    return f"{figures['wall_s']:.2f} s · {figures['rss_mib']:.0f} MiB"


def table(rows: list[dict[str, Any]], help_row: dict[str, Any]) -> str:
    lines = [
        "| network | command | old path (--no-cache) | first run, cold (empty numba cache) "
        "| first run (kernels cached) | repeated (snapshot) | old / repeated |",
        "|---|---|---|---|---|---|---|",
        f"| – | `openoms --help` | – | – | – | {cell(help_row['repeated'])} | – |",
    ]
    for r in rows:
        if not r["cacheable"]:  # every run reads the files: one figure
            lines.append(
                f"| {r['network']} | `{r['label']}` | {cell(r['old'])} | (no kernels) "
                "| (always reads) | (always reads) | – |"
            )
            continue
        lines.append(
            f"| {r['network']} | `{r['label']}` | {cell(r['old'])} | {cell(r['first_cold'])} "
            f"| {cell(r['first'])} | {cell(r['repeated'])} | {r['old_over_repeated']:.1f}× |"
        )
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]], help_row: dict[str, Any]) -> list[dict[str, str]]:
    out = []

    def check(target: str, passed: bool, measured: str) -> None:
        out.append(
            {"target": target, "status": "met" if passed else "NOT MET", "measured": measured}
        )

    help_s = help_row["repeated"]["wall_s"]
    check(f"openoms --help under {TARGET_HELP_S} s", help_s < TARGET_HELP_S, f"{help_s:.2f} s")
    for r in rows:
        if not r["cacheable"]:
            continue
        limit = TARGET_REPEATED_COUNTY_S if r["network"] == "sample county" else None
        if limit is None and 90_000 <= r["nodes"] <= 150_000:
            limit = TARGET_REPEATED_100K_S
        if limit is None:
            continue
        wall = r["repeated"]["wall_s"]
        check(
            f"repeated {r['label']} on the {r['network']} under {limit} s",
            wall < limit,
            f"{wall:.2f} s (old path {r['old']['wall_s']:.2f} s)",
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CLI wall time and peak RSS (see the source).")
    parser.add_argument("--sizes", default="100000", help="generated counties, nodes (comma list)")
    parser.add_argument("--quick", action="store_true", help="the sample county only")
    parser.add_argument("--repeats", type=int, default=5, help="runs of the warm columns")
    parser.add_argument("--big-repeats", type=int, default=2, help="the same above 500k nodes")
    parser.add_argument("--commands", default="grid check,impact,switching,locate")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    sizes = [] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]

    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="openoms-bench-cli-"))
    scratch = Scratch(root)
    try:
        warm_numba = scratch.fresh("numba-warm")
        warm_up = measure_warm_up(scratch, warm_numba)
        help_row = measure_help(scratch, warm_numba, args.repeats)
        nets = [county()]
        for size in sizes:
            say(f"generating a county of about {size:,} nodes")
            nets.append(generated(size, root / f"net-{size}"))
        rows = []
        for net in nets:
            repeats = args.big_repeats if net.nodes > 500_000 else args.repeats
            for command in commands:
                row = measure_command(net, command, scratch, warm_numba, repeats)
                rows.append({"network": net.name, "nodes": net.nodes, **row})
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()
    checks = targets(rows, help_row)

    print()
    print(table(rows, help_row))
    print()
    print(
        f"openoms warm-up: {warm_up['first']['wall_s']:.1f} s with an empty numba cache "
        f"(compiling every kernel), {warm_up['again']['wall_s']:.1f} s again (loading them)"
    )
    for net in nets:
        print(f"{net.name}: {net.nodes:,} nodes; {net.how}")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (other processes skew wall times; cpu_s in the JSON less)"
    )
    print()
    for c in checks:
        print(f"{c['status']:>8}  {c['target']}: {c['measured']}")

    document = {
        "benchmark": "cli",
        "command": " ".join(["python", "benchmarks/cli.py", *(argv or sys.argv[1:])]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before[0], load_after[0]),
        "versions": versions("openoms", "numpy", "numba", "scipy", "click"),
        "how": "median wall time (perf_counter) and max peak RSS (GNU time %M) per column",
        "networks": [
            {"network": n.name, "nodes": n.nodes, "how": n.how, "switch": n.switch, **n.info}
            for n in nets
        ],
        "warm_up": warm_up,
        "help": help_row,
        "commands": rows,
        "targets": checks,
        "total_s": round(time.perf_counter() - _START, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    say(f"done; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
