"""A seeded synthetic interruption history for a customer base, as rows of the history CSV.

For demonstrations and tests only: the numbers are made up, shaped like a county network's
year (faults more often in the summer storm season, a few storm days that become major event
days, planned work in spring and autumn, some of it done live-line, FLISR on part of the
faults). Pure: the random generator is seeded by the caller's ``seed``.

The bundled ``data/sample_county_history.csv`` (2024-2025) is ``synthetic_history(
customer_base_from_network(sample county), start=2024-01-01 local, days=731, seed=2024)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from openoms.reliability.data import CustomerBase
from openoms.reliability.history_csv import HISTORY_COLUMNS

__all__ = ["HEADER", "synthetic_history"]

HEADER = (*HISTORY_COLUMNS[:5], "class", "cause", "restored_by", "avoided_hours")
_FAULT_CAUSES = ("tree", "lightning", "equipment", "animal", "vehicle", "unknown")
_SEASON = np.array([0.5, 0.5, 0.6, 0.8, 1.0, 1.5, 2.2, 2.2, 1.3, 0.8, 0.6, 0.5])  # by month


def _stamp(second: int, offset_h: int) -> str:
    local = datetime.fromtimestamp(second, UTC) + timedelta(hours=offset_h)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"+{offset_h:02d}:00"


def synthetic_history(
    base: CustomerBase,
    *,
    start: int,
    days: int,
    seed: int,
    faults_per_feeder_year: float = 6.0,
    planned_per_feeder_year: float = 2.0,
    storm_days: int = 2,
    offset_h: int = 8,
) -> list[list[str]]:
    """CSV rows (header first) of ``days`` days of interruptions from ``start`` (UTC s)."""
    rng = np.random.default_rng(seed)
    by_feeder = [np.flatnonzero(base.feeder == f) for f in range(len(base.feeder_ids))]
    by_feeder = [units for units in by_feeder if len(units)]
    out: list[list[str]] = [list(HEADER)]
    number = 0
    # storm days in each year's summer (day 150-240 of the year): the major event days
    storms = {
        year + int(day)
        for year in range(0, days, 365)
        for day in rng.integers(150, 240, size=storm_days)
        if year + int(day) < days
    }
    for day in range(days):
        month = datetime.fromtimestamp(start + day * 86_400, UTC).month - 1
        rate = faults_per_feeder_year * _SEASON[month] / _SEASON.mean() / 365.0
        planned_rate = planned_per_feeder_year / 365.0 * (2.0 if month in (3, 4, 9) else 0.5)
        for units in by_feeder:
            n_faults = rng.poisson(rate * (150.0 if day in storms else 1.0))
            for _ in range(int(n_faults)):
                number += 1
                out += _fault(
                    rng, base, units, day=start + day * 86_400, number=number, offset_h=offset_h
                )
            if rng.random() < planned_rate:
                number += 1
                out += _planned(
                    rng, base, units, day=start + day * 86_400, number=number, offset_h=offset_h
                )
    return out


def _span(rng: np.random.Generator, units: np.ndarray) -> np.ndarray:
    """A run of neighbouring units of a feeder (a section and what is below it)."""
    size = int(min(len(units), max(1, rng.geometric(0.15))))
    first = int(rng.integers(0, len(units) - size + 1))
    return units[first : first + size]


def _fault(
    rng: np.random.Generator,
    base: CustomerBase,
    units: np.ndarray,
    *,
    day: int,
    number: int,
    offset_h: int,
) -> list[list[str]]:
    start = day + int(rng.integers(0, 86_400))
    off = _span(rng, units)
    repair = int(rng.lognormal(np.log(2.5 * 3600), 0.6))
    if rng.random() < 0.15:  # a transient fault cleared by a reclose or quick switching
        repair = int(rng.integers(30, 240))
    klass = "fault_external" if rng.random() < 0.05 else "fault_internal"
    cause = str(rng.choice(_FAULT_CAUSES))
    flisr = len(off) > 2 and repair > 600 and rng.random() < 0.4
    rows = []
    for k, unit in enumerate(off.tolist()):
        automatic = flisr and k < len(off) // 2  # the healthy upstream half, back by FLISR
        back = start + (int(rng.integers(40, 180)) if automatic else repair)
        rows.append(
            [
                f"F{number:06d}",
                base.unit_id[unit],
                str(int(base.customers[unit])),
                _stamp(start, offset_h),
                _stamp(back, offset_h),
                klass,
                cause,
                "automatic" if automatic else "repair",
                f"{(start + repair - back) / 3600:.3f}" if automatic else "",
            ]
        )
    return rows


def _planned(
    rng: np.random.Generator,
    base: CustomerBase,
    units: np.ndarray,
    *,
    day: int,
    number: int,
    offset_h: int,
) -> list[list[str]]:
    start = day + 3600 * int(rng.integers(8, 11))  # 08:00-10:00 local (day: local midnight)
    hours = int(rng.integers(3, 9))
    off = _span(rng, units)
    live_line = rng.random() < 0.3
    klass = "temporary" if rng.random() < 0.1 else "planned"
    rows = []
    for unit in off.tolist():
        end = start if live_line else start + hours * 3600
        rows.append(
            [
                f"P{number:06d}",
                base.unit_id[unit],
                str(int(base.customers[unit])),
                _stamp(start, offset_h),
                _stamp(end, offset_h),
                klass,
                "maintenance",
                "live_line" if live_line else "repair",
                f"{hours:.3f}" if live_line else "",
            ]
        )
    return rows
