"""Predictive reliability: RELRAD-style load-point and feeder indices from the network.

The analytical method for radial distribution systems of Allan & Billinton (the failure-mode
and effect analysis of every component for every load point; R. Billinton, R. N. Allan,
*Reliability Evaluation of Power Systems*, 2nd ed., Plenum 1996, ch. 7). Pure: a
:class:`~openoms.grid.model.Network` and :class:`PredictSettings` in, a frozen
:class:`Prediction` out. The rules (docs/reliability.md, "Predictive reliability"):

- The network is taken in its NORMAL switch state; each feeder is a tree. A *zone* is a set of
  nodes joined by sections only: switches bound zones. A component (section, closed switch,
  transformer area) fails ``λ`` times a year and takes ``r`` hours to repair.
- A fault in zone ``a`` is cleared by the nearest protective device (breaker, recloser, fuse)
  at or above ``a``'s upper switch (the feeder's head when there is none): load points outside
  the subtree of that device see nothing.
- Inside it, a load point in zone ``a`` is off for the repair time. Any other load point is
  off for the shortest switching time that restores it, capped by the repair time:
  *upstream* by opening a switch on the path from ``a`` up towards the protective device that
  does not feed the load point (time of that switch), or *downstream* by opening a switch on
  the load point's own path below the branching point and closing a tie whose other end is on
  another feeder (or a station busbar) in that switch's subtree (the later of the two times).
  No such switch: the repair time. With ``tie_capacity`` set, a tie takes the part only when
  the part's load fits its transfer capacity: the tie's own ``transfer_kw`` (an override),
  else the least spare capacity on the receiving feeder's path from its busbar to the tie
  (per section √3 · U · I_rated · pf less the load the section already carries; sections
  without a rating and switches are not limits; a tie to a station busbar is not limited).
  Off by default, as in the classic method.
- A transformer area's own transformer fails only that load point. HV customers' own
  equipment is the customer's and is not counted. A failed switch counts as a fault at its
  supply-side terminal (in the zone above it).

Vectorised over zones: the per-zone ancestor matrix gives, for every (fault zone, load zone)
pair of a feeder, the branching zone and the best switching time, in numpy; load points in one
zone share their result. O(Σ zones² per feeder) pairs, in chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from openoms.grid.model import Network
from openoms.grid.schema import SectionKind, SwitchKind
from openoms.grid.topology import STATION, Topology

__all__ = [
    "HOURS_PER_YEAR",
    "PROTECTIVE",
    "Contribution",
    "FeederIndices",
    "LoadPoints",
    "Override",
    "PredictSettings",
    "Prediction",
    "predict",
    "spare_capacity_kw",
]

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

HOURS_PER_YEAR: Final = 8760.0
PROTECTIVE: Final = frozenset({SwitchKind.BREAKER, SwitchKind.RECLOSER, SwitchKind.FUSE})
"""Switch kinds that clear a fault below them by themselves."""

_INF: Final = np.inf
_CHUNK: Final = 1 << 22  # pairs × (zone depth + 1) per numpy pass: bounds the temporaries


@dataclass(frozen=True, slots=True)
class PredictSettings:
    """Failure rates, repair and switching times per component class.

    Every default is an ASSUMPTION for a 10 kV county network, not a measured figure; replace
    them with the utility's own statistics (the per-element :class:`Override` or these
    fields). Where a value matches a textbook or test-system figure, docs/reliability.md says
    which, and that it was not checked against the original here.
    """

    overhead_per_km: float = 0.065  # failures per km-year, overhead line
    overhead_repair_h: float = 5.0
    cable_per_km: float = 0.04  # failures per km-year, cable
    cable_repair_h: float = 10.0
    transformer_section: float = 0.015  # failures per year, a transformer modelled as a branch
    transformer_section_repair_h: float = 200.0
    transformer_area: float = 0.015  # failures per year, a distribution transformer (台区)
    transformer_area_repair_h: float = 10.0  # replaced from stores, not repaired in place
    switch: float = 0.0  # failures per year, any switching device (100 % reliable by default)
    switch_repair_h: float = 4.0
    manual_switching_h: float = 1.0  # travel and operation of a manual switch
    remote_switching_h: float = 0.05  # 3 minutes: a remote-controlled switch or tie
    power_factor: float = 0.9  # of the load, for a section's rating in kW (tie_capacity)
    base: str = "customers"  # "customers": LV customers per area, 1 per HV customer; "units"
    tie_capacity: bool = False  # check that a tie can carry the part it takes over

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name in ("base", "tie_capacity"):
                continue
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
        if not 0 < self.power_factor <= 1:
            raise ValueError(f"power_factor must be in (0, 1], got {self.power_factor!r}")
        if self.base not in ("customers", "units"):
            raise ValueError(f"base must be 'customers' or 'units', got {self.base!r}")


@dataclass(frozen=True, slots=True)
class Override:
    """One element's own figures (``None``: its class default). ``failure_rate`` is per year
    for the element as a whole (not per km); ``switching_h`` applies to switches."""

    failure_rate: float | None = None
    repair_h: float | None = None
    switching_h: float | None = None
    transfer_kw: float | None = None  # a tie's transfer capacity (with ``tie_capacity``)


@dataclass(frozen=True, slots=True, eq=False)
class LoadPoints:
    """Per load point (every transformer area, then every HV customer): λ (f/yr), U (h/yr),
    r = U / λ (h, NaN when λ = 0). Load points on no feeder in the normal state are listed
    with feeder −1 and NaN indices."""

    id: tuple[str, ...]
    is_hv: Bools
    feeder: Ints
    customers: Floats
    load_kw: Floats
    failure_rate: Floats
    unavailability_h: Floats
    duration_h: Floats


@dataclass(frozen=True, slots=True)
class FeederIndices:
    """Customer-weighted indices of a feeder (or the system, ``id`` ``"system"``)."""

    id: str
    name: str
    load_points: int
    customers: float
    saifi: float  # interruptions per customer-year
    saidi_h: float  # hours per customer-year
    caidi_h: float  # hours per interruption (NaN when SAIFI = 0)
    asai: float
    eens_kwh: float  # expected energy not supplied, kWh per year


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one component adds to the system: its own λ and repair time, the customer
    interruptions and customer-hours per year it causes, and its share of the total."""

    id: str
    kind: str  # "sections", "switches", "transformer_areas"
    name: str
    feeder: str
    failure_rate: float
    repair_h: float
    customer_interruptions: float
    customer_hours: float
    eens_kwh: float
    share: float  # of all customer-hours


@dataclass(frozen=True, slots=True, eq=False)
class Prediction:
    settings: PredictSettings
    load_points: LoadPoints
    feeders: tuple[FeederIndices, ...]
    system: FeederIndices
    contributions: tuple[Contribution, ...]  # the largest contributors, largest first
    ignored_components: int = 0  # failure rate > 0 but on no feeder tree (dead, loop edges)
    notes: tuple[str, ...] = field(default=())

    def top(self, n: int = 10) -> tuple[Contribution, ...]:
        return self.contributions[:n]

    def as_dict(self, *, top: int = 10) -> dict[str, Any]:
        lp = self.load_points
        unsupplied = [i for i, f in zip(lp.id, lp.feeder.tolist(), strict=True) if f < 0]
        return {
            "settings": asdict(self.settings),
            "system": _finite(asdict(self.system)),
            "feeders": [_finite(asdict(f)) for f in self.feeders],
            "top_contributors": [_finite(asdict(c)) for c in self.top(top)],
            "unsupplied_load_points": unsupplied,
            "ignored_components": self.ignored_components,
            "notes": list(self.notes),
        }

    def load_point_rows(self) -> Iterator[dict[str, Any]]:
        lp = self.load_points
        for i, unit in enumerate(lp.id):
            yield _finite(
                {
                    "id": unit,
                    "failure_rate": float(lp.failure_rate[i]),
                    "duration_h": float(lp.duration_h[i]),
                    "unavailability_h": float(lp.unavailability_h[i]),
                }
            )


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """NaN → ``None`` (JSON has no NaN)."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}


# -- the structure ----------------------------------------------------------------------------


def _nearest_marked(parent: Ints, marked: Bools) -> Ints:
    """For every node, the nearest marked node among itself and its ancestors (pointer
    jumping, O(n log depth)). Every chain must reach a marked node before a root."""
    n = len(parent)
    value = np.where(marked, np.arange(n), -1)
    jump = np.where(marked, np.arange(n), parent)
    todo = np.flatnonzero(value < 0)
    while todo.size:
        above = jump[todo]
        value[todo] = value[above]
        jump[todo] = jump[above]
        todo = todo[value[todo] < 0]
    return value


@dataclass(frozen=True, slots=True, eq=False)
class _Zones:
    of_node: Ints  # zone of every feeder node, −1 elsewhere
    top: Ints  # top node of each zone
    feeder: Ints
    parent: Ints  # parent zone, −1 for a feeder's first zone
    depth: Ints
    upper_switch: Ints  # switch index of the upper boundary, −1 (a head section)
    ancestors: Ints  # (Z, D + 1): the ancestor at each zone depth, −1 below the zone's own


def _zones(network: Network, topology: Topology) -> _Zones:
    n_sections = len(network.sections.id)
    feeder = topology.feeder_of_nodes.astype(np.int64)
    parent = topology.parent_of_nodes.astype(np.int64)
    parent_edge = topology.parent_edge_of_nodes.astype(np.int64)
    depth = topology.depth_of_nodes.astype(np.int64)
    on_feeder = feeder >= 0
    marked = ~on_feeder | (depth == 1) | (parent_edge >= n_sections)
    top_of = _nearest_marked(parent, marked)
    tops = np.flatnonzero(on_feeder & (top_of == np.arange(len(feeder))))
    code = np.full(len(feeder), -1, dtype=np.int64)
    code[tops] = np.arange(len(tops))
    of_node = np.where(on_feeder, code[top_of], -1)
    z_parent = np.where(depth[tops] > 1, of_node[parent[tops]], -1)
    upper = parent_edge[tops] - n_sections
    upper_switch = np.where(upper >= 0, upper, -1)

    z_depth = np.zeros(len(tops), dtype=np.int64)
    cursor = z_parent.copy()
    while (live := cursor >= 0).any():
        z_depth[live] += 1
        cursor[live] = z_parent[cursor[live]]
    max_depth = int(z_depth.max()) if len(tops) else 0
    ancestors = np.full((len(tops), max_depth + 1), -1, dtype=np.int64)
    cursor = np.arange(len(tops))
    rows = np.arange(len(tops))
    while (live := cursor >= 0).any():
        ancestors[rows[live], z_depth[cursor[live]]] = cursor[live]
        cursor[live] = z_parent[cursor[live]]
    return _Zones(of_node, tops, feeder[tops], z_parent, z_depth, upper_switch, ancestors)


def _switching_times(
    network: Network, settings: PredictSettings, over: Mapping[str, Override]
) -> Floats:
    sw = network.switches
    times = np.where(sw.remote, settings.remote_switching_h, settings.manual_switching_h)
    for element, o in over.items():
        if o.switching_h is not None and element in network:
            kind, index = network.locate(element)
            if kind.value == "switches":
                times[index] = o.switching_h
    return times.astype(np.float64)


def _chain_min(cost: Floats, ancestors: Ints) -> Floats:
    """``M[z, d]``: the least ``cost`` of the zones on ``z``'s chain strictly deeper than ``d``
    (from ``z`` up to, not including, its ancestor at depth ``d``); ∞ when there is none."""
    per_depth = np.where(ancestors >= 0, cost[np.maximum(ancestors, 0)], _INF)
    suffix = np.minimum.accumulate(per_depth[:, ::-1], axis=1)[:, ::-1]
    out = np.full_like(per_depth, _INF)
    out[:, :-1] = suffix[:, 1:]
    return out


def _tie_times(
    network: Network,
    topology: Topology,
    zones: _Zones,
    switching: Floats,
    capacity: Callable[[int, int], float] | None,
) -> Floats:
    """Per zone: the shortest switching time of a usable tie in its subtree that can carry
    the subtree's load (∞: none). A tie is a normally-open switch; usable from a feeder end
    when its other end is on another feeder or in the station zone (energised whatever
    happens on this feeder). ``capacity(tie, far_node)``: what the tie can take over (kW);
    ``None``: unlimited, the classic method (vectorised)."""
    sw = network.switches
    feeder = topology.feeder_of_nodes
    best = np.full(len(zones.top), _INF)
    ties = np.flatnonzero(~sw.normal_closed)
    if capacity is None:
        for here, there in ((sw.from_node, sw.to_node), (sw.to_node, sw.from_node)):
            f_here, f_there = feeder[here[ties]], feeder[there[ties]]
            usable = (f_here >= 0) & ((f_there == STATION) | ((f_there >= 0) & (f_there != f_here)))
            np.minimum.at(best, zones.of_node[here[ties[usable]]], switching[ties[usable]])
        for d in range(zones.ancestors.shape[1] - 1, 0, -1):
            at = np.flatnonzero((zones.depth == d) & np.isfinite(best))
            np.minimum.at(best, zones.parent[at], best[at])
        return best
    subtree_kw = _zone_loads(network, zones)
    for d in range(zones.ancestors.shape[1] - 1, 0, -1):
        at = np.flatnonzero(zones.depth == d)
        np.add.at(subtree_kw, zones.parent[at], subtree_kw[at])
    for here, there in ((sw.from_node, sw.to_node), (sw.to_node, sw.from_node)):
        f_here, f_there = feeder[here[ties]], feeder[there[ties]]
        usable = (f_here >= 0) & ((f_there == STATION) | ((f_there >= 0) & (f_there != f_here)))
        for t in ties[usable].tolist():
            zone = int(zones.of_node[here[t]])
            chain = zones.ancestors[zone, : zones.depth[zone] + 1]
            fits = chain[subtree_kw[chain] <= capacity(t, int(there[t]))]
            best[fits] = np.minimum(best[fits], switching[t])
    return best


def _zone_loads(network: Network, zones: _Zones) -> Floats:
    """The load (kW) of the load points in each zone."""
    ta, hv = network.transformer_areas, network.hv_customers
    nodes = np.concatenate([ta.node, hv.node]).astype(np.int64)
    load = np.concatenate([ta.load_kw, hv.load_kw]).astype(np.float64)
    zone = zones.of_node[nodes]
    on = zone >= 0
    return np.bincount(zone[on], load[on], minlength=len(zones.top)).astype(np.float64)


def spare_capacity_kw(network: Network, topology: Topology, power_factor: float) -> Floats:
    """Per node: the load (kW) that could still be fed to it from its feeder's busbar — the
    least, over the sections on the path, of √3 · U · I_rated · pf less the load the section
    carries in ``topology``'s state (switches and sections without a rating are no limit).
    ∞ in the station zone; NaN on no feeder."""
    feeder = topology.feeder_of_nodes.astype(np.int64)
    parent = topology.parent_of_nodes.astype(np.int64)
    parent_edge = topology.parent_edge_of_nodes.astype(np.int64)
    depth = topology.depth_of_nodes.astype(np.int64)
    n = len(feeder)
    ta, hv = network.transformer_areas, network.hv_customers
    carried = np.zeros(n)
    np.add.at(carried, ta.node.astype(np.int64), ta.load_kw)
    np.add.at(carried, hv.node.astype(np.int64), hv.load_kw)
    carried[feeder < 0] = 0.0
    on = np.flatnonzero(feeder >= 0)
    order = on[np.argsort(depth[on], kind="stable")]  # by depth, shallow first
    levels = np.unique(depth[order])
    bounds = [*np.searchsorted(depth[order], levels, side="left").tolist(), len(order)]
    by_level = [order[a:b] for a, b in pairwise(bounds)]
    for level in reversed(by_level):
        below = level[depth[level] > 1]
        np.add.at(carried, parent[below], carried[below])
    kv = network.substations.voltage_kv[network.feeders.substation].astype(np.float64)
    n_sections = len(network.sections.id)
    margin = np.full(n, _INF)
    sec = on[(parent_edge[on] >= 0) & (parent_edge[on] < n_sections)]
    amps = network.sections.ampacity_a[parent_edge[sec]].astype(np.float64)
    rated = np.isfinite(amps) & (amps > 0)
    sec, amps = sec[rated], amps[rated]
    margin[sec] = np.sqrt(3.0) * kv[feeder[sec]] * amps * power_factor - carried[sec]
    spare = np.where(feeder == STATION, _INF, np.nan)
    for at in by_level:
        above = np.where(depth[at] > 1, spare[np.maximum(parent[at], 0)], _INF)
        spare[at] = np.minimum(margin[at], above)
    return spare


# -- components -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Components:
    """Every feeder component with λ > 0: its table, index, zone, λ and r."""

    kind: tuple[str, ...]
    index: Ints
    zone: Ints
    rate: Floats
    repair: Floats
    ignored: int


def _element_values(
    network: Network, table: str, rate: Floats, repair: Floats, over: Mapping[str, Override]
) -> None:
    """``rate`` and ``repair`` of the elements of ``table`` with an override, in place."""
    for element, o in over.items():
        if element not in network:
            continue
        kind, index = network.locate(element)
        if kind.value != table:
            continue
        if o.failure_rate is not None:
            rate[index] = o.failure_rate
        if o.repair_h is not None:
            repair[index] = o.repair_h


def _components(
    network: Network,
    topology: Topology,
    zones: _Zones,
    settings: PredictSettings,
    over: Mapping[str, Override],
) -> _Components:
    s = settings
    sec, sw = network.sections, network.switches
    kinds = np.asarray(sec.kind, dtype=object)
    length = np.nan_to_num(sec.length_km.astype(np.float64))
    cable = kinds == SectionKind.CABLE.value
    transformer = kinds == SectionKind.TRANSFORMER.value
    rate = np.where(cable, s.cable_per_km * length, s.overhead_per_km * length)
    rate = np.where(transformer, s.transformer_section, rate).astype(np.float64)
    repair = np.where(cable, s.cable_repair_h, s.overhead_repair_h)
    repair = np.where(transformer, s.transformer_section_repair_h, repair).astype(np.float64)
    _element_values(network, "sections", rate, repair, over)
    sw_rate = np.full(len(sw.id), s.switch, dtype=np.float64)
    sw_repair = np.full(len(sw.id), s.switch_repair_h, dtype=np.float64)
    _element_values(network, "switches", sw_rate, sw_repair, over)

    # the zone of an edge: a section's is its lower end's; a switch's is its upper end's
    n_sections = len(sec.id)
    parent_edge = topology.parent_edge_of_nodes.astype(np.int64)
    parent = topology.parent_of_nodes.astype(np.int64)
    lower = np.full(network.n_edges, -1, dtype=np.int64)
    tree_nodes = np.flatnonzero((topology.feeder_of_nodes >= 0) & (parent_edge >= 0))
    lower[parent_edge[tree_nodes]] = tree_nodes
    sec_lower = lower[:n_sections]
    sec_zone = np.where(sec_lower >= 0, zones.of_node[np.maximum(sec_lower, 0)], -1)
    sw_lower = lower[n_sections:]
    sw_upper = np.where(sw_lower >= 0, parent[np.maximum(sw_lower, 0)], -1)
    sw_zone = np.where(sw_upper >= 0, zones.of_node[np.maximum(sw_upper, 0)], -1)
    # a switch at a feeder head has the station above it: no feeder zone, left out
    keep_sec = (rate > 0) & (sec_zone >= 0)
    keep_sw = (sw_rate > 0) & (sw_zone >= 0) & sw.normal_closed
    ignored = int(
        ((rate > 0) & ~keep_sec).sum() + ((sw_rate > 0) & sw.normal_closed & ~keep_sw).sum()
    )
    i_sec, i_sw = np.flatnonzero(keep_sec), np.flatnonzero(keep_sw)
    return _Components(
        kind=("sections",) * len(i_sec) + ("switches",) * len(i_sw),
        index=np.concatenate([i_sec, i_sw]),
        zone=np.concatenate([sec_zone[i_sec], sw_zone[i_sw]]),
        rate=np.concatenate([rate[i_sec], sw_rate[i_sw]]),
        repair=np.concatenate([repair[i_sec], sw_repair[i_sw]]),
        ignored=ignored,
    )


# -- pairs ------------------------------------------------------------------------------------


def _pairs(zones: _Zones, faulted: Ints) -> Iterator[tuple[Ints, Ints]]:
    """(fault zone, load zone) for every faulted zone and every zone of its feeder, in
    chunks of about :data:`_CHUNK` / (zone depth + 1) pairs."""
    limit = max(1024, _CHUNK // zones.ancestors.shape[1])
    order = np.argsort(zones.feeder, kind="stable")
    n_feeders = int(zones.feeder.max()) + 1 if len(order) else 0
    counts = np.bincount(zones.feeder, minlength=n_feeders)
    starts = np.zeros(n_feeders + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    sizes = counts[zones.feeder[faulted]]
    cut = 0
    while cut < len(faulted):
        running = np.cumsum(sizes[cut:])
        stop = cut + max(1, int(np.searchsorted(running, limit, side="right")))
        part = faulted[cut:stop]
        n = sizes[cut:stop]
        total = int(n.sum())
        a = np.repeat(part, n)
        offset = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
        z = order[np.repeat(starts[zones.feeder[part]], n) + offset]
        yield a, z
        cut = stop


def _capacity(
    network: Network, topology: Topology, settings: PredictSettings, over: Mapping[str, Override]
) -> Callable[[int, int], float] | None:
    """``capacity(tie, far_node)`` for :func:`_tie_times` (``None`` without
    ``tie_capacity``: every tie unlimited)."""
    if not settings.tie_capacity:
        return None
    spare = spare_capacity_kw(network, topology, settings.power_factor)
    ids = network.switches.id
    given = {
        element: o.transfer_kw
        for element, o in over.items()
        if o.transfer_kw is not None and element in network
    }

    def capacity(tie: int, far: int) -> float:
        own = given.get(ids[tie])
        if own is not None:
            return float(own)
        value = float(spare[far])
        return value if np.isfinite(value) or value == _INF else -_INF

    return capacity


def predict(
    network: Network,
    settings: PredictSettings | None = None,
    overrides: Mapping[str, Override] | None = None,
    *,
    topology: Topology | None = None,
    top: int = 20,
) -> Prediction:
    """RELRAD indices of ``network`` in its normal switch state (see the module docstring).

    ``topology``: the index of the NORMAL state, if the caller has it (else built here).
    ``overrides``: per element id; ids that are not in the network are ignored. ``top``:
    how many of the largest contributors to list.
    """
    s = settings or PredictSettings()
    over = overrides or {}
    if topology is None:
        topology = Topology.build(network.graph_arrays(), network.closed_edges(normal=True))
    zones = _zones(network, topology)
    n_zones = len(zones.top)
    switching = _switching_times(network, s, over)
    kinds = np.asarray(network.switches.kind, dtype=object)
    protective = np.isin(kinds, [k.value for k in PROTECTIVE])

    upper = zones.upper_switch
    has_switch = upper >= 0
    t_upper = np.where(has_switch, switching[np.maximum(upper, 0)], _INF)
    zone_protective = has_switch & protective[np.maximum(upper, 0)]
    ties = _tie_times(network, topology, zones, switching, _capacity(network, topology, s, over))
    cost_up = t_upper
    cost_down = np.where(np.isfinite(ties), np.maximum(t_upper, ties), _INF)
    m_up = _chain_min(cost_up, zones.ancestors)
    m_down = _chain_min(cost_down, zones.ancestors)
    depths = np.arange(zones.ancestors.shape[1])
    anc = zones.ancestors
    prot_here = np.where(anc >= 0, zone_protective[np.maximum(anc, 0)], False)
    prot_depth = np.maximum(np.where(prot_here, depths, -1).max(axis=1, initial=-1), 0)

    # load points and their customers / load per zone
    ta, hv = network.transformer_areas, network.hv_customers
    lp_node = np.concatenate([ta.node, hv.node]).astype(np.int64)
    n_ta = len(ta.id)
    is_hv = np.arange(len(lp_node)) >= n_ta
    if s.base == "units":
        customers = np.ones(len(lp_node))
    else:
        customers = np.concatenate([ta.lv_customers.astype(np.float64), np.ones(len(hv.id))])
    load = np.concatenate([ta.load_kw, hv.load_kw]).astype(np.float64)
    lp_zone = zones.of_node[lp_node]
    supplied = lp_zone >= 0
    zone_n = np.bincount(lp_zone[supplied], customers[supplied], minlength=n_zones)
    zone_l = np.bincount(lp_zone[supplied], load[supplied], minlength=n_zones)

    comp = _components(network, topology, zones, s, over)
    zone_rate = np.bincount(comp.zone, comp.rate, minlength=n_zones)
    zone_ur = np.bincount(comp.zone, comp.rate * comp.repair, minlength=n_zones)
    faulted = np.flatnonzero(zone_rate > 0)

    # per pair: affected?, switching time τ (∞: repair). Collected by (zone, τ) afterwards.
    all_a, all_z, all_tau = [], [], []
    for fault_zone, load_zone in _pairs(zones, faulted):
        pd = prot_depth[fault_zone]
        hit = anc[load_zone, pd] == anc[fault_zone, pd]
        a, z = fault_zone[hit], load_zone[hit]
        same = (anc[a] == anc[z]) & (anc[a] >= 0)
        w = same.sum(axis=1) - 1  # depth of the branching zone
        tau = np.minimum(m_up[a, w], m_down[z, w])
        all_a.append(a)
        all_z.append(z)
        all_tau.append(tau)
    pa = np.concatenate([np.zeros(0, np.int64), *all_a])
    pz = np.concatenate([np.zeros(0, np.int64), *all_z])
    ptau = np.concatenate([np.zeros(0), *all_tau])

    switched = np.isfinite(ptau)
    levels, level_of = np.unique(ptau[switched], return_inverse=True)
    # Σ_{e∈a} λ_e min(r_e, τ_k), per zone and level
    capped = (
        np.stack(
            [
                np.bincount(comp.zone, comp.rate * np.minimum(comp.repair, t), minlength=n_zones)
                for t in levels
            ]
        )
        if len(levels)
        else np.zeros((0, n_zones))
    )
    pair_u = zone_ur[pa].copy()
    if switched.any():
        pair_u[switched] = capped[level_of, pa[switched]]
    zone_lambda = np.bincount(pz, zone_rate[pa], minlength=n_zones)
    zone_u = np.bincount(pz, pair_u, minlength=n_zones)

    own_rate = np.concatenate([np.full(n_ta, s.transformer_area), np.zeros(len(hv.id))])
    own_repair = np.concatenate([np.full(n_ta, s.transformer_area_repair_h), np.zeros(len(hv.id))])
    _element_values(network, "transformer_areas", own_rate, own_repair, over)
    own_rate[n_ta:] = 0.0
    lam = np.where(supplied, zone_lambda[np.maximum(lp_zone, 0)] + own_rate, np.nan)
    unav = np.where(supplied, zone_u[np.maximum(lp_zone, 0)] + own_rate * own_repair, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        dur = np.where(lam > 0, unav / lam, np.nan)
    lp_feeder = np.where(supplied, topology.feeder_of_nodes[lp_node], -1).astype(np.int64)
    points = LoadPoints(
        id=(*ta.id, *hv.id),
        is_hv=is_hv,
        feeder=lp_feeder,
        customers=customers,
        load_kw=load,
        failure_rate=lam,
        unavailability_h=unav,
        duration_h=dur,
    )

    # contributions: customers (and load) hit per fault zone, by repair or by level
    n_rep = np.bincount(pa[~switched], zone_n[pz[~switched]], minlength=n_zones)
    l_rep = np.bincount(pa[~switched], zone_l[pz[~switched]], minlength=n_zones)
    n_hit = np.bincount(pa, zone_n[pz], minlength=n_zones)
    key = level_of * n_zones + pa[switched]
    n_lvl = np.bincount(key, zone_n[pz[switched]], minlength=len(levels) * n_zones)
    l_lvl = np.bincount(key, zone_l[pz[switched]], minlength=len(levels) * n_zones)
    n_lvl = n_lvl.reshape(len(levels), n_zones)
    l_lvl = l_lvl.reshape(len(levels), n_zones)
    at = comp.zone
    hours = comp.repair * n_rep[at]
    energy = comp.repair * l_rep[at]
    for k, t in enumerate(levels):
        cap = np.minimum(comp.repair, t)
        hours = hours + cap * n_lvl[k, at]
        energy = energy + cap * l_lvl[k, at]
    ci = comp.rate * n_hit[at]
    ch = comp.rate * hours
    ens = comp.rate * energy
    contributions = _contributions(
        network, topology, comp, (ci, ch, ens), points, (own_rate, own_repair), top
    )

    feeders = _feeder_indices(network, points)
    system = _indices("system", "system", points, supplied)
    notes = []
    if (~supplied).any():
        notes.append(f"{int((~supplied).sum())} load points on no feeder in the normal state")
    return Prediction(s, points, feeders, system, contributions, comp.ignored, tuple(notes))


def _feeder_indices(network: Network, lp: LoadPoints) -> tuple[FeederIndices, ...]:
    """:func:`_indices` of every feeder at once (sums by feeder)."""
    n_feeders = len(network.feeders.id)
    ok = lp.feeder >= 0
    f = lp.feeder[ok]
    n = lp.customers[ok]

    def total(weights: Floats) -> list[float]:
        out: list[float] = np.bincount(f, weights, minlength=n_feeders).tolist()
        return out

    counts = np.bincount(f, minlength=n_feeders).tolist()
    customers = total(n)
    ci = total(lp.failure_rate[ok] * n)
    ch = total(lp.unavailability_h[ok] * n)
    ens = total(lp.unavailability_h[ok] * lp.load_kw[ok])
    out = []
    for i, fid in enumerate(network.feeders.id):
        name = network.feeders.name[i] or fid
        if customers[i] <= 0:
            nan = float("nan")
            out.append(FeederIndices(fid, name, counts[i], customers[i], nan, nan, nan, nan, 0.0))
            continue
        saifi, saidi = ci[i] / customers[i], ch[i] / customers[i]
        caidi = saidi / saifi if saifi > 0 else float("nan")
        asai = 1.0 - saidi / HOURS_PER_YEAR
        out.append(
            FeederIndices(fid, name, counts[i], customers[i], saifi, saidi, caidi, asai, ens[i])
        )
    return tuple(out)


def _indices(fid: str, name: str, lp: LoadPoints, mask: Bools) -> FeederIndices:
    n = lp.customers[mask]
    total = float(n.sum())
    if total <= 0:
        nan = float("nan")
        return FeederIndices(fid, name, int(mask.sum()), total, nan, nan, nan, nan, 0.0)
    saifi = float((lp.failure_rate[mask] * n).sum() / total)
    saidi = float((lp.unavailability_h[mask] * n).sum() / total)
    caidi = saidi / saifi if saifi > 0 else float("nan")
    eens = float((lp.unavailability_h[mask] * lp.load_kw[mask]).sum())
    return FeederIndices(
        fid, name, int(mask.sum()), total, saifi, saidi, caidi, 1.0 - saidi / HOURS_PER_YEAR, eens
    )


def _contributions(  # noqa: PLR0917  (internal, called once)
    network: Network,
    topology: Topology,
    comp: _Components,
    per_component: tuple[Floats, Floats, Floats],
    lp: LoadPoints,
    own: tuple[Floats, Floats],
    top: int,
) -> tuple[Contribution, ...]:
    """The ``top`` components by customer-hours: feeder components, then each transformer
    area's own transformer, in one ranking."""
    ci, ch, ens = per_component
    own_rate, own_repair = own
    ta = network.transformer_areas
    n_ta = len(ta.id)
    ta_ok = (lp.feeder[:n_ta] >= 0) & (own_rate[:n_ta] > 0)
    ta_index = np.flatnonzero(ta_ok)
    ta_rate, ta_repair = own_rate[ta_index], own_repair[ta_index]
    hours = np.concatenate([ch, ta_rate * ta_repair * lp.customers[ta_index]])
    total = float(np.nansum(lp.unavailability_h * lp.customers))
    order = np.argsort(-hours, kind="stable")[:top].tolist()
    sec, sw = network.sections, network.switches
    feeder_of = topology.feeder_of_nodes
    rows = []
    for i in order:
        if i < len(comp.index):
            index = int(comp.index[i])
            table = sec if comp.kind[i] == "sections" else sw
            element, name = table.id[index], table.name[index]
            f = int(feeder_of[table.from_node[index]])
            if f < 0:
                f = int(feeder_of[table.to_node[index]])
            rate, repair = float(comp.rate[i]), float(comp.repair[i])
            interruptions, energy = float(ci[i]), float(ens[i])
            kind = comp.kind[i]
        else:
            j = i - len(comp.index)
            index = int(ta_index[j])
            element, name, f = ta.id[index], ta.name[index], int(lp.feeder[index])
            rate, repair = float(ta_rate[j]), float(ta_repair[j])
            interruptions = rate * float(lp.customers[index])
            energy = rate * repair * float(lp.load_kw[index])
            kind = "transformer_areas"
        rows.append(
            Contribution(
                element,
                kind,
                name or element,
                network.feeders.id[f] if f >= 0 else "",
                rate,
                repair,
                interruptions,
                float(hours[i]),
                energy,
                float(hours[i]) / total if total > 0 else 0.0,
            )
        )
    return tuple(rows)
