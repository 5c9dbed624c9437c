"""Worst-served feeders and transformer areas, and units over the CEMI count.

Feeders rank by SAIDI (then SAIFI); transformer areas (HV customers left out) by the hours
their customers were off on average, CMI / customers (then by sustained interruptions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._kernels import unit_totals
from openoms.reliability._pairs import Pairs
from openoms.reliability.data import CustomerBase

__all__ = ["over_n", "unit_totals_of", "worst_feeders", "worst_units"]

F64 = NDArray[np.float64]


def _top(primary: F64, secondary: F64, n: int) -> NDArray[np.int64]:
    """Indices of the ``n`` largest positive ``primary`` values, ties by ``secondary``."""
    order = np.lexsort((-secondary, -primary))
    return order[primary[order] > 0][:n].astype(np.int64)


def unit_totals_of(pairs: Pairs, base: CustomerBase, short_interruption_s: float) -> F64:
    """Per unit (n_units × 4): ΣCI, ΣCMI, sustained interruptions, DL/T 836 hours off."""
    out = np.zeros((len(base), 4), dtype=np.float64)
    unit_totals(pairs.unit, pairs.ci, pairs.cmi, pairs.dlt_s, float(short_interruption_s), out)
    return out


def worst_feeders(totals: F64, base: CustomerBase, n: int) -> tuple[dict[str, Any], ...]:
    size = len(base.feeder_ids)
    customers = np.bincount(base.feeder, weights=base.customers, minlength=size)
    ci = np.bincount(base.feeder, weights=totals[:, 0], minlength=size)
    cmi = np.bincount(base.feeder, weights=totals[:, 1], minlength=size)
    safe = np.where(customers > 0, customers, 1.0)
    saidi, saifi = cmi / safe, ci / safe
    station = np.full(size, -1, dtype=np.int64)
    station[base.feeder] = base.substation  # a feeder's units share its substation

    def substation(f: int) -> str | None:
        code = int(station[f])
        return base.substation_ids[code] if 0 <= code < len(base.substation_ids) else None

    return tuple(
        {
            "feeder": base.feeder_ids[f],
            "substation": substation(int(f)),
            "customers": int(customers[f]),
            "saifi": float(saifi[f]),
            "saidi_min": float(saidi[f]),
        }
        for f in _top(saidi, saifi, n)
    )


def worst_units(totals: F64, base: CustomerBase, n: int) -> tuple[dict[str, Any], ...]:
    cmi, events, off_h = totals[:, 1], totals[:, 2], totals[:, 3]
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


def over_n(totals: F64, base: CustomerBase, n: int, shown: int) -> dict[str, Any]:
    """Units with more than ``n`` sustained interruptions (``customers`` here counts their
    whole customers; :func:`~openoms.reliability.indices.compute` replaces it by CEMIn's
    count, which takes partial events into account)."""
    events = totals[:, 2]
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
