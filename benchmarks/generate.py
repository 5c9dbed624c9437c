"""County generator benchmark: the sample county, ~100k and ~1M nodes, each in a fresh process.

    python benchmarks/generate.py [--sizes sample,100k,1m] [--seed 20261128]

``openoms.grid.generate.generate_county`` at three sizes (substations × feeders per
substation): the sample county (3 × 8, 4,840 nodes with the default seed, the generator's),
40 × 12 (~100,000 nodes) and 390 × 12 (~1,000,000 nodes). Each runs in a fresh interpreter
(this script with ``--child``): wall and CPU time of the call, the element counts, how many
village names had to be numbered (李庄二村) because every fresh draw was taken, and the
process's peak RSS (``wait4``, as ``/usr/bin/time -v``). Target: a 1M-node county in under a
minute. The table on stdout; ``benchmarks/results/generate.json`` and ``.md`` are written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

RESULTS: Final = Path(__file__).resolve().parent / "results"
SIZES: Final = {"sample": (3, 8), "100k": (40, 12), "1m": (390, 12)}
TARGET_S: Final = 60.0
_NUMBERED: Final = re.compile("[二三四五六七八九十0-9]村$")


def child(substations: int, feeders: int, seed: int) -> int:
    """One generation in this fresh process; one JSON line on stdout."""
    from openoms.grid.generate import generate_county

    t0, c0 = time.perf_counter(), time.process_time()
    raw = generate_county(seed=seed, substations=substations, feeders_per_substation=feeders)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    areas = raw.tables["transformer_areas"].rows
    villages = {row["village"] for row in areas if row["village"]}
    document = {
        "wall_s": wall,
        "cpu_s": cpu,
        "counts": {name: len(table.rows) for name, table in raw.tables.items()},
        "villages": len(villages),
        "numbered_villages": sum(bool(_NUMBERED.search(v)) for v in villages),
        "area_names_unique": len({row["name"] for row in areas}) == len(areas),
    }
    print(json.dumps(document), flush=True)
    return 0


def spawn(substations: int, feeders: int, seed: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child"]
    command += [str(substations), str(feeders), "--seed", str(seed)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    document: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    document["process_peak_rss_bytes"] = usage.ru_maxrss * 1024
    document["substations"], document["feeders_per_substation"] = substations, feeders
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="County generator benchmark (see the source).")
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"of {', '.join(SIZES)}")
    parser.add_argument("--seed", type=int, default=20261128)  # the sample county's
    parser.add_argument("--out", type=Path, default=RESULTS / "generate.json")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child, args.seed)

    runs: dict[str, dict[str, Any]] = {}
    for size in args.sizes.split(","):
        substations, feeders = SIZES[size]
        print(f"generating {size} ({substations} × {feeders})", file=sys.stderr, flush=True)
        runs[size] = spawn(substations, feeders, args.seed)
    lines = [
        "# County generator: `generate_county`, each size in a fresh process",
        "",
        "| size | substations × feeders | nodes | sections | transformer areas "
        "| villages (numbered) | wall | CPU | process peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, run in runs.items():
        counts = run["counts"]
        lines.append(
            f"| {size} | {run['substations']} × {run['feeders_per_substation']} "
            f"| {counts['nodes']:,} | {counts['sections']:,} | {counts['transformer_areas']:,} "
            f"| {run['villages']:,} ({run['numbered_villages']:,}) | {run['wall_s']:.1f} s "
            f"| {run['cpu_s']:.1f} s | {run['process_peak_rss_bytes'] / 1024**2:,.0f} MiB |"
        )
    lines += [
        "",
        f"Seed {args.seed}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "when done. Numbered: villages whose drawn name was taken (李庄二村).",
    ]
    if "1m" in runs:
        big = runs["1m"]
        met = big["wall_s"] < TARGET_S
        lines += [
            "",
            f"- target a 1M-node county under {TARGET_S:g} s: {'met' if met else 'NOT met'} "
            f"({big['wall_s']:.1f} s wall, {big['cpu_s']:.1f} s CPU)",
        ]
    text = "\n".join(lines)
    print(text)
    document = {
        "benchmark": "generate",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "seed": args.seed,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    args.out.with_suffix(".md").write_text(text + "\n", "utf-8")
    return 0 if all(run["area_names_unique"] for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
