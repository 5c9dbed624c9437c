"""The engine's compact int32 columns, and the int64 path for values that do not fit.

Rows are folded into (event, unit) pairs in int32 columns whenever every count, index and
duration fits; one value that does not (here a step of 200 years, of an event after the
period) switches the whole computation to int64, which must give the same indices.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from openoms.reliability._pairs import build_pairs
from openoms.reliability.data import CustomerBase, Interruptions
from openoms.reliability.indices import Settings, compute

T0 = 1_704_038_400  # 2024-01-01 00:00 Asia/Shanghai
DAY = 86_400


def _random_rows(
    seed: int, n_units: int = 30, n_events: int = 200
) -> tuple[CustomerBase, Interruptions]:
    rng = np.random.default_rng(seed)
    units = CustomerBase(
        unit_id=tuple(f"TA{u}" for u in range(n_units)),
        is_hv=np.zeros(n_units, dtype=np.bool_),
        customers=rng.integers(1, 60, n_units),
        load_kva=rng.choice([100.0, 200.0, 400.0], n_units),
        feeder=np.arange(n_units) % 3,
        feeder_ids=("F1", "F2", "F3"),
        substation=np.zeros(n_units, dtype=np.int64),
        substation_ids=("S1",),
        grid_cell=np.full(n_units, -1),
        grid_cell_ids=(),
        village=np.full(n_units, -1),
        village_names=(),
    )
    size = rng.integers(1, 6, n_events)
    event = np.repeat(np.arange(n_events), size)
    unit = rng.integers(0, n_units, event.size)
    start = (T0 + np.sort(rng.integers(0, 365 * DAY, n_events)))[event]
    order = rng.permutation(event.size)
    event, unit, start = event[order], unit[order], start[order]
    rows = Interruptions(
        event=event,
        event_ids=tuple(f"E{e}" for e in range(n_events)),
        unit=unit,
        customers=rng.integers(0, units.customers[unit] + 1),
        start=start,
        end=start + rng.integers(30, 20_000, event.size),
        outage_class=rng.integers(0, 5, event.size).astype(np.int8),
        cause=rng.integers(0, 1, event.size),
        cause_names=("tree",),
        restored_by=np.zeros(event.size, dtype=np.int8),
    )
    return units, rows


def test_int64_columns_give_the_same_indices() -> None:
    units, rows = _random_rows(3)
    late = int(T0 + 400 * DAY)  # an event after the period whose step lasts 200 years
    wide = Interruptions(
        event=np.append(rows.event, len(rows.event_ids)),
        event_ids=(*rows.event_ids, "LATE"),
        unit=np.append(rows.unit, 0),
        customers=np.append(rows.customers, 1),
        start=np.append(rows.start, late),
        end=np.append(rows.end, late + 200 * 366 * DAY),
        outage_class=np.append(rows.outage_class, np.int8(0)),
        cause=np.append(rows.cause, 0),
        cause_names=rows.cause_names,
        restored_by=np.append(rows.restored_by, np.int8(0)),
    )
    keep = np.ones(len(wide), dtype=np.bool_)
    pairs = build_pairs(
        wide,
        units,
        keep=keep,
        tz="Asia/Shanghai",
        sustained_threshold_s=300.0,
        sustained_operator=">",
        celid_threshold_s=8 * 3600.0,
    )
    assert pairs.ci.dtype == np.int64
    settings = Settings(cemi_n=1)
    for by in (None, "feeder", ("feeder", "month"), ("class", "cause")):
        a = compute(rows, units, start=T0, end=T0 + 366 * DAY, by=by, settings=settings)
        b = compute(wide, units, start=T0, end=T0 + 366 * DAY, by=by, settings=settings)
        assert a.as_dict() == b.as_dict(), by


def test_times_after_2038_keep_int32_columns() -> None:
    units, rows = _random_rows(4)
    later = dataclasses.replace(rows, start=rows.start + 2**31, end=rows.end + 2**31)
    pairs = build_pairs(
        later,
        units,
        keep=np.ones(len(later), dtype=np.bool_),
        tz="Asia/Shanghai",
        sustained_threshold_s=300.0,
        sustained_operator=">",
        celid_threshold_s=8 * 3600.0,
    )
    assert pairs.ci.dtype == pairs.day.dtype == np.int32
    assert (np.diff(pairs.unit) >= 0).all()  # grouped by unit, then by event
    same_unit = pairs.unit[1:] == pairs.unit[:-1]
    assert (np.diff(pairs.event)[same_unit] > 0).all()
