"""Worst-served feeders and transformer areas, and units over the CEMI count.

Feeders rank by SAIDI (then SAIFI); transformer areas (HV customers left out) by the hours
their customers were off on average, CMI / customers (then by sustained interruptions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._pairs import Pairs
from openoms.reliability.data import CustomerBase

__all__ = ["over_n", "worst_feeders", "worst_units"]

F64 = NDArray[np.float64]


def _top(primary: F64, secondary: F64, n: int) -> NDArray[np.int64]:
    """Indices of the ``n`` largest positive ``primary`` values, ties by ``secondary``."""
    order = np.lexsort((-secondary, -primary))
    return order[primary[order] > 0][:n].astype(np.int64)


def worst_feeders(pairs: Pairs, base: CustomerBase, n: int) -> tuple[dict[str, Any], ...]:
    size = len(base.feeder_ids)
    feeder = base.feeder[pairs.unit]
    customers = np.bincount(base.feeder, weights=base.customers, minlength=size)
    ci = np.bincount(feeder, weights=pairs.ci, minlength=size)
    cmi = np.bincount(feeder, weights=pairs.cmi, minlength=size)
    safe = np.where(customers > 0, customers, 1.0)
    saidi, saifi = cmi / safe, ci / safe
    return tuple(
        {
            "feeder": base.feeder_ids[f],
            "customers": int(customers[f]),
            "saifi": float(saifi[f]),
            "saidi_min": float(saidi[f]),
        }
        for f in _top(saidi, saifi, n)
    )


def worst_units(
    pairs: Pairs, base: CustomerBase, n: int, short_interruption_s: float
) -> tuple[dict[str, Any], ...]:
    size = len(base)
    cmi = np.bincount(pairs.unit, weights=pairs.cmi, minlength=size)
    events = np.bincount(pairs.unit, weights=pairs.ci > 0, minlength=size).astype(np.float64)
    counted = pairs.dlt_s > short_interruption_s if short_interruption_s > 0 else pairs.dlt_s >= 0
    off_h = np.bincount(
        pairs.unit, weights=np.where(counted, pairs.dlt_s, 0) / 3600.0, minlength=size
    )
    customers = base.customers.astype(np.float64)
    hours = np.where(customers > 0, cmi / np.where(customers > 0, customers, 1.0), 0.0) / 60.0
    hours[base.is_hv] = 0.0
    return tuple(
        {
            "unit": base.unit_id[u],
            "feeder": base.feeder_ids[base.feeder[u]],
            "customers": int(base.customers[u]),
            "customer_hours_per_customer": float(hours[u]),
            "sustained_interruptions": int(events[u]),
            "unit_hours_off": float(off_h[u]),
        }
        for u in _top(hours, events, n)
    )


def over_n(pairs: Pairs, base: CustomerBase, n: int, shown: int) -> dict[str, Any]:
    """Customers (and units) with more than ``n`` sustained interruptions."""
    events = np.bincount(pairs.unit, weights=pairs.ci > 0, minlength=len(base))
    over = events > n
    order = np.argsort(-events, kind="stable")
    return {
        "n": n,
        "customers": int(base.customers[over].sum()),
        "units": int(over.sum()),
        "worst_units": [
            {"unit": base.unit_id[u], "sustained_interruptions": int(events[u])}
            for u in order[over[order]][:shown]
        ],
    }
