"""Deterministic point-set steps: nearest neighbours, k-means, spread-out starting points."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

__all__ = ["Points", "farthest_points", "kmeans", "nearest"]

Points = NDArray[np.float64]


def nearest(tree: cKDTree, points: Points) -> NDArray[np.intp]:
    _, index = tree.query(points)
    return np.asarray(index, dtype=np.intp)


def kmeans(xy: Points, centers: Points, *, fixed: int, iterations: int = 12) -> Points:
    """Lloyd's k-means from ``centers``, the first ``fixed`` of them held in place."""
    centers = np.array(centers, dtype=float)
    for _ in range(iterations):
        distance, label = cKDTree(centers).query(xy)
        label = np.asarray(label, dtype=np.intp)
        k = len(centers)
        counts = np.bincount(label, minlength=k)
        sums = np.column_stack([np.bincount(label, weights=xy[:, i], minlength=k) for i in (0, 1)])
        moved = counts > 0
        moved[:fixed] = False
        centers[moved] = sums[moved] / counts[moved, None]
        far = np.array(distance, dtype=float)
        for empty in np.flatnonzero(counts == 0):  # restart at the worst-served point
            if empty >= fixed:
                j = int(np.argmax(far))
                centers[empty], far[j] = xy[j], 0.0
    return centers


def farthest_points(xy: Points, start: list[int], n: int) -> list[int]:
    """Indexes of ``n`` spread-out points: ``start``, then each the farthest from those so far."""
    chosen = list(start)
    d = np.min([np.hypot(*(xy - xy[i]).T) for i in chosen], axis=0)
    while len(chosen) < min(n, len(xy)):
        j = int(np.argmax(d))
        chosen.append(j)
        d = np.minimum(d, np.hypot(*(xy - xy[j]).T))
    return chosen
