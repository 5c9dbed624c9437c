"""Loads of a pandapower net as transformer areas and HV customers (private: use
:mod:`openoms.grid.pandapower_import`).

OpenOMS counts customers, not loads. A load on a 1–35 kV bus is an HV customer when pandapower
marks it as one (``type`` "MV…", or a profile that is not an LV profile), else a transformer
area whose households are estimated from its power. A load on an LV bus is counted into the
transformer area of the MV/LV transformer whose LV network (lines and closed switches) reaches
its bus.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence, Set
from typing import Any, Final, Protocol

from openoms.grid._pandapower_station import HV_ABOVE_KV, LV_BELOW_KV
from openoms.grid._pandapower_tables import Row, flag, is_closed, number, text

__all__ = ["ASSUMED_POWER_FACTOR", "LvTrafo", "Target", "map_loads"]

ASSUMED_POWER_FACTOR: Final = 0.8  # for a rating from p_mw when sn_mva is missing

LvTrafo = tuple[int, int, str | None, float]  # trafo index, its LV bus, name, rated kVA


class Target(Protocol):
    """What the loads are added to: the import's tables and notes, and its view of the buses."""

    def add(self, table: str, element: str, **values: Any) -> None: ...

    def note(self, element: str, message: str) -> None: ...

    def node(self, bus: int) -> str:
        """The node id of ``bus`` (its busbar's if merged into one)."""
        ...

    def skipped(self, element: str, *buses: int) -> bool:
        """Whether ``element`` touches a bus it must be left out for (noted if so)."""
        ...


def map_loads(
    target: Target,
    loads: Mapping[int, Row],
    lv_trafos: Sequence[LvTrafo],
    *,
    tables: Mapping[str, Mapping[int, Row]],
    alive: Set[int],
    vn_kv: Mapping[int, float],
    kw_per_lv_customer: float,
) -> None:
    """Add the loads of the net as transformer areas and HV customers (see the module doc);
    ``lv_trafos`` are the imported MV/LV transformers, in order."""
    owner = _lv_owners(target, lv_trafos, tables=tables, alive=alive, vn_kv=vn_kv)
    behind: dict[int, list[float]] = defaultdict(list)  # trafo → load_kw of its LV loads
    for i, load in sorted(loads.items()):
        lid, bus = f"load:{i}", load["bus"]
        p_mw = number(load.get("p_mw")) or 0.0
        scaling = number(load.get("scaling"))
        load_kw = round(p_mw * 1000 * (1.0 if scaling is None else scaling), 6)
        vn = vn_kv.get(bus)
        if not flag(load.get("in_service")):
            target.note(lid, "left out: out of service")
        elif load_kw < 0:
            target.note(lid, "left out: negative load (generation)")
        elif vn is not None and vn > HV_ABOVE_KV:
            target.note(lid, f"left out: on a {vn:g} kV bus")
        elif target.skipped(lid, bus):
            pass
        elif vn is not None and vn < LV_BELOW_KV:
            if bus in owner:
                behind[owner[bus]].append(load_kw)
            else:
                target.note(lid, "left out: on an LV bus that no modelled transformer supplies")
        else:
            _mv_load(target, lid, load, load_kw, kw_per_lv_customer)
    for i, bus, name, sn_kva in lv_trafos:
        tid = f"trafo:{i}/area"
        if sn_kva <= 0:
            target.note(tid, "left out: the transformer has no rating (sn_mva)")
            continue
        target.add(
            "transformer_areas",
            f"trafo:{i}",
            id=tid,
            name=name,
            node=target.node(bus),
            rated_kva=sn_kva,
            lv_customers=len(behind[i]),
            load_kw=round(sum(behind[i]), 6),
        )


def _lv_owners(
    target: Target,
    lv_trafos: Sequence[LvTrafo],
    *,
    tables: Mapping[str, Mapping[int, Row]],
    alive: Set[int],
    vn_kv: Mapping[int, float],
) -> dict[int, int]:
    """LV bus → the MV/LV trafo that supplies it (through lines and closed switches)."""
    lv = {b for b in alive if vn_kv[b] < LV_BELOW_KV}
    cut = {(s["et"], s["element"]) for s in tables["switch"].values() if not is_closed(s)}
    pairs = [
        (s["bus"], s["element"])
        for s in tables["switch"].values()
        if s.get("et") == "b" and is_closed(s)
    ]
    for i, line in tables["line"].items():
        if flag(line.get("in_service")) and ("l", i) not in cut:
            pairs.append((line["from_bus"], line["to_bus"]))
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs:
        if a in lv and b in lv:
            neighbours[a].append(b)
            neighbours[b].append(a)
    owner: dict[int, int] = {}
    for i, bus, _, _ in lv_trafos:
        if bus in owner:
            target.note(f"trafo:{i}", f"its LV network is counted into trafo:{owner[bus]}")
            continue
        owner[bus] = i
        queue = deque([bus])
        while queue:
            for nxt in neighbours[queue.popleft()]:
                if nxt not in owner:
                    owner[nxt] = i
                    queue.append(nxt)
    return owner


def _mv_load(
    target: Target, lid: str, load: Row, load_kw: float, kw_per_lv_customer: float
) -> None:
    """A load on a 1–35 kV bus: an HV customer if marked as one, else a transformer area."""
    sn = number(load.get("sn_mva"))
    p_kw = (number(load.get("p_mw")) or 0.0) * 1000
    if sn and sn > 0:
        rated: float = round(sn * 1000, 6)
    else:
        rated = math.ceil(round(p_kw / ASSUMED_POWER_FACTOR, 6))
    if rated <= 0:
        target.note(lid, "left out: neither sn_mva nor a positive p_mw gives a rating")
        return
    kind, profile = text(load.get("type")) or "", text(load.get("profile"))
    customer = kind.upper().startswith("MV") and not kind.upper().startswith("MV/LV")
    if customer or (profile is not None and not profile.lower().startswith("lv_")):
        target.add(
            "hv_customers",
            lid,
            id=lid,
            name=text(load.get("name")),
            node=target.node(load["bus"]),
            contracted_kva=rated,
            load_kw=load_kw,
        )
        return
    households = max(1, round(load_kw / kw_per_lv_customer))
    target.add(
        "transformer_areas",
        lid,
        id=lid,
        name=text(load.get("name")),
        node=target.node(load["bus"]),
        rated_kva=rated,
        lv_customers=households,
        load_kw=load_kw,
    )
