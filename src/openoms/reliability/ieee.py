"""IEEE 1366-2012 indices over groups of (event, unit) pairs, vectorised.

Clause numbers are those of IEEE Std 1366-2012 (clause 3: sustained-interruption indices in
3.3, load-based in 3.4, momentary in 3.5; major event days in 4.5) as we read the 2012 edition.

Customers are counted per unit (transformer area or HV customer): a unit's customers are taken
as interchangeable, so

* CN (distinct customers interrupted) of a unit = the most of its customers interrupted in any
  one event; CAIFI and CTAIDI divide by ΣCN;
* CEMIn / CEMSMIn: every customer of a unit shares the unit's count of events;
* CELID-t: every customer of a unit shares the unit's total duration, each event counting the
  unit's last sustained restoration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    cemi_customers: I64  # customers with more than n sustained interruptions
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
            "cemi_n": ratio(self.cemi_customers.astype(np.float64), n_t),  # 3.3.7  CN(k>n) / N_T
            # 3.5.3  CEMSMIn = CNT(k>n) / N_T, k counting sustained and momentary events
            "cemsmi_n": ratio(self.cemsmi_customers.astype(np.float64), n_t),
            # 3.3.8  CELID-s / CELID-t = CN(duration ≥ X) / N_T, single / total
            "celid_s": ratio(self.celid_s_customers.astype(np.float64), n_t),
            "celid_t": ratio(self.celid_t_customers.astype(np.float64), n_t),
        }

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


def _per_unit_in_group(
    pairs: Pairs, group: I64, n_units: int, unit_level: bool
) -> tuple[I64, I64, I64]:
    """(inverse, group, unit) of the distinct (group, unit) combinations of the pairs."""
    if unit_level:  # each unit is in one group: index by unit, no sort
        unit_group = np.zeros(n_units, dtype=np.int64)
        unit_group[pairs.unit] = group
        return pairs.unit, unit_group, np.arange(n_units, dtype=np.int64)
    key = group * np.int64(max(n_units, 1)) + pairs.unit
    keys, inverse = np.unique(key, return_inverse=True)
    return inverse.astype(np.int64), keys // max(n_units, 1), keys % max(n_units, 1)


def ieee_table(
    pairs: Pairs,
    base: CustomerBase,
    *,
    group: I64,
    n_groups: int,
    customers: I64,
    kva: F64,
    minutes: F64,
    cemi_n: int,
    celid_threshold_s: float,
    unit_level: bool,
) -> IeeeTable:
    """IEEE 1366 quantities of ``n_groups`` groups; ``group[p]`` is pair p's group, -1 to leave
    it out. ``unit_level`` says every pair of a unit falls in the unit's one group (breakdowns
    by feeder, substation, ...), which saves a sort."""
    keep = group >= 0
    p = pairs if keep.all() else _select(pairs, keep)
    g = group[keep]

    def total(weights: NDArray[Any]) -> F64:
        return np.bincount(g, weights=weights, minlength=n_groups)[:n_groups].astype(np.float64)

    unit_c = base.customers[p.unit]
    unit_share = ratio(base.load_kva[p.unit], unit_c.astype(np.float64))
    unit_share[np.isnan(unit_share)] = 0.0

    inverse, gu_group, gu_unit = _per_unit_in_group(p, g, len(base), unit_level)
    m = gu_unit.size
    cn = np.zeros(m, dtype=np.int64)
    np.maximum.at(cn, inverse, p.ci)
    long_one = np.zeros(m, dtype=np.int64)
    np.maximum.at(long_one, inverse, p.long_ci)
    sustained_events = np.bincount(inverse, weights=p.ci > 0, minlength=m)
    any_events = np.bincount(inverse, weights=(p.ci > 0) | (p.momentary > 0), minlength=m)
    total_s = np.bincount(inverse, weights=p.longest_s, minlength=m)
    gu_customers = base.customers[gu_unit]

    def per_group(weights: NDArray[Any]) -> I64:
        summed = np.bincount(gu_group, weights=weights, minlength=n_groups)[:n_groups]
        return np.rint(summed).astype(np.int64)

    return IeeeTable(
        customers=customers,
        kva=kva,
        minutes=minutes,
        customers_interrupted=np.rint(total(p.ci)).astype(np.int64),
        customer_minutes=total(p.cmi),
        customers_distinct=per_group(cn),
        momentary=np.rint(total(p.momentary)).astype(np.int64),
        momentary_events=np.rint(total(p.momentary_ci)).astype(np.int64),
        kva_interrupted=total(p.ci * unit_share),
        kva_minutes=total(p.cmi * unit_share),
        cemi_customers=per_group(np.where(sustained_events > cemi_n, gu_customers, 0)),
        cemsmi_customers=per_group(np.where(any_events > cemi_n, gu_customers, 0)),
        celid_s_customers=per_group(long_one),
        celid_t_customers=per_group(np.where(total_s >= celid_threshold_s, gu_customers, 0)),
    )


def _select(pairs: Pairs, keep: NDArray[np.bool_]) -> Pairs:
    return Pairs(**{name: getattr(pairs, name)[keep] for name in Pairs.__slots__})
