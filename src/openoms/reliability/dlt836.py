"""DL/T 836 (China's supply-reliability code) indices at 10 kV, vectorised over groups.

One user (用户) = one unit: a public transformer area (台区) or an HV customer, however many
LV customers it has. A unit's interruption in an event lasts until its last restoration step
(the largest ``end − start`` of its rows). Interruptions of at most
``short_interruption_s`` are left out (Chinese statistics may ignore those of ≤ 3 min; the
rule is not yet checked against the standard's text, docs/reliability.md "DL/T 836", so it is
a setting and 0 counts every one).

    AIHC-1 = Σ(duration h × users off) / total users                 (h/户)
    AIHC-2 = the same without 故障停电-外部 (FAULT_EXTERNAL)
    AIHC-3 = the same without 预安排-限电 (LOAD_LIMITING)
    RS-k   = (1 − AIHC-k / period hours) × 100 %
    AITC-1 = Σ users off / total users                               (次/户)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openoms.reliability._kernels import dlt_sums
from openoms.reliability._pairs import Pairs
from openoms.reliability.data import OutageClass
from openoms.reliability.ieee import ratio

__all__ = ["DLT_INDEX_NAMES", "DltTable", "dlt_table"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

_N_CLASSES = len(OutageClass)
_FAULT = (OutageClass.FAULT_INTERNAL, OutageClass.FAULT_EXTERNAL)
_PREARRANGED = (OutageClass.PLANNED, OutageClass.TEMPORARY, OutageClass.LOAD_LIMITING)

DLT_INDEX_NAMES = ("aihc1_h", "aihc2_h", "aihc3_h", "rs1_pct", "rs2_pct", "rs3_pct", "aitc1")


@dataclass(frozen=True, slots=True, eq=False)
class DltTable:
    """Per group: users, period hours, and user-hours / users off by outage class."""

    users: I64
    hours: F64
    user_hours: F64  # (groups, classes)
    users_off: I64  # (groups, classes)

    def indices(self) -> dict[str, F64]:
        users = self.users.astype(np.float64)
        total = self.user_hours.sum(axis=1)
        aihc1 = ratio(total, users)
        aihc2 = ratio(total - self.user_hours[:, OutageClass.FAULT_EXTERNAL], users)
        aihc3 = ratio(total - self.user_hours[:, OutageClass.LOAD_LIMITING], users)
        return {
            "aihc1_h": aihc1,
            "aihc2_h": aihc2,
            "aihc3_h": aihc3,
            "rs1_pct": (1.0 - ratio(aihc1, self.hours)) * 100.0,
            "rs2_pct": (1.0 - ratio(aihc2, self.hours)) * 100.0,
            "rs3_pct": (1.0 - ratio(aihc3, self.hours)) * 100.0,
            "aitc1": ratio(self.users_off.sum(axis=1).astype(np.float64), users),
        }

    def splits(self, g: int) -> dict[str, Any]:
        """AIHC and AITC contributions of each class, and fault vs pre-arranged, of group g."""
        users = float(self.users[g])

        def share(classes: tuple[OutageClass, ...]) -> dict[str, float | None]:
            hours = float(sum(self.user_hours[g, c] for c in classes))
            off = float(sum(self.users_off[g, c] for c in classes))
            if users == 0:
                return {"aihc_h": None, "aitc": None, "user_hours": hours}
            return {"aihc_h": hours / users, "aitc": off / users, "user_hours": hours}

        out: dict[str, Any] = {c.name.lower(): share((c,)) for c in OutageClass}
        out["fault"] = share(_FAULT)
        out["prearranged"] = share(_PREARRANGED)
        return out

    def row(self, g: int) -> dict[str, Any]:
        out: dict[str, Any] = {"users": int(self.users[g])}
        for name, values in self.indices().items():
            value = float(values[g])
            out[name] = None if np.isnan(value) else value
        return out


def dlt_table(
    pairs: Pairs,
    *,
    group: NDArray[np.int32],
    n_groups: int,
    users: I64,
    hours: F64,
    short_interruption_s: float,
) -> DltTable:
    """DL/T 836 quantities of ``n_groups`` groups; ``group[p]`` is pair p's group, -1 to skip."""
    user_hours = np.zeros((n_groups, _N_CLASSES), dtype=np.float64)
    users_off = np.zeros((n_groups, _N_CLASSES), dtype=np.int64)
    dlt_sums(
        np.ascontiguousarray(group, dtype=np.int32),
        pairs.outage_class,
        pairs.dlt_s,
        float(short_interruption_s),
        user_hours,
        users_off,
    )
    return DltTable(users=users, hours=hours, user_hours=user_hours, users_off=users_off)
