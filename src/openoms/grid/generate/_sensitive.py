"""Sensitive customers (敏感用户): those an outage must be told about first.

Township nursing homes (the first with the 96 residents of the seed story), clinics and
schools at the seat, village schools, water stations, farms, a household on home medical
equipment, and two in the county town, each behind a transformer area; sensitive HV customers
are added with them by :mod:`._hv_customers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from openoms.grid.generate._county import County
from openoms.grid.generate._names import ANIMAL_FARMS
from openoms.grid.schema import SensitiveCategory

__all__ = ["add_sensitive", "add_sensitive_customers"]


@dataclass(frozen=True, slots=True)
class _Facility:
    """A kind of sensitive customer behind a transformer area, ``count`` per 24 feeders."""

    suffix: str  # after the township or village name
    category: SensitiveCategory
    people: tuple[int, int] | None
    note: str | None
    count: int


_TOWNSHIP_FACILITIES: Final = (
    _Facility("敬老院", SensitiveCategory.NURSING_HOME, (18, 80), "集中供养老人", 4),
    _Facility("卫生院", SensitiveCategory.HOSPITAL, (30, 90), "住院病人", 6),
    _Facility("中心学校", SensitiveCategory.SCHOOL, (600, 1500), "寄宿学生", 5),
)
_VILLAGE_FACILITIES: Final = (
    _Facility("小学", SensitiveCategory.SCHOOL, (150, 500), None, 3),
    _Facility("集中供水站", SensitiveCategory.WATER_WORKS, None,
              "农村集中供水，停电超过4小时需送水", 2),
    _Facility("{farm}", SensitiveCategory.LIVESTOCK_FARM, None, "通风、供水不能长时间停电", 2),
    _Facility("居民户（居家医疗设备）", SensitiveCategory.HOME_MEDICAL, (1, 1),
              "家用呼吸机，停电前须电话通知家属", 1),
)  # fmt: skip  # a table reads better aligned
_NURSING_HOME_PEOPLE: Final = 96  # the nursing home of the seed story (live-line work, 2022)


def add_sensitive(
    county: County,
    name: str,
    category: SensitiveCategory,
    *,
    supplied_by: str,
    people: int | None,
    note: str | None,
) -> None:
    """A sensitive customer supplied by ``supplied_by`` (a transformer area or HV customer)."""
    county.sensitive.append(
        {
            "id": f"SC-{len(county.sensitive) + 1:03d}",
            "name": name,
            "category": category.value,
            "supplied_by": supplied_by,
            "people": people,
            "note": note,
        }
    )


def add_sensitive_customers(county: County) -> None:
    """Sensitive customers behind transformer areas: township nursing homes (the first with
    96 residents), clinics and schools at the seat, village schools, water stations, farms,
    a household on home medical equipment, and two in the county town."""
    draw = county.draw
    factor = max(1.0, len(county.feeders) / 24)
    rural = [i for i, v in enumerate(county.area_village) if v >= 0]
    by_township: dict[int, list[int]] = {}
    for i in rural:
        by_township.setdefault(county.villages[county.area_village[i]].township, []).append(i)

    def at_seat(t: int) -> int:  # one of the areas nearest the township seat
        tx, ty = county.township_xy[t]
        near = sorted(
            by_township[t],
            key=lambda i: math.hypot(
                county.node_x[county.area_node[i]] - tx, county.node_y[county.area_node[i]] - ty
            ),
        )
        return draw.choice(near[:5])

    def people(facility: _Facility) -> int | None:
        return draw.integer(*facility.people) if facility.people else None

    for facility in _TOWNSHIP_FACILITIES:
        townships = sorted(by_township)
        draw.shuffle(townships)
        for k, t in enumerate(townships[: round(facility.count * factor)]):
            count, note = people(facility), facility.note
            if facility.category is SensitiveCategory.NURSING_HOME and k == 0:
                count, note = (
                    _NURSING_HOME_PEOPLE,
                    f"集中供养老人{_NURSING_HOME_PEOPLE}人，冬季电取暖",
                )
            add_sensitive(
                county,
                county.township_names[t] + facility.suffix,
                facility.category,
                supplied_by=county.areas[at_seat(t)]["id"],
                people=count,
                note=note,
            )
    names: set[str] = set()
    for facility in _VILLAGE_FACILITIES:
        for _ in range(max(1, round(facility.count * factor))):
            i = draw.choice(rural)
            village = county.villages[county.area_village[i]].name
            name = village + facility.suffix.format(farm=draw.choice(ANIMAL_FARMS))
            if name not in names:
                names.add(name)
                add_sensitive(
                    county,
                    name,
                    facility.category,
                    supplied_by=county.areas[i]["id"],
                    people=people(facility),
                    note=facility.note,
                )
    town = [i for i, v in enumerate(county.area_village) if v < 0]
    if town:
        add_sensitive(
            county,
            "县社会福利院",
            SensitiveCategory.NURSING_HOME,
            supplied_by=county.areas[draw.choice(town)]["id"],
            people=64,
            note="孤残儿童与老人",
        )
        add_sensitive(
            county,
            "县实验小学",
            SensitiveCategory.SCHOOL,
            supplied_by=county.areas[draw.choice(town)]["id"],
            people=2600,
            note=None,
        )
