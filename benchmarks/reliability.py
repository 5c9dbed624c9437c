"""Reliability engine benchmark: all indices by feeder and month, against pandas, each first
run in a fresh process and warm.

    python benchmarks/reliability.py [--rows 10000000] [--quick] [--seed 1] [--repeat 2]
                                     [--no-pandas] [--no-compile-run]

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
(``groupby`` on (event, unit), then on (feeder, month[, unit])), each in a fresh process of
its own (this script with ``--child``), as a user meets it: the process imports its libraries,
makes the data, then runs the computation once (the first run: numba loads its kernels from
the on-disk cache, first-touch allocations) and ``--repeat`` more times (warm, best kept),
then once more under tracemalloc (peak traced memory). Wall and CPU time of each run; the
process's peak RSS from ``wait4`` (what ``/usr/bin/time -v`` reports: making the data and
every run included) and the peak RSS while the first run ran (``VmHWM`` reset through
``/proc/self/clear_refs``; the data already resident counts). One more process runs ours once
with an empty ``NUMBA_CACHE_DIR``: the first run after an install without ``openoms
warm-up``, compiling the kernels. Both results are compared index by index (relative 1e-9).
Progress on stderr; the table on stdout; ``benchmarks/results/reliability.json`` and ``.md``
are written.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
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

    # the temporaries are dropped as soon as they are used: the process's peak RSS is measured
    pair_event = np.repeat(np.arange(n_events), size)
    offset = np.arange(pair_event.size) - np.repeat(np.cumsum(size) - size, size)
    pair_unit = ev_feeder[pair_event] * UNITS_PER_FEEDER + (ev_first[pair_event] + offset) % (
        UNITS_PER_FEEDER
    )
    del offset
    two = rng.random(pair_event.size) < TWO_STEP_SHARE
    pair_cust = customers[pair_unit]
    two &= pair_cust > 1
    first_share = np.where(two, rng.integers(1, np.maximum(pair_cust, 2)), 0)
    second = np.flatnonzero(two)
    event = np.concatenate([pair_event, pair_event[second]])
    unit = np.concatenate([pair_unit, pair_unit[second]])
    del pair_unit
    cust = np.concatenate([np.where(two, first_share, pair_cust), pair_cust[second]])
    cust[pair_event.size :] -= first_share[second]
    del pair_cust, first_share, second
    dur = ev_dur[event]
    dur[: pair_event.size][two] = ev_dur[pair_event[two]] // 2
    del pair_event, two
    order = rng.permutation(event.size)
    event = event[order]
    unit = unit[order]
    cust = cust[order]
    dur = dur[order]
    del order
    start = ev_start[event]
    dur += start  # the end of each row, in place
    interruptions = Interruptions(
        event=event,
        event_ids=tuple(f"E{e}" for e in range(n_events)),
        unit=unit,
        customers=cust,
        start=start,
        end=dur,
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
    )
    # a unit's events hit the same customers as far as possible: sorted by customers c_1 ≥
    # c_2 ≥ …, CEMIn counts c_(n+1); CELID-t the c_j at which the longest steps reach celid_s
    unit_keys = [*keys, "unit"]
    order = [True, True, True, False]
    ranked = pairs[pairs["ci"] > 0].sort_values([*unit_keys, "ci"], ascending=order)
    ranked["rank"] = ranked.groupby(unit_keys).cumcount()
    ranked["cum_s"] = ranked.groupby(unit_keys)["longest_s"].cumsum()
    per_unit["cemi"] = ranked[ranked["rank"] == cemi_n].set_index(unit_keys)["ci"]
    reached = ranked[ranked["cum_s"] >= celid_s]
    per_unit["celid_t"] = reached.groupby(unit_keys)["ci"].first()
    hit = pairs.assign(hit=(pairs["ci"] + pairs["mom_ci"]).clip(upper=pairs["unit_customers"]))
    hit = hit[hit["hit"] > 0].sort_values([*unit_keys, "hit"], ascending=order)
    hit["rank"] = hit.groupby(unit_keys).cumcount()
    per_unit["cemsmi"] = hit[hit["rank"] == cemi_n].set_index(unit_keys)["hit"]
    per_unit = per_unit.fillna(0)
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


# -- measuring, in a fresh process per implementation ------------------------------------------


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


def _status_bytes(field: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process from /proc/self/status (Linux), in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def child(args: argparse.Namespace) -> int:
    """One implementation (``--child``) in this fresh process: import, data, first run, warm
    runs, one traced run; the measurements as one JSON line on stdout, the result columns in
    ``--result``."""
    kind, repeat = args.child, args.repeat
    t0 = time.perf_counter()
    if kind == "ours":
        import openoms.reliability  # noqa: F401  (numpy and numba with it)

        fn = ours
    else:
        import pandas  # noqa: F401

        fn = pandas_baseline
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    base, rows = make_data(args.rows, seed=args.seed)
    data_s = time.perf_counter() - t0
    gc.collect()
    data_rss, data_peak = _status_bytes("VmRSS"), _status_bytes("VmHWM")
    say(f"{kind}: {len(rows):,} rows made in {data_s:.1f} s; first run")
    reset = _reset_peak_rss()
    result, first, first_cpu = timed(lambda: fn(base, rows), 1)
    first_peak = _status_bytes("VmHWM") if reset else None
    say(f"{kind}: first run {first[0]:.2f} s; {repeat} warm run(s)")
    _, warm, warm_cpu = timed(lambda: fn(base, rows), repeat)
    traced = None
    if args.trace:
        say(f"{kind}: tracing memory")
        traced = traced_peak(lambda: fn(base, rows))
    np.savez(args.result, **result)
    columns = ("event", "unit", "customers", "start", "end", "outage_class", "cause")
    document = {
        "implementation": kind,
        "rows": len(rows),
        "events": len(rows.event_ids),
        "units": len(base),
        "groups": int(result["customers"].size),
        "input_bytes": sum(getattr(rows, name).nbytes for name in columns),
        "import_s": import_s,
        "data_s": data_s,
        "data_rss_bytes": data_rss,
        "data_peak_rss_bytes": data_peak,
        "first_s": first[0],
        "first_cpu_s": first_cpu[0],
        "first_peak_rss_bytes": first_peak,
        "warm_s": warm,
        "warm_cpu_s": warm_cpu,
        "peak_traced_bytes": traced,
    }
    print(json.dumps(document), flush=True)
    return 0


def spawn(
    kind: str, args: argparse.Namespace, out: Path, *, repeat: int, trace: bool, env: dict[str, str]
) -> dict[str, Any]:
    """Run :func:`child` in a fresh interpreter; its document plus the whole process's wall
    time, CPU time and peak RSS (``wait4``, as ``/usr/bin/time -v`` reports them)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    command += ["--rows", str(args.rows), "--seed", str(args.seed), "--repeat", str(repeat)]
    command += ["--result", str(out)] + (["--trace"] if trace else [])
    t0 = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {process.returncode}")
    document: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    document |= {
        "process_wall_s": wall,
        "process_cpu_s": usage.ru_utime + usage.ru_stime,
        "process_peak_rss_bytes": usage.ru_maxrss * 1024,
        "numba_cache_dir": env.get("NUMBA_CACHE_DIR"),
    }
    return document


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


def _seconds(wall: float, cpu: float) -> str:
    return f"{wall:.2f} s (CPU {cpu:.2f} s)"


def _table(runs: dict[str, dict[str, Any]], repeat: int) -> list[str]:
    """The side-by-side table: one row per process, then pandas / ours."""

    def best(run: dict[str, Any]) -> tuple[float, float] | None:
        return (min(run["warm_s"]), min(run["warm_cpu_s"])) if run["warm_s"] else None

    def memory(n: int | None) -> str:
        return "–" if n is None else mib(n)

    names = {
        "ours": "openoms.reliability",
        "ours_compiling": "openoms.reliability, empty numba cache (compiles its kernels)",
        "pandas": "pandas groupby",
    }
    lines = [
        f"| implementation | first run in a fresh process | warm: best of {repeat} "
        "| process peak RSS | peak RSS during the first run | peak traced |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, run in runs.items():
        warm = best(run)
        lines.append(
            f"| {names[key]} | {_seconds(run['first_s'], run['first_cpu_s'])} "
            f"| {'–' if warm is None else _seconds(*warm)} "
            f"| {mib(run['process_peak_rss_bytes'])} | {memory(run['first_peak_rss_bytes'])} "
            f"| {memory(run['peak_traced_bytes'])} |"
        )
    if "pandas" in runs:
        ours_run, theirs = runs["ours"], runs["pandas"]

        def ratio(key: str) -> str:
            a, b = theirs.get(key), ours_run.get(key)
            return "–" if not a or not b else f"{a / b:.1f}×"

        ours_best, their_best = best(ours_run), best(theirs)
        warm_ratio = "–"
        if ours_best and their_best:
            warm_ratio = (
                f"{their_best[0] / ours_best[0]:.1f}× (CPU {their_best[1] / ours_best[1]:.1f}×)"
            )
        lines.append(
            f"| pandas / openoms.reliability | {ratio('first_s')} (CPU {ratio('first_cpu_s')}) "
            f"| {warm_ratio} | {ratio('process_peak_rss_bytes')} "
            f"| {ratio('first_peak_rss_bytes')} | {ratio('peak_traced_bytes')} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reliability engine benchmark (see the source).")
    parser.add_argument("--rows", type=int, default=10_000_000, help="interruption rows")
    parser.add_argument("--quick", action="store_true", help="200,000 rows, one warm run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="warm runs of each (best kept)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument(
        "--no-compile-run", action="store_true", help="skip the run with an empty numba cache"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "reliability.json")
    parser.add_argument("--child", choices=("ours", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = 200_000, 1
    if args.child:
        return child(args)

    say("numba kernels: compiled or loaded once here, so that the fresh processes find them")
    t0 = time.perf_counter()
    ours(*make_data(2_000, seed=args.seed))
    ready_s = time.perf_counter() - t0
    env = dict(os.environ)
    runs: dict[str, dict[str, Any]] = {}
    check: dict[str, Any] | None = None
    folder = Path(tempfile.mkdtemp(prefix="openoms-reliability-bench-"))
    try:
        say(f"kernels ready in {ready_s:.1f} s; ours in a fresh process, {args.rows:,} rows")
        runs["ours"] = spawn(
            "ours", args, folder / "ours.npz", repeat=args.repeat, trace=True, env=env
        )
        if not args.no_compile_run:
            say("ours in a fresh process with an empty numba cache (compiling)")
            cache = folder / "numba-cache"
            cache.mkdir()
            runs["ours_compiling"] = spawn(
                "ours",
                args,
                folder / "compiling.npz",
                repeat=0,
                trace=False,
                env=env | {"NUMBA_CACHE_DIR": str(cache)},
            )
        if not args.no_pandas:
            say("pandas in a fresh process")
            runs["pandas"] = spawn(
                "pandas", args, folder / "pandas.npz", repeat=args.repeat, trace=True, env=env
            )
            with np.load(folder / "ours.npz") as a, np.load(folder / "pandas.npz") as b:
                check = compare(dict(a), dict(b))
            say(f"same numbers: {check['same']}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    first = runs["ours"]
    lines = [
        f"# Reliability engine: {first['rows']:,} interruption rows, all indices by feeder and "
        "month",
        "",
        f"{first['events']:,} events, {first['units']:,} units, {first['groups']:,} (feeder, "
        f"month) groups; input columns {mib(first['input_bytes'])}. Each row of the table is a "
        "fresh process: imports, makes the data, runs the computation once (the first run), "
        f"then {args.repeat} more time(s) (warm), then once under tracemalloc.",
        "",
        *_table(runs, args.repeat),
        "",
    ]
    imports = f"imports {first['import_s']:.2f} s (openoms.reliability and numba; numpy before)"
    if "pandas" in runs:
        imports += f", {runs['pandas']['import_s']:.2f} s (pandas)"
    data_rss = first["data_rss_bytes"]
    lines.append(
        f"Before the first run: {imports}; making the data {first['data_s']:.1f} s, "
        f"{'–' if data_rss is None else mib(data_rss)} resident after it. Process peak RSS: "
        "the whole process (`wait4`, as `/usr/bin/time -v`), making the data and every run "
        "included; during the first run: its high-water mark from the call on "
        "(`/proc/self/clear_refs`), the data included. Kernels compiled or loaded in the "
        f"parent process first ({ready_s:.1f} s). Load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores when done."
    )
    first_ok = first["first_s"] < TARGET_S
    memory_ok = first["process_peak_rss_bytes"] < TARGET_BYTES
    compiling = runs.get("ours_compiling")
    lines += [
        "",
        f"- target first run in a fresh process under {TARGET_S:g} s: "
        f"{'met' if first_ok else 'NOT met'} ({_seconds(first['first_s'], first['first_cpu_s'])}"
        ", kernels from numba's cache"
        + (
            ""
            if compiling is None
            else f"; {_seconds(compiling['first_s'], compiling['first_cpu_s'])} compiling them, "
            "the first run after an install without `openoms warm-up`"
        )
        + ")",
        f"- target process peak RSS under 2 GB: {'met' if memory_ok else 'NOT met'} "
        f"({mib(first['process_peak_rss_bytes'])})",
    ]
    if check is not None:
        lines.append(
            f"- same numbers as pandas (relative {RTOL:g}, {len(COLUMNS)} columns × "
            f"{first['groups']:,} groups): "
            f"{'yes' if check['same'] else 'NO: ' + json.dumps(check['mismatches'])}"
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
            "numba": __import__("numba").__version__,
            "pandas": __import__("pandas").__version__,
        },
        "rows": first["rows"],
        "events": first["events"],
        "units": first["units"],
        "groups": first["groups"],
        "input_bytes": first["input_bytes"],
        "seed": args.seed,
        "repeat": args.repeat,
        "kernels_ready_in_parent_s": ready_s,
        "runs": runs,
        "check": check,
        "targets": {
            "first_run_under_5_s": first_ok,
            "first_run_under_5_s_cpu": first["first_cpu_s"] < TARGET_S,
            "first_run_compiling_under_5_s": None
            if compiling is None
            else compiling["first_s"] < TARGET_S,
            "process_peak_rss_under_2_gb": memory_ok,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    args.out.with_suffix(".md").write_text(text + "\n", "utf-8")
    say(f"done; results in {args.out} and {args.out.with_suffix('.md')}")
    return 0 if check is None or check["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
