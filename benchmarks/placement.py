"""Automation placement benchmark: the full candidate ranking on the sample county.

    python benchmarks/placement.py [--budget 20] [--full-sample N]

``openoms.reliability.placement`` evaluates every candidate change (a manual switch made
remote, a new FTU switch on every section, a recloser for every fuse and non-protective
switch) on the bundled sample county twice: incrementally (each candidate predicts only the
feeders it touches, each on its own sub-network) and straightforwardly (the candidate applied
to the whole network, which is predicted again). Both are timed as the FIRST run in the
process (not the best of several), and their numbers compared (the largest difference of
ΔSAIDI, ΔSAIFI, ΔEENS over all candidates). Then the greedy budget plan (``--budget``
devices, re-evaluated after each pick). ``--full-sample N``: time the straightforward path on
every N-th candidate only and scale (1: all of them, the default). Writes
``benchmarks/results/placement.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import machine, versions  # noqa: E402

from openoms.grid.load import load_network  # noqa: E402
from openoms.reliability.placement import Placement  # noqa: E402
from openoms.reliability.predict import PredictSettings  # noqa: E402
from openoms.samples import bundled_path  # noqa: E402

RESULTS: Final = ROOT / "benchmarks" / "results" / "placement.json"
COSTS: Final = {"remote_switch": 3.5, "new_ftu_switch": 8.0, "recloser": 6.0, "tie": 30.0}
_START: Final = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f} s] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Automation placement benchmark (see source).")
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--full-sample", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    network = load_network(bundled_path("sample:county"))
    settings = PredictSettings()
    t0 = time.perf_counter()
    placement = Placement(network, COSTS, settings)
    setup_s = time.perf_counter() - t0
    candidates = placement.candidates()
    kinds = Counter(c.kind for c in candidates)
    say(f"{len(candidates)} candidates {dict(kinds)}; incremental")
    t0 = time.perf_counter()
    fast = placement.evaluate(candidates)
    incremental_s = time.perf_counter() - t0
    say(f"incremental {incremental_s:.1f} s; the whole network per candidate now")
    sample = candidates[:: args.full_sample]
    t0 = time.perf_counter()
    slow = placement.evaluate(sample, incremental=False)
    full_s = (time.perf_counter() - t0) * len(candidates) / len(sample)
    say(f"full {full_s:.1f} s; the plan now")
    by_label = {e.candidate: e for e in fast}
    worst = {"d_saidi_h": 0.0, "d_saifi": 0.0, "d_eens_kwh": 0.0}
    for b in slow:
        a = by_label[b.candidate]
        for key, value in worst.items():
            worst[key] = max(value, abs(getattr(a, key) - getattr(b, key)))
    t0 = time.perf_counter()
    plan = placement.plan(candidates, count=args.budget, effects=fast)
    plan_s = time.perf_counter() - t0
    out = plan.as_dict()
    ranked = placement.rank(fast)
    saifi, saidi, eens = placement.system()
    print(
        f"sample county: {len(network.feeders.id)} feeders, {len(network.nodes.id):,} nodes; "
        f"{len(candidates):,} candidates ({', '.join(f'{k} {v}' for k, v in kinds.items())})"
    )
    print(f"setup (base prediction): {setup_s:.2f} s")
    print(
        f"full ranking, incremental (touched feeders only): {incremental_s:.1f} s "
        f"({1e3 * incremental_s / len(candidates):.1f} ms per candidate), first run"
    )
    print(
        f"full ranking, whole network per candidate: {full_s:.1f} s "
        f"({1e3 * full_s / len(candidates):.1f} ms per candidate"
        + (f", {len(sample)} timed and scaled" if len(sample) < len(candidates) else "")
        + "), first run"
    )
    print(f"ratio whole / incremental: {full_s / incremental_s:.1f}×")
    print(
        "largest difference between the two over "
        f"{len(sample):,} candidates: ΔSAIDI {60 * worst['d_saidi_h']:.2e} min, "
        f"ΔSAIFI {worst['d_saifi']:.2e}, ΔEENS {worst['d_eens_kwh']:.2e} kWh"
    )
    best = ranked[0]
    print(
        f"best per cost: {best.candidate.kind} {best.name} ({best.candidate.element}): "
        f"ΔSAIDI {60 * best.d_saidi_h:.2f} min, cost {best.cost:g}"
    )
    print(
        f"plan, {args.budget} devices (greedy, re-evaluated after each pick): {plan_s:.1f} s; "
        f"cost {out['cost']:g} (10k CNY), SAIDI {60 * saidi:.1f} → "
        f"{out['after']['saidi_min']:.1f} min ({out['change_pct']['saidi']:+.1f} %), "
        f"SAIFI {saifi:.3f} → {out['after']['saifi']:.3f}"
    )
    same = all(v < 1e-9 for v in (60 * worst["d_saidi_h"], worst["d_saifi"])) and (
        worst["d_eens_kwh"] < 1e-6
    )
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/placement.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine(load_before, os.getloadavg()[0]),
        "versions": versions("openoms", "numpy"),
        "candidates": dict(kinds),
        "setup_s": setup_s,
        "incremental_s": incremental_s,
        "full_s": full_s,
        "full_timed_candidates": len(sample),
        "ratio_full_over_incremental": full_s / incremental_s,
        "largest_difference": worst,
        "same_results": same,
        "plan_s": plan_s,
        "plan": {k: v for k, v in out.items() if k != "steps"},
        "system_before": {"saifi": saifi, "saidi_min": 60 * saidi, "eens_kwh": eens},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{'met' if same else 'NOT met'}: incremental == whole-network numbers")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
