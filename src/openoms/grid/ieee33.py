"""The IEEE 33-bus test feeder of Baran & Wu (1989), in the native format.

Source: M. E. Baran and F. F. Wu, "Network reconfiguration in distribution systems for loss
reduction and load balancing", IEEE Transactions on Power Delivery 4(2), 1401–1407, 1989
(the branch and load table of the paper's test system). 12.66 kV, 32 branches, 5 normally
open tie branches, 3,715 kW + 2,300 kvar of load. Published base case (the paper's power
flow; docs/formats.md, "The bundled networks"): losses 202.68 kW, minimum voltage 0.9131 pu at
bus 18.

How the paper's data is put into the native format:

- Node ids are the paper's bus numbers as strings, ``"1"`` … ``"33"``; bus 1 is the
  substation busbar (substation ``"S1"``) and the only source.
- Section ids are the paper's branch numbers, ``"L1"`` … ``"L32"``. The paper gives each
  branch's total resistance and reactance in ohm, not a length, so every section has
  ``length_km = 1.0`` with ``r_ohm_per_km`` and ``x_ohm_per_km`` equal to the branch's
  ohms. No shunt capacitance, no ratings (the paper gives none).
- The five tie branches 33–37 (8–21, 9–15, 12–22, 18–33, 25–29) are normally-open switches
  ``"T33"`` … ``"T37"`` (kind load-break switch). A switch of the native format has no
  impedance; the paper's tie impedances are kept in :data:`TIE_BRANCHES` for
  reconfiguration studies that need them.
- The feeder ``"F1"`` has no breaker in the paper: its head is section ``L1`` (bus 1–2).
- Each load is a transformer area ``"TA<bus>"`` at its bus with ``load_kw`` = the paper's
  P. The reactive loads are in :data:`LOAD_KVAR`, since the native format has no kvar field.
  ``rated_kva`` is the load's apparent power rounded up to a whole kVA.
- ``lv_customers = round(P_kW / 2)``: Baran & Wu give no customer counts. This is our own
  assumption (about 2 kW per household), there only so that customer-based indices can be
  computed on this feeder; it is not part of the published test case.
"""

from __future__ import annotations

import math
from typing import Final

from openoms.grid.records import Location, RawNetwork
from openoms.grid.schema import NodeKind, SectionKind, SwitchKind, SwitchState

__all__ = [
    "BRANCHES",
    "LOAD_KVAR",
    "LOAD_KW",
    "NOMINAL_KV",
    "PUBLISHED_LOSSES_KW",
    "PUBLISHED_MIN_VOLTAGE_BUS",
    "PUBLISHED_MIN_VOLTAGE_PU",
    "TIE_BRANCHES",
    "ieee33",
]

NOMINAL_KV: Final = 12.66
PUBLISHED_LOSSES_KW: Final = 202.68
PUBLISHED_MIN_VOLTAGE_PU: Final = 0.9131
PUBLISHED_MIN_VOLTAGE_BUS: Final = 18

# Branch number → (from bus, to bus, R ohm, X ohm), Baran & Wu (1989), table of the test system.
BRANCHES: Final[dict[int, tuple[int, int, float, float]]] = {
    1: (1, 2, 0.0922, 0.0470),
    2: (2, 3, 0.4930, 0.2511),
    3: (3, 4, 0.3660, 0.1864),
    4: (4, 5, 0.3811, 0.1941),
    5: (5, 6, 0.8190, 0.7070),
    6: (6, 7, 0.1872, 0.6188),
    7: (7, 8, 0.7114, 0.2351),
    8: (8, 9, 1.0300, 0.7400),
    9: (9, 10, 1.0440, 0.7400),
    10: (10, 11, 0.1966, 0.0650),
    11: (11, 12, 0.3744, 0.1238),
    12: (12, 13, 1.4680, 1.1550),
    13: (13, 14, 0.5416, 0.7129),
    14: (14, 15, 0.5910, 0.5260),
    15: (15, 16, 0.7463, 0.5450),
    16: (16, 17, 1.2890, 1.7210),
    17: (17, 18, 0.7320, 0.5740),
    18: (2, 19, 0.1640, 0.1565),
    19: (19, 20, 1.5042, 1.3554),
    20: (20, 21, 0.4095, 0.4784),
    21: (21, 22, 0.7089, 0.9373),
    22: (3, 23, 0.4512, 0.3083),
    23: (23, 24, 0.8980, 0.7091),
    24: (24, 25, 0.8960, 0.7011),
    25: (6, 26, 0.2030, 0.1034),
    26: (26, 27, 0.2842, 0.1447),
    27: (27, 28, 1.0590, 0.9337),
    28: (28, 29, 0.8042, 0.7006),
    29: (29, 30, 0.5075, 0.2585),
    30: (30, 31, 0.9744, 0.9630),
    31: (31, 32, 0.3105, 0.3619),
    32: (32, 33, 0.3410, 0.5302),
}

# Tie branch number → (from bus, to bus, R ohm, X ohm); normally open.
TIE_BRANCHES: Final[dict[int, tuple[int, int, float, float]]] = {
    33: (8, 21, 2.0, 2.0),
    34: (9, 15, 2.0, 2.0),
    35: (12, 22, 2.0, 2.0),
    36: (18, 33, 0.5, 0.5),
    37: (25, 29, 0.5, 0.5),
}

# Bus → active load in kW (the paper's P at the receiving bus of each branch).
LOAD_KW: Final[dict[int, float]] = {
    2: 100.0, 3: 90.0, 4: 120.0, 5: 60.0, 6: 60.0, 7: 200.0, 8: 200.0, 9: 60.0, 10: 60.0,
    11: 45.0, 12: 60.0, 13: 60.0, 14: 120.0, 15: 60.0, 16: 60.0, 17: 60.0, 18: 90.0,
    19: 90.0, 20: 90.0, 21: 90.0, 22: 90.0, 23: 90.0, 24: 420.0, 25: 420.0, 26: 60.0,
    27: 60.0, 28: 60.0, 29: 120.0, 30: 200.0, 31: 150.0, 32: 210.0, 33: 60.0,
}  # fmt: skip

# Bus → reactive load in kvar (same table). Not a field of the native format.
LOAD_KVAR: Final[dict[int, float]] = {
    2: 60.0, 3: 40.0, 4: 80.0, 5: 30.0, 6: 20.0, 7: 100.0, 8: 100.0, 9: 20.0, 10: 20.0,
    11: 30.0, 12: 35.0, 13: 35.0, 14: 80.0, 15: 10.0, 16: 20.0, 17: 20.0, 18: 40.0,
    19: 40.0, 20: 40.0, 21: 40.0, 22: 40.0, 23: 50.0, 24: 200.0, 25: 200.0, 26: 25.0,
    27: 25.0, 28: 20.0, 29: 70.0, 30: 600.0, 31: 70.0, 32: 100.0, 33: 40.0,
}  # fmt: skip

_SOURCE: Final = "ieee33"


def ieee33() -> RawNetwork:
    """The IEEE 33-bus feeder (Baran & Wu 1989) as a :class:`RawNetwork`; see the module doc.

    >>> net = ieee33()
    >>> len(net.tables["sections"]), len(net.tables["switches"])
    (32, 5)
    """
    raw = RawNetwork(name="ieee33")

    def add(table: str, row: dict[str, object]) -> None:
        raw.add(table, row, Location(_SOURCE, element=str(row["id"])))

    add(
        "substations",
        {"id": "S1", "name": "Substation (bus 1)", "busbar_node": "1", "voltage_kv": NOMINAL_KV},
    )
    add("feeders", {"id": "F1", "name": "IEEE 33-bus feeder", "substation": "S1", "head": "L1"})
    for bus in range(1, 34):
        kind = NodeKind.BUSBAR if bus == 1 else NodeKind.JUNCTION
        add(
            "nodes",
            {
                "id": str(bus),
                "name": f"Bus {bus}",
                "kind": kind.value,
                "lon_deg": None,
                "lat_deg": None,
                "grid_cell": None,
            },
        )
    for number, (bus_from, bus_to, r_ohm, x_ohm) in BRANCHES.items():
        add(
            "sections",
            {
                "id": f"L{number}",
                "name": f"Branch {number} ({bus_from}–{bus_to})",
                "from_node": str(bus_from),
                "to_node": str(bus_to),
                "kind": SectionKind.OVERHEAD.value,
                "length_km": 1.0,
                "r_ohm_per_km": r_ohm,
                "x_ohm_per_km": x_ohm,
                "ampacity_a": None,
                "conductor": None,
            },
        )
    for number, (bus_from, bus_to, _r, _x) in TIE_BRANCHES.items():
        add(
            "switches",
            {
                "id": f"T{number}",
                "name": f"Tie {number} ({bus_from}–{bus_to})",
                "from_node": str(bus_from),
                "to_node": str(bus_to),
                "kind": SwitchKind.LOAD_BREAK_SWITCH.value,
                "normal_state": SwitchState.OPEN.value,
                "present_state": None,
                "remote": False,
                "rated_a": None,
            },
        )
    for bus, p_kw in LOAD_KW.items():
        apparent_kva = math.hypot(p_kw, LOAD_KVAR[bus])
        add(
            "transformer_areas",
            {
                "id": f"TA{bus}",
                "name": f"Load at bus {bus}",
                "node": str(bus),
                "rated_kva": float(math.ceil(apparent_kva)),
                "lv_customers": round(p_kw / 2),
                "load_kw": p_kw,
                "village": None,
                "street": None,
                "township": None,
            },
        )
    for name in ("detectors", "hv_customers", "sensitive_customers", "grid_cells"):
        raw.table(name)
    return raw
