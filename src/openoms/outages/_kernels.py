"""The outage impact in one pass (private: use :class:`openoms.outages.impact.ImpactAnalyser`).

:func:`impact_arrays` turns the de-energised nodes into everything an
:class:`~openoms.outages.impact.Impact` holds: sections, transformer areas, HV customers,
sensitive customers and feeders, sorted, in O(answer) with a sort of each part. It is plain
Python over arrays: :func:`compiled` hands it to numba (``njit(cache=True)``, numba imported
only then), which is what the analyser calls once numba is loaded anyway. A process that has
not loaded numba (a command answering one query from a network snapshot) uses the numpy
version in :mod:`openoms.outages.impact` instead, with the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, cast

import numpy as np
from numpy.typing import NDArray

__all__ = ["compiled", "impact_arrays"]

Ints = NDArray[np.int32]
Int64s = NDArray[np.int64]

_LOCK: Final = threading.Lock()
_COMPILED: list[Callable[..., None]] = []


def _sorted_unique(out: Ints, start: int, stop: int) -> int:
    """Sort ``out[start:stop]`` in place and drop repeats; returns the new stop."""
    if stop - start < 2:
        return stop
    out[start:stop].sort()
    write = start + 1
    for i in range(start + 1, stop):
        if out[i] != out[write - 1]:
            out[write] = out[i]
            write += 1
    return write


def impact_arrays(  # noqa: PLR0917  (numba: no keyword-only parameters)
    nodes: Ints,
    opened: Ints,
    n_sections: int,
    adj_ptr: Ints,
    adj_edge: Ints,
    edge_from: Ints,
    edge_to: Ints,
    ta_ptr: Ints,
    ta_idx: Ints,
    hv_ptr: Ints,
    hv_idx: Ints,
    sensitive_ta_ptr: Ints,
    sensitive_ta_rows: Ints,
    sensitive_hv_ptr: Ints,
    sensitive_hv_rows: Ints,
    feeder_of_nodes: Ints,
    mark: NDArray[np.uint8],
    out: Ints,
    stops: Int64s,
) -> None:
    """Writes to ``out``, one part after the other, each sorted without repeats: the nodes
    (``nodes`` may hold repeats, in any order), the sections with both ends among them and the
    ``opened`` edges that are sections, the transformer areas and the HV customers at the
    nodes, their sensitive customers (rows of the table) and the feeders the nodes are on
    (codes ≥ 0); ``stops[i]`` is where part ``i`` ends.

    CSR inputs: ``adj_ptr``/``adj_edge`` the branches at each node (both directions, the
    topology's adjacency), ``ta_*`` / ``hv_*`` the transformer areas and HV customers at each
    node, ``sensitive_*`` the sensitive customers' rows under each transformer area and HV
    customer. ``mark``: zeros, one per node (left as zeros). ``out`` must hold every part.
    """
    k = 0
    for i in range(nodes.shape[0]):
        v = nodes[i]
        if mark[v] == 0:
            mark[v] = 1
            out[k] = v
            k += 1
    out[:k].sort()
    stops[0] = k
    pos = k
    # sections with both ends off, each from its from-end, and the opened sections
    start = pos
    for i in range(k):
        v = out[i]
        for j in range(adj_ptr[v], adj_ptr[v + 1]):
            e = adj_edge[j]
            if e < n_sections and edge_from[e] == v and mark[edge_to[e]]:
                out[pos] = e
                pos += 1
    for i in range(opened.shape[0]):
        if opened[i] < n_sections:
            out[pos] = opened[i]
            pos += 1
    pos = _sorted_unique(out, start, pos)
    stops[1] = pos
    # transformer areas, then HV customers, at the nodes (each at one node: no repeats)
    ta_start = pos
    for i in range(k):
        v = out[i]
        for j in range(ta_ptr[v], ta_ptr[v + 1]):
            out[pos] = ta_idx[j]
            pos += 1
    out[ta_start:pos].sort()
    stops[2] = pos
    hv_start = pos
    for i in range(k):
        v = out[i]
        for j in range(hv_ptr[v], hv_ptr[v + 1]):
            out[pos] = hv_idx[j]
            pos += 1
    out[hv_start:pos].sort()
    stops[3] = pos
    # sensitive customers of those (each under one transformer area or HV customer)
    start = pos
    for i in range(ta_start, hv_start):
        t = out[i]
        for j in range(sensitive_ta_ptr[t], sensitive_ta_ptr[t + 1]):
            out[pos] = sensitive_ta_rows[j]
            pos += 1
    for i in range(hv_start, stops[3]):
        h = out[i]
        for j in range(sensitive_hv_ptr[h], sensitive_hv_ptr[h + 1]):
            out[pos] = sensitive_hv_rows[j]
            pos += 1
    pos = _sorted_unique(out, start, pos)
    stops[4] = pos
    # feeders (runs of one feeder are the rule: skip repeats of the last one)
    start = pos
    last = -1
    for i in range(k):
        f = feeder_of_nodes[out[i]]
        if f >= 0 and f != last:
            out[pos] = f
            pos += 1
            last = f
    pos = _sorted_unique(out, start, pos)
    stops[5] = pos
    for i in range(k):
        mark[out[i]] = 0


def compiled() -> Callable[..., None]:
    """:func:`impact_arrays` compiled by numba (imported now), machine code cached on disk;
    the first call of each process loads it (or compiles it, the first time ever)."""
    if not _COMPILED:
        with _LOCK:
            if not _COMPILED:
                from numba import njit  # noqa: PLC0415  (only where numba is loaded anyway)

                unique = njit(cache=True, nogil=True)(_sorted_unique)
                globals()["_sorted_unique"] = unique  # the kernel calls the compiled helper
                kernel = njit(cache=True, nogil=True)(impact_arrays)
                _COMPILED.append(cast(Callable[..., None], kernel))
    return _COMPILED[0]
