"""FLISR planning: isolate a faulted region, restore the healthy sections, check by power flow.

Pure: the network, its live :class:`~openoms.grid.topology.Topology` and a set of faulted
edges in, a :class:`RestorationPlan` out (the topology is operated on and put back exactly as
it was). docs/restoration.md describes the rules; in short:

1. **Outage area.** When the faulted region is dead in the live state, the dead area around
   it and the tripped device (an open, normally-closed switch between that area and a live
   one) are read off the states. When it is still energised (planning ahead), the nearest
   breaker, recloser or fuse above it is assumed to trip.
2. **Isolation.** The zone grows from the region through sections and fuses up to the nearest
   remotely controlled switches. Where the part behind a manual switch on the way would stay
   dark for nothing (it can be fed from elsewhere), the manual switch is opened instead, by a
   crew, with their travel time. The zone's boundary switches are opened.
3. **Islands.** The healthy rest of the area falls into islands. Each can be fed back by
   re-closing the tripped device (upstream) or through a normally-open tie whose other side is
   live; or split by opening a switch inside it, each part from its own tie (or one part
   left dark).
4. **Check.** Every candidate is one scenario of one power-grid-model batch
   (:mod:`.powerflow`) over the feeders involved, plus the structural checks (never energise
   the zone, never parallel two feeders unless allowed), from a preview of the topology.
5. **Ranking.** Per island the feasible candidate restoring the most customers, then the
   most load, then with the fewest operations (then the fewest manual ones); the choices
   together are checked once more in one scenario.
6. **Two stages.** When the plan needs a crew, what telecontrol alone restores comes first
   (the same planning with remote switches only), then the crew's moves to the full plan.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import product
from typing import Final

import numpy as np
from numpy.typing import NDArray

from openoms.grid.model import Network
from openoms.grid.schema import SwitchKind
from openoms.grid.topology import DEAD, STATION, LoopKind, Topology
from openoms.restoration.powerflow import (
    Limits,
    PowerFlowModel,
    ScenarioResult,
    Violation,
    ViolationKind,
)

__all__ = [
    "Candidate",
    "Island",
    "PlanSettings",
    "RestorationPlan",
    "RestorationPlanner",
    "Step",
    "StepAction",
]

Ints = NDArray[np.int32]

# Switches that can be opened for isolation or to split an island (the area is dead then).
OPERABLE: Final = frozenset(
    {
        SwitchKind.BREAKER,
        SwitchKind.RECLOSER,
        SwitchKind.LOAD_BREAK_SWITCH,
        SwitchKind.SECTIONALISER,
        SwitchKind.DISCONNECTOR,
    }
)
# Switches that may close onto load (a tie that picks up an island).
LOAD_BREAK: Final = frozenset(
    {
        SwitchKind.BREAKER,
        SwitchKind.RECLOSER,
        SwitchKind.LOAD_BREAK_SWITCH,
        SwitchKind.SECTIONALISER,
    }
)
# Devices that clear a fault (the one assumed to trip when planning ahead).
PROTECTIVE: Final = frozenset({SwitchKind.BREAKER, SwitchKind.RECLOSER, SwitchKind.FUSE})
MAX_CANDIDATES_PER_ISLAND: Final = 400


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """The limits of the power-flow check and the times of the switching steps."""

    limits: Limits = field(default_factory=Limits)
    remote_operation_s: float = 30.0  # one telecontrol command and its position feedback
    crew_travel_min: float = 40.0  # a crew reaching the first manual switch
    manual_operation_min: float = 5.0  # each manual operation (and the walk to the next)


class StepAction(StrEnum):
    ISOLATE = "isolate"  # open a switch around the faulted zone
    RESTORE_UPSTREAM = "restore_upstream"  # re-close the tripped device
    SPLIT = "split"  # open a switch inside a healthy island
    RESTORE_TIE = "restore_tie"  # close a normally-open tie onto an island
    RESTORE_SWITCH = "restore_switch"  # re-close a switch once the crew moved the boundary in


@dataclass(frozen=True, slots=True)
class Step:
    edge: int
    device: str
    close: bool
    remote: bool
    action: StepAction
    island: int  # -1 for isolation
    minutes: float  # estimated time from the start of the plan to this step done


@dataclass(frozen=True, slots=True, eq=False)
class Island:
    """A healthy part of the outage area once the zone is isolated."""

    index: int
    nodes: Ints
    customers: int
    load_kw: float
    sources: tuple[int, ...]  # edges that can feed it: the tripped device, live ties


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """One way to restore (part of) one island, and its check."""

    island: int
    ops: tuple[tuple[int, bool], ...]
    split: int  # the switch opened inside the island, -1 for none
    sources: tuple[int, ...]  # the edges closed
    restored: Ints  # nodes of the island energised again (from the topology preview)
    energised: Ints  # every node energised again (the upstream island too, through it)
    customers: int
    load_kw: float
    check: ScenarioResult
    violations: tuple[Violation, ...]  # the power flow's and the structural ones
    manual_ops: int

    @property
    def ok(self) -> bool:
        return self.check.converged and not self.violations

    def rank_key(self) -> tuple[int, float, int, int, float, tuple[tuple[int, bool], ...]]:
        """Smaller is better: customers, load, operations, manual operations, peak loading
        (the operations themselves last, for a stable order)."""
        loading = self.check.max_loading if self.check.converged else math.inf
        return (
            -self.customers,
            -round(self.load_kw, 6),
            len(self.ops),
            self.manual_ops,
            round(loading, 6),
            self.ops,
        )


@dataclass(frozen=True, eq=False)
class RestorationPlan:
    network: Network
    region: tuple[int, ...]  # the faulted edges as given
    tripped: tuple[int, ...]  # the device(s) that cleared the fault
    trip_assumed: bool  # the region was live: the trip of `tripped` is assumed
    failed: frozenset[int]  # switches known not to operate
    zone_nodes: Ints  # the isolated, faulted zone (stays dark)
    isolation: tuple[int, ...]  # switches opened around the zone
    outage_nodes: Ints  # everything dark after the trip
    islands: tuple[Island, ...]
    candidates: tuple[Candidate, ...]  # every checked candidate, per island best first
    chosen: tuple[Candidate, ...]
    steps: tuple[Step, ...]
    restored_nodes: Ints
    dark_nodes: Ints  # the unrestorable part: the zone and what no candidate could feed
    customers_out: int
    customers_restored: int
    load_out_kw: float
    load_restored_kw: float
    base_check: ScenarioResult | None  # the feeders involved after isolation, before restoring
    final_check: ScenarioResult | None  # the chosen candidates together
    sensitive_restored: tuple[str, ...]
    sensitive_dark: tuple[str, ...]
    scenarios: int  # power-flow scenarios run (both stages')
    power_flow_nodes: Ints  # the sub-network the power flow covered
    base_closed: NDArray[np.bool_]  # every edge's state after the trip and the isolation
    # what telecontrol alone restores before the crew arrives: its steps are the first of
    # ``steps`` (None when the plan needs no crew, or the crew would add nothing)
    first_stage: RestorationPlan | None = None

    def stage_of(self, index: int) -> int:
        """1 for a step telecontrol does before the crew arrives, 2 for the crew's stage."""
        if self.first_stage is None:
            return 1 if all(s.remote for s in self.steps[: index + 1]) else 2
        return 1 if index < len(self.first_stage.steps) else 2

    @property
    def n_operations(self) -> int:
        return len(self.steps)

    @property
    def operations(self) -> list[tuple[str, bool]]:
        return [(s.device, s.close) for s in self.steps]


class RestorationPlanner:
    """Plans for one network; reuse it for every fault (it keeps the power-flow columns)."""

    def __init__(
        self,
        network: Network,
        settings: PlanSettings | None = None,
        *,
        model: PowerFlowModel | None = None,
    ) -> None:
        self.network = network
        self.settings = settings or PlanSettings()
        self.model = model or PowerFlowModel(network, self.settings.limits)
        sw = network.switches
        n_sections = len(network.sections.id)
        self._n_sections = n_sections
        kinds = [SwitchKind(k) for k in sw.kind]
        m = network.n_edges
        self._operable = np.zeros(m, dtype=np.bool_)
        self._load_break = np.zeros(m, dtype=np.bool_)
        self._protective = np.zeros(m, dtype=np.bool_)
        self._remote = np.zeros(m, dtype=np.bool_)
        for i, kind in enumerate(kinds):
            self._operable[n_sections + i] = kind in OPERABLE
            self._load_break[n_sections + i] = kind in LOAD_BREAK
            self._protective[n_sections + i] = kind in PROTECTIVE
            self._remote[n_sections + i] = bool(sw.remote[i])
        self._normal_closed = network.closed_edges(normal=True)
        self._edge_from = network.edge_from
        self._edge_to = network.edge_to
        n = len(network.nodes.id)
        adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for e, (a, b) in enumerate(
            zip(self._edge_from.tolist(), self._edge_to.tolist(), strict=True)
        ):
            adj[a].append((b, e))
            adj[b].append((a, e))
        self._adj = adj
        tas, hvs = network.transformer_areas, network.hv_customers
        customers = np.bincount(tas.node, weights=tas.lv_customers, minlength=n)
        customers += np.bincount(hvs.node, minlength=n)
        self._customers = customers.astype(np.int64)
        load = np.bincount(tas.node, weights=np.nan_to_num(tas.load_kw), minlength=n)
        load += np.bincount(hvs.node, weights=np.nan_to_num(hvs.load_kw), minlength=n)
        self._load = load
        sc = network.sensitive_customers
        self._sensitive_node = np.where(
            sc.transformer_area >= 0,
            tas.node[np.maximum(sc.transformer_area, 0)] if len(tas.id) else -1,
            hvs.node[np.maximum(sc.hv_customer, 0)] if len(hvs.id) else -1,
        ).astype(np.int32)

    # -- public -----------------------------------------------------------------------------
    def plan(
        self,
        topology: Topology,
        region: Iterable[int],
        *,
        tripped: Iterable[int] | None = None,
        failed: Iterable[int] = (),
        stages: bool = True,
    ) -> RestorationPlan:
        """The plan for a fault on the ``region`` edges (sections or switches, edge indexes:
        one located section, a zone, or several tied candidates together).

        ``tripped``: the device(s) that cleared the fault, when known; otherwise read off the
        states (see the module doc). An empty ``tripped`` with the region still live is a
        transient fault cleared by a successful reclose: nothing to switch. ``failed``:
        switches that cannot be operated (they are not used, and isolation goes past them to
        the next switch). ``stages``: when the plan needs a crew, first what telecontrol
        alone restores, then the crew's moves (a fault); ``False``: the full plan only
        (planned work, where the crew is there from the start)."""
        region_edges = tuple(sorted({int(e) for e in region}))
        if not region_edges:
            raise ValueError("the faulted region is empty")
        failed_set = frozenset(int(e) for e in failed)
        full = _Planning(self, topology, region_edges, tripped, failed_set).run()
        if not stages or all(step.remote for step in full.steps):
            return full
        first = _Planning(self, topology, region_edges, tripped, failed_set, remote_only=True).run()
        return self._two_stages(first, full)

    def _two_stages(self, first: RestorationPlan, full: RestorationPlan) -> RestorationPlan:
        """The plan in two stages: first what telecontrol alone restores (``first``, planned
        with remote switches only), then, once the crew is there, the moves from that state to
        the full plan's end state: openings first (the manual ones first), then closings.
        Every intermediate state energises a subset of the full plan's end state (openings
        only take supply away; the closings are a subset of its closed switches), so none
        reaches the zone or closes a loop. Without anything more restored, the remote plan."""
        if full.customers_restored <= first.customers_restored:
            return first
        end_first = _end_state(first)
        end_full = _end_state(full)
        diff = np.flatnonzero(end_first != end_full).tolist()
        opens = [e for e in diff if not end_full[e]]
        closes = [e for e in diff if end_full[e]]
        opens.sort(key=lambda e: (bool(self._remote[e]), e))
        settings = self.settings
        t = max([s.minutes for s in first.steps] + [0.0])
        crew_t = max(t, settings.crew_travel_min)
        island_of = {v: i.index for i in full.islands for v in i.nodes.tolist()}
        steps = list(first.steps)
        for e, close in [(e, False) for e in opens] + [(e, True) for e in closes]:
            remote = bool(self._remote[e])
            crew_t += (
                settings.remote_operation_s / 60.0 if remote else settings.manual_operation_min
            )
            a, b = int(self._edge_from[e]), int(self._edge_to[e])
            island = island_of.get(a, island_of.get(b, -1))
            if not close:
                action = StepAction.ISOLATE if e in full.isolation else StepAction.SPLIT
            elif e in full.tripped:
                action = StepAction.RESTORE_UPSTREAM
            elif not self._normal_closed[e]:
                action = StepAction.RESTORE_TIE
            else:
                action = StepAction.RESTORE_SWITCH
            steps.append(Step(e, self.network.edge_id(e), close, remote, action, island, crew_t))
        scenarios = full.scenarios + first.scenarios
        return replace(full, steps=tuple(steps), first_stage=first, scenarios=scenarios)

    def replan(
        self, topology: Topology, plan: RestorationPlan, failed_switch: int
    ) -> RestorationPlan:
        """The plan again when ``failed_switch`` (an edge index) did not operate: isolation
        widens to the next switch beyond it, and it is used for nothing else."""
        return self.plan(
            topology,
            plan.region,
            tripped=None if plan.trip_assumed else plan.tripped,
            failed=plan.failed | {int(failed_switch)},
        )

    # -- helpers for _Planning ---------------------------------------------------------------
    def customers_of(self, nodes: Ints) -> int:
        return int(self._customers[nodes].sum())

    def load_of(self, nodes: Ints) -> float:
        return float(self._load[nodes].sum())


class _Planning:
    """One planning run (the state of :meth:`RestorationPlanner.plan`)."""

    def __init__(
        self,
        planner: RestorationPlanner,
        topology: Topology,
        region: tuple[int, ...],
        tripped: Iterable[int] | None,
        failed: frozenset[int],
        *,
        remote_only: bool = False,
    ) -> None:
        self.remote_only = remote_only
        self.p = planner
        self.net = planner.network
        self.topology = topology
        self.region = region
        self.tripped_given = None if tripped is None else tuple(sorted({int(e) for e in tripped}))
        self.failed = failed
        self.limits = planner.settings.limits
        self.via: dict[int, int] = {}  # a tie fed from the upstream island → the device re-closed
        self.pf_nodes: Ints = np.zeros(0, dtype=np.int32)

    # -- 1. the outage area -------------------------------------------------------------------
    def _outage_area(self) -> tuple[set[int], tuple[int, ...], bool]:
        topo, p = self.topology, self.p
        codes = topo.feeder_of_nodes
        region_nodes = self._region_nodes()
        live = [v for v in region_nodes if codes[v] != DEAD]
        if live:
            if self.tripped_given == ():  # nothing tripped (a transient fault, reclosed)
                return set(), (), False
            if self.tripped_given is not None:
                tripped = self.tripped_given
            else:
                top = min(live, key=lambda v: int(topo.depth_of_nodes[v]))
                _, path = topo.path_to_source(top)
                device = next(
                    (int(e) for e in path.tolist() if p._protective[e] and e not in self.region),
                    -1,
                )
                if device < 0:
                    raise ValueError("no breaker, recloser or fuse above the faulted region")
                tripped = (device,)
            change = topo.preview([(e, False) for e in tripped])
            lost = set(change.lost.tolist())
            lost.update(v for v in region_nodes if codes[v] != DEAD)
            return lost, tripped, True
        closed = topo.closed
        area: set[int] = set(region_nodes)
        queue = deque(region_nodes)
        while queue:
            v = queue.popleft()
            for w, e in p._adj[v]:
                if closed[e] and w not in area and codes[w] == DEAD:
                    area.add(w)
                    queue.append(w)
        if self.tripped_given is not None:
            return area, self.tripped_given, False
        found = set()
        for v in area:
            for w, e in p._adj[v]:
                if (
                    not closed[e]
                    and w not in area
                    and codes[w] != DEAD
                    and p._normal_closed[e]
                    and e >= p._n_sections
                ):
                    found.add(e)
        return area, tuple(sorted(found)), False

    def _region_nodes(self) -> list[int]:
        nodes = {int(self.p._edge_from[e]) for e in self.region}
        nodes |= {int(self.p._edge_to[e]) for e in self.region}
        return sorted(nodes)

    # -- 2. isolation ---------------------------------------------------------------------------
    def _grow(self, closed: NDArray[np.bool_], area: set[int], *, stop_manual: bool) -> set[int]:
        p, region, failed = self.p, set(self.region), self.failed
        zone = set(self._region_nodes())
        queue = deque(zone)
        while queue:
            v = queue.popleft()
            for w, e in p._adj[v]:
                if not closed[e] or w in zone or w not in area:
                    continue
                passable = (
                    e in region
                    or e < p._n_sections
                    or not p._operable[e]
                    or e in failed
                    or (not p._remote[e] and not stop_manual)
                )
                if passable:
                    zone.add(w)
                    queue.append(w)
        return zone

    def _zone(self, closed: NDArray[np.bool_], area: set[int], sources: set[int]) -> set[int]:
        p = self.p
        remote = self._grow(closed, area, stop_manual=False)
        if self.remote_only:
            return remote
        smallest = self._grow(closed, area, stop_manual=True)
        zone = set(smallest)
        rest = remote - smallest
        seen: set[int] = set()
        for start in sorted(rest):
            if start in seen:
                continue
            part = {start}
            queue = deque([start])
            exits = False
            while queue:
                v = queue.popleft()
                for w, e in p._adj[v]:
                    if e in sources:
                        exits = True
                    if not closed[e] or w in smallest:
                        continue
                    if w not in remote:
                        exits = True
                    elif w not in part:
                        part.add(w)
                        queue.append(w)
            seen |= part
            if not exits:  # a dead end: nothing could feed it, no manual switch is worth it
                zone |= part
        return zone

    # -- 3. islands -----------------------------------------------------------------------------
    def _islands(self, closed: NDArray[np.bool_], healthy: set[int]) -> list[list[int]]:
        p = self.p
        islands: list[list[int]] = []
        seen: set[int] = set()
        for start in sorted(healthy):
            if start in seen:
                continue
            part = [start]
            seen.add(start)
            queue = deque([start])
            while queue:
                v = queue.popleft()
                for w, e in p._adj[v]:
                    if closed[e] and w in healthy and w not in seen:
                        seen.add(w)
                        part.append(w)
                        queue.append(w)
            islands.append(sorted(part))
        return islands

    def _sources(
        self,
        nodes: set[int],
        closed: NDArray[np.bool_],
        area: set[int],
        tripped: tuple[int, ...],
        codes: Ints,
    ) -> list[int]:
        p = self.p
        found: set[int] = set()
        for v in nodes:
            for w, e in p._adj[v]:
                if closed[e] or w in area or codes[w] == DEAD or e in self.failed:
                    continue
                if self.remote_only and not p._remote[e]:
                    continue
                if e in tripped or p._load_break[e]:
                    found.add(e)
        return sorted(found)

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> RestorationPlan:
        p, topo, net = self.p, self.topology, self.net
        area, tripped, assumed = self._outage_area()
        if not area:
            return self._nothing()
        codes_live = topo.feeder_of_nodes.copy()
        closed = topo.closed.copy()
        closed[list(tripped)] = False
        source_edges = set(tripped)
        for v in area:
            for w, e in p._adj[v]:
                if not closed[e] and w not in area and codes_live[w] != DEAD:
                    source_edges.add(e)
        zone = self._zone(closed, area, source_edges)
        isolation = sorted(
            {
                e
                for v in zone
                for w, e in p._adj[v]
                if closed[e] and w not in zone and e not in tripped
            }
        )
        closed[isolation] = False
        healthy = area - zone
        island_nodes = self._islands(closed, healthy)
        islands: list[Island] = []
        found = [
            self._sources(set(nodes), closed, area, tripped, codes_live) for nodes in island_nodes
        ]
        # an island next to one fed back by re-closing the tripped device can be fed through
        # a tie from it (a single-source feeder such as IEEE 33 has only such ties)
        upstream = {
            v: next(s for s in srcs if s in tripped)
            for nodes, srcs in zip(island_nodes, found, strict=True)
            if any(s in tripped for s in srcs)
            for v in nodes
        }
        for nodes, srcs in zip(island_nodes, found, strict=True):
            if any(s in tripped for s in srcs):
                continue
            for v in nodes:
                for w, e in p._adj[v]:
                    if (
                        w in upstream
                        and not closed[e]
                        and p._load_break[e]
                        and e not in self.failed
                        and (p._remote[e] or not self.remote_only)
                    ):
                        self.via[e] = upstream[w]
                        srcs.append(e)
        for i, (nodes, srcs) in enumerate(zip(island_nodes, found, strict=True)):
            arr = np.asarray(nodes, dtype=np.int32)
            unique = tuple(sorted(set(srcs)))
            islands.append(Island(i, arr, p.customers_of(arr), p.load_of(arr), unique))

        base_ops = [(e, False) for e in tripped] + [(e, False) for e in isolation]
        before = topo.closed.copy()
        touched = sorted({e for e, _ in base_ops})
        topo.operate(base_ops)
        try:
            specs = self._candidate_specs(islands, closed)
            checked, base_check, n_scen, final = self._check(specs, closed, area, zone, islands)
        finally:
            topo.operate([(e, bool(before[e])) for e in reversed(touched)])
        ranked = sorted(checked, key=lambda c: (c.island, not c.ok, c.rank_key()))
        chosen = final[0]
        restored = (
            np.unique(np.concatenate([c.restored for c in chosen])).astype(np.int32)
            if chosen
            else np.zeros(0, dtype=np.int32)
        )
        outage = np.asarray(sorted(area), dtype=np.int32)
        dark = np.setdiff1d(outage, restored).astype(np.int32)
        steps = self._steps(tripped, isolation, islands, chosen)
        sc_nodes = p._sensitive_node
        sc_ids = net.sensitive_customers.id
        restored_set, dark_set = set(restored.tolist()), set(dark.tolist())
        return RestorationPlan(
            network=net,
            region=self.region,
            tripped=tripped,
            trip_assumed=assumed,
            failed=self.failed,
            zone_nodes=np.asarray(sorted(zone), dtype=np.int32),
            isolation=tuple(isolation),
            outage_nodes=outage,
            islands=tuple(islands),
            candidates=tuple(ranked),
            chosen=tuple(chosen),
            steps=steps,
            restored_nodes=restored,
            dark_nodes=dark,
            customers_out=p.customers_of(outage),
            customers_restored=p.customers_of(restored),
            load_out_kw=p.load_of(outage),
            load_restored_kw=p.load_of(restored),
            base_check=base_check,
            final_check=final[1],
            sensitive_restored=tuple(
                sc_ids[i] for i, v in enumerate(sc_nodes.tolist()) if v in restored_set
            ),
            sensitive_dark=tuple(
                sc_ids[i] for i, v in enumerate(sc_nodes.tolist()) if v in dark_set
            ),
            scenarios=n_scen,
            power_flow_nodes=self.pf_nodes,
            base_closed=closed,
        )

    def _nothing(self) -> RestorationPlan:
        """The plan of a fault that left nobody dark (a transient fault, cleared by a
        successful reclose): no switching."""
        none = np.zeros(0, dtype=np.int32)
        return RestorationPlan(
            network=self.net,
            region=self.region,
            tripped=(),
            trip_assumed=False,
            failed=self.failed,
            zone_nodes=none,
            isolation=(),
            outage_nodes=none,
            islands=(),
            candidates=(),
            chosen=(),
            steps=(),
            restored_nodes=none,
            dark_nodes=none,
            customers_out=0,
            customers_restored=0,
            load_out_kw=0.0,
            load_restored_kw=0.0,
            base_check=None,
            final_check=None,
            sensitive_restored=(),
            sensitive_dark=(),
            scenarios=0,
            power_flow_nodes=none,
            base_closed=self.topology.closed.copy(),
        )

    # -- 4. candidates ----------------------------------------------------------------------------
    def _candidate_specs(
        self, islands: list[Island], closed: NDArray[np.bool_]
    ) -> list[tuple[int, int, tuple[int, ...]]]:
        """(island, split switch or -1, closed sources) for every candidate."""
        p = self.p
        specs: list[tuple[int, int, tuple[int, ...]]] = []
        for island in islands:
            if not island.sources:
                continue
            nodes = set(island.nodes.tolist())
            mine: list[tuple[int, tuple[int, ...]]] = [(-1, (s,)) for s in island.sources]
            sides = {s: self._side_of(s, nodes) for s in island.sources}
            splits = sorted(
                {
                    e
                    for v in nodes
                    for w, e in p._adj[v]
                    if closed[e]
                    and w in nodes
                    and p._operable[e]
                    and e not in self.failed
                    and (p._remote[e] or not self.remote_only)
                }
            )
            for k in splits:
                part = self._part(nodes, closed, k)
                one = [s for s in island.sources if sides[s] in part]
                two = [s for s in island.sources if sides[s] not in part]
                for a, b in product([*one, None], [*two, None]):
                    if a is None and b is None:
                        continue
                    mine.append((k, tuple(s for s in (a, b) if s is not None)))
            specs += [(island.index, k, srcs) for k, srcs in mine[:MAX_CANDIDATES_PER_ISLAND]]
        return specs

    def _side_of(self, edge: int, nodes: set[int]) -> int:
        a, b = int(self.p._edge_from[edge]), int(self.p._edge_to[edge])
        return a if a in nodes else b

    def _part(self, nodes: set[int], closed: NDArray[np.bool_], cut: int) -> set[int]:
        """The nodes of an island on the from-side of ``cut`` once it is open."""
        start = int(self.p._edge_from[cut])
        part = {start}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for w, e in self.p._adj[v]:
                if e != cut and closed[e] and w in nodes and w not in part:
                    part.add(w)
                    queue.append(w)
        return part

    # -- 5. checks --------------------------------------------------------------------------------
    def _check(
        self,
        specs: list[tuple[int, int, tuple[int, ...]]],
        closed: NDArray[np.bool_],
        area: set[int],
        zone: set[int],
        islands: list[Island],
    ) -> tuple[
        list[Candidate],
        ScenarioResult | None,
        int,
        tuple[list[Candidate], ScenarioResult | None],
    ]:
        p, topo = self.p, self.topology
        zone_arr = np.asarray(sorted(zone), dtype=np.int32)
        ops_of = [self._ops(k, srcs) for _, k, srcs in specs]
        previews = []
        for ops in ops_of:
            change = topo.preview(list(ops))
            structural: list[Violation] = []
            if np.isin(change.regained, zone_arr).any():
                structural.append(
                    Violation(ViolationKind.ONTO_FAULT, self.net.edge_id(ops[-1][0]), 0.0, 0.0)
                )
            for loop in change.loops:
                bad = loop.kind is LoopKind.PARALLEL or loop.kind is LoopKind.LOOP
                if bad and not self.limits.allow_parallel:
                    structural.append(
                        Violation(ViolationKind.PARALLEL, self.net.edge_id(loop.edge), 0.0, 0.0)
                    )
            previews.append((np.asarray(change.regained, dtype=np.int32), tuple(structural)))
        nodes, sources = self._sub_network(area, [e for ops in ops_of for e, close in ops if close])
        self.pf_nodes = nodes
        scenarios: list[Sequence[tuple[int, bool]]] = [(), *ops_of]
        results = (
            p.model.check(nodes, sources, closed, scenarios, outside_feeders=topo.feeder_of_nodes)
            if len(nodes)
            else []
        )
        base_check = results[0] if results else None
        candidates = []
        for i, ((island, k, srcs), ops) in enumerate(zip(specs, ops_of, strict=True)):
            regained, flagged = previews[i]
            restored = regained[np.isin(regained, islands[island].nodes)]
            check = results[i + 1]
            candidates.append(
                Candidate(
                    island=island,
                    ops=ops,
                    split=k,
                    sources=srcs,
                    restored=restored,
                    energised=regained,
                    customers=p.customers_of(restored),
                    load_kw=p.load_of(restored),
                    check=check,
                    violations=flagged + check.violations,
                    manual_ops=sum(1 for e, _ in ops if not p._remote[e]),
                )
            )
        chosen, final = self._combine(candidates, islands, nodes, sources, closed)
        return (
            candidates,
            base_check,
            len(scenarios) + (1 if final is not None else 0),
            (
                chosen,
                final,
            ),
        )

    def _ops(self, split: int, sources: tuple[int, ...]) -> tuple[tuple[int, bool], ...]:
        ops: list[tuple[int, bool]] = [(split, False)] if split >= 0 else []
        for source in sources:
            if source in self.via and (self.via[source], True) not in ops:
                ops.append((self.via[source], True))
            ops.append((source, True))
        return tuple(ops)

    def _sub_network(self, area: set[int], sources: list[int]) -> tuple[Ints, Ints]:
        """The nodes of the power flow: the area, the live feeders at the far end of every
        source, and their station busbars."""
        topo, p = self.topology, self.p
        codes = topo.feeder_of_nodes
        graph = topo.graph
        parts: list[Ints] = [np.asarray(sorted(area), dtype=np.int32)]
        feeders: set[int] = set()
        for e in set(sources):
            for v in (int(p._edge_from[e]), int(p._edge_to[e])):
                if v in area:
                    continue
                if codes[v] >= 0:
                    feeders.add(int(codes[v]))
                elif codes[v] == STATION:
                    parts.append(np.asarray([v], dtype=np.int32))
        for f in sorted(feeders):
            parts.append(np.asarray(topo.feeder_nodes(f), dtype=np.int32))
            head = int(graph.feeder_head[f])
            for v in (int(graph.edge_from[head]), int(graph.edge_to[head])):
                if codes[v] == STATION:
                    parts.append(np.asarray([v], dtype=np.int32))
        nodes = np.unique(np.concatenate(parts)).astype(np.int32)
        station = nodes[codes[nodes] == STATION].astype(np.int32)
        return nodes, station

    def _combine(
        self,
        candidates: list[Candidate],
        islands: list[Island],
        nodes: Ints,
        sources: Ints,
        closed: NDArray[np.bool_],
    ) -> tuple[list[Candidate], ScenarioResult | None]:
        """The best feasible candidate of each island, checked together; when they do not
        fit together (two islands on one receiving feeder), islands are added greedily, most
        customers first, each with its best candidate that still fits."""
        by_island: dict[int, list[Candidate]] = {}
        for c in sorted(candidates, key=Candidate.rank_key):
            if c.ok:
                by_island.setdefault(c.island, []).append(c)
        best = [cs[0] for cs in by_island.values()]
        if len(best) <= 1:
            return best, (best[0].check if best else None)
        model = self.p.model

        def together(picked: Sequence[Candidate]) -> list[tuple[int, bool]]:
            return [op for c in picked for op in c.ops]

        feeders = self.topology.feeder_of_nodes
        result = model.check(nodes, sources, closed, [together(best)], outside_feeders=feeders)[0]
        if result.ok:
            return best, result
        chosen: list[Candidate] = []
        last: ScenarioResult | None = None
        order = sorted(by_island, key=lambda i: -islands[i].customers)
        for i in order:
            options = by_island[i]
            results = model.check(
                nodes,
                sources,
                closed,
                [together([*chosen, c]) for c in options],
                outside_feeders=feeders,
            )
            fit = next((k for k, r in enumerate(results) if r.ok), None)
            if fit is not None:
                chosen.append(options[fit])
                last = results[fit]
        return chosen, last

    # -- 6. steps ---------------------------------------------------------------------------------
    def _steps(
        self,
        tripped: tuple[int, ...],
        isolation: list[int],
        islands: list[Island],
        chosen: list[Candidate],
    ) -> tuple[Step, ...]:
        """Remote steps first (isolation, then the islands whose isolation is all remote),
        then the crew's manual ones; times accumulate per stage."""
        p, net = self.p, self.net
        settings = p.settings
        manual_isolation = {e for e in isolation if not p._remote[e]}
        plan: list[tuple[int, bool, StepAction, int]] = []
        waiting: list[tuple[int, bool, StepAction, int]] = []
        plan += [(e, False, StepAction.ISOLATE, -1) for e in isolation if e not in manual_isolation]
        manual = [(e, False, StepAction.ISOLATE, -1) for e in isolation if e in manual_isolation]
        done: set[tuple[int, bool]] = set()
        upstream_first = sorted(chosen, key=lambda c: not any(e in tripped for e in c.sources))
        for c in upstream_first:
            island_nodes = set(c.energised.tolist()) | set(islands[c.island].nodes.tolist())
            bounded_by_manual = any(
                int(p._edge_from[e]) in island_nodes or int(p._edge_to[e]) in island_nodes
                for e in manual_isolation
            )
            ops: list[tuple[int, bool, StepAction, int]] = []
            for e, close in c.ops:
                if (e, close) in done:
                    continue
                done.add((e, close))
                action = (
                    StepAction.SPLIT
                    if not close
                    else StepAction.RESTORE_UPSTREAM
                    if e in tripped
                    else StepAction.RESTORE_TIE
                )
                ops.append((e, close, action, c.island))
            if bounded_by_manual or any(not p._remote[e] for e, _, _, _ in ops):
                waiting += ops
            else:
                plan += ops
        steps: list[Step] = []
        t = 0.0
        for e, close, action, island in plan:
            t += settings.remote_operation_s / 60.0
            steps.append(Step(e, net.edge_id(e), close, True, action, island, t))
        crew_t = max(t, settings.crew_travel_min)
        for e, close, action, island in manual + waiting:
            if p._remote[e]:
                crew_t += settings.remote_operation_s / 60.0
            else:
                crew_t += settings.manual_operation_min
            steps.append(Step(e, net.edge_id(e), close, bool(p._remote[e]), action, island, crew_t))
        return tuple(steps)


def _end_state(plan: RestorationPlan) -> NDArray[np.bool_]:
    """Every edge's state after the plan: the base (trip and isolation) and its steps."""
    closed = plan.base_closed.copy()
    for step in plan.steps:
        closed[step.edge] = step.close
    return closed
