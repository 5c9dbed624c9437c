"""Tie lines: normally-open switches between feeders, so that every feeder can be backed up."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from openoms.grid.generate._county import County
from openoms.grid.generate._equipment import JKLYJ_150, SPAN_KM
from openoms.grid.schema import SwitchKind

__all__ = ["connect_ties"]


def connect_ties(county: County) -> None:
    """Normally-open tie switches from the ends of trunks and main branches (not behind a
    fuse) to the nearest such pole of another feeder: most feeders get two, some one, and
    none is left without."""
    draw = county.draw
    index = _PoleIndex(county)
    tied: list[set[int]] = [set() for _ in county.feeders]
    for feeder in county.feeders:
        fi = feeder.index
        want = 1 if draw.chance(0.2) else 2
        sx, sy = county.township_xy[feeder.substation]
        ends = sorted(
            feeder.branch_ends,
            key=lambda n: -math.hypot(county.node_x[n] - sx, county.node_y[n] - sy),
        )
        for start in [feeder.trunk_end, *ends[:4]]:
            if len(tied[fi]) >= want:
                break
            target = index.nearest(start, fi, tied[fi], max_km=6.0)
            if target >= 0:
                _add_tie(county, fi, start, target, tied)
    for feeder in county.feeders:
        if not tied[feeder.index] and len(county.feeders) > 1:
            target = index.nearest(feeder.trunk_end, feeder.index, set(), max_km=math.inf)
            _add_tie(county, feeder.index, feeder.trunk_end, target, tied)


def _add_tie(county: County, fi: int, start: int, target: int, tied: list[set[int]]) -> None:
    """A tie line from ``start`` (feeder ``fi``) to a tie switch at ``target``."""
    gi = county.node_feeder[target]
    line = county.new_line(fi, -2, start, f"—{county.feeders[gi].name}联络线")
    x0, y0 = county.node_x[start], county.node_y[start]
    x1, y1 = county.node_x[target], county.node_y[target]
    total = math.hypot(x1 - x0, y1 - y0)
    steps = max(1, math.ceil(total / 0.35))
    node, pole = start, 0
    for k in range(1, steps + 1):
        jitter = 0.0 if k == steps else county.draw.uniform(-0.03, 0.03)
        x = x0 + (x1 - x0) * k / steps + jitter
        y = y0 + (y1 - y0) * k / steps - jitter
        previous, pole = pole, pole + max(1, round(total / steps / SPAN_KM))
        new = county.node(fi, line, f"#{pole}", x, y)
        county.section(line, f"#{previous}–#{pole}", (node, new), total / steps, JKLYJ_150)
        node = new
    county.switch(
        line,
        "联络开关",
        (node, target),
        SwitchKind.LOAD_BREAK_SWITCH,
        remote=county.draw.chance(0.6),
        normal_open=True,
    )
    tied[fi].add(gi)
    tied[gi].add(fi)


class _PoleIndex:
    """Nearest line pole of another feeder (for tie switches), by k-d tree."""

    def __init__(self, county: County) -> None:
        self.county = county
        self.nodes = np.array([n for f in county.feeders for n in f.tie_nodes], dtype=np.intp)
        self.owner = np.array([f.index for f in county.feeders for _ in f.tie_nodes])
        self.xy = np.column_stack(
            (np.take(county.node_x, self.nodes), np.take(county.node_y, self.nodes))
        )
        self.tree = cKDTree(self.xy)

    def nearest(self, start: int, fi: int, exclude: set[int], *, max_km: float) -> int:
        """The pole nearest ``start`` not on feeder ``fi`` nor ``exclude``; -1 if none near."""
        point = np.array([self.county.node_x[start], self.county.node_y[start]])
        distances, found = self.tree.query(point, k=min(256, len(self.nodes)))
        for d, j in zip(np.atleast_1d(distances), np.atleast_1d(found), strict=True):
            g = int(self.owner[j])
            if g != fi and g not in exclude:
                return int(self.nodes[j]) if d <= max_km else -1
        allowed = (self.owner != fi) & ~np.isin(self.owner, list(exclude))
        if not allowed.any():
            return -1
        d2 = np.where(allowed, ((self.xy - point) ** 2).sum(axis=1), np.inf)
        j = int(np.argmin(d2))
        return int(self.nodes[j]) if math.sqrt(d2[j]) <= max_km else -1
