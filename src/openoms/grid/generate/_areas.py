"""Transformer areas (台区) along a feeder: in named villages, and along the town's streets.

A line passes alternately through villages and fields; a line leaving a village carries it
on, so a branch is named after the first village on it.
"""

from __future__ import annotations

import math

from openoms.grid.generate._county import County, Feeder, Village
from openoms.grid.generate._equipment import RURAL_KVA, TOWN_KVA
from openoms.grid.generate._names import DIGITS, STREETS, village_name

__all__ = ["place_areas"]

# fresh names drawn for a new village before a taken one is numbered: a few, so that a small
# county (where a draw is rarely taken) is named as it always was
_FRESH_NAME_DRAWS = 8


def place_areas(county: County, feeder: Feeder) -> None:
    """Transformer areas along the feeder's lines: in villages separated by fields (a line
    leaving a village carries it on), and dense along the streets of the county town."""
    draw = county.draw
    street, street_left = draw.choice(STREETS), 0.0
    # per node: inside a village?, km left of the village or field, the village (-1: none yet)
    state: dict[int, tuple[bool, float, int]] = {}
    last_line, lx, ly = -1, 0.0, 0.0
    in_village, left, village = False, 0.0, -1
    for node in feeder.line_nodes:
        line, x, y = county.node_line[node], county.node_x[node], county.node_y[node]
        if line != last_line:
            at = county.line_at[line]
            in_village, left, village = state.get(at, (False, draw.uniform(0.3, 2.0), -1))
            lx, ly, last_line = county.node_x[at], county.node_y[at], line
        step = math.hypot(x - lx, y - ly)
        lx, ly = x, y
        left -= step
        if left <= 0.0:
            in_village = not in_village
            left = draw.uniform(1.2, 2.4) if in_village else draw.uniform(4.0, 8.0)
            village = -1
        if county.in_town(x, y):
            street_left -= step
            if street_left <= 0.0:
                street, street_left = draw.choice(STREETS), draw.uniform(0.3, 0.8)
            for _ in range(draw.chance(0.85) + draw.chance(0.3)):
                kva = draw.weighted(TOWN_KVA)
                customers = round(kva * draw.uniform(0.25, 0.45))
                _add_area(county, feeder, node, kva, customers, street=street, village=-1)
        elif in_village:
            for _ in range(draw.chance(0.9) + draw.chance(0.4)):
                if village < 0:
                    village = _new_village(county)
                if not county.line_name[line] and county.line_parent[line] >= 0:
                    county.line_name[line] = county.villages[village].stem
                kva = draw.weighted(RURAL_KVA)
                customers = draw.integer(30, 50)
                _add_area(county, feeder, node, kva, customers, street=None, village=village)
        state[node] = (in_village, left, village)


def _add_area(
    county: County,
    feeder: Feeder,
    node: int,
    kva: int,
    customers: int,
    *,
    street: str | None,
    village: int,
) -> None:
    draw = county.draw
    ratio = draw.uniform(0.6, 0.9) if draw.chance(0.04) else draw.uniform(0.08, 0.25)
    if village >= 0:
        v = county.villages[village]
        v.areas += 1
        v.x_sum += county.node_x[node]
        v.y_sum += county.node_y[node]
        name = f"{v.name}{v.areas}号台区"
    else:
        where = str(street)
        county.street_areas[where] = county.street_areas.get(where, 0) + 1
        name = f"{where}{county.street_areas[where]}号台区"
    county.areas.append(
        {
            "id": f"TA-{feeder.id}-{feeder.bump('TA'):03d}",
            "name": name,
            "node": county.node_id[node],
            "rated_kva": float(kva),
            "lv_customers": customers,
            "load_kw": round(kva * ratio, 1),
            "village": None,  # with the township, once villages are placed
            "street": street,
            "township": None,
        }
    )
    county.area_village.append(village)
    county.area_node.append(node)


def _new_village(county: County) -> int:
    """A village with a new name: 李庄村, 王家营村, 东张寨村, …; once fresh names are scarce
    (some 16,000 exist, a county of a million nodes has tens of thousands of villages), a
    drawn name that is taken gets the next free number: 李庄二村, 李庄三村, …, 李庄11村."""
    for _ in range(_FRESH_NAME_DRAWS):
        village = Village(village_name(county.draw))
        if village.name not in county.village_names:
            break
    else:
        village = _numbered(county, village.stem)
    county.village_names.add(village.name)
    county.villages.append(village)
    return len(county.villages) - 1


def _numbered(county: County, stem: str) -> Village:
    """The village ``stem`` with the lowest number ≥ 2 whose name is free (drawn names hold no
    numeral, so a numbered name never takes one that could still be drawn)."""
    base = stem.removesuffix("村")
    k = county.village_numbers.get(base, 1)
    while True:
        k += 1
        numbered = Village(base + (DIGITS[k - 1] if k <= len(DIGITS) else str(k)))
        if numbered.name not in county.village_names:
            county.village_numbers[base] = k
            return numbered
