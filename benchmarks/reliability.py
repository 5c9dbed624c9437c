"""Reliability engine benchmark: all indices by feeder and month, against pandas.

    python benchmarks/reliability.py [--rows 10000000] [--quick] [--seed 1] [--no-pandas]

Data: a synthetic province over five years (2020-2024, Asia/Shanghai): 200,000 units
(transformer areas, 1 % HV customers) on 5,000 feeders of 40 units under 500 substations.
Interruption events hit a run of neighbouring units of one feeder (1 + geometric, mean ~20
units); ~10 % of the (event, unit) pairs are restored in two steps; ~30 % of the events are
momentary (30-240 s), a few last exactly 300 s; classes and causes are drawn at random. The
rows are shuffled, so the engine cannot rely on their order. ``--rows`` sets the row count
(default ten million); ``--quick`` is 200,000 rows.

Measured, for ``openoms.reliability.compute(..., by=("feeder", "month"))`` (every IEEE 1366
and DL/T 836 index per feeder and month, plus the system indices, MED split and worst lists)
and for a straightforward pandas implementation of the same per-feeder-and-month indices
(``groupby`` on (event, unit), then on (feeder, month[, unit])): wall time (best of
``--repeat``), peak traced memory (tracemalloc, in a separate run) and the process's peak RSS.
Both results are compared index by index (relative 1e-9). Progress on stderr; the table on
stdout; ``benchmarks/results/reliability.json`` and ``.md`` are written.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

RESULTS: Final = Path(__file__).resolve().parent / "results"
TZ: Final = "Asia/Shanghai"
START: Final = int(datetime(2019, 12, 31, 16, tzinfo=UTC).timestamp())  # 2020-01-01 00:00 +08
END: Final = int(datetime(2024, 12, 31, 16, tzinfo=UTC).timestamp())  # 2025-01-01 00:00 +08

UNITS: Final = 200_000
UNITS_PER_FEEDER: Final = 40
FEEDERS_PER_SUBSTATION: Final = 10
HV_SHARE: Final = 0.01
MEAN_UNITS_PER_EVENT: Final = 20
TWO_STEP_SHARE: Final = 0.10
MOMENTARY_SHARE: Final = 0.30

TARGET_S: Final = 5.0
TARGET_BYTES: Final = 2 * 1024**3
RTOL: Final = 1e-9

# the per-group columns both implementations produce
COLUMNS: Final = (
    "customers",
    "customers_interrupted",
    "customer_minutes",
    "users",
    "saifi",
    "saidi_min",
    "caidi_min",
    "caifi",
    "ctaidi_min",
    "asai",
    "asifi",
    "asidi_min",
    "maifi",
    "maifie",
    "cemi_n",
    "cemsmi_n",
    "celid_s",
    "celid_t",
    "aihc1_h",
    "aihc2_h",
    "aihc3_h",
    "rs1_pct",
    "rs2_pct",
    "rs3_pct",
    "aitc1",
)

_T0: Final = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.perf_counter() - _T0:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------


def make_data(n_rows: int, *, seed: int) -> tuple[Any, Any]:
    """(CustomerBase, Interruptions) of about ``n_rows`` rows, vectorised and seeded."""
    from openoms.reliability.data import CustomerBase, Interruptions

    rng = np.random.default_rng(seed)
    n_units = UNITS if n_rows >= 1_000_000 else max(UNITS_PER_FEEDER * 10, n_rows // 50)
    n_feeders = n_units // UNITS_PER_FEEDER
    n_units = n_feeders * UNITS_PER_FEEDER
    n_subs = -(-n_feeders // FEEDERS_PER_SUBSTATION)
    is_hv = rng.random(n_units) < HV_SHARE
    customers = np.where(is_hv, 1, rng.integers(20, 300, n_units)).astype(np.int64)
    load_kva = np.where(is_hv, rng.choice([630.0, 1250.0, 2000.0], n_units), 0.0)
    load_kva += np.where(is_hv, 0.0, rng.choice([100.0, 200.0, 315.0, 400.0, 630.0], n_units))
    feeder = np.arange(n_units, dtype=np.int64) // UNITS_PER_FEEDER
    base = CustomerBase(
        unit_id=tuple(f"U{u}" for u in range(n_units)),
        is_hv=is_hv,
        customers=customers,
        load_kva=load_kva,
        feeder=feeder,
        feeder_ids=tuple(f"F{f}" for f in range(n_feeders)),
        substation=feeder // FEEDERS_PER_SUBSTATION,
        substation_ids=tuple(f"S{s}" for s in range(n_subs)),
        grid_cell=np.where(rng.random(n_units) < 0.1, -1, feeder // 4),
        grid_cell_ids=tuple(f"C{c}" for c in range(-(-n_feeders // 4))),
        village=np.where(rng.random(n_units) < 0.25, -1, np.arange(n_units) // 7),
        village_names=tuple(f"V{v}" for v in range(-(-n_units // 7))),
    )

    # events: a feeder, a start, a duration, a run of units
    p = 1 / MEAN_UNITS_PER_EVENT  # sizes are geometric(p) capped at a feeder's units
    mean_size = (1 - (1 - p) ** UNITS_PER_FEEDER) / p
    rows_per_event = mean_size * (1 + TWO_STEP_SHARE * (1 - HV_SHARE))
    n_events = max(1, round(n_rows / rows_per_event))
    size = np.minimum(rng.geometric(p, n_events), UNITS_PER_FEEDER)
    ev_feeder = rng.integers(0, n_feeders, n_events)
    ev_first = rng.integers(0, UNITS_PER_FEEDER, n_events)
    ev_start = np.sort(rng.integers(START, END, n_events))
    momentary = rng.random(n_events) < MOMENTARY_SHARE
    ev_dur = np.where(
        momentary,
        rng.integers(30, 241, n_events),
        np.maximum(301, rng.lognormal(np.log(5400), 0.9, n_events)).astype(np.int64),
    )
    ev_dur[rng.random(n_events) < 0.01] = 300  # the 5-minute boundary
    ev_class = rng.choice(5, n_events, p=[0.55, 0.05, 0.25, 0.1, 0.05]).astype(np.int8)
    ev_cause = rng.integers(0, 12, n_events)

    pair_event = np.repeat(np.arange(n_events), size)
    offset = np.arange(pair_event.size) - np.repeat(np.cumsum(size) - size, size)
    pair_unit = ev_feeder[pair_event] * UNITS_PER_FEEDER + (ev_first[pair_event] + offset) % (
        UNITS_PER_FEEDER
    )
    two = rng.random(pair_event.size) < TWO_STEP_SHARE
    two &= customers[pair_unit] > 1
    first_share = np.where(two, rng.integers(1, np.maximum(customers[pair_unit], 2)), 0)
    pair_cust = customers[pair_unit]
    first_cust = np.where(two, first_share, pair_cust)
    second = np.flatnonzero(two)
    event = np.concatenate([pair_event, pair_event[second]])
    unit = np.concatenate([pair_unit, pair_unit[second]])
    cust = np.concatenate([first_cust, pair_cust[second] - first_share[second]])
    dur = ev_dur[event].copy()
    dur[: pair_event.size][two] = ev_dur[pair_event[two]] // 2
    order = rng.permutation(event.size)
    event, unit, cust, dur = event[order], unit[order], cust[order], dur[order]
    start = ev_start[event]
    interruptions = Interruptions(
        event=event,
        event_ids=tuple(f"E{e}" for e in range(n_events)),
        unit=unit,
        customers=cust,
        start=start,
        end=start + dur,
        outage_class=ev_class[event],
        cause=ev_cause[event],
        cause_names=tuple(f"cause {c}" for c in range(12)),
        restored_by=(rng.random(event.size) < 0.2).astype(np.int8),
    )
    return base, interruptions


# -- the two implementations -------------------------------------------------------------------


def ours(base: Any, rows: Any) -> dict[str, np.ndarray]:
    """The engine; per-(feeder, month) columns keyed by name, plus the group labels."""
    from openoms.reliability.indices import Settings, compute

    result = compute(
        rows,
        base,
        start=START,
        end=END,
        settings=Settings(tz=TZ),
        by=("feeder", "month"),
        med_threshold=None,
    )
    assert result.breakdown is not None
    columns = result.breakdown.columns()
    return {name: np.asarray(columns[name], dtype=np.float64) for name in COLUMNS}


def pandas_baseline(base: Any, rows: Any) -> dict[str, np.ndarray]:
    """The same per-(feeder, month) indices with pandas groupby, written the obvious way."""
    import pandas as pd

    settings_threshold_s, cemi_n, celid_s, short_s = 300.0, 3, 8 * 3600.0, 180.0
    units = pd.DataFrame(
        {
            "unit": np.arange(len(base.unit_id)),
            "feeder": base.feeder,
            "unit_customers": base.customers,
            "kva": base.load_kva,
        }
    )
    df = pd.DataFrame(
        {
            "event": rows.event,
            "unit": rows.unit,
            "customers": rows.customers,
            "start": rows.start,
            "end": rows.end,
            "cls": rows.outage_class,
        }
    )
    df = df[(df["start"] >= START) & (df["start"] < END)]
    df["dur"] = df["end"] - df["start"]
    sustained = df["dur"] > settings_threshold_s
    df["sus_cust"] = df["customers"].where(sustained, 0)
    df["mom_cust"] = df["customers"] - df["sus_cust"]
    df["cmi"] = df["sus_cust"] * df["dur"].where(sustained, 0) / 60.0
    df["long_cust"] = df["sus_cust"].where(df["dur"] >= celid_s, 0)
    df["sus_dur"] = df["dur"].where(sustained, 0)
    pairs = (
        df.groupby(["event", "unit"], sort=False)
        .agg(
            ci=("sus_cust", "sum"),
            mom=("mom_cust", "sum"),
            cmi=("cmi", "sum"),
            long_ci=("long_cust", "sum"),
            longest_s=("sus_dur", "max"),
            dlt_s=("dur", "max"),
            start=("start", "first"),
            cls=("cls", "first"),
        )
        .reset_index()
        .merge(units, on="unit")
    )
    for col in ("ci", "long_ci"):
        pairs[col] = pairs[col].clip(upper=pairs["unit_customers"])
    pairs["mom_ci"] = pairs["mom"].clip(upper=pairs["unit_customers"])
    local = pd.to_datetime(pairs["start"], unit="s", utc=True).dt.tz_convert(TZ)
    pairs["month"] = local.dt.year * 12 + local.dt.month - 1
    share = (pairs["kva"] / pairs["unit_customers"]).where(pairs["unit_customers"] > 0, 0.0)
    pairs["kva_ci"] = pairs["ci"] * share
    pairs["kva_min"] = pairs["cmi"] * share
    counted = pairs["dlt_s"] > short_s
    pairs["dlt_h"] = (pairs["dlt_s"] / 3600.0).where(counted, 0.0)
    pairs["dlt_n"] = counted.astype(np.int64)
    pairs["dlt_h_ext"] = pairs["dlt_h"].where(pairs["cls"] == 1, 0.0)
    pairs["dlt_h_lim"] = pairs["dlt_h"].where(pairs["cls"] == 4, 0.0)
    pairs["sus_event"] = (pairs["ci"] > 0).astype(np.int64)
    pairs["any_event"] = ((pairs["ci"] > 0) | (pairs["mom"] > 0)).astype(np.int64)

    keys = ["feeder", "month"]
    sums = pairs.groupby(keys).agg(
        ci=("ci", "sum"),
        cmi=("cmi", "sum"),
        mom=("mom", "sum"),
        mom_ci=("mom_ci", "sum"),
        kva_ci=("kva_ci", "sum"),
        kva_min=("kva_min", "sum"),
        dlt_h=("dlt_h", "sum"),
        dlt_n=("dlt_n", "sum"),
        dlt_h_ext=("dlt_h_ext", "sum"),
        dlt_h_lim=("dlt_h_lim", "sum"),
    )
    per_unit = pairs.groupby([*keys, "unit"]).agg(
        cn=("ci", "max"),
        long_one=("long_ci", "max"),
        sus_events=("sus_event", "sum"),
        any_events=("any_event", "sum"),
        total_s=("longest_s", "sum"),
        unit_customers=("unit_customers", "first"),
    )
    per_unit["cemi"] = per_unit["unit_customers"].where(per_unit["sus_events"] > cemi_n, 0)
    per_unit["cemsmi"] = per_unit["unit_customers"].where(per_unit["any_events"] > cemi_n, 0)
    per_unit["celid_t"] = per_unit["unit_customers"].where(per_unit["total_s"] >= celid_s, 0)
    distinct = per_unit.groupby(level=keys)[["cn", "long_one", "cemi", "cemsmi", "celid_t"]].sum()

    # every (feeder, month) group, with its denominators
    feeders = units.groupby("feeder").agg(
        n_t=("unit_customers", "sum"), kva_t=("kva", "sum"), users=("unit", "count")
    )
    months = pd.period_range(
        pd.Timestamp(START, unit="s", tz="UTC").tz_convert(TZ).tz_localize(None),
        pd.Timestamp(END - 1, unit="s", tz="UTC").tz_convert(TZ).tz_localize(None),
        freq="M",
    )
    month_start = months.to_timestamp().tz_localize(TZ)
    month_end = (months + 1).to_timestamp().tz_localize(TZ)
    hours = (
        np.minimum(month_end.asi8 // 10**9, END) - np.maximum(month_start.asi8 // 10**9, START)
    ) / 3600.0
    month_index = pd.Series(hours, index=months.year * 12 + months.month - 1, name="hours")
    grid = pd.MultiIndex.from_product([feeders.index, month_index.index], names=keys)
    table = pd.DataFrame(index=grid).join(sums).join(distinct).fillna(0.0)
    table = table.join(feeders, on="feeder").join(month_index, on="month")

    def div(a: pd.Series, b: pd.Series) -> pd.Series:
        return (a / b).where(b != 0, np.nan)

    out = pd.DataFrame(index=table.index)
    out["customers"] = table["n_t"]
    out["customers_interrupted"] = table["ci"]
    out["customer_minutes"] = table["cmi"]
    out["users"] = table["users"]
    out["saifi"] = div(table["ci"], table["n_t"])
    out["saidi_min"] = div(table["cmi"], table["n_t"])
    out["caidi_min"] = div(table["cmi"], table["ci"])
    out["caifi"] = div(table["ci"], table["cn"])
    out["ctaidi_min"] = div(table["cmi"], table["cn"])
    out["asai"] = 1.0 - div(table["cmi"], table["n_t"] * table["hours"] * 60.0)
    out["asifi"] = div(table["kva_ci"], table["kva_t"])
    out["asidi_min"] = div(table["kva_min"], table["kva_t"])
    out["maifi"] = div(table["mom"], table["n_t"])
    out["maifie"] = div(table["mom_ci"], table["n_t"])
    out["cemi_n"] = div(table["cemi"], table["n_t"])
    out["cemsmi_n"] = div(table["cemsmi"], table["n_t"])
    out["celid_s"] = div(table["long_one"], table["n_t"])
    out["celid_t"] = div(table["celid_t"], table["n_t"])
    aihc1 = div(table["dlt_h"], table["users"])
    aihc2 = div(table["dlt_h"] - table["dlt_h_ext"], table["users"])
    aihc3 = div(table["dlt_h"] - table["dlt_h_lim"], table["users"])
    out["aihc1_h"], out["aihc2_h"], out["aihc3_h"] = aihc1, aihc2, aihc3
    out["rs1_pct"] = (1.0 - aihc1 / table["hours"]) * 100.0
    out["rs2_pct"] = (1.0 - aihc2 / table["hours"]) * 100.0
    out["rs3_pct"] = (1.0 - aihc3 / table["hours"]) * 100.0
    out["aitc1"] = div(table["dlt_n"], table["users"])
    return {name: out[name].to_numpy(dtype=np.float64) for name in COLUMNS}


# -- measuring ---------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, list[float], list[float]]:
    """(result, wall seconds, CPU seconds of this process) of ``repeat`` runs. Both engines
    run on one thread, so CPU time is what a quiet machine's wall time would be."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return result, wall, cpu


def traced_peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, Any]:
    """Index-by-index agreement: NaN where both are undefined, else relative 1e-9."""
    worst: dict[str, float] = {}
    mismatches: dict[str, int] = {}
    for name in COLUMNS:
        x, y = a[name], b[name]
        if x.shape != y.shape:
            mismatches[name] = -1
            continue
        both_nan = np.isnan(x) & np.isnan(y)
        close = np.isclose(x, y, rtol=RTOL, atol=1e-9) | both_nan
        mismatches[name] = int((~close).sum())
        scale = np.maximum(np.abs(y), 1e-12)
        diff = np.where(both_nan, 0.0, np.abs(x - y) / scale)
        worst[name] = float(np.nanmax(diff)) if diff.size else 0.0
    return {
        "same": all(v == 0 for v in mismatches.values()),
        "mismatches": mismatches,
        "max_rel_diff": worst,
    }


def mib(n: float) -> str:
    return f"{n / 1024**2:,.0f} MiB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reliability engine benchmark (see the source).")
    parser.add_argument("--rows", type=int, default=10_000_000, help="interruption rows")
    parser.add_argument("--quick", action="store_true", help="200,000 rows, one repeat")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (best kept)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--out", type=Path, default=RESULTS / "reliability.json")
    args = parser.parse_args(argv)
    n_rows = 200_000 if args.quick else args.rows
    repeat = 1 if args.quick else args.repeat

    say(f"making {n_rows:,} interruption rows (seed {args.seed})")
    base, rows = make_data(n_rows, seed=args.seed)
    input_bytes = sum(
        getattr(rows, f).nbytes
        for f in ("event", "unit", "customers", "start", "end", "outage_class", "cause")
    )
    say(f"{len(rows):,} rows, {len(rows.event_ids):,} events, {len(base):,} units")
    t0 = time.perf_counter()
    small_base, small_rows = make_data(2_000, seed=args.seed)
    ours(small_base, small_rows)  # numba compiles (or loads its cache) once, on small data
    warm_s = time.perf_counter() - t0
    say(f"engine kernels ready in {warm_s:.1f} s (compiled or loaded from cache); timing ours")
    rss_before = peak_rss()
    our_result, our_times, our_cpu = timed(lambda: ours(base, rows), repeat)
    our_rss = peak_rss()
    say(f"ours: best {min(our_times):.2f} s (CPU {min(our_cpu):.2f} s); tracing memory")
    our_peak = traced_peak(lambda: ours(base, rows))
    say(f"ours: peak traced {mib(our_peak)}")

    measured: dict[str, Any] = {
        "ours": {
            "seconds": our_times,
            "cpu_seconds": our_cpu,
            "best_s": min(our_times),
            "best_cpu_s": min(our_cpu),
            "peak_traced_bytes": our_peak,
            "kernels_ready_s": warm_s,
        },
    }
    check: dict[str, Any] | None = None
    if not args.no_pandas:
        say("timing pandas")
        pd_result, pd_times, pd_cpu = timed(lambda: pandas_baseline(base, rows), repeat)
        measured_rss = peak_rss()
        say(f"pandas: best {min(pd_times):.2f} s (CPU {min(pd_cpu):.2f} s); tracing memory")
        pd_peak = traced_peak(lambda: pandas_baseline(base, rows))
        measured["pandas"] = {
            "peak_rss_bytes": measured_rss,
            "seconds": pd_times,
            "cpu_seconds": pd_cpu,
            "best_s": min(pd_times),
            "best_cpu_s": min(pd_cpu),
            "peak_traced_bytes": pd_peak,
        }
        check = compare(our_result, pd_result)
        say(f"same numbers: {check['same']}")
    groups = int(our_result["customers"].size)

    lines = [
        f"# Reliability engine: {len(rows):,} interruption rows, all indices by feeder and month",
        "",
        f"{len(rows.event_ids):,} events, {len(base):,} units, {groups:,} (feeder, month) groups; "
        f"input columns {mib(input_bytes)}.",
        "",
        "| implementation | best wall time | best CPU time | peak traced memory "
        "| ratio (pandas / ours) |",
        "|---|---:|---:|---:|---:|",
        f"| openoms.reliability | {min(our_times):.2f} s | {min(our_cpu):.2f} s "
        f"| {mib(our_peak)} | |",
    ]
    load = os.getloadavg()[0]
    if "pandas" in measured:
        p = measured["pandas"]
        lines.append(
            f"| pandas groupby | {p['best_s']:.2f} s | {p['best_cpu_s']:.2f} s "
            f"| {mib(p['peak_traced_bytes'])} "
            f"| {p['best_s'] / min(our_times):.1f}× wall, "
            f"{p['best_cpu_s'] / min(our_cpu):.1f}× CPU, "
            f"{p['peak_traced_bytes'] / max(our_peak, 1):.1f}× memory |"
        )
    lines.append("")
    lines.append(
        f"Times are the best of {repeat} (numba kernels compiled or loaded beforehand in "
        f"{warm_s:.1f} s); load average {load:.1f} on {os.cpu_count()} cores when done."
    )
    time_ok = min(our_times) < TARGET_S
    memory_ok = our_peak < TARGET_BYTES
    lines += [
        "",
        f"- target under {TARGET_S:g} s: {'met' if time_ok else 'NOT met'} "
        f"({min(our_times):.2f} s wall, {min(our_cpu):.2f} s CPU)",
        f"- target under 2 GB: {'met' if memory_ok else 'NOT met'} ({mib(our_peak)} traced; "
        f"process peak RSS {mib(our_rss)}, {mib(rss_before)} before the engine ran)",
    ]
    if check is not None:
        lines.append(
            f"- same numbers as pandas (relative {RTOL:g}, {len(COLUMNS)} columns × {groups:,} "
            f"groups): {'yes' if check['same'] else 'NO: ' + json.dumps(check['mismatches'])}"
        )
    text = "\n".join(lines)
    print(text)

    document = {
        "benchmark": "reliability",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "versions": {
            "numpy": np.__version__,
            "pandas": __import__("pandas").__version__,
        },
        "rows": len(rows),
        "events": len(rows.event_ids),
        "units": len(base),
        "groups": groups,
        "input_bytes": input_bytes,
        "seed": args.seed,
        "quick": args.quick,
        "measured": measured,
        "peak_rss_bytes": {
            "before": rss_before,
            "after_ours": our_rss,
            "after_pandas": measured.get("pandas", {}).get("peak_rss_bytes"),
        },
        "check": check,
        "targets": {
            "under_5_s": time_ok,
            "under_5_s_cpu": min(our_cpu) < TARGET_S,
            "under_2_gb": memory_ok,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    args.out.with_suffix(".md").write_text(text + "\n", "utf-8")
    say(f"done; results in {args.out} and {args.out.with_suffix('.md')}")
    return 0 if check is None or check["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
