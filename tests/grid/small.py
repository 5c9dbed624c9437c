"""A small hand-made network used by several tests: two substations, three feeders.

```
 SA busbar A0 ─CB1─ A1 ─s1─ A2 ─K1─ A3 ─s2─ A4 ·····T1(open)····· B4
                     └─s3─ A5 (fuse FU1 to A6)                    │
 SA busbar A0 ─CB2─ C1 ─s4─ C2                                    │
 SB busbar B0 ─CB3─ B1 ─s5─ B2 ─s6─ B3 ─s7─ B4 ───────────────────┘
```
"""

from __future__ import annotations

from typing import Any

from openoms.grid.records import Location, RawNetwork

_SRC = "small"


def small_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of the small network, to be mutated by validation tests."""
    nodes = ["A0", "A1", "A2", "A3", "A4", "A5", "A6", "C1", "C2", "B0", "B1", "B2", "B3", "B4"]
    return {
        "substations": [
            {"id": "SA", "name": "甲变", "busbar_node": "A0"},
            {"id": "SB", "name": "乙变", "busbar_node": "B0"},
        ],
        "feeders": [
            {"id": "F1", "name": "甲Ⅰ线", "substation": "SA", "head": "CB1"},
            {"id": "F2", "name": "甲Ⅱ线", "substation": "SA", "head": "CB2"},
            {"id": "F3", "name": "乙Ⅰ线", "substation": "SB", "head": "CB3"},
        ],
        "nodes": [
            {
                "id": n,
                "kind": "busbar" if n.endswith("0") else "pole",
                "lon_deg": 113.0 + i * 0.01,
                "lat_deg": 35.0,
                "grid_cell": "G1",
            }
            for i, n in enumerate(nodes)
        ],
        "sections": [
            {
                "id": s,
                "from_node": a,
                "to_node": b,
                "kind": "overhead",
                "length_km": 1.0,
                "r_ohm_per_km": 0.13,
                "x_ohm_per_km": 0.35,
                "ampacity_a": 445.0,
            }
            for s, a, b in [
                ("s1", "A1", "A2"),
                ("s2", "A3", "A4"),
                ("s3", "A1", "A5"),
                ("s4", "C1", "C2"),
                ("s5", "B1", "B2"),
                ("s6", "B2", "B3"),
                ("s7", "B3", "B4"),
            ]
        ],
        "switches": [
            {
                "id": k,
                "from_node": a,
                "to_node": b,
                "kind": kind,
                "normal_state": st,
                "remote": remote,
            }
            for k, a, b, kind, st, remote in [
                ("CB1", "A0", "A1", "breaker", "closed", True),
                ("CB2", "A0", "C1", "breaker", "closed", True),
                ("CB3", "B0", "B1", "breaker", "closed", True),
                ("K1", "A2", "A3", "load_break_switch", "closed", True),
                ("FU1", "A5", "A6", "fuse", "closed", False),
                ("T1", "A4", "B4", "load_break_switch", "open", True),
            ]
        ],
        "detectors": [
            {"id": "D1", "kind": "fault_indicator", "branch": "s1"},
            {"id": "D2", "kind": "ftu", "branch": "K1", "directional": True},
        ],
        "transformer_areas": [
            {
                "id": ta,
                "name": f"{ta}台区",
                "node": n,
                "rated_kva": 200.0,
                "lv_customers": c,
                "village": v,
            }
            for ta, n, c, v in [
                ("TA1", "A2", 40, "王庄村"),
                ("TA2", "A4", 35, "李村"),
                ("TA3", "A6", 20, "李村"),
                ("TA4", "C2", 50, "城关"),
                ("TA5", "B3", 30, "张营"),
            ]
        ],
        "hv_customers": [
            {
                "id": "HV1",
                "name": "水泥厂",
                "node": "A3",
                "contracted_kva": 1000.0,
                "importance": "class_2",
            },
        ],
        "sensitive_customers": [
            {
                "id": "SC1",
                "name": "李村敬老院",
                "category": "nursing_home",
                "supplied_by": "TA2",
                "people": 96,
            },
        ],
        "grid_cells": [{"id": "G1", "name": "城关网格", "crew": "城关抢修一班"}],
    }


def small_raw(rows: dict[str, list[dict[str, Any]]] | None = None) -> RawNetwork:
    rows = small_rows() if rows is None else rows
    raw = RawNetwork("small")
    for table, items in rows.items():
        for i, item in enumerate(items):
            raw.add(table, item, Location(f"{_SRC}/{table}.csv", row=i + 2))
    return raw
