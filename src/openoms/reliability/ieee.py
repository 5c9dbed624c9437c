"""IEEE 1366-2012 indices over groups of (event, unit) pairs, vectorised.

Clause numbers are those of IEEE Std 1366-2012 (clause 3: sustained-interruption indices in
3.3, load-based in 3.4, momentary in 3.5; major event days in 4.5) as we read the 2012 edition.

Customers are counted per unit (transformer area or HV customer): a unit's customers are taken
as interchangeable, so

the history says how many of a unit's customers an event hit, not which. The engine assumes
the events of a unit hit **the same customers as far as possible** (nested: an event of c
customers hits the c customers hit most often before), one arrangement consistent with the
per-event counts, so that every index below describes the same customers:

* CN (distinct customers interrupted) of a unit = the most of its customers interrupted in any
  one event (the fewest possible: CAIFI and CTAIDI, which divide by ΣCN, are their largest
  possible values);
* CEMIn = customers with more than n sustained interruptions: with the unit's events sorted by
  customers c_1 ≥ c_2 ≥ …, c_(n+1) (0 with n or fewer events), so CEMIn ≤ CN / N_T; CEMSMIn
  likewise, counting each event's sustained and momentary customers;
* CELID-s = the most customers of the unit with one sustained step of at least X in one event;
  CELID-t: the customer ranked k is in every event with c ≥ k, and is taken to be off for each
  event's longest sustained step.

When every event takes a unit's whole customers (a feeder or transformer fault) the estimate
is exact; otherwise it is stated with the result (``unit_assumption``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._kernels import ieee_sums
from openoms.reliability._pairs import Pairs
from openoms.reliability.data import CustomerBase

__all__ = ["IEEE_INDEX_NAMES", "IeeeTable", "ieee_table"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

IEEE_INDEX_NAMES = (
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
)
"""The fixed index names; ``cemi_<n>`` and ``cemsmi_<n>`` follow for every CEMI level."""


def ratio(num: F64, den: F64) -> F64:
    """``num / den`` with NaN where ``den`` is 0 (an index that is undefined, not zero)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class IeeeTable:
    """Basic quantities per group (IEEE 1366-2012 3.2) and the indices built from them."""

    customers: I64  # N_T
    kva: F64  # L_T, connected kVA
    minutes: F64  # T, the period
    customers_interrupted: I64  # ΣN_i (sustained)
    customer_minutes: F64  # Σr_i·N_i (sustained)
    customers_distinct: I64  # CN
    momentary: I64  # customer momentary interruptions, every momentary row (ΣIM_i·N_mi)
    momentary_events: I64  # customer momentary events, once per (event, unit) (ΣIM_E·N_mi,e)
    kva_interrupted: F64  # ΣL_i
    kva_minutes: F64  # Σr_i·L_i
    cemi_levels: tuple[int, ...]  # the n of CEMIn, CEMSMIn; the first is ``cemi_n``
    cemi_customers: I64  # (groups, levels): customers with more than n sustained interruptions
    cemsmi_customers: I64  # ... more than n sustained interruptions and momentary events
    celid_s_customers: I64  # one sustained interruption ≥ the CELID threshold
    celid_t_customers: I64  # total sustained duration ≥ the CELID threshold

    def indices(self) -> dict[str, F64]:
        n_t = self.customers.astype(np.float64)
        ci = self.customers_interrupted.astype(np.float64)
        cn = self.customers_distinct.astype(np.float64)
        return {
            "saifi": ratio(ci, n_t),  # 3.3.1  SAIFI = ΣN_i / N_T
            "saidi_min": ratio(self.customer_minutes, n_t),  # 3.3.2  SAIDI = Σr_i·N_i / N_T
            "caidi_min": ratio(self.customer_minutes, ci),  # 3.3.3  CAIDI = SAIDI / SAIFI
            "caifi": ratio(ci, cn),  # 3.3.5  CAIFI = ΣN_i / CN
            "ctaidi_min": ratio(self.customer_minutes, cn),  # 3.3.4  CTAIDI = Σr_i·N_i / CN
            # 3.3.6  ASAI = (N_T·T − Σr_i·N_i) / (N_T·T)
            "asai": 1.0 - ratio(self.customer_minutes, n_t * self.minutes),
            "asifi": ratio(self.kva_interrupted, self.kva),  # 3.4.1  ASIFI = ΣL_i / L_T
            "asidi_min": ratio(self.kva_minutes, self.kva),  # 3.4.2  ASIDI = Σr_i·L_i / L_T
            "maifi": ratio(self.momentary.astype(np.float64), n_t),  # 3.5.1  ΣIM_i·N_mi / N_T
            "maifie": ratio(
                self.momentary_events.astype(np.float64), n_t
            ),  # 3.5.2 ΣIM_E·N_mi,e/N_T
            # 3.3.7  CEMIn = CN(k>n) / N_T, for the first level
            "cemi_n": ratio(self.cemi_customers[:, 0].astype(np.float64), n_t),
            # 3.5.3  CEMSMIn = CNT(k>n) / N_T, k counting sustained and momentary events
            "cemsmi_n": ratio(self.cemsmi_customers[:, 0].astype(np.float64), n_t),
            # 3.3.8  CELID-s / CELID-t = CN(duration ≥ X) / N_T, single / total
            "celid_s": ratio(self.celid_s_customers.astype(np.float64), n_t),
            "celid_t": ratio(self.celid_t_customers.astype(np.float64), n_t),
        } | self._levels(n_t)

    def _levels(self, n_t: F64) -> dict[str, F64]:
        out: dict[str, F64] = {}
        for i, level in enumerate(self.cemi_levels):
            out[f"cemi_{level}"] = ratio(self.cemi_customers[:, i].astype(np.float64), n_t)
        for i, level in enumerate(self.cemi_levels):
            out[f"cemsmi_{level}"] = ratio(self.cemsmi_customers[:, i].astype(np.float64), n_t)
        return out

    def row(self, g: int) -> dict[str, Any]:
        """Group ``g`` as a JSON-ready dict (undefined indices as ``None``)."""
        out: dict[str, Any] = {
            "customers": int(self.customers[g]),
            "customers_interrupted": int(self.customers_interrupted[g]),
            "customer_minutes": float(self.customer_minutes[g]),
            "customers_distinct": int(self.customers_distinct[g]),
            "momentary_interruptions": int(self.momentary[g]),
            "momentary_events": int(self.momentary_events[g]),
        }
        for name, values in self.indices().items():
            value = float(values[g])
            out[name] = None if np.isnan(value) else value
        return out


def ieee_table(
    pairs: Pairs,
    base: CustomerBase,
    *,
    group: NDArray[np.int32],
    n_groups: int,
    customers: I64,
    kva: F64,
    minutes: F64,
    cemi_levels: tuple[int, ...],
    celid_threshold_s: float,
    event_groups: int,
) -> IeeeTable:
    """IEEE 1366 quantities of ``n_groups`` groups; ``group[p]`` is pair p's group, -1 to leave
    it out. The groups of one unit's pairs may differ only in ``group % event_groups`` (the
    event dimensions of a breakdown; 1 when it has none): CN and the CEMI / CELID counts are
    per (unit, group), found in one pass over the pairs, which come grouped by unit."""
    share = ratio(base.load_kva, base.customers.astype(np.float64))
    share[np.isnan(share)] = 0.0
    by_group = np.zeros((n_groups, 6), dtype=np.float64)
    levels = len(cemi_levels)
    per_group = np.zeros((n_groups, 3 + 2 * levels), dtype=np.int64)
    ieee_sums(
        np.ascontiguousarray(group, dtype=np.int32),
        max(1, event_groups),
        pairs.unit,
        pairs.ci,
        pairs.cmi,
        pairs.momentary,
        pairs.momentary_ci,
        pairs.long_ci,
        pairs.longest_s,
        share,
        np.ascontiguousarray(base.customers, dtype=np.int64),
        np.array(cemi_levels, dtype=np.int64),
        float(celid_threshold_s),
        by_group,
        per_group,
    )

    def whole(row: int) -> I64:
        values: I64 = np.rint(by_group[:, row]).astype(np.int64)
        return values

    return IeeeTable(
        customers=customers,
        kva=kva,
        minutes=minutes,
        customers_interrupted=whole(0),
        customer_minutes=by_group[:, 1],
        customers_distinct=per_group[:, 0],
        momentary=whole(2),
        momentary_events=whole(3),
        kva_interrupted=by_group[:, 4],
        kva_minutes=by_group[:, 5],
        cemi_levels=cemi_levels,
        cemi_customers=per_group[:, 3 : 3 + levels],
        cemsmi_customers=per_group[:, 3 + levels :],
        celid_s_customers=per_group[:, 1],
        celid_t_customers=per_group[:, 2],
    )
