"""The network as the topology engine sees it: dense node and edge indexes, checked once.

:class:`GraphArrays` is the engine's only input besides the switch states; it collects every
problem with the arrays and raises them at once as :class:`TopologyError`.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from openoms.errors import OpenOMSError

__all__ = ["GraphArrays", "TopologyError", "frozen"]

Ints = NDArray[np.int32]
AnyInts = NDArray[np.integer[Any]]

_INT32_MAX: Final = np.iinfo(np.int32).max
_SHOWN: Final = 5  # offending indexes named in an error message


_A = TypeVar("_A", bound=NDArray[Any])


def frozen(array: _A) -> _A:
    """``array``, made read-only."""
    array.flags.writeable = False
    return array


class TopologyError(OpenOMSError):
    """Bad graph arrays, a bad index, or a query that has no answer (e.g. a subtree of the
    station zone). ``problems`` lists every problem found, each a sentence."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _index_problems(name: str, values: AnyInts, size: int, what: str) -> list[str]:
    bad = np.flatnonzero((values < 0) | (values >= size))
    if not bad.size:
        return []
    shown = ", ".join(f"[{i}]={values[i]}" for i in bad[:_SHOWN])
    more = f" and {bad.size - _SHOWN} more" if bad.size > _SHOWN else ""
    return [f"{name} has {bad.size} {what} index(es) outside 0..{size - 1}: {shown}{more}"]


def _int_array(name: str, value: object, problems: list[str]) -> AnyInts:
    array: AnyInts = np.asarray(value)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        problems.append(f"{name} must be a 1-D integer array, got {array.dtype} {array.shape}")
        return np.empty(0, dtype=np.int64)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class GraphArrays:
    """The network as the topology engine sees it: nodes ``0..n_nodes-1`` and branches (edges:
    sections, switches, transformers) ``0..n_edges-1``.

    ``source_nodes`` are the energised substation busbars (at least one); ``feeder_head[f]`` is
    the edge index of feeder ``f``'s head (breaker or first section), one end of which is in the
    station zone. Every problem is collected and raised once as :class:`TopologyError`. The
    arrays are stored as read-only int32 copies, so the graph cannot change under a topology.
    """

    n_nodes: int
    edge_from: Ints
    edge_to: Ints
    source_nodes: Ints
    feeder_head: Ints

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            n = operator.index(self.n_nodes)
        except TypeError:
            n = 0
        if not 0 < n < _INT32_MAX:
            problems.append(f"n_nodes must be an int in 1..{_INT32_MAX - 1}, got {self.n_nodes!r}")
        edge_from = _int_array("edge_from", self.edge_from, problems)
        edge_to = _int_array("edge_to", self.edge_to, problems)
        sources = _int_array("source_nodes", self.source_nodes, problems)
        heads = _int_array("feeder_head", self.feeder_head, problems)
        m = edge_from.size
        if edge_to.size != m:
            problems.append(f"edge_from has {m} edges but edge_to has {edge_to.size}")
        if 2 * m >= _INT32_MAX:
            problems.append(f"{m} edges are too many for int32 adjacency indexes")
        if not sources.size:
            problems.append("source_nodes is empty: a network needs at least one source")
        problems += _index_problems("edge_from", edge_from, n, "node")
        problems += _index_problems("edge_to", edge_to, n, "node")
        problems += _index_problems("source_nodes", sources, n, "node")
        problems += _index_problems("feeder_head", heads, m, "edge")
        if edge_to.size == m:
            loops = np.flatnonzero(edge_from == edge_to)
            if loops.size:
                shown = ", ".join(f"edge {e} at node {edge_from[e]}" for e in loops[:_SHOWN])
                problems.append(f"{loops.size} edge(s) join a node to itself: {shown}")
        unique_heads, counts = np.unique(heads, return_counts=True)
        if np.any(counts > 1):
            twice = unique_heads[counts > 1][:_SHOWN].tolist()
            problems.append(f"edges {twice} are the head of more than one feeder")
        if problems:
            raise TopologyError(problems)
        object.__setattr__(self, "n_nodes", n)
        for name, array in (
            ("edge_from", edge_from),
            ("edge_to", edge_to),
            ("source_nodes", sources),
            ("feeder_head", heads),
        ):
            object.__setattr__(self, name, frozen(np.array(array, dtype=np.int32)))

    @property
    def n_edges(self) -> int:
        return int(self.edge_from.size)

    @property
    def n_feeders(self) -> int:
        return int(self.feeder_head.size)
