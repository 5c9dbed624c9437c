"""The equipment the generator installs: conductors, transformer sizes, switch ratings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from openoms.grid.schema import NodeKind, SectionKind

__all__ = [
    "CABINETS",
    "DISCONNECTOR_A",
    "FUSE_A",
    "HV_KVA",
    "JKLYJ_70",
    "JKLYJ_95",
    "JKLYJ_150",
    "JKLYJ_240",
    "RURAL_KVA",
    "SPAN_KM",
    "SWITCH_A",
    "TOWN_KVA",
    "YJV22_70",
    "YJV22_300",
    "Conductor",
]


@dataclass(frozen=True, slots=True)
class Conductor:
    name: str
    kind: str  # SectionKind value
    r_ohm_per_km: float
    x_ohm_per_km: float
    ampacity_a: float


# Insulated overhead aluminium (JKLYJ-10) and XLPE copper cable (YJV22-8.7/15): DC resistance at
# 20 °C, a typical 10 kV reactance for the usual spacing, continuous rating in air / in ground.
_OVERHEAD, _CABLE = SectionKind.OVERHEAD.value, SectionKind.CABLE.value
JKLYJ_240 = Conductor("JKLYJ-240", _OVERHEAD, 0.125, 0.335, 480.0)
JKLYJ_150 = Conductor("JKLYJ-150", _OVERHEAD, 0.206, 0.345, 380.0)
JKLYJ_95 = Conductor("JKLYJ-95", _OVERHEAD, 0.320, 0.358, 290.0)
JKLYJ_70 = Conductor("JKLYJ-70", _OVERHEAD, 0.443, 0.368, 240.0)
YJV22_300 = Conductor("YJV22-3×300", _CABLE, 0.0601, 0.090, 520.0)
YJV22_70 = Conductor("YJV22-3×70", _CABLE, 0.268, 0.110, 230.0)

SPAN_KM: Final = 0.055  # between two poles; a section aggregates 2–7 spans (100–400 m)
RURAL_KVA: Final = ((50, 0.04), (100, 0.22), (200, 0.36), (315, 0.26), (400, 0.12))
TOWN_KVA: Final = ((200, 0.10), (315, 0.30), (400, 0.30), (500, 0.10), (630, 0.20))
HV_KVA: Final = (315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000)
FUSE_A: Final = 100.0
CABINETS: Final = {NodeKind.RING_MAIN_UNIT.value, NodeKind.SWITCHING_STATION.value}
DISCONNECTOR_A: Final = 400.0
SWITCH_A: Final = 630.0
