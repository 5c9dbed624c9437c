"""The network model: utility ids at the edges, dense arrays inside.

A :class:`Network` is immutable. Each table is a frozen dataclass of columns: ``id`` and text
columns as tuples, numbers as numpy arrays, references as int32 indexes into the referenced
table (``-1`` where empty). Branches are numbered once for the topology engine: sections
first, then switches, so edge ``e < n_sections`` is section ``e`` and edge ``e >= n_sections``
is switch ``e - n_sections``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat
from operator import is_, itemgetter
from typing import cast

import numpy as np
from numpy.typing import NDArray

from openoms.errors import UnknownDeviceError
from openoms.grid.graph import GraphArrays
from openoms.grid.schema import NeutralEarthing

__all__ = [
    "Detectors",
    "ElementKind",
    "Feeders",
    "Generators",
    "GridCells",
    "HVCustomers",
    "Network",
    "Nodes",
    "Sections",
    "SensitiveCustomers",
    "Substations",
    "Switches",
    "TelecontrolPoints",
    "TelecontrolUnits",
    "TransformerAreas",
    "group_indices",
]

Ints = NDArray[np.int32]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Texts = tuple[str | None, ...]


class ElementKind(StrEnum):
    """The table an id belongs to (table names of the native format)."""

    SUBSTATION = "substations"
    FEEDER = "feeders"
    NODE = "nodes"
    SECTION = "sections"
    SWITCH = "switches"
    DETECTOR = "detectors"
    TRANSFORMER_AREA = "transformer_areas"
    HV_CUSTOMER = "hv_customers"
    SENSITIVE_CUSTOMER = "sensitive_customers"
    GRID_CELL = "grid_cells"
    TELECONTROL_UNIT = "telecontrol_units"
    GENERATOR = "generators"


@dataclass(frozen=True, slots=True, eq=False)
class Substations:
    id: tuple[str, ...]
    name: Texts
    busbar_node: Ints
    voltage_kv: Floats
    # NeutralEarthing values; empty (a network built without the column): the default
    neutral_earthing: tuple[str, ...] = ()
    # rated MVA of the main transformers feeding each busbar, NaN where unknown; empty (a
    # network built without the column): none known
    transformer_mva: Floats = field(default_factory=lambda: np.zeros(0))

    def transformer_rating_mva(self, substation: int) -> float:
        """The busbar's transformer rating (MVA), NaN when not known."""
        if substation < len(self.transformer_mva):
            return float(self.transformer_mva[substation])
        return float("nan")

    def earthing(self, substation: int) -> str:
        """The neutral earthing of ``substation`` (the format's default when not given)."""
        if substation < len(self.neutral_earthing):
            return self.neutral_earthing[substation]
        return NeutralEarthing.PETERSEN_COIL.value


@dataclass(frozen=True, slots=True, eq=False)
class Feeders:
    id: tuple[str, ...]
    name: Texts
    substation: Ints
    head_edge: Ints  # branch (edge) index of the feeder breaker or first section


@dataclass(frozen=True, slots=True, eq=False)
class Nodes:
    id: tuple[str, ...]
    name: Texts
    kind: tuple[str, ...]
    lon_deg: Floats  # NaN where unknown
    lat_deg: Floats
    grid_cell: Ints


@dataclass(frozen=True, slots=True, eq=False)
class Sections:
    id: tuple[str, ...]
    name: Texts
    from_node: Ints
    to_node: Ints
    kind: tuple[str, ...]
    length_km: Floats
    r_ohm_per_km: Floats  # NaN where unknown
    x_ohm_per_km: Floats
    ampacity_a: Floats
    conductor: Texts


@dataclass(frozen=True, slots=True, eq=False)
class Switches:
    id: tuple[str, ...]
    name: Texts
    from_node: Ints
    to_node: Ints
    kind: tuple[str, ...]
    normal_closed: Bools
    present_closed: Bools
    remote: Bools
    rated_a: Floats


@dataclass(frozen=True, slots=True, eq=False)
class Detectors:
    id: tuple[str, ...]
    name: Texts
    kind: tuple[str, ...]
    edge: Ints  # branch (edge) index watched
    directional: Bools


@dataclass(frozen=True, slots=True, eq=False)
class TransformerAreas:
    id: tuple[str, ...]
    name: Texts
    node: Ints
    rated_kva: Floats
    lv_customers: NDArray[np.int64]
    load_kw: Floats  # given, or rated_kva × the default load ratio
    village: Texts
    street: Texts
    township: Texts


@dataclass(frozen=True, slots=True, eq=False)
class HVCustomers:
    id: tuple[str, ...]
    name: Texts
    node: Ints
    contracted_kva: Floats
    importance: tuple[str, ...]
    load_kw: Floats
    village: Texts
    street: Texts
    township: Texts


@dataclass(frozen=True, slots=True, eq=False)
class SensitiveCustomers:
    id: tuple[str, ...]
    name: Texts
    category: tuple[str, ...]
    transformer_area: Ints  # -1 when supplied by an HV customer connection
    hv_customer: Ints  # -1 when supplied by a transformer area
    people: NDArray[np.int64]  # -1 where unknown
    note: Texts


@dataclass(frozen=True, slots=True, eq=False)
class GridCells:
    id: tuple[str, ...]
    name: Texts
    crew: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TelecontrolUnits:
    """IEC 60870-5-104 outstations (see ``docs/formats.md``)."""

    id: tuple[str, ...]
    name: Texts
    host: tuple[str, ...]
    port: NDArray[np.int64]
    common_address: NDArray[np.int64]
    clock: tuple[str, ...] = ()  # "UTC" or an IANA zone name (checked when loaded)
    clock_sync: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))


@dataclass(frozen=True, slots=True, eq=False)
class TelecontrolPoints:
    """The point table: row ``i`` is IOA ``ioa[i]`` of unit ``unit[i]``."""

    unit: Ints  # index into telecontrol_units
    ioa: NDArray[np.int64]
    asdu_type: tuple[str, ...]  # TelecontrolAsduType values
    detector: Ints  # index into detectors, -1 when the element is a switch
    switch: Ints  # index into switches, -1 when the element is a detector
    point: tuple[str, ...]
    scale: Floats

    def element_id(self, network: Network, row: int) -> str:
        """The id of the detector or switch of point row ``row``."""
        d = int(self.detector[row])
        return network.detectors.id[d] if d >= 0 else network.switches.id[int(self.switch[row])]


@dataclass(frozen=True, slots=True, eq=False)
class Generators:
    """Distributed generation (see ``docs/formats.md``, ``docs/faults.md``)."""

    id: tuple[str, ...]
    name: Texts
    node: Ints
    kind: tuple[str, ...]  # GeneratorKind values
    rated_kw: Floats  # NaN where unknown
    detection_probability: Floats  # given, or the kind's default

    def sources(self, network: Network) -> dict[str, float]:
        """Node id → probability that the generation there feeds detectable fault current
        (several generators at one node: ``1 − Π(1 − p)``)."""
        out: dict[str, float] = {}
        for node, p in zip(self.node.tolist(), self.detection_probability.tolist(), strict=True):
            node_id = network.nodes.id[node]
            out[node_id] = 1.0 - (1.0 - out.get(node_id, 0.0)) * (1.0 - p)
        return out


def _no_generators() -> Generators:
    return Generators(
        (), (), np.zeros(0, dtype=np.int32), (), np.zeros(0), np.zeros(0, dtype=np.float64)
    )


def _no_telecontrol_units() -> TelecontrolUnits:
    empty = np.zeros(0, dtype=np.int64)
    return TelecontrolUnits((), (), (), empty, empty)


def _no_telecontrol_points() -> TelecontrolPoints:
    none = np.zeros(0, dtype=np.int32)
    return TelecontrolPoints(
        none, np.zeros(0, dtype=np.int64), (), none, none, (), np.zeros(0, dtype=np.float64)
    )


@dataclass(frozen=True, slots=True, eq=False)
class Network:
    """One validated network. Build it with :func:`openoms.grid.load_network` and friends."""

    name: str
    substations: Substations
    feeders: Feeders
    nodes: Nodes
    sections: Sections
    switches: Switches
    detectors: Detectors
    transformer_areas: TransformerAreas
    hv_customers: HVCustomers
    sensitive_customers: SensitiveCustomers
    grid_cells: GridCells
    _ids: Mapping[str, tuple[ElementKind, int]] = field(repr=False)  # a dict, or a snapshot's
    telecontrol_units: TelecontrolUnits = field(default_factory=_no_telecontrol_units)
    telecontrol_points: TelecontrolPoints = field(default_factory=_no_telecontrol_points)
    generators: Generators = field(default_factory=_no_generators)

    # -- ids ----------------------------------------------------------------------------
    def locate(self, element_id: str) -> tuple[ElementKind, int]:
        """The table and index of an id; raises :class:`UnknownDeviceError`."""
        try:
            return self._ids[element_id]
        except KeyError:
            raise UnknownDeviceError(element_id, network=self.name) from None

    def __contains__(self, element_id: object) -> bool:
        return element_id in self._ids

    def indexes(self, kind: ElementKind, element_ids: Sequence[str]) -> NDArray[np.int64]:
        """The indexes of ``element_ids`` in the table of ``kind``, in C-level passes; raises
        :class:`UnknownDeviceError` for the first id that is not of that kind."""
        found = list(map(self._ids.get, element_ids))
        if None not in found:
            checked = cast("list[tuple[ElementKind, int]]", found)
            if all(map(is_, map(itemgetter(0), checked), repeat(kind))):
                return np.fromiter(map(itemgetter(1), checked), dtype=np.int64, count=len(found))
        bad = next(i for i, f in zip(element_ids, found, strict=True) if not _is_kind(f, kind))
        raise UnknownDeviceError(bad, network=self.name)

    @property
    def n_edges(self) -> int:
        return len(self.sections.id) + len(self.switches.id)

    def edge_index(self, element_id: str) -> int | None:
        """The edge index of a section or switch id, ``None`` for other kinds."""
        kind, index = self.locate(element_id)
        if kind is ElementKind.SECTION:
            return index
        if kind is ElementKind.SWITCH:
            return len(self.sections.id) + index
        return None

    def edge_id(self, edge: int) -> str:
        n_sections = len(self.sections.id)
        return self.sections.id[edge] if edge < n_sections else self.switches.id[edge - n_sections]

    def is_switch_edge(self, edge: int) -> bool:
        return edge >= len(self.sections.id)

    # -- arrays for the engines --------------------------------------------------------
    @property
    def edge_from(self) -> Ints:
        return np.concatenate([self.sections.from_node, self.switches.from_node])

    @property
    def edge_to(self) -> Ints:
        return np.concatenate([self.sections.to_node, self.switches.to_node])

    def closed_edges(self, *, normal: bool = False) -> Bools:
        """Closed state of every edge: sections closed, switches present (or normal) state."""
        states = self.switches.normal_closed if normal else self.switches.present_closed
        return np.concatenate([np.ones(len(self.sections.id), dtype=np.bool_), states])

    def graph_arrays(self) -> GraphArrays:
        return GraphArrays(
            n_nodes=len(self.nodes.id),
            edge_from=self.edge_from,
            edge_to=self.edge_to,
            source_nodes=np.unique(self.substations.busbar_node).astype(np.int32),
            feeder_head=self.feeders.head_edge,
        )

    def transformer_areas_by_node(self) -> tuple[Ints, Ints]:
        """CSR (indptr, indices): the transformer areas at each node."""
        return group_indices(self.transformer_areas.node, len(self.nodes.id))

    def hv_customers_by_node(self) -> tuple[Ints, Ints]:
        """CSR (indptr, indices): the HV customers at each node."""
        return group_indices(self.hv_customers.node, len(self.nodes.id))


def _is_kind(found: tuple[ElementKind, int] | None, kind: ElementKind) -> bool:
    return found is not None and found[0] is kind


def group_indices(keys: Ints, n: int) -> tuple[Ints, Ints]:
    """CSR grouping of positions by key in ``0..n-1``: the positions with key ``k`` are
    ``indices[indptr[k]:indptr[k + 1]]`` (in increasing order). O(len(keys) + n): a key
    column already in order is taken as it is, any other is radix-sorted (numpy's stable sort
    of 16-bit digits), one pass per 16 bits of ``n``."""
    keys = np.asarray(keys)
    if keys.size < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        order = np.arange(keys.size, dtype=np.int32)
    else:
        order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable").astype(np.int32)
        if n > 1 << 16:  # keys < 2**31: the high digit is the second and last pass
            high = (keys[order] >> 16).astype(np.uint16)
            order = order[np.argsort(high, kind="stable")]
    counts = np.bincount(keys, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    return indptr, order
