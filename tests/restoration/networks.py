"""Networks for the restoration tests, built like tests/grid/small.py.

The FLISR test network (all sections 1 km, r 0.2 + x 0.35 ohm/km, 400 A unless said):

```
 SA A0 ─CB1─ A1 ─s1─ A2 ─K1─ A3 ─s2─ A4 ─K2─ A5 ─s3─ A6 ─K3─ A7 ─s4─ A8
                      ┆                             ┆               ┆
                      T3 (open, manual)             T2 (open)       T1 (open)
                      ┆                             ┆               ┆
 SC C0 ─CB3─ C1 ─s6─ C2 ────────────────────────────┘               │
 SB B0 ─CB2─ B1 ─s5─ B2 ────────────────────────────────────────────┘
```

K1, K3, T1, T2 and the breakers are remote; K2 and T3 are manual load-break switches. Loads
(transformer areas, kW / LV customers): A2 200/50, A4 300/80 (the nursing home SC1),
A5 200/40, A6 200/60, A7 300/70, A8 200/30, B2 300/100, C2 300/100. At 10 kV and the
planner's default power factor 0.95, 100 kW draws 100 / (0.95 · √3 · 10) = 6.08 A.

The IEEE 33-bus feeder with a switch on every branch: :func:`ieee33_switched`.
"""

from __future__ import annotations

from typing import Any

from openoms.grid.ieee33 import TIE_BRANCHES, ieee33
from openoms.grid.records import Location, RawNetwork

_SRC = "flisr"


def flisr_rows(
    *, s5_ampacity: float = 400.0, s6_ampacity: float = 400.0
) -> dict[str, list[dict[str, Any]]]:
    nodes = ["A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"]
    nodes += ["B0", "B1", "B2", "C0", "C1", "C2"]
    sections = [
        ("s1", "A1", "A2", 400.0),
        ("s2", "A3", "A4", 400.0),
        ("s3", "A5", "A6", 400.0),
        ("s4", "A7", "A8", 400.0),
        ("s5", "B1", "B2", s5_ampacity),
        ("s6", "C1", "C2", s6_ampacity),
    ]
    switches = [
        ("CB1", "A0", "A1", "breaker", "closed", True),
        ("CB2", "B0", "B1", "breaker", "closed", True),
        ("CB3", "C0", "C1", "breaker", "closed", True),
        ("K1", "A2", "A3", "load_break_switch", "closed", True),
        ("K2", "A4", "A5", "load_break_switch", "closed", False),
        ("K3", "A6", "A7", "load_break_switch", "closed", True),
        ("T1", "A8", "B2", "load_break_switch", "open", True),
        ("T2", "A6", "C2", "load_break_switch", "open", True),
        ("T3", "A2", "C2", "load_break_switch", "open", False),
    ]
    loads = [
        ("TA1", "A2", 200.0, 50),
        ("TA2", "A4", 300.0, 80),
        ("TA3", "A5", 200.0, 40),
        ("TA4", "A6", 200.0, 60),
        ("TA5", "A7", 300.0, 70),
        ("TA6", "A8", 200.0, 30),
        ("TB", "B2", 300.0, 100),
        ("TC", "C2", 300.0, 100),
    ]
    return {
        "substations": [
            {"id": "SA", "name": "甲变", "busbar_node": "A0", "voltage_kv": 10.0},
            {"id": "SB", "name": "乙变", "busbar_node": "B0", "voltage_kv": 10.0},
            {"id": "SC", "name": "丙变", "busbar_node": "C0", "voltage_kv": 10.0},
        ],
        "feeders": [
            {"id": "F1", "name": "甲Ⅰ线", "substation": "SA", "head": "CB1"},
            {"id": "F2", "name": "乙Ⅰ线", "substation": "SB", "head": "CB2"},
            {"id": "F3", "name": "丙Ⅰ线", "substation": "SC", "head": "CB3"},
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
                "name": f"{s}段",
                "from_node": a,
                "to_node": b,
                "kind": "overhead",
                "length_km": 1.0,
                "r_ohm_per_km": 0.2,
                "x_ohm_per_km": 0.35,
                "ampacity_a": amp,
            }
            for s, a, b, amp in sections
        ],
        "switches": [
            {
                "id": k,
                "name": f"{k}开关",
                "from_node": a,
                "to_node": b,
                "kind": kind,
                "normal_state": st,
                "remote": remote,
                "rated_a": 630.0,
            }
            for k, a, b, kind, st, remote in switches
        ],
        "detectors": [],
        "transformer_areas": [
            {
                "id": ta,
                "name": f"{ta}台区",
                "node": n,
                "rated_kva": 630.0,
                "lv_customers": c,
                "load_kw": p,
                "village": "李村",
            }
            for ta, n, p, c in loads
        ],
        "hv_customers": [],
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


def raw_of(name: str, rows: dict[str, list[dict[str, Any]]]) -> RawNetwork:
    raw = RawNetwork(name)
    for table, items in rows.items():
        raw.table(table)
        for i, item in enumerate(items):
            raw.add(table, item, Location(f"{name}/{table}.csv", row=i + 2))
    return raw


def flisr_raw(*, s5_ampacity: float = 400.0, s6_ampacity: float = 400.0) -> RawNetwork:
    return raw_of(_SRC, flisr_rows(s5_ampacity=s5_ampacity, s6_ampacity=s6_ampacity))


def ieee33_switched() -> RawNetwork:
    """The IEEE 33-bus feeder (Baran & Wu 1989, :mod:`openoms.grid.ieee33`) made switchable
    the way FLISR studies of it assume: a remote breaker ``CB`` at the head (busbar ``1`` to a
    new node ``1h``, branch L1 now starting there), a remote load-break switch ``K<k>`` at the
    receiving end of every branch ``L<k>`` (L<k> ends at a new node ``<bus>s``, K<k> joins it
    to the bus), and each tie as its impedance (section ``LT<n>``, the paper's R and X) in
    series with the normally-open remote switch ``T<n>``. Switches have no impedance, so the
    power flow is the paper's."""
    base = ieee33()
    rows = {name: [dict(r) for r in table.rows] for name, table in base.tables.items()}
    rows["nodes"].append(
        {"id": "1h", "name": "Feeder head", "kind": "junction", "lon_deg": None, "lat_deg": None}
    )
    sections, switches = [], []
    for s in rows["sections"]:
        bus = s["to_node"]
        end = f"{bus}s"
        rows["nodes"].append(
            {"id": end, "name": f"Branch {s['id']} end", "kind": "junction", "lon_deg": None,
             "lat_deg": None}
        )  # fmt: skip
        from_node = "1h" if s["from_node"] == "1" else s["from_node"]
        sections.append(s | {"from_node": from_node, "to_node": end})
        switches.append(
            {
                "id": f"K{s['id'][1:]}",
                "name": f"Switch of branch {s['id'][1:]}",
                "from_node": end,
                "to_node": bus,
                "kind": "load_break_switch",
                "normal_state": "closed",
                "present_state": None,
                "remote": True,
                "rated_a": None,
            }
        )
    switches.insert(
        0,
        {
            "id": "CB",
            "name": "Feeder breaker",
            "from_node": "1",
            "to_node": "1h",
            "kind": "breaker",
            "normal_state": "closed",
            "present_state": None,
            "remote": True,
            "rated_a": None,
        },
    )
    for number, (bus_from, bus_to, r_ohm, x_ohm) in TIE_BRANCHES.items():
        mid = f"t{number}"
        rows["nodes"].append(
            {"id": mid, "name": f"Tie {number}", "kind": "junction", "lon_deg": None,
             "lat_deg": None}
        )  # fmt: skip
        sections.append(
            {
                "id": f"LT{number}",
                "name": f"Tie branch {number} ({bus_from}–{bus_to})",
                "from_node": str(bus_from),
                "to_node": mid,
                "kind": "overhead",
                "length_km": 1.0,
                "r_ohm_per_km": r_ohm,
                "x_ohm_per_km": x_ohm,
                "ampacity_a": None,
                "conductor": None,
            }
        )
        switches.append(
            {
                "id": f"T{number}",
                "name": f"Tie {number} ({bus_from}–{bus_to})",
                "from_node": mid,
                "to_node": str(bus_to),
                "kind": "load_break_switch",
                "normal_state": "open",
                "present_state": None,
                "remote": True,
                "rated_a": None,
            }
        )
    rows["sections"], rows["switches"] = sections, switches
    rows["feeders"][0]["head"] = "CB"
    return raw_of("ieee33-switched", rows)
