"""A feeder with distributed generation below a fault, and the answers derived by hand.

The small network (tests/grid/small.py) with feeder F1 extended by a section s8 from A4 to a
new pole A7, a fault indicator D3 on s8 and a generator DG1 at A7; D1 (on s1) is a directional
FTU here, like D2 (on K1):

```
 SA busbar A0 ─CB1─ A1 ─s1(D1 →)─ A2 ─K1(D2 →)─ A3 ─s2─ A4 ─s8(D3)─ A7 [generator]
                     └─s3─ A5 (fuse FU1 to A6)
```

Zones of F1: CB1 (implicit root: CB1, s3, FU1), D1 (s1), D2 (K1, s2), D3 (s8); one overhead
km each, so the length prior is uniform (1/4 each) and cancels.

The fault is on s1 (zone D1), a permanent short circuit: CB1 trips to lockout (the implicit
relay alarms; it is on every zone's path, so it shifts every score alike). D1 sees the
substation's fault current flowing away from the substation: +1. The generator feeds the
fault from below, through s8 and K1 toward the substation: D2 reads −1 and the indicator D3
alarms.

Rates (DEFAULT_RATES): FTU a = 0.01, m = 0.03, δ = 0.005; indicator a = 0.03, m = 0.10. With q
the probability that the generator's current is detectable (the same for every device above
A7: one generator), each device's weight is ``w = ln P(obs | on) − ln P(obs | off)`` with the
off expectation "−1 with probability q, else 0" (docs/faults.md, "Distributed generation"):

- D1 reads +1: P(+1 | on) = (1 − m)(1 − δ) = 0.96515;
  P(+1 | off) = q (1 − m) δ + (1 − q) a/2 = 0.00485 q + 0.005 (1 − q).
- D2 reads −1: P(−1 | on) = (1 − m) δ = 0.00485;
  P(−1 | off) = q (1 − m)(1 − δ) + (1 − q) a/2 = 0.96515 q + 0.005 (1 − q).
- D3 alarms: P(alarm | on) = 1 − m = 0.9; P(alarm | off) = 0.9 q + 0.03 (1 − q).

The score of a zone is the sum of the weights on its path: e^S(CB1) = 1, e^S(D1) = e^w1,
e^S(D2) = e^(w1 + w2), e^S(D3) = e^(w1 + w2 + w3); the posterior is e^S / Σ e^S.

| q | e^w1 | e^w2 | e^w3 | e^S: CB1, D1, D2, D3 | Σ |
| --- | --- | --- | --- | --- | --- |
| 0 (no DG) | 193.03 | 0.97 | 30 | 1, 193.03, 187.2391, 5617.173 | 5998.4421 |
| 0.3 | 194.783047 | 0.016550 | 3.092784 | 1, 194.783047, 3.223729, 9.970297 | 208.977074 |
| 0.95 | 198.692743 | 0.005288 | 1.050788 | 1, 198.692743, 1.050720, 1.104084 | 201.847547 |

| q | posterior CB1 | D1 | D2 | D3 |
| --- | --- | --- | --- | --- |
| 0 (no DG declared) | 0.000167 | 0.032180 | 0.031215 | 0.936439 |
| 0.3 (inverter) | 0.004785 | 0.932079 | 0.015426 | 0.047710 |
| 0.95 (synchronous) | 0.004954 | 0.984370 | 0.005206 | 0.005470 |

(e.g. q = 0.3: P(+1 | off) = 0.001455 + 0.0035 = 0.004955, e^w1 = 0.96515 / 0.004955 =
194.783047; P(−1 | off) = 0.289545 + 0.0035 = 0.293045, e^w2 = 0.00485 / 0.293045 = 0.016550;
P(alarm | off) = 0.27 + 0.021 = 0.291, e^w3 = 0.9 / 0.291 = 3.092784.)

Without the generator declared the locator sends the crew below D3, the wrong end of the
feeder (0.94 on D3); declared, it finds s1 (zone D1) with either kind.
"""

from __future__ import annotations

from typing import Any

from tests.grid.small import small_rows

FEEDER = "F1"
TRUE_ZONE = "D1"
POSTERIORS = {  # q → posterior of CB1, D1, D2, D3 (the table above)
    0.0: (0.000167, 0.032180, 0.031215, 0.936439),
    0.3: (0.004785, 0.932079, 0.015426, 0.047710),
    0.95: (0.004954, 0.984370, 0.005206, 0.005470),
}
ZONES = ("CB1", "D1", "D2", "D3")


def dg_rows(kind: str | None = "synchronous", probability: float | None = None) -> dict[str, Any]:
    """The rows of the network above; ``kind`` None: no generator declared."""
    rows = small_rows()
    rows["nodes"].append(
        {"id": "A7", "kind": "pole", "lon_deg": 113.2, "lat_deg": 35.0, "grid_cell": "G1"}
    )
    rows["sections"].append(
        {"id": "s8", "from_node": "A4", "to_node": "A7", "kind": "overhead", "length_km": 1.0}
    )
    rows["detectors"] = [
        {"id": "D1", "kind": "ftu", "branch": "s1", "directional": True},
        {"id": "D2", "kind": "ftu", "branch": "K1", "directional": True},
        {"id": "D3", "kind": "fault_indicator", "branch": "s8"},
    ]
    if kind is not None:
        row: dict[str, Any] = {"id": "DG1", "name": "李村电站", "node": "A7", "kind": kind}
        if probability is not None:
            row["detection_probability"] = probability
        rows["generators"] = [row]
    return rows
