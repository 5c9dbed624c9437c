"""The engine against the benchmark's straightforward pandas implementation, on random data.

``benchmarks/reliability.py`` computes every per-(feeder, month) index a second way, with
pandas ``groupby``; here both run on ~60,000 random rows (steps, momentary and 300 s
interruptions, every class, events larger than the kernels' insertion-sort limit) and must
agree to 1e-9. The rows' order must not matter, and event dimensions must add up to the system.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from openoms.reliability.data import Interruptions
from openoms.reliability.indices import Settings, compute

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "reliability.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reliability_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(bench: ModuleType) -> tuple[Any, Any]:
    made: tuple[Any, Any] = bench.make_data(60_000, seed=7)
    return made


def test_engine_matches_pandas_per_feeder_and_month(
    bench: ModuleType, data: tuple[Any, Any]
) -> None:
    base, rows = data
    assert len(rows) > 50_000
    durations = rows.end - rows.start
    assert (durations == 300).any()  # the boundary is in the data
    assert (durations < 300).any()
    assert np.bincount(rows.event).max() > 32  # big events take the argsort path
    ours = bench.ours(base, rows)
    theirs = bench.pandas_baseline(base, rows)
    check = bench.compare(ours, theirs)
    assert check["same"], check["mismatches"]
    assert np.nansum(ours["customers_interrupted"]) > 0


def test_row_order_does_not_matter(data: tuple[Any, Any]) -> None:
    base, rows = data
    flip = np.argsort(-rows.unit, kind="stable")
    reordered = Interruptions(
        event=rows.event[flip],
        event_ids=rows.event_ids,
        unit=rows.unit[flip],
        customers=rows.customers[flip],
        start=rows.start[flip],
        end=rows.end[flip],
        outage_class=rows.outage_class[flip],
        cause=rows.cause[flip],
        cause_names=rows.cause_names,
        restored_by=rows.restored_by[flip],
    )
    start, end = int(rows.start.min()), int(rows.start.max()) + 1
    a = compute(rows, base, start=start, end=end, by="village").as_dict()
    b = compute(reordered, base, start=start, end=end, by="village").as_dict()
    assert a == b


@pytest.mark.parametrize("by", ["cause", "class", "planned"])
def test_event_dimensions_add_up_to_the_system(data: tuple[Any, Any], by: str) -> None:
    base, rows = data
    start, end = int(rows.start.min()), int(rows.start.max()) + 1
    result = compute(rows, base, start=start, end=end, by=by, settings=Settings(cemi_n=1))
    assert result.breakdown is not None
    columns = result.breakdown.columns()
    system = result.ieee["all"]
    assert columns["customers_interrupted"].sum() == system.customers_interrupted[0]
    assert columns["customer_minutes"].sum() == pytest.approx(system.customer_minutes[0])
    assert np.nansum(columns["saidi_min"]) == pytest.approx(result.index("saidi_min"))
    assert np.nansum(columns["aihc1_h"]) == pytest.approx(result.index("aihc1_h"))
    assert np.nansum(columns["aitc1"]) == pytest.approx(result.index("aitc1"))
    # a customer is distinct once in the system but may be counted in several groups
    assert columns["customers_distinct"].sum() >= system.customers_distinct[0]
