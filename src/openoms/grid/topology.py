"""The topology engine: who is energised, from which feeder, and what lies below each branch.

Pure and array-only: nodes and branches (edges) are dense int32 indexes; the network model owns
the mapping to utility ids. A :class:`Topology` holds the state of one switch configuration and
answers queries in time proportional to their answer, not to the network.

Semantics
---------
- **Station zone**: nodes reachable from a source node through closed edges without crossing a
  feeder-head edge. Energised, on no feeder (code :data:`STATION`).
- **Feeders**, in index order: feeder ``f`` grows when its head edge is closed with one end in
  the station zone and the other end (its *first node*) not yet claimed; a DFS from the first
  node through closed edges claims every unclaimed node it reaches (it may cross other feeders'
  head edges, e.g. to back-feed a dead substation busbar). Unreached nodes are dead
  (:data:`DEAD`).
- Each feeder node has a parent, a parent edge (the head edge for the first node, whose parent
  is the station node), a depth (1 for the first node) and a DFS preorder interval: the subtree
  below ``v`` is ``feeder_nodes(f)[tin[v]:tout[v]]``.
- Closed edges that are not tree edges (:meth:`Topology.loop_edges`) close a loop inside a
  feeder, or a parallel with the station zone.

Parallels. The state is a function of the switch states alone (an incremental update equals a
fresh build), so a closed tie between two live feeders ``a < b`` cannot stay a non-tree edge:
feeder ``a`` claims everything it reaches, i.e. all of ``b``, and ``b``'s closed head edge
becomes the non-tree (parallel) edge. :meth:`Topology.operate` reports such a closing as a
:class:`Loop` of kind ``PARALLEL`` and lists ``b``'s nodes in ``Change.transferred``.

Incremental updates. An operation on edge ``e`` recomputes only the feeders of its two ends
(and the feeder ``e`` heads, if any): their nodes are cleared to dead, then the feeders whose
first node is now unclaimed (those, and any feeder they had absorbed) regrow in index order
without entering other feeders' nodes. No closed edge joins two feeders, or a feeder and a dead
node (the DFS would have crossed it), so nothing else can change and the result equals a fresh
build bit for bit. An operation on a non-head edge with an end in the station zone (a busbar
coupler, a tie onto a busbar) can change the station zone itself and falls back to a full
rebuild, O(n + m).

Not thread-safe: :meth:`Topology.operate` and :meth:`Topology.preview` mutate the state in place
(preview restores it before returning). Arrays returned by queries are read-only: the state views
(``closed``, ``feeder_of_nodes``, ...) are live; subtree, feeder and loop views are snapshots that
stay valid after later operations (those arrays are replaced, never written); other results are
fresh arrays.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from openoms.grid import _kernels
from openoms.grid.graph import GraphArrays, TopologyError, frozen

__all__ = [
    "DEAD",
    "STATION",
    "Change",
    "GraphArrays",
    "Loop",
    "LoopKind",
    "Topology",
    "TopologyError",
]

STATION: Final = _kernels.STATION
DEAD: Final = _kernels.DEAD

Ints = NDArray[np.int32]
Bools = NDArray[np.bool_]


_EMPTY: Final[Ints] = frozen(np.empty(0, dtype=np.int32))


def _split(values: Ints, lengths: Ints) -> list[Ints]:
    """``values`` cut into consecutive pieces of ``lengths`` (views; :data:`_EMPTY` for 0)."""
    stops = np.cumsum(lengths).tolist()
    starts = [0, *stops[:-1]]
    return [values[a:b] if b > a else _EMPTY for a, b in zip(starts, stops, strict=True)]


# -- results ------------------------------------------------------------------------------------


class LoopKind(StrEnum):
    """What closing an edge between two energised nodes made."""

    LOOP = "loop"  # both ends on the same feeder
    PARALLEL = "parallel"  # ends on different feeders, or a feeder and the station zone


@dataclass(frozen=True, slots=True)
class Loop:
    """A closing operation that made a loop or a parallel.

    ``feeders`` are the feeder codes of the edge's two ends before the operation, sorted and
    without repeats (:data:`STATION` when an end is in the station zone).
    """

    edge: int
    kind: LoopKind
    feeders: tuple[int, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Change:
    """What a sequence of operations changed, comparing the state before the first operation
    with the state after the last (sorted node indexes, read-only arrays).

    ``lost``: energised before, dead after. ``regained``: dead before, energised after.
    ``transferred``: energised before and after, on another feeder (station zone included).
    ``loops``: one per closing operation that made a loop or a parallel, in operation order.
    ``touched_feeders``: the feeders recomputed (all of them after a full rebuild).
    ``full_rebuild``: whether an operation fell back to rebuilding the whole state.
    """

    lost: Ints
    regained: Ints
    transferred: Ints
    loops: tuple[Loop, ...] = ()
    touched_feeders: tuple[int, ...] = ()
    full_rebuild: bool = False


# -- undo log -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Step:
    """One applied operation: enough to undo it and to say what it changed."""

    edge: int
    was_closed: bool
    cleared: Ints  # nodes whose six state values were saved in `saved`
    saved: Ints  # shape (6, len(cleared)); for a full rebuild: (6, n) snapshot
    grown: Ints  # nodes claimed by the regrown feeders (to reset to dead on undo)
    orders: dict[int, Ints] = field(default_factory=dict)  # previous order per feeder
    loops: dict[int, Ints] = field(default_factory=dict)  # previous loop edges per feeder
    changed: Ints = field(default_factory=lambda: _EMPTY)  # nodes whose feeder may have changed
    changed_before: Ints = field(default_factory=lambda: _EMPTY)  # their feeder code before
    full_rebuild: bool = False


# -- the engine ---------------------------------------------------------------------------------

_FEEDER: Final = _kernels.FEEDER  # rows of Topology._state
_PARENT: Final = _kernels.PARENT
_PARENT_EDGE: Final = _kernels.PARENT_EDGE
_DEPTH: Final = _kernels.DEPTH
_TIN: Final = _kernels.TIN
_TOUT: Final = _kernels.TOUT


class Topology:
    """The energisation state of one switch configuration, updated in place by operations.

    Build with :meth:`build`: O(n + m) time, about 60 bytes per node plus the graph. Every query
    is O(1) or proportional to its answer; an operation costs the size of the feeders it touches.
    """

    __slots__ = (
        "_closed",
        "_closed_view",
        "_csr",
        "_depth",
        "_edge_from",
        "_edge_to",
        "_feeder",
        "_graph",
        "_grown",
        "_head_feeder",
        "_loop_buf",
        "_loops",
        "_m",
        "_n",
        "_order_buf",
        "_orders",
        "_parent",
        "_parent_edge",
        "_state",
        "_tin",
        "_tout",
        "_views",
    )
    _graph: GraphArrays
    _n: int
    _m: int
    _edge_from: Ints
    _edge_to: Ints
    _closed: Bools
    _closed_view: Bools
    _csr: tuple[Ints, Ints, Ints]
    _head_feeder: Ints  # per edge: the feeder it heads, or -1
    _state: Ints  # (6, n) node state, rows as in openoms.grid._kernels
    _feeder: Ints  # the rows of _state
    _parent: Ints
    _parent_edge: Ints
    _depth: Ints
    _tin: Ints
    _tout: Ints
    _views: tuple[Ints, ...]  # read-only views of the rows
    _orders: list[Ints]  # per feeder: its nodes in preorder (read-only, replaced, never written)
    _loops: list[Ints]  # per feeder: its closed non-tree edges (same)
    _loop_buf: Ints  # scratch, m
    _order_buf: Ints | None  # scratch, n, made on the first incremental update
    _grown: Ints  # (3, F) kernel output: grown feeder, order stop, loop stop

    def __init__(self, graph: GraphArrays, closed: Bools) -> None:
        """Same as :meth:`build`."""
        closed_array = np.asarray(closed)
        if closed_array.dtype != np.bool_ or closed_array.shape != (graph.n_edges,):
            raise TopologyError(
                [
                    f"closed must be a bool array of length n_edges={graph.n_edges}, "
                    f"got {closed_array.dtype} {closed_array.shape}"
                ]
            )
        n, m, n_feeders = graph.n_nodes, graph.n_edges, graph.n_feeders
        self._graph = graph
        self._closed = closed_array.copy()
        self._closed_view = frozen(self._closed.view())

        # adjacency over both directions by a counting sort, O(n + m): bincount here, the fill
        # in numba (np.argsort(kind="stable") of the 2m slot keys took 0.34 s at 1M nodes)
        degree = np.bincount(graph.edge_from, minlength=n)
        degree += np.bincount(graph.edge_to, minlength=n)
        adj_ptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(degree, out=adj_ptr[1:])
        del degree
        adj_node = np.empty(2 * m, dtype=np.int32)
        adj_edge = np.empty(2 * m, dtype=np.int32)
        cursor = np.empty(n, dtype=np.int32)
        _kernels.fill_csr(graph.edge_from, graph.edge_to, adj_ptr, cursor, adj_node, adj_edge)
        del cursor
        self._csr = (adj_ptr, adj_node, adj_edge)
        self._head_feeder = np.full(m, -1, dtype=np.int32)
        self._head_feeder[graph.feeder_head] = np.arange(n_feeders, dtype=np.int32)

        self._n, self._m = n, m
        self._edge_from, self._edge_to = graph.edge_from, graph.edge_to
        self._state = np.empty((6, n), dtype=np.int32)
        # the rows, as attributes: queries are a few array lookups and nothing else
        self._feeder, self._parent, self._parent_edge, self._depth, self._tin, self._tout = (
            self._state
        )
        self._views = tuple(frozen(row.view()) for row in self._state)
        self._loop_buf = np.empty(m, dtype=np.int32)
        self._grown = np.empty((3, n_feeders), dtype=np.int32)  # feeder, order stop, loop stop
        self._order_buf = None
        self._orders = []
        self._loops = []
        self._rebuild()

    @classmethod
    def build(cls, graph: GraphArrays, closed: Bools) -> Topology:
        """The state of ``graph`` with the branch states ``closed`` (copied). O(n + m)."""
        return cls(graph, closed)

    # -- saving and restoring (network snapshots) ------------------------------------------

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The whole index as plain arrays, for :meth:`restore` (the network snapshots of
        :mod:`openoms.grid.snapshot` save them): the branch states, the adjacency, the node
        state, and every feeder's order and loop edges concatenated with their lengths."""
        adj_ptr, adj_node, adj_edge = self._csr
        return {
            "closed": self._closed.copy(),
            "adj_ptr": adj_ptr,
            "adj_node": adj_node,
            "adj_edge": adj_edge,
            "state": self._state.copy(),
            "orders": np.concatenate([_EMPTY, *self._orders]),
            "order_lengths": np.asarray([len(o) for o in self._orders], dtype=np.int32),
            "loops": np.concatenate([_EMPTY, *self._loops]),
            "loop_lengths": np.asarray([len(o) for o in self._loops], dtype=np.int32),
        }

    @classmethod
    def restore(cls, graph: GraphArrays, arrays: Mapping[str, NDArray[Any]]) -> Topology:
        """The topology :meth:`state_arrays` saved for ``graph``, without running a kernel (so
        without loading numba until an operation needs it). Raises :class:`TopologyError` when
        an array is missing or does not fit the graph; the values themselves are trusted, so
        give it only what :meth:`state_arrays` made for the same graph."""
        n, m, n_feeders = graph.n_nodes, graph.n_edges, graph.n_feeders
        shapes = {
            "closed": (np.bool_, (m,)),
            "adj_ptr": (np.int32, (n + 1,)),
            "adj_node": (np.int32, (2 * m,)),
            "adj_edge": (np.int32, (2 * m,)),
            "state": (np.int32, (6, n)),
            "order_lengths": (np.int32, (n_feeders,)),
            "loop_lengths": (np.int32, (n_feeders,)),
            "orders": (np.int32, None),
            "loops": (np.int32, None),
        }
        problems = []
        got: dict[str, NDArray[Any]] = {}
        for name, (dtype, shape) in shapes.items():
            array = arrays.get(name)
            if array is None or array.dtype != dtype or (shape and array.shape != shape):
                problems.append(f"saved topology array {name}: expected {dtype.__name__} {shape}")
            else:
                got[name] = np.array(array, dtype=dtype, order="C")  # own, writable copies
        for name in ("orders", "loops"):
            lengths = got.get(f"{name[:-1]}_lengths")
            if name in got and lengths is not None and int(lengths.sum()) != got[name].size:
                problems.append(f"saved topology array {name}: lengths do not add up")
        if problems:
            raise TopologyError(problems)
        self = cls.__new__(cls)
        self._graph = graph
        self._closed = got["closed"]
        self._closed_view = frozen(self._closed.view())
        self._csr = (got["adj_ptr"], got["adj_node"], got["adj_edge"])
        self._head_feeder = np.full(m, -1, dtype=np.int32)
        self._head_feeder[graph.feeder_head] = np.arange(n_feeders, dtype=np.int32)
        self._n, self._m = n, m
        self._edge_from, self._edge_to = graph.edge_from, graph.edge_to
        self._state = got["state"]
        self._feeder, self._parent, self._parent_edge, self._depth, self._tin, self._tout = (
            self._state
        )
        self._views = tuple(frozen(row.view()) for row in self._state)
        self._loop_buf = np.empty(m, dtype=np.int32)
        self._grown = np.empty((3, n_feeders), dtype=np.int32)
        self._order_buf = None
        self._orders = _split(frozen(got["orders"]), got["order_lengths"])
        self._loops = _split(frozen(got["loops"]), got["loop_lengths"])
        return self

    # -- whole-state (re)build -------------------------------------------------------------

    def _rebuild(self) -> None:
        graph, n = self._graph, self._graph.n_nodes
        order = np.empty(n, dtype=np.int32)
        stack = np.empty(n, dtype=np.int32)
        n_grown = _kernels.build_state(
            graph.source_nodes,
            graph.edge_from,
            graph.edge_to,
            graph.feeder_head,
            self._head_feeder,
            self._csr,
            self._closed,
            self._state,
            order,
            stack,
            self._loop_buf,
            self._grown,
        )
        del stack
        self._orders = [_EMPTY] * graph.n_feeders
        self._loops = [_EMPTY] * graph.n_feeders
        self._install(order, n_grown)

    def _install(self, order: Ints, n_grown: int) -> list[int]:
        """Point the grown feeders' order and loop arrays at ``order`` and the loop buffer."""
        if not n_grown:
            return []
        grown_feeders: list[int] = self._grown[0, :n_grown].tolist()
        stops: list[int] = self._grown[1, :n_grown].tolist()
        loop_stops: list[int] = self._grown[2, :n_grown].tolist()
        loops = frozen(self._loop_buf[: loop_stops[-1]].copy())
        frozen(order)
        start = loop_start = 0
        for f, stop, loop_stop in zip(grown_feeders, stops, loop_stops, strict=True):
            self._orders[f] = order[start:stop]
            self._loops[f] = loops[loop_start:loop_stop]
            start, loop_start = stop, loop_stop
        return grown_feeders

    # -- state views ------------------------------------------------------------------------

    @property
    def graph(self) -> GraphArrays:
        return self._graph

    @property
    def n_feeders(self) -> int:
        return self._graph.n_feeders

    @property
    def closed(self) -> Bools:
        """Branch states (read-only view, live: it follows later operations)."""
        return self._closed_view

    @property
    def feeder_of_nodes(self) -> Ints:
        """Feeder code of every node: feeder index, :data:`STATION` or :data:`DEAD` (live view)."""
        return self._views[_FEEDER]

    @property
    def parent_of_nodes(self) -> Ints:
        """Parent node in the feeder tree, ``-1`` in the station zone and when dead (live view)."""
        return self._views[_PARENT]

    @property
    def parent_edge_of_nodes(self) -> Ints:
        """Tree edge to the parent (the head edge for a feeder's first node), else ``-1``."""
        return self._views[_PARENT_EDGE]

    @property
    def depth_of_nodes(self) -> Ints:
        """Edges from the station zone: 0 in the zone, 1 for a feeder's first node, -1 if dead."""
        return self._views[_DEPTH]

    # -- queries ----------------------------------------------------------------------------

    def _check_node(self, node: int) -> int:
        if not 0 <= node < self._n:
            raise TopologyError([f"node {node} is outside 0..{self._n - 1}"])
        return node

    def feeder_of(self, node: int) -> int:
        """Feeder index of ``node`` (≥ 0), :data:`STATION` or :data:`DEAD`. O(1)."""
        return int(self._feeder[self._check_node(node)])

    def is_energised(self, node: int) -> bool:
        """Whether ``node`` is energised (station zone or a feeder). O(1)."""
        return bool(self._feeder[self._check_node(node)] != DEAD)

    def _child(self, edge: int) -> int:
        """The lower end of ``edge`` if it is a tree edge, else -1. O(1)."""
        if not 0 <= edge < self._m:
            raise TopologyError([f"edge {edge} is outside 0..{self._m - 1}"])
        if not self._closed[edge]:
            return -1
        to_node = self._edge_to[edge]
        if self._parent_edge[to_node] == edge:
            return int(to_node)
        from_node = self._edge_from[edge]
        if self._parent_edge[from_node] == edge:
            return int(from_node)
        if self._feeder[from_node] == STATION == self._feeder[to_node]:
            raise TopologyError(
                [
                    f"edge {edge} lies inside the station zone, which is not a tree: "
                    "use preview() to see what opening it would do"
                ]
            )
        return -1

    def is_tree_edge(self, edge: int) -> bool:
        """Whether ``edge`` is a closed edge of a feeder tree (a head edge included). O(1)."""
        if not 0 <= edge < self._m:
            raise TopologyError([f"edge {edge} is outside 0..{self._m - 1}"])
        return bool(
            self._closed[edge]
            and (
                self._parent_edge[self._edge_to[edge]] == edge
                or self._parent_edge[self._edge_from[edge]] == edge
            )
        )

    def nodes_below_node(self, node: int) -> Ints:
        """The subtree of ``node`` in its feeder tree, ``node`` first, in DFS preorder.

        Empty when the node is dead. Raises :class:`TopologyError` for a node in the station
        zone (a meshed zone, possibly with several sources: it has no subtree; a whole feeder is
        :meth:`feeder_nodes`). O(1): a read-only view.
        """
        f = self._feeder[self._check_node(node)]
        if f >= 0:
            below: Ints = self._orders[f][self._tin[node] : self._tout[node]]
            return below
        if f == DEAD:
            return _EMPTY
        raise TopologyError(
            [f"node {node} is in the station zone, which has no subtree; ask per feeder"]
        )

    def nodes_below_edge(self, edge: int) -> Ints:
        """The nodes fed through ``edge``: the subtree of its lower end if it is a tree edge
        (all of a feeder for its head edge), empty if it is open, dead, or a closed non-tree
        (loop or parallel) edge. O(1): a read-only view.

        This is exactly what opening the edge de-energises when no closed non-tree edge has an
        end in the subtree (a radial feeder); otherwise part of the subtree can be fed around
        the loop, and the subtree is an upper bound (ask :meth:`preview` for the exact set).
        Raises :class:`TopologyError` for a closed edge inside the station zone.
        """
        child = self._child(edge)
        if child < 0:
            return _EMPTY
        below: Ints = self._orders[self._feeder[child]][self._tin[child] : self._tout[child]]
        return below

    def radial_subtree(self, edge: int) -> tuple[Ints, int] | None:
        """What opening ``edge`` alone cuts off when that needs no preview: ``(nodes, feeder)``,
        the subtree of :meth:`nodes_below_edge` and its feeder, or ``(empty, -1)`` when the
        edge is open or dead; ``None`` when the exact answer needs :meth:`preview`: the
        feeder has a loop or parallel (part of the subtree could be fed around it), the edge
        is a closed loop or parallel edge itself, or it lies inside the station zone. O(1)."""
        try:
            child = self._child(edge)
        except TopologyError:  # a closed edge inside the station zone
            return None
        if child < 0:
            if self._closed[edge] and self._feeder[self._edge_from[edge]] != DEAD:
                return None  # a closed loop or parallel edge
            return _EMPTY, -1
        feeder = int(self._feeder[child])
        if len(self._loops[feeder]):
            return None
        below: Ints = self._orders[feeder][self._tin[child] : self._tout[child]]
        return below, feeder

    def count_below_edge(self, edge: int) -> int:
        """``len(nodes_below_edge(edge))``. O(1)."""
        child = self._child(edge)
        if child < 0:
            return 0
        return int(self._tout[child] - self._tin[child])

    def edges_below_edge(self, edge: int) -> Ints:
        """``edge`` and the tree edges below it: the parent edge of every node of
        :meth:`nodes_below_edge`, in the same order (so ``edge`` comes first). Open branches and
        closed non-tree edges inside the subtree are not included: they carry no supply.
        O(size of the subtree); a new array.
        """
        edges: Ints = self._parent_edge[self.nodes_below_edge(edge)]
        return edges

    def path_to_source(self, node: int) -> tuple[Ints, Ints]:
        """``(nodes, edges)`` from ``node`` up its feeder tree to the station node at the top of
        the head edge: ``nodes`` has depth + 1 entries (``node`` first, the station node last),
        ``edges`` has depth entries (``edges[i]`` joins ``nodes[i]`` and ``nodes[i + 1]``; the
        head edge last). A station-zone node gives ``([node], [])``, a dead node two empty
        arrays. O(depth); new arrays.
        """
        node = int(self._check_node(node))
        depth = int(self._depth[node])
        if depth < 0:
            return _EMPTY, _EMPTY
        nodes = np.empty(depth + 1, dtype=np.int32)
        edges = np.empty(depth, dtype=np.int32)
        _kernels.path_up(node, self._parent, self._parent_edge, nodes, edges)
        return nodes, edges

    def _check_feeder(self, feeder: int) -> int:
        if not 0 <= feeder < self._graph.n_feeders:
            raise TopologyError([f"feeder {feeder} is outside 0..{self._graph.n_feeders - 1}"])
        return feeder

    def feeder_nodes(self, feeder: int) -> Ints:
        """The nodes of ``feeder`` in DFS preorder, its first node first (empty when the feeder
        is not energised or was absorbed by a lower feeder through a parallel). O(1): a
        read-only view."""
        return self._orders[self._check_feeder(feeder)]

    def loop_edges(self, *, feeder: int | None = None) -> Ints:
        """Closed edges that are not tree edges: loops inside a feeder, and parallels of a
        feeder with the station zone (e.g. the closed head of a feeder absorbed by another).
        Edges inside the station zone and in dead areas are not included.

        With ``feeder``: that feeder's, in discovery order, O(1) (a read-only view). Without:
        all of them sorted, O(F + L log L) for L loop edges (a new array).
        """
        if feeder is not None:
            return self._loops[self._check_feeder(feeder)]
        return np.sort(np.concatenate([_EMPTY, *self._loops]))

    # -- operations -------------------------------------------------------------------------

    def operate(self, ops: Sequence[tuple[int, bool]]) -> Change:
        """Apply ``(edge, closed)`` operations in order, in place, and say what changed.

        Every operation is checked before any is applied. An operation that leaves an edge as
        it is does nothing. Otherwise it recomputes the feeders of the edge's ends (and the
        feeder it heads), O(their size + F); on a non-head edge with an end in the station
        zone it rebuilds everything, O(n + m).
        """
        return self._apply(self._checked(ops), keep=True)

    def preview(self, ops: Sequence[tuple[int, bool]]) -> Change:
        """What :meth:`operate` would answer, leaving the state exactly as it was.

        Applies the operations with an undo log of the touched feeders' nodes and arrays, then
        rolls it back: same cost as :meth:`operate` twice; a full rebuild (see :meth:`operate`)
        also snapshots the whole state, O(n).
        """
        return self._apply(self._checked(ops), keep=False)

    def _checked(self, ops: Sequence[tuple[int, bool]]) -> list[tuple[int, bool]]:
        problems: list[str] = []
        checked: list[tuple[int, bool]] = []
        m = self._m
        for i, op in enumerate(ops):
            try:
                edge_value, close = op
                edge = operator.index(edge_value)
            except (TypeError, ValueError):
                problems.append(f"operation {i}: expected (edge index, closed bool), got {op!r}")
                continue
            if not 0 <= edge < m:
                problems.append(f"operation {i}: edge {edge} is outside 0..{m - 1}")
            elif not isinstance(close, bool | np.bool_):
                problems.append(f"operation {i}: closed must be a bool, got {close!r}")
            else:
                checked.append((edge, bool(close)))
        if problems:
            raise TopologyError(problems)
        return checked

    def _apply(self, ops: list[tuple[int, bool]], *, keep: bool) -> Change:
        steps: list[_Step] = []
        loops: list[Loop] = []
        touched: set[int] = set()
        try:
            for edge, close in ops:
                if bool(self._closed[edge]) == close:
                    continue
                codes = (
                    int(self._feeder[self._edge_from[edge]]),
                    int(self._feeder[self._edge_to[edge]]),
                )
                head_of = int(self._head_feeder[edge])
                if close and DEAD not in codes:
                    same = codes[0] == codes[1] >= 0
                    kind = LoopKind.LOOP if same else LoopKind.PARALLEL
                    loops.append(Loop(edge=edge, kind=kind, feeders=tuple(sorted(set(codes)))))
                if head_of < 0 and STATION in codes:
                    steps.append(self._full_step(edge, close))
                    touched.update(range(self._graph.n_feeders))
                else:
                    feeders = {f for f in (*codes, head_of) if f >= 0}
                    step, grown = self._incremental_step(edge, close, sorted(feeders))
                    steps.append(step)
                    touched.update(feeders, grown)
            return self._change(steps, loops, touched)
        finally:
            if not keep:
                for step in reversed(steps):
                    self._undo(step)

    def _incremental_step(
        self, edge: int, close: bool, feeders: list[int]
    ) -> tuple[_Step, list[int]]:
        cleared = (
            np.concatenate([self._orders[f] for f in feeders]) if feeders else _EMPTY
        ).astype(np.int32, copy=False)
        step = _Step(
            edge=edge,
            was_closed=not close,
            cleared=cleared,
            saved=self._state[:, cleared],
            grown=_EMPTY,
        )
        step.orders = {f: self._orders[f] for f in feeders}
        step.loops = {f: self._loops[f] for f in feeders}
        self._closed[edge] = close
        if not feeders:  # both ends dead: nothing can change
            return step, []
        if self._order_buf is None:
            self._order_buf = np.empty(self._n, dtype=np.int32)
        graph = self._graph
        n_grown = _kernels.regrow(
            cleared,
            graph.edge_from,
            graph.edge_to,
            graph.feeder_head,
            self._csr,
            self._closed,
            self._state,
            self._order_buf,
            self._loop_buf,
            self._grown,
        )
        for f in feeders:
            self._orders[f] = _EMPTY
            self._loops[f] = _EMPTY
        for f in self._grown[0, :n_grown].tolist():
            step.orders.setdefault(f, self._orders[f])
            step.loops.setdefault(f, self._loops[f])
        total = int(self._grown[1, n_grown - 1]) if n_grown else 0
        step.grown = self._order_buf[:total].copy()
        grown = self._install(step.grown, n_grown)
        step.changed = np.concatenate([cleared, step.grown])
        step.changed_before = np.concatenate(
            [step.saved[_FEEDER], np.full(total, DEAD, dtype=np.int32)]
        )
        return step, grown

    def _full_step(self, edge: int, close: bool) -> _Step:
        saved = self._state.copy()
        step = _Step(
            edge=edge,
            was_closed=not close,
            cleared=_EMPTY,
            saved=saved,
            grown=_EMPTY,
            full_rebuild=True,
        )
        step.orders = dict(enumerate(self._orders))
        step.loops = dict(enumerate(self._loops))
        self._closed[edge] = close
        self._rebuild()
        step.changed = np.flatnonzero(saved[_FEEDER] != self._feeder).astype(np.int32)
        step.changed_before = saved[_FEEDER, step.changed]
        return step

    def _undo(self, step: _Step) -> None:
        if step.full_rebuild:
            self._state[...] = step.saved
        else:
            self._state[:, step.grown] = -1
            self._state[:, step.cleared] = step.saved
        self._closed[step.edge] = step.was_closed
        for f, order in step.orders.items():
            self._orders[f] = order
        for f, loops in step.loops.items():
            self._loops[f] = loops

    def _change(self, steps: list[_Step], loops: list[Loop], touched: set[int]) -> Change:
        if not steps:
            return Change(lost=_EMPTY, regained=_EMPTY, transferred=_EMPTY)
        nodes, first = np.unique(np.concatenate([s.changed for s in steps]), return_index=True)
        before = np.concatenate([s.changed_before for s in steps])[first]
        after = self._feeder[nodes]
        was_on, is_on = before != DEAD, after != DEAD
        return Change(
            lost=frozen(nodes[was_on & ~is_on]),
            regained=frozen(nodes[~was_on & is_on]),
            transferred=frozen(nodes[was_on & is_on & (before != after)]),
            loops=tuple(loops),
            touched_feeders=tuple(sorted(touched)),
            full_rebuild=any(s.full_rebuild for s in steps),
        )
