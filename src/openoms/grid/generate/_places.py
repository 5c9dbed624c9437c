"""Where things are: township seats and substations, the township of every node, grid cells.

Seats and cells come from k-means over points of the county, so that each substation
supplies, and each repair crew covers, about the same area.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from openoms.grid.generate._county import County
from openoms.grid.generate._names import DIGITS, township_stems
from openoms.grid.generate._spatial import farthest_points, kmeans, nearest
from openoms.grid.schema import NodeKind

__all__ = ["assign_townships", "grid_cells", "place_townships_and_substations"]


def place_townships_and_substations(county: County) -> None:
    """Township seats on a jittered grid, the county town at (0, 0); substations at the
    centres of a k-means over the seats (the town's held), so that each supplies about the
    same area; the seat nearest each moves there."""
    draw, n = county.draw, county.n_townships
    w, h = county.width_km, county.height_km
    cols = max(1, round(math.sqrt(n * w / h)))
    rows = math.ceil(n / cols)
    points = [
        (
            (c + 0.5 + draw.uniform(-0.25, 0.25)) * w / cols - w / 2,
            (r + 0.5 + draw.uniform(-0.25, 0.25)) * h / rows - h / 2,
        )
        for r in range(rows)
        for c in range(cols)
    ]
    points.pop(min(range(len(points)), key=lambda i: math.hypot(*points[i])))
    draw.shuffle(points)
    points = [(0.0, 0.0), *points[: n - 1]]
    clear = 2.4 * county.opt.town_radius_km  # other seats stay out of the county town
    for i, (x, y) in enumerate(points[1:], start=1):
        d = math.hypot(x, y)
        if d < clear:
            points[i] = (x * clear / max(d, 1e-9), y * clear / max(d, 1e-9))
    xy = np.array(points)
    start = xy[farthest_points(xy, [0], county.n_substations)]
    order, taken = [0], {0}
    for cx, cy in kmeans(xy, start, fixed=1)[1:]:  # the nearest seat moves there
        free = [i for i in range(n) if i not in taken]
        order.append(min(free, key=lambda i: math.hypot(xy[i, 0] - cx, xy[i, 1] - cy)))
        taken.add(order[-1])
        points[order[-1]] = (float(cx), float(cy))
    order += [i for i in range(n) if i not in taken]
    county.township_xy = [points[i] for i in order]
    codes: set[str] = set()
    for i, (stem, code) in enumerate(township_stems(draw, n)):
        county.stems.append(stem)
        county.township_names.append(stem + ("镇" if i < max(3, n // 2) else "乡"))
        if i < county.n_substations:
            unique, k = code, 2
            while unique in codes:
                unique, k = f"{code}{k}", k + 1
            codes.add(unique)
            county.sub_ids.append(unique)
            county.sub_names.append(stem + "变")
            x, y = county.township_xy[i]
            county.sub_busbars.append(
                county.node(
                    -1,
                    -1,
                    f"{stem}变10kV母线",
                    x,
                    y,
                    kind=NodeKind.BUSBAR,
                    node_id=f"{unique}-B10",
                )
            )


def assign_townships(county: County) -> NDArray[np.intp]:
    """Township of every node (nearest seat; the county town's inside it); a village takes
    its centre's."""
    rural = [n for n, v in zip(county.area_node, county.area_village, strict=True) if v >= 0]
    if len(rural) >= county.n_townships:  # seats without substation move to where people live
        xy = np.column_stack((np.take(county.node_x, rural), np.take(county.node_y, rural)))
        moved = kmeans(xy, np.array(county.township_xy), fixed=county.n_substations)
        county.township_xy = [(float(x), float(y)) for x, y in moved]
    seats = cKDTree(np.array(county.township_xy))
    node_township = nearest(seats, np.column_stack((county.node_x, county.node_y)))
    town = (np.square(county.node_x) + np.square(county.node_y)) < county.opt.town_radius_km**2
    node_township[town] = 0
    if county.villages:
        centers = np.array([v.center for v in county.villages])
        for v, t in zip(county.villages, nearest(seats, centers), strict=True):
            v.township = int(t)
    for row, village, node in zip(county.areas, county.area_village, county.area_node, strict=True):
        if village >= 0:
            row["village"] = county.villages[village].name
            row["township"] = county.township_names[county.villages[village].township]
        else:
            row["township"] = county.township_names[int(node_township[node])]
    return node_township


def grid_cells(county: County) -> tuple[list[str], list[str], list[int]]:
    """Cells from a k-means over the nodes, two held in the county town; every node goes to
    the nearest centre; a cell is named after the township seat nearest its centre."""
    xy = np.column_stack((county.node_x, county.node_y))
    r = county.opt.town_radius_km / 2
    fixed = np.array([(0.0, r), (0.0, -r)])
    sample = np.vstack((fixed, xy[:: max(1, len(xy) // 20000)]))
    start = sample[farthest_points(sample, [0, 1], county.n_cells)]
    centers = kmeans(sample, start, fixed=2)
    seat = nearest(cKDTree(np.array(county.township_xy)), centers)
    seat[:2] = 0
    names, crews, per_station = [], [], dict[int, int]()
    for t in (int(t) for t in seat):
        k = per_station[t] = per_station.get(t, 0) + 1
        digit = DIGITS[k - 1] if k <= len(DIGITS) else str(k)
        names.append(f"{county.stems[t]}{digit}网格")
        crews.append(f"{county.stems[t]}供电所抢修{digit}班")
    return names, crews, nearest(cKDTree(centers), xy).tolist()
