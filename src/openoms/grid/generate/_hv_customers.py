"""HV customers (10 kV 专变用户): the county town's hospitals and water works, and a few
factories, quarries, pumping stations, cold stores and farms on every feeder, each on its own
tap behind a boundary switch or fuse."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from openoms.grid.generate._county import County
from openoms.grid.generate._equipment import FUSE_A, HV_KVA, JKLYJ_95, YJV22_70
from openoms.grid.generate._names import COMPANIES, DIGITS, INDUSTRIES, STREETS
from openoms.grid.generate._sensitive import add_sensitive
from openoms.grid.generate._spatial import nearest
from openoms.grid.schema import HVImportance, NodeKind, SensitiveCategory, SwitchKind

__all__ = ["add_hv_customers"]


@dataclass(frozen=True, slots=True)
class _HVKind:
    """A kind of HV customer: name pattern ({village} {company} {industry} {township})."""

    pattern: str
    kva: tuple[int, int]  # index range into HV_KVA
    weight: float
    rural: bool = True  # only outside the county town
    sensitive: SensitiveCategory | None = None
    note: str | None = None


_HV_KINDS: Final = (
    _HVKind("{company}{industry}", (0, 9), 5.0, rural=False),
    _HVKind("{village}石料厂", (3, 8), 1.2),
    _HVKind("{village}提灌站", (0, 4), 1.5),
    _HVKind("{village}砖厂", (0, 3), 0.8),
    _HVKind("{township}{company}冷库", (0, 6), 0.8),
    _HVKind("{company}化工有限公司", (5, 11), 0.4),
    _HVKind(
        "{village}{company}养殖有限公司",
        (0, 4),
        0.5,
        sensitive=SensitiveCategory.LIVESTOCK_FARM,
        note="规模化养殖，通风、供水、保温不能长时间停电",
    ),
)


@dataclass(frozen=True, slots=True)
class _Special:
    """A named HV customer of the county town that is sensitive, important or both."""

    name: str
    kva: int
    importance: HVImportance
    category: SensitiveCategory
    people: int | None
    note: str


_TOWN_SPECIALS: Final = (
    _Special("县人民医院", 2500, HVImportance.CLASS_1, SensitiveCategory.HOSPITAL, 820,
             "手术室、ICU，自备发电机"),
    _Special("县中医院", 1250, HVImportance.CLASS_2, SensitiveCategory.HOSPITAL, 360,
             "住院病人，手术室"),
    _Special("县自来水厂", 1600, HVImportance.CLASS_2, SensitiveCategory.WATER_WORKS, None,
             "供城区居民饮水"),
    _Special("县第一高级中学", 800, HVImportance.CLASS_3, SensitiveCategory.SCHOOL, 3400,
             "寄宿学校；高考、中考期间为临时重要用户"),
    _Special("县人民政府", 630, HVImportance.CLASS_2, SensitiveCategory.GOVERNMENT, None,
             "应急指挥中心"),
)  # fmt: skip  # a table reads better aligned


def add_hv_customers(county: County, node_township: NDArray[np.intp]) -> None:
    """The county town's hospitals, water works, …, then a few factories, quarries, pumping
    stations, cold stores and farms on every feeder, each on its own tap."""
    draw = county.draw
    centers = cKDTree(np.array([v.center for v in county.villages]))
    town = [
        n
        for f in county.feeders
        for n in f.line_nodes
        if county.in_town(county.node_x[n], county.node_y[n])
    ]
    plan: list[tuple[int, _HVKind | _Special]] = []
    if town:
        plan += [(draw.choice(town), special) for special in _TOWN_SPECIALS]
    for feeder in county.feeders:
        for _ in range(draw.integer(*county.opt.hv_customers_per_feeder)):
            node = draw.choice(feeder.line_nodes)
            in_town = county.in_town(county.node_x[node], county.node_y[node])
            kinds = [(k, k.weight) for k in _HV_KINDS if not (in_town and k.rural)]
            plan.append((node, draw.weighted(kinds)))
    at = np.array([(county.node_x[node], county.node_y[node]) for node, _ in plan]).reshape(-1, 2)
    near_village = nearest(centers, at)
    category: SensitiveCategory | None
    for (node, kind), v in zip(plan, near_village, strict=True):
        x, y = county.node_x[node], county.node_y[node]
        t = int(node_township[node])
        nearest_village = county.villages[int(v)]
        village = nearest_village.name
        if isinstance(kind, _Special):
            name, kva, importance = kind.name, kind.kva, kind.importance
            category, people = kind.category, kind.people
        else:
            name = kind.pattern.format(
                village=nearest_village.stem,
                company=draw.choice(COMPANIES),
                industry=draw.choice(INDUSTRIES),
                township=county.stems[t],
            )
            kva = HV_KVA[draw.integer(*kind.kva)]
            important = "化工" in name and draw.chance(0.5)
            importance = HVImportance.CLASS_2 if important else HVImportance.NORMAL
            category, people = kind.sensitive, None
        name = _unique_hv_name(county, name)
        hv_id, tap = _add_hv_tap(county, node, name, kva)
        in_town = county.in_town(x, y)
        county.hv.append(
            {
                "id": hv_id,
                "name": name,
                "node": county.node_id[tap],
                "contracted_kva": float(kva),
                "importance": importance.value,
                "load_kw": round(kva * draw.uniform(0.15, 0.4), 1),
                "village": None if in_town else village,
                "street": draw.choice(STREETS) if in_town else None,
                "township": county.township_names[t],
            }
        )
        if category is not None:
            add_sensitive(county, name, category, supplied_by=hv_id, people=people, note=kind.note)


def _unique_hv_name(county: County, name: str) -> str:
    base, k = name, 1
    while name in county.hv_names:
        k += 1
        name = f"{base}{DIGITS[k - 1] if k <= 10 else k}分厂"
    county.hv_names.add(name)
    return name


def _add_hv_tap(county: County, at: int, name: str, kva: int) -> tuple[str, int]:
    """A customer's own tap: boundary switch (fuse if small), service line, terminal."""
    draw = county.draw
    fi = county.node_feeder[at]
    feeder = county.feeders[fi]
    hv_id = f"HV-{feeder.id}-{feeder.bump('HV'):02d}"
    x, y = county.node_x[at], county.node_y[at]
    kind = NodeKind(county.node_kind[at])
    boundary = county.node(fi, -1, f"{name}产权分界点", x, y, kind=kind)
    if kva >= 630:
        county.switch(-1, f"{name}分界开关", (at, boundary), SwitchKind.SECTIONALISER)
    else:
        county.switch(-1, f"{name}跌落式熔断器", (at, boundary), SwitchKind.FUSE, rated_a=FUSE_A)
    km, angle = draw.uniform(0.05, 0.4), draw.uniform(0.0, 2 * math.pi)
    x, y = x + km * math.cos(angle), y + km * math.sin(angle)
    tap = county.node(fi, -1, f"{name}配电室", x, y, kind=NodeKind.CUSTOMER_TAP)
    conductor = YJV22_70 if county.in_town(x, y) else JKLYJ_95
    county.section(-1, f"{name}进线", (boundary, tap), km, conductor)
    return hv_id, tap
