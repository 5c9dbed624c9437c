"""Feeders: the breaker, the cable exit, the trunk with its switches, branches and sub-branches.

Each feeder leaves its substation on a bearing and wanders a little around it; branches leave
the trunk to either side and may have sub-branches of their own. Switches, fuses and fault
indicators are placed as a county company would: sectionalising switches every few kilometres
of trunk, a recloser half-way along a long rural trunk, a fuse or switch at every branch head.
"""

from __future__ import annotations

import math

from openoms.grid.generate._areas import place_areas
from openoms.grid.generate._county import County, Feeder, Walk
from openoms.grid.generate._equipment import (
    DISCONNECTOR_A,
    FUSE_A,
    JKLYJ_70,
    JKLYJ_95,
    JKLYJ_150,
    JKLYJ_240,
    SWITCH_A,
    YJV22_300,
)
from openoms.grid.generate._names import NUMERALS
from openoms.grid.schema import DetectorKind, NodeKind, SwitchKind

__all__ = ["build_feeder"]


def build_feeder(county: County, s: int, number: int, bearing: float) -> None:
    """Breaker, cable exit, trunk with its switches, branches, then the loads along them."""
    draw = county.draw
    sx, sy = county.township_xy[s]
    numeral = NUMERALS[number - 1] if number <= len(NUMERALS) else str(number)
    feeder = Feeder(
        len(county.feeders),
        f"{county.sub_ids[s]}-F{number:02d}",
        f"{county.stems[s]}{numeral}线",
        s,
        bearing,
        county.in_town(sx, sy),
    )
    county.feeders.append(feeder)
    fi = feeder.index
    trunk = county.new_line(fi, -1, county.sub_busbars[s])
    x, y = sx + 0.05 * math.cos(bearing), sy + 0.05 * math.sin(bearing)
    walk = Walk(county.node(fi, trunk, "出线", x, y, kind=NodeKind.JUNCTION), x, y, bearing)
    county.switch(
        trunk,
        f"{900 + number}开关",
        (county.sub_busbars[s], walk.node),
        SwitchKind.BREAKER,
        remote=True,
        rated_a=1250.0 if feeder.town else 630.0,
    )
    if feeder.town:  # cable out of the substation through ring main units
        for k in range(1, draw.integer(2, 4) + 1):
            km = draw.uniform(0.2, 0.5)
            walk.x += km * math.cos(bearing)
            walk.y += km * math.sin(bearing)
            station = s == 0 and number == 1 and k == 1
            label = "开闭所" if station else f"{k}号环网柜"
            cabinet = county.node(
                fi,
                trunk,
                label,
                walk.x,
                walk.y,
                kind=NodeKind.SWITCHING_STATION if station else NodeKind.RING_MAIN_UNIT,
            )
            county.section(trunk, f"{label}进线电缆", (walk.node, cabinet), km, YJV22_300)
            out = county.node(
                fi, trunk, f"{label}出线", walk.x, walk.y, kind=NodeKind.RING_MAIN_UNIT
            )
            county.switch(
                trunk,
                f"{label}出线开关",
                (cabinet, out),
                SwitchKind.LOAD_BREAK_SWITCH,
                remote=True,
            )
            feeder.line_nodes.append(out)
            walk.node, walk.km = out, walk.km + km
    elif draw.chance(0.5):  # a short cable to the first pole
        county.step(walk, trunk, draw.uniform(0.08, 0.3), YJV22_300)
    low, high = county.opt.town_trunk_km if feeder.town else county.opt.rural_trunk_km
    branches = _run_trunk(county, feeder, trunk, walk, draw.uniform(low, high))
    for at, bx, by, heading in branches:
        _run_branch(county, feeder, trunk, Walk(at, bx, by, heading), sub=False)
    place_areas(county, feeder)


def _run_trunk(
    county: County,
    feeder: Feeder,
    line: int,
    walk: Walk,
    length: float,
) -> list[tuple[int, float, float, float]]:
    """The trunk: switches every 2–4 km, an indicator every 2–3.5 km; the branch points."""
    draw, bearing = county.draw, feeder.bearing
    recloser_due = not feeder.town and length >= county.opt.recloser_min_trunk_km
    next_switch = walk.km + draw.uniform(2.0, 4.0)
    next_indicator = walk.km + draw.uniform(0.8, 2.0)
    next_branch = walk.km + draw.uniform(0.3, 1.0)
    branches: list[tuple[int, float, float, float]] = []
    while True:
        walk.heading = bearing + 0.8 * (walk.heading - bearing) + draw.uniform(-0.1, 0.1)
        conductor = JKLYJ_240 if feeder.town or walk.km < 0.6 * length else JKLYJ_150
        section = county.step(walk, line, draw.uniform(0.1, 0.4), conductor)
        if walk.km >= next_indicator:
            county.detector(
                feeder.next_id("FI", 2),
                line,
                f"#{walk.pole}故障指示器",
                DetectorKind.FAULT_INDICATOR,
                section,
            )
            next_indicator += draw.uniform(2.0, 3.5)
        if walk.km >= length or not county.in_county(walk.x, walk.y):
            break
        if walk.km >= next_switch:
            after = county.node(feeder.index, line, f"#{walk.pole}开关后", walk.x, walk.y)
            ends, at = (walk.node, after), f"#{walk.pole}"
            if recloser_due and walk.km >= 0.4 * length:
                county.switch(line, at + "重合器", ends, SwitchKind.RECLOSER, remote=True)
                recloser_due = False
            elif draw.chance(0.12):
                county.switch(
                    line,
                    at + "隔离刀闸",
                    ends,
                    SwitchKind.DISCONNECTOR,
                    rated_a=DISCONNECTOR_A,
                )
            else:
                county.switch(
                    line,
                    at + "分段开关",
                    ends,
                    SwitchKind.LOAD_BREAK_SWITCH,
                    remote=draw.chance(0.8 if feeder.town else 0.5),
                )
            walk.node = after
            next_switch += draw.uniform(2.0, 4.0)
        elif walk.km >= next_branch:
            heading = walk.heading + draw.side() * draw.uniform(0.9, 1.55)
            branches.append((walk.node, walk.x, walk.y, heading))
            next_branch += draw.uniform(0.3, 0.8) if feeder.town else draw.uniform(0.7, 1.7)
    feeder.trunk_end = walk.node
    feeder.tie_nodes.extend(feeder.line_nodes)
    return branches


def _run_branch(county: County, feeder: Feeder, parent: int, walk: Walk, *, sub: bool) -> None:
    """A branch (or sub-branch) line with its head switch and first fault indicator."""
    draw = county.draw
    if sub:
        length = draw.uniform(0.4, 1.8)
    elif feeder.town and county.in_town(walk.x, walk.y):
        length = draw.uniform(0.3, 1.5)
    else:
        length = draw.uniform(4.0, 7.0) if draw.chance(0.1) else draw.uniform(0.8, 4.5)
    line = county.new_line(feeder.index, parent, walk.node)
    head = county.node(feeder.index, line, "#1", walk.x, walk.y)
    if sub or length < 1.5:
        kind = SwitchKind.FUSE if draw.chance(0.75) else SwitchKind.DISCONNECTOR
    else:
        kind = draw.weighted(
            (
                (SwitchKind.LOAD_BREAK_SWITCH, 0.55),
                (SwitchKind.SECTIONALISER, 0.30),
                (SwitchKind.FUSE, 0.15),
            )
        )
    label, rated_a = {
        SwitchKind.FUSE: ("跌落式熔断器", FUSE_A),
        SwitchKind.DISCONNECTOR: ("隔离刀闸", DISCONNECTOR_A),
        SwitchKind.SECTIONALISER: ("分界开关", SWITCH_A),
    }.get(kind, ("开关", SWITCH_A))
    remote = kind is SwitchKind.LOAD_BREAK_SWITCH and draw.chance(0.3)
    county.switch(line, label, (walk.node, head), kind, remote=remote, rated_a=rated_a)
    conductor = JKLYJ_70 if sub else JKLYJ_150 if length >= 3.0 else JKLYJ_95
    indicator = draw.chance(0.3) if sub else length >= 1.0 or draw.chance(0.5)
    walk.node, base = head, walk.heading
    first = len(feeder.line_nodes)
    subs: list[Walk] = []
    while walk.km < length and (walk.km == 0.0 or county.in_county(walk.x, walk.y)):
        walk.heading = base + 0.7 * (walk.heading - base) + draw.uniform(-0.15, 0.15)
        km = draw.uniform(0.1, 0.4)
        section = county.step(walk, line, km, conductor)
        if indicator:
            county.detector(
                feeder.next_id("FI", 2),
                line,
                "首端故障指示器",
                DetectorKind.FAULT_INDICATOR,
                section,
            )
            indicator = False
        inside = walk.km < length and county.in_county(walk.x, walk.y)
        if not sub and inside and draw.chance(km / 2.5):
            heading = walk.heading + draw.side() * draw.uniform(0.8, 1.5)
            subs.append(Walk(walk.node, walk.x, walk.y, heading))
    if not sub and kind not in (SwitchKind.FUSE, SwitchKind.DISCONNECTOR):  # ties may end here
        feeder.tie_nodes.extend(feeder.line_nodes[first:])
        feeder.branch_ends.append(walk.node)
    for sub_walk in subs:
        _run_branch(county, feeder, line, sub_walk, sub=True)
