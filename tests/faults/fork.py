"""A named feeder that forks, for the texts people read (tests/faults/test_summary*.py,
tests/faults/test_ties*.py, tests/service/test_crew_alert*.py).

```
 丙变 B0 ─CB─ N1 ─s1─ N2 ─s2─ N3 ─s3─ N4   (东支线, line end)
  relay R on CB     DC on s2    └─s4─ N5   (西支线, line end)
                                DA on s3, DB on s4
```

Every zone holds exactly 1 km of overhead line (root R: CB + s1; DC: s2; DA: s3; DB: s4), so
the length prior is the same for all four zones and cancels out of every posterior below.
DC, DA and DB are fault indicators (a = 0.03, m = 0.10); R is a relay (a = m = 0.001), on
the root zone, so its report shifts every zone alike. Weights (docs/faults.md):
alarm ln((1 − m)/a) = ln(0.9/0.03) = ln 30; no alarm ln(m/(1 − a)) = ln(0.1/0.97).
"""

from __future__ import annotations

from typing import Any

from openoms.grid.records import Location, RawNetwork

LN30_WEIGHT = 30.0  # exp(weight of an indicator's alarm)
QUIET_WEIGHT = 0.1 / 0.97  # exp(weight of an indicator's "no alarm")


def fork_rows() -> dict[str, list[dict[str, Any]]]:
    nodes = [
        ("B0", "丙变10kV母线", "busbar"),
        ("N1", "丙线#1", "pole"),
        ("N2", "丙线#10", "pole"),
        ("N3", "丙线#20", "pole"),
        ("N4", "丙线东支线#8", "pole"),
        ("N5", "丙线西支线#6", "pole"),
    ]
    sections = [
        ("s1", "丙线#1–#10", "N1", "N2"),
        ("s2", "丙线#10–#20", "N2", "N3"),
        ("s3", "丙线东支线#1–#8", "N3", "N4"),
        ("s4", "丙线西支线#1–#6", "N3", "N5"),
    ]
    return {
        "substations": [{"id": "SC", "name": "丙变", "busbar_node": "B0"}],
        "feeders": [{"id": "F1", "name": "10kV 丙线", "substation": "SC", "head": "CB"}],
        "nodes": [
            {
                "id": n,
                "name": name,
                "kind": kind,
                "lon_deg": 113.0 + i * 0.01,
                "lat_deg": 35.0,
                "grid_cell": "G1",
            }
            for i, (n, name, kind) in enumerate(nodes)
        ],
        "sections": [
            {
                "id": s,
                "name": name,
                "from_node": a,
                "to_node": b,
                "kind": "overhead",
                "length_km": 1.0,
                "r_ohm_per_km": 0.13,
                "x_ohm_per_km": 0.35,
                "ampacity_a": 445.0,
            }
            for s, name, a, b in sections
        ],
        "switches": [
            {
                "id": "CB",
                "name": "丙线901开关",
                "from_node": "B0",
                "to_node": "N1",
                "kind": "breaker",
                "normal_state": "closed",
                "remote": True,
            }
        ],
        "detectors": [
            {"id": "R", "name": "丙线901开关保护", "kind": "relay", "branch": "CB"},
            {"id": "DC", "name": "丙线#20故障指示器", "kind": "fault_indicator", "branch": "s2"},
            {"id": "DA", "name": "丙线东支线故障指示器", "kind": "fault_indicator", "branch": "s3"},
            {"id": "DB", "name": "丙线西支线故障指示器", "kind": "fault_indicator", "branch": "s4"},
        ],
        "transformer_areas": [
            {
                "id": ta,
                "name": f"{village}台区",
                "node": n,
                "rated_kva": 200.0,
                "lv_customers": c,
                "village": village,
            }
            for ta, n, c, village in [("TA1", "N4", 40, "东村"), ("TA2", "N5", 30, "西村")]
        ],
        "grid_cells": [{"id": "G1", "name": "丙线网格", "crew": "丙线抢修班"}],
    }


def fork_raw() -> RawNetwork:
    raw = RawNetwork("fork")
    for table, items in fork_rows().items():
        for i, item in enumerate(items):
            raw.add(table, item, Location(f"fork/{table}.csv", row=i + 2))
    return raw
