"""Numba kernels of the topology engine (private: use :mod:`openoms.grid.topology`).

Every kernel is compiled with ``njit(cache=True)``: the machine code is written to
``__pycache__`` beside this file on first use and reloaded afterwards (numba's user-wide cache,
or ``$NUMBA_CACHE_DIR``, when that folder is read-only). Numba itself is imported only when a
kernel runs compiled (:mod:`openoms.grid.jit`): a topology restored from a network snapshot
answers queries without it (:meth:`openoms.grid.topology.Topology.restore`), and a process
that has done little work runs the kernels' Python source (switching on a county). The kernels
only read and write the arrays they are given; every array is allocated by the caller, so that
``tracemalloc`` sees all memory the engine uses.

Typing: numba has no type information, so :func:`_kernel` casts the compiled dispatcher back to
the annotated Python function. Each kernel's annotations are therefore its typed wrapper: mypy
checks every call against them, and numba compiles for the dtypes actually passed (the engine
passes int32 and bool arrays only).

Node state: one int32 array of shape (6, n_nodes), written by :func:`build_state` and
:func:`regrow`, with these rows:

``feeder``       feeder index, :data:`STATION` or :data:`DEAD`
``parent``       parent node in the feeder's DFS tree (the station node for a feeder's first
                 node), ``-1`` for station and dead nodes
``parent_edge``  the tree edge to the parent (the feeder head for the first node), else ``-1``
``depth``        edges from the station zone (1 for a feeder's first node, 0 in the station
                 zone, ``-1`` when dead)
``tin``/``tout`` DFS preorder interval relative to the feeder's order array, ``-1`` outside
                 feeders

A dead node has ``-1`` in every row.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from openoms.grid.jit import LazyKernels

__all__ = [
    "DEAD",
    "DEPTH",
    "FEEDER",
    "PARENT",
    "PARENT_EDGE",
    "STATION",
    "TIN",
    "TOUT",
    "build_state",
    "compile_kernels",
    "fill_csr",
    "path_up",
    "regrow",
]

STATION: Final = -2
DEAD: Final = -1

Ints = NDArray[np.int32]
Bools = NDArray[np.bool_]
Csr = tuple[Ints, Ints, Ints]  # adj_ptr (n + 1), adj_node and adj_edge (2m)

# rows of the (6, n) node state array
FEEDER: Final = 0
PARENT: Final = 1
PARENT_EDGE: Final = 2
DEPTH: Final = 3
TIN: Final = 4
TOUT: Final = 5


_kernel: Final = LazyKernels(globals())


def compile_kernels() -> None:
    """Import numba and make every kernel of this module a (disk-cached) dispatcher; machine
    code is loaded or compiled per argument types at each kernel's first compiled call."""
    _kernel.compile()


def _inner(*_: Any) -> int:
    return 0  # a kernel only kernels call: its work counts in its caller's


@_kernel
def fill_csr(  # noqa: PLR0917  (numba: no keyword-only parameters)
    edge_from: Ints, edge_to: Ints, adj_ptr: Ints, cursor: Ints, adj_node: Ints, adj_edge: Ints
) -> None:
    """Counting-sort fill of the adjacency (CSR over both directions): slot ``k`` in
    ``adj_ptr[v]:adj_ptr[v + 1]`` holds the neighbour ``adj_node[k]`` and the edge ``adj_edge[k]``
    joining them. A node's slots list the edges where it is ``edge_from`` (in edge order), then
    those where it is ``edge_to``. ``cursor`` is scratch of length ``n``. O(n + m).
    """
    n = adj_ptr.shape[0] - 1
    m = edge_from.shape[0]
    for v in range(n):
        cursor[v] = adj_ptr[v]
    for e in range(m):
        v = edge_from[e]
        k = cursor[v]
        cursor[v] = k + 1
        adj_node[k] = edge_to[e]
        adj_edge[k] = e
    for e in range(m):
        v = edge_to[e]
        k = cursor[v]
        cursor[v] = k + 1
        adj_node[k] = edge_from[e]
        adj_edge[k] = e


@_kernel.weighing(_inner)
def _mark_station(  # noqa: PLR0917  (numba: no keyword-only parameters)
    sources: Ints, csr: Csr, closed: Bools, head_feeder: Ints, state: Ints, stack: Ints
) -> None:
    """Flood the station zone from the sources through closed edges that are no feeder head.

    Expects every node DEAD. Each node is pushed at most once, so ``stack`` needs length n.
    """
    adj_ptr, adj_node, adj_edge = csr
    feeder = state[FEEDER]
    depth = state[DEPTH]
    top = 0
    for s in sources:
        if feeder[s] != STATION:
            feeder[s] = STATION
            depth[s] = 0
            stack[top] = s
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        for k in range(adj_ptr[v], adj_ptr[v + 1]):
            e = adj_edge[k]
            if closed[e] and head_feeder[e] < 0:
                w = adj_node[k]
                if feeder[w] != STATION:
                    feeder[w] = STATION
                    depth[w] = 0
                    stack[top] = w
                    top += 1


@_kernel.weighing(_inner)
def _dfs(  # noqa: PLR0917  (numba: no keyword-only parameters)
    f: int,
    root: int,
    station_node: int,
    head: int,
    csr: Csr,
    closed: Bools,
    state: Ints,
    order: Ints,
    start: int,
    loop_edge: Ints,
    n_loops: int,
) -> tuple[int, int]:
    """Iterative DFS of feeder ``f`` from ``root``, claiming DEAD nodes through closed edges.

    No stack array: the way back is the parent pointer, and while a node is open its next
    adjacency slot is kept in ``tout`` (overwritten with the real ``tout`` when it closes).
    Preorder goes to ``order[start:]``; ``tin``/``tout`` are relative to ``start``.

    Closed non-tree edges are appended to ``loop_edge`` once each: an edge to an already visited
    node of this feeder is recorded from its lower end (in an undirected DFS every non-tree edge
    joins a node to one of its ancestors, whose ``tin`` is smaller); an edge to a node of
    another feeder or of the station zone is recorded when met.

    Returns (next free position in ``order``, number of loop edges recorded).
    """
    adj_ptr, adj_node, adj_edge = csr
    feeder = state[FEEDER]
    parent = state[PARENT]
    parent_edge = state[PARENT_EDGE]
    depth = state[DEPTH]
    tin = state[TIN]
    tout = state[TOUT]
    pos = start
    feeder[root] = f
    parent[root] = station_node
    parent_edge[root] = head
    depth[root] = 1
    tin[root] = 0
    order[pos] = root
    pos += 1
    tout[root] = adj_ptr[root]
    v = root
    while True:
        k = tout[v]
        end = adj_ptr[v + 1]
        descended = False
        while k < end:
            e = adj_edge[k]
            w = adj_node[k]
            k += 1
            if not closed[e] or e == parent_edge[v]:
                continue
            fw = feeder[w]
            if fw == DEAD:
                tout[v] = k
                feeder[w] = f
                parent[w] = v
                parent_edge[w] = e
                depth[w] = depth[v] + 1
                tin[w] = pos - start
                order[pos] = w
                pos += 1
                tout[w] = adj_ptr[w]
                v = w
                descended = True
                break
            if fw != f or tin[w] < tin[v]:
                loop_edge[n_loops] = e
                n_loops += 1
        if not descended:
            tout[v] = pos - start
            if v == root:
                return pos, n_loops
            v = parent[v]


@_kernel.weighing(_inner)
def _grow_feeders(  # noqa: PLR0917  (numba: no keyword-only parameters)
    edge_from: Ints,
    edge_to: Ints,
    feeder_head: Ints,
    csr: Csr,
    closed: Bools,
    state: Ints,
    order: Ints,
    loop_edge: Ints,
    grown: Ints,
) -> int:
    """Grow, in index order, every feeder whose head is closed with one end in the station zone
    and the other end DEAD (unclaimed). The i-th grown feeder ``grown[0, i]`` gets
    ``order[grown[1, i-1]:grown[1, i]]`` and the loop edges
    ``loop_edge[grown[2, i-1]:grown[2, i]]`` (from 0 for the first).
    O(F + size of the grown feeders + their adjacency). Returns how many feeders grew.
    """
    feeder = state[FEEDER]
    n_grown = 0
    pos = 0
    n_loops = 0
    for f in range(feeder_head.shape[0]):
        h = feeder_head[f]
        if not closed[h]:
            continue
        a = edge_from[h]
        b = edge_to[h]
        if feeder[a] == STATION and feeder[b] == DEAD:
            station_node = a
            root = b
        elif feeder[b] == STATION and feeder[a] == DEAD:
            station_node = b
            root = a
        else:
            continue
        pos, n_loops = _dfs(
            f, root, station_node, h, csr, closed, state, order, pos, loop_edge, n_loops
        )
        grown[0, n_grown] = f
        grown[1, n_grown] = pos
        grown[2, n_grown] = n_loops
        n_grown += 1
    return n_grown


@_kernel.weighing(lambda *args: 2 * len(args[1]))  # O(n + m)
def build_state(  # noqa: PLR0917  (numba: no keyword-only parameters)
    sources: Ints,
    edge_from: Ints,
    edge_to: Ints,
    feeder_head: Ints,
    head_feeder: Ints,
    csr: Csr,
    closed: Bools,
    state: Ints,
    order: Ints,
    stack: Ints,
    loop_edge: Ints,
    grown: Ints,
) -> int:
    """The whole state from scratch, in place: station zone, then every feeder. O(n + m).

    ``state`` is (6, n); ``order`` and ``stack`` need length n, ``loop_edge`` length m,
    ``grown`` shape (3, F). Returns how many feeders grew (see :func:`_grow_feeders`).
    """
    state[:, :] = -1
    _mark_station(sources, csr, closed, head_feeder, state, stack)
    return _grow_feeders(
        edge_from, edge_to, feeder_head, csr, closed, state, order, loop_edge, grown
    )


@_kernel.weighing(lambda *args: 2 * len(args[0]))  # O(cleared + grown)
def regrow(  # noqa: PLR0917  (numba: no keyword-only parameters)
    cleared: Ints,
    edge_from: Ints,
    edge_to: Ints,
    feeder_head: Ints,
    csr: Csr,
    closed: Bools,
    state: Ints,
    order: Ints,
    loop_edge: Ints,
    grown: Ints,
) -> int:
    """Incremental update: mark the ``cleared`` nodes dead, then grow every feeder that can
    claim an unclaimed first node (the cleared feeders, and any feeder whose first node they
    had absorbed). O(F + cleared + grown). Returns how many feeders grew.
    """
    for v in cleared:
        for row in range(state.shape[0]):
            state[row, v] = -1
    return _grow_feeders(
        edge_from, edge_to, feeder_head, csr, closed, state, order, loop_edge, grown
    )


@_kernel.weighing(lambda *args: len(args[-1]))  # O(depth)
def path_up(node: int, parent: Ints, parent_edge: Ints, nodes: Ints, edges: Ints) -> None:
    """Walk parent pointers from ``node``: ``nodes`` gets node, its parent, ... and ``edges``
    the tree edges between them; their lengths (depth + 1 and depth) bound the walk. O(depth).
    """
    v = node
    nodes[0] = v
    for i in range(edges.shape[0]):
        edges[i] = parent_edge[v]
        v = parent[v]
        nodes[i + 1] = v
