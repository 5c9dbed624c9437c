"""The outage impact in one pass (private: use :class:`openoms.outages.impact.ImpactAnalyser`).

:func:`impact_arrays` turns the de-energised nodes into everything an
:class:`~openoms.outages.impact.Impact` holds: sections, transformer areas, HV customers,
sensitive customers and feeders, sorted, in O(answer · log answer). It is plain Python over
arrays: :func:`compiled` hands it to numba (``njit(cache=True)``, numba imported only then),
which is what the analyser calls once numba is loaded anyway. A process that has not loaded
numba (a command answering one query from a network snapshot) uses the numpy version in
:mod:`openoms.outages.impact` instead, with the same answers.

The network's tables come packed in one int32 array (``tables``, cut by ``layout``) and the
results go to one int32 array (``out``), so that a call passes few arguments: numba's dispatch
costs about 0.1 µs an argument, a good part of a query of a few microseconds. The sort is
written out (an introsort) rather than numba's, which takes seconds to compile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, cast

import numpy as np
from numpy.typing import NDArray

__all__ = ["HEADER", "TABLES", "compiled", "impact_arrays"]

Ints = NDArray[np.int32]
Int64s = NDArray[np.int64]

# the order of the tables packed in ``tables``: ``layout[i]:layout[i + 1]`` is table ``i``, and
# ``layout[len(TABLES) + 1]`` (``layout[9]``) the number of sections
TABLES: Final = (
    # per node v, side by side: where its sections (from v), transformer areas and HV
    # customers start: node_ptr[3v + c] for c = 0, 1, 2 (and 3(v + 1) + c where they end)
    "node_ptr",
    "section_to",  # per section from a node, by from-node: its index, then its to-node
    "ta_idx",
    "hv_idx",
    "sensitive_ta_ptr",  # sensitive customers' rows under each transformer area (CSR)
    "sensitive_ta_rows",
    "sensitive_hv_ptr",  # and under each HV customer
    "sensitive_hv_rows",
)
STACK: Final = 8  # out[STACK:HEADER]: the sort's stack (no allocation per call)
HEADER: Final = STACK + 3 * 64  # out[0:6]: where each part ends; the parts start at out[HEADER]
_SMALL: Final = 48  # ranges left to the final insertion sort (nearly sorted runs are the rule)
_DENSE: Final = 8  # _sort_dense marks values when they span less than 8 times their number
_DEPTH_FACTOR = 2  # quicksort down to 2 log2 n, then heapsort (a test sets 0)

_LOCK: Final = threading.Lock()
_COMPILED: list[Callable[..., None]] = []


def _sort(a: Ints, start: int, stop: int, unique: bool) -> int:
    """Sort ``a[start:stop]`` in place (and drop repeats when ``unique``); returns the stop.
    ``a[STACK:HEADER]`` is scratch.

    An introsort without recursion: quicksort on the median of three down to short ranges,
    heapsort for a range past a depth of 2 log2 n, then one insertion-sort pass over the whole
    (each value is then at most ``_SMALL`` places from its own). One function: numba compiles
    each function it meets for seconds.
    """
    n = stop - start
    if n > _SMALL:
        limit = 0  # DEPTH_FACTOR · log2(n)
        while (1 << limit) < n:
            limit += 1
        limit *= _DEPTH_FACTOR
        # (lo, hi, depth) at a[STACK:HEADER], the smaller side first: at most log2 n deep
        stack = a[STACK:HEADER]
        stack[0], stack[1], stack[2] = start, stop - 1, 0
        top = 3
        while top > 0:
            top -= 3
            lo, hi, depth = stack[top], stack[top + 1], stack[top + 2]
            while hi - lo + 1 > _SMALL:
                if depth > limit:  # heapsort a[lo:hi + 1]
                    size = hi - lo + 1
                    for step in range(size + size // 2 - 1, 0, -1):
                        if step >= size:  # building the heap: each inner node sifted down
                            root, end = step - size, size
                        else:  # the largest left goes to the end of the heap
                            root, end = 0, step
                            a[lo], a[lo + end] = a[lo + end], a[lo]
                        while True:  # sift a[lo + root] down the heap a[lo:lo + end]
                            child = 2 * root + 1
                            if child >= end:
                                break
                            if child + 1 < end and a[lo + child + 1] > a[lo + child]:
                                child += 1
                            if a[lo + root] >= a[lo + child]:
                                break
                            a[lo + root], a[lo + child] = a[lo + child], a[lo + root]
                            root = child
                    break
                depth += 1
                mid = (lo + hi) >> 1
                if a[mid] < a[lo]:
                    a[mid], a[lo] = a[lo], a[mid]
                if a[hi] < a[lo]:
                    a[hi], a[lo] = a[lo], a[hi]
                if a[hi] < a[mid]:
                    a[hi], a[mid] = a[mid], a[hi]
                pivot = a[mid]
                i, j = lo, hi
                while i <= j:
                    while a[i] < pivot:
                        i += 1
                    while a[j] > pivot:
                        j -= 1
                    if i <= j:
                        a[i], a[j] = a[j], a[i]
                        i += 1
                        j -= 1
                if j - lo < hi - i:  # keep the larger side for later, go on with the smaller
                    stack[top], stack[top + 1], stack[top + 2] = i, hi, depth
                    hi = j
                else:
                    stack[top], stack[top + 1], stack[top + 2] = lo, j, depth
                    lo = i
                top += 3
    for i in range(start + 1, stop):
        v = a[i]
        j = i - 1
        while j >= start and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v
    if not unique or n < 2:
        return stop
    write = start + 1
    for i in range(start + 1, stop):
        if a[i] != a[write - 1]:
            a[write] = a[i]
            write += 1
    return write


def _sort_dense(a: Ints, start: int, stop: int, scratch: NDArray[np.uint8]) -> int:
    """Sort ``a[start:stop]`` in place without repeats, like ``_sort(a, start, stop, True)``;
    returns the stop. When the values span a range of at most ``_DENSE`` times their number
    (the rule: the indexes of a subtree's elements lie close together) it marks them in
    ``scratch`` (zeros, at least as long as the largest value + 1; left as zeros) and reads
    the marks back in order, O(n + range) without a comparison; else it is ``_sort``."""
    n = stop - start
    if n < 2:
        return stop
    lo = hi = a[start]
    for i in range(start + 1, stop):
        v = a[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    if hi - lo >= _DENSE * n:
        return _sort(a, start, stop, True)
    for i in range(start, stop):
        scratch[a[i]] = 1
    pos = start
    for v in range(lo, hi + 1):  # (branch-free: the marks are mostly set)
        a[pos] = v
        pos += scratch[v]
        scratch[v] = 0
    return pos


def impact_arrays(  # noqa: PLR0917  (numba: no keyword-only parameters)
    nodes: Ints,
    opened: Ints,
    tables: Ints,
    layout: Int64s,
    feeder_of_nodes: Ints,
    feeder: int,
    mark: NDArray[np.uint8],
    out: Ints,
) -> None:
    """Writes to ``out[HEADER:]``, one part after the other, each sorted without repeats: the
    ``nodes`` (repeats allowed, any order), the sections with both ends among them and the
    ``opened`` edges that are sections, the transformer areas and the HV customers at the
    nodes, their sensitive customers (rows of the table) and the feeders the nodes are on
    (codes ≥ 0: ``feeder`` when the caller knows that every node is on it, else
    ``feeder_of_nodes`` is read); ``out[i]`` for ``i < 6`` is where part ``i`` ends, counted
    from ``out[HEADER]``.

    ``tables``/``layout``: the tables of :data:`TABLES`, packed: what a node needs, side by
    side, so that the nodes of a subtree (whose indexes are mostly close) read few cache lines.
    ``mark``: zeros, one per node and then as many as the longest of the sections, transformer
    areas, HV customers and sensitive customers (scratch for :func:`_sort_dense`; left as
    zeros). ``out`` must hold every part.
    """
    node_ptr = tables[layout[0] : layout[1]]
    section_to = tables[layout[1] : layout[2]]
    ta_idx = tables[layout[2] : layout[3]]
    hv_idx = tables[layout[3] : layout[4]]
    sensitive_ta_ptr = tables[layout[4] : layout[5]]
    sensitive_ta_rows = tables[layout[5] : layout[6]]
    sensitive_hv_ptr = tables[layout[6] : layout[7]]
    sensitive_hv_rows = tables[layout[7] : layout[8]]
    n_sections = layout[9]
    scratch = mark[feeder_of_nodes.shape[0] :]

    first = HEADER
    k = first
    lo, hi = 0, -1
    if nodes.shape[0]:
        lo = hi = nodes[0]
    for i in range(nodes.shape[0]):
        v = nodes[i]
        if mark[v] == 0:
            mark[v] = 1
            out[k] = v
            k += 1
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
    if hi - lo < _DENSE * (k - first):  # the marks read back in order (as in _sort_dense)
        k = first
        for v in range(lo, hi + 1):
            out[k] = v
            k += mark[v]
    else:
        _sort(out, first, k, False)
    out[0] = k - first
    pos = k
    # sections with both ends off (each listed at its from-end), and the opened sections
    start = pos
    for i in range(first, k):
        v = out[i]
        for j in range(node_ptr[3 * v], node_ptr[3 * v + 3]):
            if mark[section_to[2 * j + 1]]:
                out[pos] = section_to[2 * j]
                pos += 1
    for i in range(opened.shape[0]):
        if opened[i] < n_sections:
            out[pos] = opened[i]
            pos += 1
    pos = _sort_dense(out, start, pos, scratch)
    out[1] = pos - first
    # transformer areas, then HV customers, at the nodes (each at one node: no repeats)
    ta_start = pos
    for i in range(first, k):
        v = out[i]
        for j in range(node_ptr[3 * v + 1], node_ptr[3 * v + 4]):
            out[pos] = ta_idx[j]
            pos += 1
    pos = _sort_dense(out, ta_start, pos, scratch)
    out[2] = pos - first
    hv_start = pos
    for i in range(first, k):
        v = out[i]
        for j in range(node_ptr[3 * v + 2], node_ptr[3 * v + 5]):
            out[pos] = hv_idx[j]
            pos += 1
    pos = _sort_dense(out, hv_start, pos, scratch)
    hv_stop = pos
    out[3] = pos - first
    # sensitive customers of those (each under one transformer area or HV customer)
    start = pos
    for i in range(ta_start, hv_start):
        t = out[i]
        for j in range(sensitive_ta_ptr[t], sensitive_ta_ptr[t + 1]):
            out[pos] = sensitive_ta_rows[j]
            pos += 1
    for i in range(hv_start, hv_stop):
        h = out[i]
        for j in range(sensitive_hv_ptr[h], sensitive_hv_ptr[h + 1]):
            out[pos] = sensitive_hv_rows[j]
            pos += 1
    pos = _sort_dense(out, start, pos, scratch)
    out[4] = pos - first
    # feeders (runs of one feeder are the rule: skip repeats of the last one)
    start = pos
    if feeder >= 0:
        if k > first:
            out[pos] = feeder
            pos += 1
    else:
        last = -1
        for i in range(first, k):
            f = feeder_of_nodes[out[i]]
            if f >= 0 and f != last:
                out[pos] = f
                pos += 1
                last = f
        pos = _sort(out, start, pos, True)
    out[5] = pos - first
    for i in range(first, k):
        mark[out[i]] = 0


def compiled() -> Callable[..., None]:
    """:func:`impact_arrays` compiled by numba (imported now), machine code cached on disk;
    the first call of each process loads it (or compiles it, the first time ever)."""
    if not _COMPILED:
        with _LOCK:
            if not _COMPILED:
                from numba import njit  # noqa: PLC0415  (only where numba is loaded anyway)

                # the kernel calls the helpers as globals: the compiled ones
                for helper in ("_sort", "_sort_dense"):
                    globals()[helper] = njit(cache=True, nogil=True)(globals()[helper])
                kernel = njit(cache=True, nogil=True)(impact_arrays)
                _COMPILED.append(cast(Callable[..., None], kernel))
    return _COMPILED[0]
