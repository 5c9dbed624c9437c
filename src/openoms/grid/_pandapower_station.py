"""Station zones of a pandapower net, and the substations that stand for them (private: use
:mod:`openoms.grid.pandapower_import`).

OpenOMS starts at a substation's 10 kV busbar; pandapower models the station inside: the
external grid, its HV buses and lines, the HV/MV transformers and the bus-bus switches of the
busbars. A *station zone* is everything an ``ext_grid`` reaches through closed bus-bus
switches, transformers whose low side is at least :data:`LV_BELOW_KV`, and lines between
buses above :data:`HV_ABOVE_KV`. Its 1–35 kV buses joined by closed bus-bus switches form
*busbar groups*; each group becomes one busbar node and one substation, and the rest of the
zone is summarised in a note.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Final

from openoms.grid._pandapower_tables import Row, flag, is_closed, text

__all__ = ["HV_ABOVE_KV", "LV_BELOW_KV", "Stations", "Substation", "find_stations"]

LV_BELOW_KV: Final = 1.0  # buses below this are low voltage
HV_ABOVE_KV: Final = 35.0  # buses above this are high voltage (inside a substation)


@dataclass(frozen=True, slots=True)
class Substation:
    """One busbar group of the station of ``ext_grid``."""

    ext_grid: int
    id: str
    name: str
    busbar: int
    voltage_kv: float
    transformer_mva: float | None = None  # the station's transformers feeding the busbar


@dataclass(frozen=True, slots=True)
class Stations:
    """The station zones of a net: what is summarised, and the substations that stand for it."""

    zone: set[int]  # every bus of a station zone
    busbar: dict[int, int]  # bus of a busbar group → the bus it merges into
    summarised: set[tuple[str, int]]  # branches (table, index) summarised into a substation
    substations: list[Substation]
    notes: list[tuple[str, str]]  # (element, message), in the order found


def find_stations(
    tables: Mapping[str, Mapping[int, Row]],
    ext_grids: Mapping[int, Row],
    *,
    alive: Set[int],
    vn_kv: Mapping[int, float],
) -> Stations:
    """Find the station zones of the ``bus``, ``line``, ``trafo``, ``trafo3w`` and ``switch``
    ``tables``, one per ``ext_grid``, and a substation per busbar group of each.

    O(n) in the buses and branches. ``alive`` are the in-service buses, ``vn_kv`` the rated
    voltage of every bus.
    """
    notes: list[tuple[str, str]] = []
    closed_b = [
        (s["bus"], s["element"])
        for s in tables["switch"].values()
        if s.get("et") == "b" and is_closed(s)
    ]
    links = [("switch", -1, a, b) for a, b in closed_b]
    for i, t in tables["trafo"].items():
        if flag(t.get("in_service")) and vn_kv.get(t["lv_bus"], 0.0) >= LV_BELOW_KV:
            links.append(("trafo", i, t["hv_bus"], t["lv_bus"]))
    for i, t in tables["trafo3w"].items():
        links.extend(
            ("trafo3w", i, t["hv_bus"], t[side])
            for side in ("mv_bus", "lv_bus")
            if flag(t.get("in_service")) and vn_kv.get(t[side], 0.0) >= LV_BELOW_KV
        )
    for i, line in tables["line"].items():
        a, b = line["from_bus"], line["to_bus"]
        hv = min(vn_kv.get(a, 0.0), vn_kv.get(b, 0.0)) > HV_ABOVE_KV
        if hv and flag(line.get("in_service")):
            links.append(("line", i, a, b))
    neighbours: dict[int, list[int]] = defaultdict(list)
    for _, _, a, b in links:
        if a in alive and b in alive:
            neighbours[a].append(b)
            neighbours[b].append(a)
    owner: dict[int, int] = {}  # zone bus → its ext_grid
    for e, grid in sorted(ext_grids.items()):
        bus = grid["bus"]
        if not flag(grid.get("in_service")) or bus not in alive:
            notes.append((f"ext_grid:{e}", "left out: it or its bus is out of service"))
        elif bus in owner:
            notes.append((f"ext_grid:{e}", f"in the station of ext_grid:{owner[bus]}"))
        else:
            owner[bus] = e
            queue = deque([bus])
            while queue:
                for nxt in neighbours[queue.popleft()]:
                    if nxt not in owner:
                        owner[nxt] = e
                        queue.append(nxt)
    zone = set(owner)
    summarised = {(t, i) for t, i, a, b in links if i >= 0 and a in owner and b in owner}
    sources = [g["bus"] for _, g in sorted(ext_grids.items())]
    groups, busbar = _busbar_groups(tables, zone, closed_b, sources, vn_kv)
    ratings = _busbar_ratings(tables, summarised, busbar)
    substations: list[Substation] = []
    for e, grid in sorted(ext_grids.items()):
        if owner.get(grid["bus"]) != e:
            continue
        busbars = sorted(b for b in groups if owner[b] == e)
        grid_name = text(grid.get("name")) or f"ext_grid {e}"
        for bb in busbars:
            sid, name = f"ext_grid:{e}", grid_name
            if len(busbars) > 1:
                sid = f"ext_grid:{e}/bus:{bb}"
                name += " / " + (text(tables["bus"][bb].get("name")) or f"bus {bb}")
            substations.append(Substation(e, sid, name, bb, vn_kv[bb], ratings.get(bb)))
        notes.extend(
            _station_notes(
                e, busbars, tables=tables, owner=owner, busbar=busbar, summarised=summarised
            )
        )
    return Stations(zone, busbar, summarised, substations, notes)


def _busbar_ratings(
    tables: Mapping[str, Mapping[int, Row]],
    summarised: Set[tuple[str, int]],
    busbar: Mapping[int, int],
) -> dict[int, float]:
    """Per busbar group: the rated MVA of the station's in-service transformers whose low
    (or, for a three-winding one, medium or low) side is on it, summed (``sn_mva``,
    ``sn_mv_mva``, ``sn_lv_mva``)."""
    out: dict[int, float] = defaultdict(float)
    for table, i in summarised:
        row = tables[table][i]
        if table == "trafo":
            sides = [("lv_bus", "sn_mva")]
        elif table == "trafo3w":
            sides = [("mv_bus", "sn_mv_mva"), ("lv_bus", "sn_lv_mva")]
        else:
            continue
        for bus_key, rating_key in sides:
            group = busbar.get(row[bus_key])
            rating = row.get(rating_key)
            if group is not None and isinstance(rating, int | float) and rating > 0:
                out[group] += float(rating)
    return dict(out)


def _station_notes(
    e: int,
    busbars: list[int],
    *,
    tables: Mapping[str, Mapping[int, Row]],
    owner: Mapping[int, int],
    busbar: Mapping[int, int],
    summarised: Set[tuple[str, int]],
) -> list[tuple[str, str]]:
    """Say what of ext_grid ``e``'s station is summarised by its substations."""
    notes: list[tuple[str, str]] = []
    if not busbars:
        notes.append((f"ext_grid:{e}", "left out: its station has no 1–35 kV bus"))
    merged = [f"bus:{b}" for b, m in sorted(busbar.items()) if owner[b] == e and b != m]
    hidden = [f"bus:{b}" for b, o in sorted(owner.items()) if o == e and b not in busbar]
    for table, i in sorted(summarised):
        row = tables[table][i]
        if owner[row["from_bus"] if table == "line" else row["hv_bus"]] == e:
            hidden.append(f"{table}:{i}")
    message = f"busbars {[f'bus:{b}' for b in busbars]} stand for the station"
    if merged:
        message += f"; merged into them: {merged}"
    if hidden:
        message += f"; not exported: {hidden}, with their switches"
    notes.append((f"ext_grid:{e}", message))
    return notes


def _busbar_groups(
    tables: Mapping[str, Mapping[int, Row]],
    zone: Set[int],
    closed_b: list[tuple[int, int]],
    sources: list[int],
    vn_kv: Mapping[int, float],
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Group the zones' 1–35 kV buses by closed bus-bus switches: busbar → its group, and
    every grouped bus → its busbar (a transformer's low side, else a source, else the first)."""
    mv = {b for b in zone if LV_BELOW_KV <= vn_kv[b] <= HV_ABOVE_KV}
    parent = {b: b for b in mv}

    def root(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    for a, b in closed_b:
        if a in mv and b in mv:
            parent[root(a)] = root(b)
    members: dict[int, list[int]] = defaultdict(list)
    for b in sorted(mv):
        members[root(b)].append(b)
    fed = [t["lv_bus"] for _, t in sorted(tables["trafo"].items())]
    groups: dict[int, list[int]] = {}
    busbar: dict[int, int] = {}
    for group in members.values():
        head = next((b for b in [*fed, *sources] if b in group), group[0])
        groups[head] = group
        busbar.update(dict.fromkeys(group, head))
    return groups, busbar
