"""Outage impact: who is off when these devices are open.

For a set of opened devices (a fault's isolation, a planned outage's switching), the
de-energised nodes, sections, transformer areas (台区), LV customers, HV customers,
villages, streets and townships, sensitive customers and lost load, and a summary the way a
dispatcher says it, in Chinese or English. Pure: it takes the network and its topology and
returns values; the cost is in proportion to the number of de-energised nodes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.errors import UnsupportedOperationError
from openoms.grid.graph import frozen
from openoms.grid.model import Network, group_indices
from openoms.grid.topology import DEAD, Topology, TopologyError
from openoms.i18n import CATEGORY_NAMES, Lang, join_list
from openoms.outages import _kernels

__all__ = ["Impact", "ImpactAnalyser", "SensitiveOff"]

Ints = NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class SensitiveOff:
    id: str
    name: str
    category: str
    people: int | None
    supplied_by: str


@dataclass(frozen=True, eq=False)
class Impact:
    """What is de-energised; index arrays inside, utility ids through the properties."""

    network: Network
    opened: tuple[str, ...]
    node_index: Ints
    section_index: Ints
    transformer_area_index: Ints
    hv_customer_index: Ints
    sensitive_index: Ints
    feeder_index: Ints

    @classmethod
    def of_parts(cls, network: Network, opened: tuple[str, ...], parts: Sequence[Ints]) -> Impact:
        """An impact from its index arrays in field order (node, section, transformer area,
        HV customer, sensitive customer, feeder), without the frozen dataclass' checks (a
        query of a few microseconds spends one on them)."""
        impact = object.__new__(cls)
        fields = impact.__dict__
        fields["network"] = network
        fields["opened"] = opened
        (
            fields["node_index"],
            fields["section_index"],
            fields["transformer_area_index"],
            fields["hv_customer_index"],
            fields["sensitive_index"],
            fields["feeder_index"],
        ) = parts
        return impact

    @property
    def nodes(self) -> list[str]:
        ids = self.network.nodes.id
        return [ids[i] for i in self.node_index.tolist()]

    @property
    def sections(self) -> list[str]:
        ids = self.network.sections.id
        return [ids[i] for i in self.section_index.tolist()]

    @property
    def transformer_areas(self) -> list[str]:
        ids = self.network.transformer_areas.id
        return [ids[i] for i in self.transformer_area_index.tolist()]

    @property
    def hv_customers(self) -> list[str]:
        ids = self.network.hv_customers.id
        return [ids[i] for i in self.hv_customer_index.tolist()]

    @property
    def feeders(self) -> list[str]:
        ids = self.network.feeders.id
        return [ids[i] for i in self.feeder_index.tolist()]

    @property
    def lv_customers(self) -> int:
        return int(self.network.transformer_areas.lv_customers[self.transformer_area_index].sum())

    @property
    def load_kw(self) -> float:
        ta = self.network.transformer_areas.load_kw[self.transformer_area_index].sum()
        hv = self.network.hv_customers.load_kw[self.hv_customer_index].sum()
        return float(ta + hv)

    def _places(self, attribute: str) -> list[str]:
        ta = getattr(self.network.transformer_areas, attribute)
        hv = getattr(self.network.hv_customers, attribute)
        names = {ta[i] for i in self.transformer_area_index.tolist()}
        names |= {hv[i] for i in self.hv_customer_index.tolist()}
        return sorted(n for n in names if n)

    @cached_property
    def villages(self) -> list[str]:
        return self._places("village")

    @cached_property
    def streets(self) -> list[str]:
        return self._places("street")

    @cached_property
    def townships(self) -> list[str]:
        return self._places("township")

    @cached_property
    def sensitive_customers(self) -> list[SensitiveOff]:
        sc = self.network.sensitive_customers
        out = []
        for i in self.sensitive_index.tolist():
            ta, hv = int(sc.transformer_area[i]), int(sc.hv_customer[i])
            supplier = (
                self.network.transformer_areas.id[ta]
                if ta >= 0
                else self.network.hv_customers.id[hv]
            )
            people = int(sc.people[i])
            out.append(
                SensitiveOff(
                    sc.id[i],
                    sc.name[i] or sc.id[i],
                    sc.category[i],
                    people if people >= 0 else None,
                    supplier,
                )
            )
        return out

    def as_dict(self) -> dict[str, object]:
        """Machine-readable form (the CLI's ``--json``)."""
        return {
            "opened": list(self.opened),
            "feeders": self.feeders,
            "counts": {
                "nodes": len(self.node_index),
                "sections": len(self.section_index),
                "transformer_areas": len(self.transformer_area_index),
                "lv_customers": self.lv_customers,
                "hv_customers": len(self.hv_customer_index),
                "villages": len(self.villages),
                "streets": len(self.streets),
                "sensitive_customers": len(self.sensitive_index),
            },
            "load_kw": round(self.load_kw, 1),
            "villages": self.villages,
            "streets": self.streets,
            "townships": self.townships,
            "sensitive_customers": [
                {
                    "id": s.id,
                    "name": s.name,
                    "category": s.category,
                    "people": s.people,
                    "supplied_by": s.supplied_by,
                }
                for s in self.sensitive_customers
            ],
            "nodes": self.nodes,
            "sections": self.sections,
            "transformer_areas": self.transformer_areas,
            "hv_customers": self.hv_customers,
        }

    @property
    def is_empty(self) -> bool:
        return len(self.transformer_area_index) == 0 and len(self.hv_customer_index) == 0

    def scope(self, lang: Lang = Lang.ZH, *, lost: bool = True) -> str:
        """Who, as a phrase: "7 villages, 97 transformer areas (… LV customers) and 10 HV
        customers, about … kW of load, including …" (empty when no customer is concerned)."""
        if self.is_empty:
            return ""
        n_ta, n_hv = len(self.transformer_area_index), len(self.hv_customer_index)
        villages, streets = len(self.villages), len(self.streets)
        sensitive = [_describe(s, lang) for s in self.sensitive_customers]
        if lang is Lang.ZH:
            who = [f"{villages} 个村"] if villages else []
            who += [f"{streets} 个街道/小区"] if streets else []
            if n_ta:
                who.append(f"{n_ta} 个台区（低压用户 {self.lv_customers:,} 户）")
            who += [f"{n_hv} 个高压用户"] if n_hv else []
            text = f"{'、'.join(who)}，{'损失负荷' if lost else '负荷'}约 {self.load_kw:,.0f} kW"
            if sensitive:
                text += f"，其中包括敏感用户 {len(sensitive)} 个：{'；'.join(sensitive)}"
            return text
        who = [_plural(villages, "village")] if villages else []
        who += [_plural(streets, "street")] if streets else []
        if n_ta:
            ta = _plural(n_ta, "transformer area")
            who.append(f"{ta} ({self.lv_customers:,} LV customers)")
        who += [_plural(n_hv, "HV customer")] if n_hv else []
        text = f"{join_list(who, lang)}, about {self.load_kw:,.0f} kW of load"
        if sensitive:
            text += f", including {_plural(len(sensitive), 'sensitive customer')}: "
            text += "; ".join(sensitive)
        return text

    def summary(self, lang: Lang = Lang.ZH) -> str:
        """One paragraph, the way a dispatcher says it."""
        opened = join_list(list(self.opened), lang)
        if self.is_empty:
            return (
                f"断开 {opened} 不会造成用户停电。"
                if lang is Lang.ZH
                else f"Opening {opened} puts no customer off supply."
            )
        if lang is Lang.ZH:
            return f"断开 {opened} 后停电：{self.scope(lang)}。"
        return f"Opening {opened} cuts supply to {self.scope(lang)}."


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _describe(s: SensitiveOff, lang: Lang) -> str:
    category = CATEGORY_NAMES.get(s.category, CATEGORY_NAMES["other"])[lang]
    if lang is Lang.ZH:
        people = f"，{s.people} 人" if s.people is not None else ""
        return f"{s.name}（{category}{people}）"
    people = f", {s.people} people" if s.people is not None else ""
    return f"{s.name} ({category}{people})"


def _positions(indptr: Ints, keys: Ints) -> Ints:
    """The CSR positions ``indptr[k]:indptr[k + 1]`` of all ``keys``, in O(len(keys) + answer)."""
    if len(keys) == 0:
        return np.empty(0, dtype=np.int32)
    starts, ends = indptr[keys], indptr[keys + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int32)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    positions: Ints = offsets + np.arange(total, dtype=np.int32)
    return positions


def _readonly(values: Ints) -> Ints:
    """``values`` as a read-only C-contiguous int32 array (itself when it is one already): the
    array type the compiled kernel is made for, for the nodes."""
    if isinstance(values, np.ndarray) and values.dtype is _INT32:
        flags = values.flags
        if not flags.writeable and flags.c_contiguous:
            return values
    array = np.ascontiguousarray(values, dtype=np.int32)
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


_INT32: Final = np.dtype(np.int32)
_NO_NODES: Final[Ints] = _readonly(np.empty(0, dtype=np.int32))


class ImpactAnalyser:
    """Answers "who is off if these devices open" on one network's present topology.

    Set-up is O(network) without a comparison sort (the groupings by node are radix sorts);
    build one per network version and keep it, as the service does. A query costs O(answer):
    the subtrees below the opened branches from the topology's index (a preview of the
    operations when a loop or parallel is involved), then the sections, transformer areas,
    customers and feeders of those nodes.

    That runs compiled (numba, one call a query) when numba is loaded in the process (a
    service, anything that has built a topology), and as numpy otherwise (a command answering
    one query from a network snapshot need not load numba): ``compiled`` forces one or the
    other. The compiled kernel is loaded (or compiled, the first time ever) here, not at the
    first query.

    Not thread-safe: queries share scratch arrays and the topology (the service holds its lock
    around every use).
    """

    def __init__(
        self, network: Network, topology: Topology | None = None, *, compiled: bool | None = None
    ) -> None:
        self.network = network
        self.topology = topology or Topology.build(network.graph_arrays(), network.closed_edges())
        n_nodes = len(network.nodes.id)
        self._n_sections = len(network.sections.id)
        self._edge_from = self.topology.graph.edge_from
        sections = network.sections
        section_ptr, by_from = group_indices(sections.from_node, n_nodes)
        to_node = sections.to_node[by_from]
        ta_ptr, ta_idx = network.transformer_areas_by_node()
        hv_ptr, hv_idx = network.hv_customers_by_node()
        sc = network.sensitive_customers
        on_ta = np.flatnonzero(sc.transformer_area >= 0).astype(np.int32)
        on_hv = np.flatnonzero(sc.hv_customer >= 0).astype(np.int32)
        sensitive_ta_ptr, by_ta = group_indices(
            sc.transformer_area[on_ta], len(network.transformer_areas.id)
        )
        sensitive_hv_ptr, by_hv = group_indices(sc.hv_customer[on_hv], len(network.hv_customers.id))
        self._tables: tuple[Ints, ...] = (  # CSR: by node, then under customers
            section_ptr,
            by_from,  # sections by from-node
            to_node,
            ta_ptr,
            ta_idx,
            hv_ptr,
            hv_idx,
            sensitive_ta_ptr,
            on_ta[by_ta],
            sensitive_hv_ptr,
            on_hv[by_hv],
        )
        self._capacity = (
            _kernels.HEADER
            + 2 * n_nodes
            + self._n_sections
            + len(network.transformer_areas.id)
            + len(network.hv_customers.id)
            + len(sc.id)
        )
        # one mark per node, then the kernel's scratch for sorting the other parts
        longest = max(
            self._n_sections,
            len(network.transformer_areas.id),
            len(network.hv_customers.id),
            len(sc.id),
        )
        self._mark = np.zeros(n_nodes + longest, dtype=np.uint8)
        self._one_edge = np.empty(1, dtype=np.int32)  # the opened edge of a one-switch query
        self._out: Ints | None = None  # the kernel's output, made at the first query
        self._nobody: Impact | None = None
        self._nobody = self.nobody()
        use_numba = "numba" in sys.modules if compiled is None else compiled
        self._kernel: Callable[..., None] | None = None
        if use_numba:  # the tables packed in one array (_kernels.TABLES): few arguments
            section_to = np.empty(2 * len(by_from), dtype=np.int32)
            section_to[0::2], section_to[1::2] = by_from, to_node
            packed = (
                np.stack([section_ptr, ta_ptr, hv_ptr], axis=1).ravel(),
                section_to,
                ta_idx,
                hv_idx,
                *self._tables[7:],
            )
            self._packed = np.concatenate(packed).astype(np.int32, copy=False)
            lengths = [len(t) for t in packed]
            layout = np.concatenate([[0], np.cumsum(lengths), [self._n_sections]])
            self._layout = layout.astype(np.int64)
            self._tables = ()  # (the numpy path's; the kernel reads the packed copy)
            self._kernel = _kernels.compiled()
            self._compiled_parts(_NO_NODES, np.empty(0, dtype=np.int32), -1)  # load it now

    @property
    def compiled(self) -> bool:
        """Whether queries run the compiled kernel (else numpy)."""
        return self._kernel is not None

    def edges(self, device_ids: Sequence[str]) -> list[int]:
        """Edge indexes of switch or section ids; names any other id."""
        edges = []
        for device_id in device_ids:
            edge = self.network.edge_index(device_id)
            if edge is None:
                kind, _ = self.network.locate(device_id)
                raise UnsupportedOperationError(
                    device_id,
                    f"is a {kind.value[:-1].replace('_', ' ')}; only switches and "
                    "sections can be opened",
                )
            edges.append(edge)
        return edges

    def of_opening(self, device_ids: Sequence[str]) -> Impact:
        """The impact of opening ``device_ids`` (switches or sections) from the present state."""
        opened = tuple(device_ids)
        edges = self.edges(opened)
        impact = self.radial_impact(opened, edges)
        if impact is None:
            lost = self.topology.preview([(e, False) for e in edges]).lost
            impact = self._impact(opened, lost, edges)
        return impact

    def radial_impact(self, opened: tuple[str, ...], edges: Sequence[int]) -> Impact | None:
        """The impact of opening ``edges`` (named ``opened``) from the subtrees below them in
        the present state, O(answer); ``None`` when the exact answer needs a preview of the
        operations (see :meth:`subtrees`)."""
        found = self._subtrees(edges)
        if found is None:
            return None
        nodes, feeder = found
        if self._kernel is None or not len(nodes):
            return self._impact(opened, nodes, edges, feeder)
        # (the subtrees are read-only int32 arrays already: straight to the kernel)
        if len(edges) == 1:  # the kernel only reads it: one scratch array
            opened_edges = self._one_edge
            opened_edges[0] = edges[0]
        else:
            opened_edges = np.array(edges, dtype=np.int32)
        parts = self._compiled_parts(nodes, opened_edges, feeder)
        return Impact.of_parts(self.network, opened, parts)

    def _radial_lost(self, edges: Sequence[int]) -> Ints | None:
        """:meth:`subtrees`, sorted, without repeats."""
        below = self.subtrees(edges)
        return None if below is None else np.unique(below).astype(np.int32)

    def subtrees(self, edges: Sequence[int]) -> Ints | None:
        """The nodes cut off by opening ``edges`` when each lies in a feeder without loops:
        their subtrees (for one edge the topology's view, O(1); for several concatenated, with
        repeats, in no particular order). ``None`` when the exact answer needs a preview of the
        operations: a loop or parallel could feed a subtree from elsewhere, or an edge lies
        inside the station zone."""
        found = self._subtrees(edges)
        return None if found is None else found[0]

    def _subtrees(self, edges: Sequence[int]) -> tuple[Ints, int] | None:
        """:meth:`subtrees` and the feeder they are all on (-1 when several or none)."""
        topology = self.topology
        if len(edges) == 1:  # the common query: one switch (the topology's own check)
            return topology.radial_subtree(edges[0])
        below: list[Ints] = []
        feeders: set[int] = set()
        for edge in edges:
            try:
                nodes = topology.nodes_below_edge(edge)
            except TopologyError:  # a closed edge inside the station zone
                return None
            if not nodes.size:
                if topology.closed[edge] and topology.feeder_of(int(self._edge_from[edge])) != DEAD:
                    return None  # a closed loop or parallel edge
                continue  # open already, or dead: opening it cuts nobody off
            feeder = int(topology.feeder_of_nodes[nodes[0]])
            if topology.loop_edges(feeder=feeder).size:
                return None
            below.append(nodes)
            feeders.add(feeder)
        if len(below) == 1:
            return below[0], feeders.pop()
        nodes = frozen(np.concatenate([_NO_NODES, *below]))
        return nodes, feeders.pop() if len(feeders) == 1 else -1

    def nobody(self, opened: tuple[str, ...] = ()) -> Impact:
        """The impact that puts nobody off (opening ``opened``, no section among them); the
        same object every time when ``opened`` is empty (its arrays are empty)."""
        if not opened and self._nobody is not None:
            return self._nobody
        nothing = np.empty(0, dtype=np.int32)
        return Impact.of_parts(self.network, opened, (nothing,) * 6)

    def impact_of_nodes(self, opened: tuple[str, ...], lost: Ints, opened_edges: Ints) -> Impact:
        """The impact of de-energising ``lost`` (node indexes) by ``opened_edges``."""
        return self._impact(opened, lost, opened_edges)

    def _impact(
        self,
        opened: tuple[str, ...],
        lost: Ints,
        opened_edges: Ints | Sequence[int],
        feeder: int = -1,
    ) -> Impact:
        """``feeder``: the feeder every node of ``lost`` is on, when the caller knows it."""
        if not (len(lost) or len(opened_edges)):
            return self.nobody(opened)
        # the kernel's argument types: read-only nodes, the opened edges a fresh array
        nodes, edges = _readonly(lost), np.array(opened_edges, dtype=np.int32)
        if self._kernel is not None:
            parts = self._compiled_parts(nodes, edges, feeder)
        else:
            parts = self._numpy_parts(nodes, edges)
        return Impact.of_parts(self.network, opened, parts)

    def _compiled_parts(self, nodes: Ints, opened_edges: Ints, feeder: int) -> tuple[Ints, ...]:
        assert self._kernel is not None
        out = self._out
        if out is None or len(out) < self._capacity + len(opened_edges):
            out = self._out = np.empty(self._capacity + len(opened_edges), dtype=np.int32)
        self._kernel(
            nodes,
            opened_edges,
            self._packed,
            self._layout,
            self.topology.feeder_of_nodes,
            feeder,
            self._mark,
            out,
        )
        s0, s1, s2, s3, s4, s5 = out[:6].tolist()  # where each part ends, after the header
        block = out[_kernels.HEADER : _kernels.HEADER + s5].copy()
        return block[:s0], block[s0:s1], block[s1:s2], block[s2:s3], block[s3:s4], block[s4:s5]

    def _numpy_parts(self, lost: Ints, opened_edges: Ints) -> tuple[Ints, ...]:
        """What the kernel computes, in numpy (O(answer) too, with a larger constant)."""
        section_ptr, by_from, section_to, ta_ptr, ta_idx, hv_ptr, hv_idx = self._tables[:7]
        sensitive_ta_ptr, sensitive_ta_rows, sensitive_hv_ptr, sensitive_hv_rows = self._tables[7:]
        nodes = np.unique(lost).astype(np.int32)
        mark = self._mark
        mark[nodes] = 1
        at = _positions(section_ptr, nodes)  # the sections from the nodes
        both_off = mark[section_to[at]] != 0
        mark[nodes] = 0
        sections = np.union1d(
            by_from[at[both_off]], opened_edges[opened_edges < self._n_sections]
        ).astype(np.int32)
        tas = np.sort(ta_idx[_positions(ta_ptr, nodes)])
        hvs = np.sort(hv_idx[_positions(hv_ptr, nodes)])
        sensitive = np.union1d(
            sensitive_ta_rows[_positions(sensitive_ta_ptr, tas)],
            sensitive_hv_rows[_positions(sensitive_hv_ptr, hvs)],
        ).astype(np.int32)
        feeder_codes = self.topology.feeder_of_nodes[nodes]
        feeders = np.unique(feeder_codes[feeder_codes >= 0]).astype(np.int32)
        return nodes, sections, tas.astype(np.int32), hvs.astype(np.int32), sensitive, feeders
