"""Trouble-call analysis: which device operated, from the customers who called.

Pure: the network, its present topology, the calls and the meter evidence come in; frozen
values go out. The model (docs/calls.md) is the one of the domain notes: under the hypothesis
"device D is open", each of the ``n_D`` customers below it calls with probability ``q``; a
customer who is on calls with probability ``ε``. With ``k_D`` callers below D,

    S(D) = k_D·ln(q/ε) + (n_D − k_D)·ln((1 − q)/(1 − ε))  (+ meter evidence)

for every device at once from one preorder prefix sum (the subtree of a node is a contiguous
run of its feeder's preorder). Several simultaneous outages: the antichain of devices that
maximises Σ (S(D) − λ) — each device must pay ``λ`` for itself — found exactly by one
bottom-up tree DP over the nodes that have a call below them. The classic rules are the
alternative :attr:`CallMethod.RULES`. A device telemetered closed, and every device above it,
is never predicted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from openoms.errors import InputError, UnknownDeviceError
from openoms.grid.model import ElementKind, Network
from openoms.grid.schema import SwitchKind
from openoms.grid.topology import Topology

if TYPE_CHECKING:
    from openoms.settings import Settings

__all__ = [
    "CANDIDATE_KINDS",
    "Call",
    "CallGroup",
    "CallMethod",
    "CallOptions",
    "CallTree",
    "MeterEvidence",
    "PredictedOutage",
    "Prediction",
    "PredictionStatus",
    "RollUp",
    "ScreenedCall",
    "group_calls",
    "prediction_status",
]

Ints = NDArray[np.int32]
Floats = NDArray[np.float64]

CANDIDATE_KINDS: Final = frozenset(
    {
        SwitchKind.BREAKER.value,
        SwitchKind.RECLOSER.value,
        SwitchKind.SECTIONALISER.value,
        SwitchKind.FUSE.value,
        SwitchKind.LOAD_BREAK_SWITCH.value,
    }
)
"""Switch kinds where an outage can start (a disconnector never operates on its own)."""

TRANSFORMER_AREA: Final = "transformer_area"  # device kind of a unit's own transformer / fuse
HV_CUSTOMER: Final = "hv_customer"  # device kind of an HV customer's own connection


class CallMethod(StrEnum):
    BAYES = "bayes"  # the exact roll-up and the tree DP
    RULES = "rules"  # one transformer's calls → it; two or more children out → the parent


class PredictionStatus(StrEnum):
    PREDICTED = "predicted"
    PROBABLE = "probable"  # unconfirmed for ``probable_after``, or ``probable_calls`` calls
    CONFIRMED = "confirmed"  # by the dispatcher or a device event


@dataclass(frozen=True, slots=True)
class CallOptions:
    """The model's parameters (settings ``call_*``; docs/calls.md)."""

    caller_rate: float = 0.10  # q: a customer who is off calls
    false_call_rate: float = 0.001  # ε: a customer who is on calls
    outage_penalty: float = math.log(10.0)  # λ: prior odds 1:10 for each more device open
    last_gasp_llr: float = math.log(0.99 / 1e-4)  # a meter's last gasp: near-certain off
    ping_on_llr: float = math.log(1e-4 / 0.99)  # a meter answering a ping: strongly on
    window: timedelta = timedelta(minutes=30)  # a call group's span from its first call
    probable_after: timedelta = timedelta(minutes=15)
    probable_calls: int = 5
    rules_children: int = 2  # rules: this many child units out predict the parent

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 < self.false_call_rate < self.caller_rate < 1.0:
            problems.append(
                f"call rates need 0 < false_call_rate ({self.false_call_rate}) < caller_rate "
                f"({self.caller_rate}) < 1"
            )
        if self.outage_penalty < 0:
            problems.append(f"outage_penalty is {self.outage_penalty}, must be ≥ 0")
        if self.window <= timedelta(0) or self.probable_after <= timedelta(0):
            problems.append("window and probable_after must be positive")
        if self.probable_calls < 1 or self.rules_children < 1:
            problems.append("probable_calls and rules_children must be at least 1")
        if problems:
            raise InputError("call options: " + "; ".join(problems))

    @classmethod
    def from_settings(cls, settings: Settings) -> CallOptions:
        """The ``call_*`` settings."""
        return cls(
            caller_rate=settings.call_caller_rate,
            false_call_rate=settings.call_false_rate,
            outage_penalty=settings.call_outage_penalty,
            window=timedelta(minutes=settings.call_window_min),
            probable_after=timedelta(minutes=settings.call_probable_min),
            probable_calls=settings.call_probable_calls,
        )

    @property
    def call_llr(self) -> float:
        """ln(q/ε): what one caller says for "off"."""
        return math.log(self.caller_rate / self.false_call_rate)

    @property
    def silent_llr(self) -> float:
        """ln((1 − q)/(1 − ε)) < 0: what one customer who did not call says."""
        return math.log((1.0 - self.caller_rate) / (1.0 - self.false_call_rate))


@dataclass(frozen=True, slots=True)
class Call:
    """A customer call: ``unit`` is a :class:`CallTree` unit (transformer areas first, then HV
    customers); ``account`` makes repeated calls of one customer count once."""

    unit: int
    at: datetime
    account: str | None = None


@dataclass(frozen=True, slots=True)
class MeterEvidence:
    """Meter data of one unit: meters that sent a last gasp, meters that answered a ping."""

    unit: int
    last_gasp: int = 0
    ping_on: int = 0


@dataclass(frozen=True, slots=True)
class PredictedOutage:
    """One predicted operated device and what it explains."""

    device: str  # a switch id, or the transformer area / HV customer id (its own device)
    device_kind: str  # the switch kind, TRANSFORMER_AREA or HV_CUSTOMER
    feeder: str | None
    transformer_areas: tuple[str, ...]
    hv_customers: tuple[str, ...]
    customers_off: int  # LV customers of the areas + HV customers
    callers: int
    calls: tuple[int, ...]  # positions in the calls given
    score: float  # S(D)
    status: PredictionStatus
    first_call_at: datetime
    last_call_at: datetime


@dataclass(frozen=True, slots=True)
class ScreenedCall:
    """A lone call whose area's other customers are on: a customer-side problem."""

    call: int
    unit_id: str
    area_score: float  # S of the caller's own area, ≤ λ


@dataclass(frozen=True, slots=True)
class Prediction:
    method: CallMethod
    outages: tuple[PredictedOutage, ...]
    screened: tuple[ScreenedCall, ...]
    unexplained: tuple[int, ...]  # several callers in an area, too few for it yet
    not_energised: tuple[int, ...]  # calls from areas already off (a known outage)


@dataclass(frozen=True, slots=True, eq=False)
class RollUp:
    """Every candidate device (closed tree switch edge of a candidate kind): customers below
    (n_D), distinct callers below (k_D) and S(D)."""

    edges: Ints
    customers: NDArray[np.int64]
    callers: NDArray[np.int64]
    score: Floats


@dataclass(frozen=True, slots=True, eq=False)
class _UnitEvidence:
    units: Ints
    nodes: Ints
    w: Floats
    callers: NDArray[np.int64]
    extra: NDArray[np.int64]
    calls_of: dict[int, list[int]]
    on: list[int]
    dead: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CallGroup:
    """Calls of one feeder (``-1``: not on a feeder) within the window of the first."""

    feeder: int
    calls: tuple[int, ...]
    first_at: datetime
    last_at: datetime


def prediction_status(
    *,
    first_call_at: datetime,
    now: datetime,
    calls: int,
    confirmed: bool = False,
    options: CallOptions | None = None,
) -> PredictionStatus:
    """Confirmed if confirmed; probable after ``probable_after`` or ``probable_calls``."""
    options = options or CallOptions()
    if confirmed:
        return PredictionStatus.CONFIRMED
    if now - first_call_at >= options.probable_after or calls >= options.probable_calls:
        return PredictionStatus.PROBABLE
    return PredictionStatus.PREDICTED


def _up_levels(depth: Ints, nodes: Ints) -> list[Ints]:
    """``nodes`` grouped by depth, deepest group first."""
    if not len(nodes):
        return []
    by_depth = nodes[np.argsort(-depth[nodes], kind="stable")]
    d = depth[by_depth]
    cuts = np.flatnonzero(d[1:] != d[:-1]) + 1
    return list(np.split(by_depth, cuts))


class CallTree:
    """The network's feeder trees as the call analysis needs them; one per topology state.

    Build O(n); :meth:`predict` costs O(calls × depth) plus the devices it reports on.
    """

    def __init__(self, network: Network, topology: Topology) -> None:
        self.network = network
        self.topology = topology
        ta, hv = network.transformer_areas, network.hv_customers
        self.n_areas = len(ta.id)
        self.unit_ids: tuple[str, ...] = (*ta.id, *hv.id)
        self.unit_node: Ints = np.concatenate([ta.node, hv.node]).astype(np.int32)
        self.unit_customers = np.concatenate(
            [np.maximum(ta.lv_customers, 0), np.ones(len(hv.id), dtype=np.int64)]
        ).astype(np.int64)
        n = len(network.nodes.id)
        feeder = topology.feeder_of_nodes
        self.parent: Ints = topology.parent_of_nodes.copy()
        self.parent_edge: Ints = topology.parent_edge_of_nodes.copy()
        self.depth: Ints = topology.depth_of_nodes.copy()
        self.feeder: Ints = feeder.copy()
        order = np.concatenate(
            [np.empty(0, dtype=np.int32)]
            + [topology.feeder_nodes(f) for f in range(topology.n_feeders)]
        ).astype(np.int32)
        self.pos = np.full(n, -1, dtype=np.int64)
        self.pos[order] = np.arange(len(order))
        # subtree sizes and customers below each node: one bottom-up pass by depth
        size = np.zeros(n, dtype=np.int64)
        size[order] = 1
        below = np.bincount(self.unit_node, weights=self.unit_customers, minlength=n)
        self._levels = _up_levels(self.depth, order)
        on_feeder = np.zeros(n, dtype=np.bool_)
        on_feeder[order] = True
        for level in self._levels:
            up = self.parent[level]
            keep = up >= 0
            keep[keep] = on_feeder[up[keep]]
            np.add.at(size, up[keep], size[level[keep]])
            np.add.at(below, up[keep], below[level[keep]])
        self.size = size
        self.customers_below = below.astype(np.int64)  # n_D of the node's parent edge
        # candidate devices: closed tree switch edges of the candidate kinds, by their child
        n_sections = len(network.sections.id)
        sw = network.switches
        self.candidate = np.zeros(network.n_edges, dtype=np.bool_)
        kinds = np.array([k in CANDIDATE_KINDS for k in sw.kind], dtype=np.bool_)
        self.candidate[n_sections:] = kinds
        self.edge_child = np.full(network.n_edges, -1, dtype=np.int32)
        tree_children = order[self.parent_edge[order] >= 0]
        self.edge_child[self.parent_edge[tree_children]] = tree_children
        self.candidate &= self.edge_child >= 0
        # units in preorder (for "which units lie below this node")
        unit_pos = self.pos[self.unit_node]
        self._units_in_order = np.argsort(unit_pos, kind="stable").astype(np.int32)
        self._unit_pos_sorted = unit_pos[self._units_in_order]
        self.order = order
        self._forbidden: tuple[frozenset[str], NDArray[np.bool_]] | None = None

    # -- ids ------------------------------------------------------------------------------
    def unit(self, element_id: str) -> int:
        """The unit of a transformer area or HV customer id."""
        kind, index = self.network.locate(element_id)  # UnknownDeviceError if unknown
        if kind is ElementKind.TRANSFORMER_AREA:
            return index
        if kind is ElementKind.HV_CUSTOMER:
            return self.n_areas + index
        raise InputError(
            f"{element_id} is a {kind.value[:-1]}, not a transformer area or HV customer"
        )

    def edges(self, device_ids: Collection[str]) -> list[int]:
        out = []
        for device_id in device_ids:
            edge = self.network.edge_index(device_id)
            if edge is None:
                raise UnknownDeviceError(device_id, network=self.network.name)
            out.append(edge)
        return out

    def units_below(self, node: int) -> Ints:
        """Units at ``node`` and below it (feeder nodes only)."""
        start = self.pos[node]
        lo, hi = np.searchsorted(self._unit_pos_sorted, [start, start + self.size[node]])
        units: Ints = self._units_in_order[lo:hi]
        return units

    # -- the prediction ------------------------------------------------------------------
    def forbidden(self, telemetered_closed: Collection[str]) -> NDArray[np.bool_]:
        """Edges never predicted: each device telemetered closed and everything above it
        (the last answer is kept: the set seldom changes between calls)."""
        key = frozenset(telemetered_closed)
        if self._forbidden is not None and self._forbidden[0] == key:
            return self._forbidden[1]
        out = np.zeros(self.network.n_edges, dtype=np.bool_)
        for edge in self.edges(telemetered_closed):
            child = int(self.edge_child[edge])
            if child < 0:
                continue  # open, or not on a feeder: says nothing about anything above
            _, path = self.topology.path_to_source(child)
            out[path] = True
        out.flags.writeable = False
        self._forbidden = (key, out)
        return out

    def _evidence(
        self, calls: Sequence[Call], evidence: Sequence[MeterEvidence], options: CallOptions
    ) -> _UnitEvidence:
        """Per unit with evidence: w_u, distinct callers (one per account, one per call
        without an account), callers beyond the customer count; calls by unit."""
        a, b = options.call_llr, options.silent_llr
        n_units = len(self.unit_ids)
        for i, call in enumerate(calls):
            if not 0 <= call.unit < n_units:
                raise InputError(f"call {i}: unit {call.unit} is outside 0..{n_units - 1}")
        for i, item in enumerate(evidence):
            if not 0 <= item.unit < n_units or min(item.last_gasp, item.ping_on) < 0:
                raise InputError(f"meter evidence {i}: unit {item.unit} or a count is invalid")
        on_feeder = self.pos[self.unit_node] >= 0
        on = [i for i, c in enumerate(calls) if on_feeder[c.unit]]
        dead = tuple(i for i, c in enumerate(calls) if not on_feeder[c.unit])
        callers: dict[int, set[object]] = defaultdict(set)
        calls_of: dict[int, list[int]] = defaultdict(list)
        for i in on:
            call = calls[i]
            callers[call.unit].add(call.account if call.account is not None else ("call", i))
            calls_of[call.unit].append(i)
        delta: dict[int, float] = defaultdict(float)  # w_u − n_u·b, the sparse part
        k_of: dict[int, int] = {}
        extra: dict[int, int] = {}
        for unit, who in callers.items():
            k = len(who)
            k_of[unit] = k
            extra[unit] = max(0, k - int(self.unit_customers[unit]))
            delta[unit] += k * (a - b) + extra[unit] * b
        for item in evidence:
            if on_feeder[item.unit]:
                delta[item.unit] += item.last_gasp * options.last_gasp_llr
                delta[item.unit] += item.ping_on * options.ping_on_llr
        units = np.array(sorted(delta), dtype=np.int32)
        return _UnitEvidence(
            units=units,
            nodes=self.unit_node[units],
            w=np.array([delta[u] for u in units.tolist()]) + b * self.unit_customers[units],
            callers=np.array([k_of.get(u, 0) for u in units.tolist()], dtype=np.int64),
            extra=np.array([extra.get(u, 0) for u in units.tolist()], dtype=np.int64),
            calls_of=dict(calls_of),
            on=on,
            dead=dead,
        )

    def roll_up(
        self,
        calls: Sequence[Call],
        *,
        evidence: Sequence[MeterEvidence] = (),
        options: CallOptions | None = None,
    ) -> RollUp:
        """n_D, k_D and S(D) of every candidate device in one pass: node values summed as a
        prefix over the feeders' preorder, a subtree being the run ``pos .. pos + size``.
        O(n)."""
        options = options or CallOptions()
        b = options.silent_llr
        ev = self._evidence(calls, evidence, options)
        n = len(self.pos)
        values = np.zeros((len(self.order) + 1, 3))
        node_values = np.zeros((n, 3))
        node_values[:, 0] = b * np.bincount(
            self.unit_node, weights=self.unit_customers, minlength=n
        )
        node_values[:, 1] = np.bincount(self.unit_node, weights=self.unit_customers, minlength=n)
        np.add.at(
            node_values,
            ev.nodes,
            np.stack([ev.w - b * self.unit_customers[ev.units], ev.extra, ev.callers], axis=1),
        )
        np.cumsum(node_values[self.order], axis=0, out=values[1:])
        edges = np.flatnonzero(self.candidate).astype(np.int32)
        child = self.edge_child[edges]
        start = self.pos[child]
        stop = start + self.size[child]
        sums = values[stop] - values[start]
        return RollUp(
            edges=edges,
            customers=sums[:, 1].round().astype(np.int64),
            callers=sums[:, 2].round().astype(np.int64),
            score=sums[:, 0],
        )

    def predict(
        self,
        calls: Sequence[Call],
        *,
        evidence: Sequence[MeterEvidence] = (),
        telemetered_closed: Collection[str] = (),
        method: CallMethod = CallMethod.BAYES,
        options: CallOptions | None = None,
        now: datetime | None = None,
    ) -> Prediction:
        """The devices that best explain ``calls`` (``now``: for the status; default the
        last call's time)."""
        options = options or CallOptions()
        b, lam = options.silent_llr, options.outage_penalty
        ev = self._evidence(calls, evidence, options)
        units, at, unit_w, k_units, x_units = ev.units, ev.nodes, ev.w, ev.callers, ev.extra
        calls_of, on, dead = ev.calls_of, ev.on, ev.dead
        # the nodes with evidence below them: the union of the units' paths to the source;
        # every other node's subtree adds n·b only, and no device there can be predicted
        relevant = self._ancestors(at)
        local = np.full(len(self.pos), -1, dtype=np.int64)
        local[relevant] = np.arange(len(relevant))
        levels = _up_levels(self.depth, relevant)
        sums = np.zeros((len(relevant), 3))  # per node: sparse score part, callers, extra
        sparse = np.stack([unit_w - b * self.unit_customers[units], k_units, x_units], axis=1)
        np.add.at(sums, local[at], sparse)
        for level in levels:  # subtree sums, deepest first
            above = local[self.parent[level]]
            keep = above >= 0
            np.add.at(sums, above[keep], sums[local[level[keep]]])
        score = b * self.customers_below[relevant] + sums[:, 0]
        callers_below = sums[:, 1].round().astype(np.int64)
        customers = self.customers_below[relevant] + sums[:, 2].round().astype(np.int64)
        edges = self.parent_edge[relevant]
        device = np.zeros(len(relevant), dtype=np.bool_)
        device[edges >= 0] = self.candidate[edges[edges >= 0]]
        allowed = device.copy()
        allowed[edges >= 0] &= ~self.forbidden(telemetered_closed)[edges[edges >= 0]]
        parent_local = local[self.parent[relevant]]
        if method is CallMethod.BAYES:
            chosen, chosen_unit = _tree_dp(
                levels, local, parent_local, score=score, allowed=allowed,
                unit_local=local[at], unit_w=unit_w, lam=lam,
            )  # fmt: skip
        else:
            chosen, chosen_unit = _rules(
                levels, local, parent_local, device=device, allowed=allowed,
                unit_local=local[at], callers=k_units, options=options,
            )  # fmt: skip
        covered = np.zeros(len(relevant), dtype=np.bool_)
        for level in reversed(levels):  # top down: below a chosen device
            rows = local[level]
            up = parent_local[rows]
            covered[rows] = chosen[rows] | np.where(up >= 0, covered[np.maximum(up, 0)], False)
        top = chosen & np.where(parent_local >= 0, ~covered[np.maximum(parent_local, 0)], True)
        unit_top = chosen_unit & ~covered[local[at]]
        # a lone caller whose own area does not pay for itself: customer-side (docs/calls.md)
        lone = (k_units == 1) & (unit_w <= lam) & ~covered[local[at]]
        unit_top &= ~lone
        owner: dict[int, int] = {}  # call → the top device node (≥ 0) or ~unit
        for node in relevant[top].tolist():
            for u in self.units_below(node).tolist():
                for c in calls_of.get(u, ()):
                    owner[c] = node
        for r in np.flatnonzero(unit_top).tolist():
            for c in calls_of.get(int(units[r]), ()):
                owner[c] = ~int(units[r])
        net = self.network
        outages = []
        for node in relevant[top].tolist():
            i = int(local[node])
            edge = int(self.parent_edge[node])
            below = self.units_below(node)
            explained = tuple(c for c, o in sorted(owner.items()) if o == node)
            outages.append(
                self._outage(
                    calls, explained, now, options,
                    device=net.edge_id(edge),
                    kind=net.switches.kind[edge - len(net.sections.id)],
                    feeder=int(self.feeder[node]),
                    below=below,
                    customers=int(customers[i]),
                    callers=int(callers_below[i]),
                    score=float(score[i]),
                )
            )  # fmt: skip
        for r in np.flatnonzero(unit_top).tolist():
            u = int(units[r])
            explained = tuple(c for c, o in sorted(owner.items()) if o == ~u)
            outages.append(
                self._outage(
                    calls, explained, now, options,
                    device=self.unit_ids[u],
                    kind=TRANSFORMER_AREA if u < self.n_areas else HV_CUSTOMER,
                    feeder=int(self.feeder[self.unit_node[u]]),
                    below=np.array([u], dtype=np.int32),
                    customers=int(self.unit_customers[u] + x_units[r]),
                    callers=int(k_units[r]),
                    score=float(unit_w[r]),
                )
            )  # fmt: skip
        screened = tuple(
            ScreenedCall(c, self.unit_ids[int(units[r])], float(unit_w[r]))
            for r in np.flatnonzero(lone).tolist()
            for c in calls_of.get(int(units[r]), ())
        )
        done = set(owner) | {s.call for s in screened}
        return Prediction(
            method=method,
            outages=tuple(sorted(outages, key=lambda o: (o.first_call_at, o.device))),
            screened=screened,
            unexplained=tuple(i for i in on if i not in done),
            not_energised=dead,
        )

    def _outage(
        self,
        calls: Sequence[Call],
        explained: tuple[int, ...],
        now: datetime | None,
        options: CallOptions,
        *,
        device: str,
        kind: str,
        feeder: int,
        below: Ints,
        customers: int,
        callers: int,
        score: float,
    ) -> PredictedOutage:
        reference = now if now is not None else max((c.at for c in calls), default=None)
        times = [calls[c].at for c in explained] or ([] if reference is None else [reference])
        if not times:
            raise InputError("meter data alone predicts an outage: give now= for its time")
        first, last = min(times), max(times)
        reference = reference or last
        areas = below[below < self.n_areas]
        hvs = below[below >= self.n_areas]
        return PredictedOutage(
            device=device,
            device_kind=kind,
            feeder=self.network.feeders.id[feeder] if feeder >= 0 else None,
            transformer_areas=tuple(self.unit_ids[u] for u in np.sort(areas).tolist()),
            hv_customers=tuple(self.unit_ids[u] for u in np.sort(hvs).tolist()),
            customers_off=customers,
            callers=callers,
            calls=explained,
            score=round(score, 6),
            status=prediction_status(
                first_call_at=first,
                now=reference,
                calls=len(explained),
                options=options,
            ),
            first_call_at=first,
            last_call_at=last,
        )

    def _ancestors(self, nodes: Ints) -> Ints:
        """``nodes`` and every feeder node above them, sorted."""
        seen = np.zeros(len(self.pos), dtype=np.bool_)
        frontier = np.unique(nodes)
        while len(frontier):
            seen[frontier] = True
            up = self.parent[frontier]
            up = up[up >= 0]
            up = up[(self.pos[up] >= 0) & ~seen[up]]
            frontier = np.unique(up)
        out: Ints = np.flatnonzero(seen).astype(np.int32)
        return out

    def group_calls(self, calls: Sequence[Call], *, window: timedelta) -> list[CallGroup]:
        """:func:`group_calls` by the feeder of each call's unit."""
        feeders = [int(self.feeder[self.unit_node[c.unit]]) for c in calls]
        return group_calls(calls, feeders, window=window)


def group_calls(
    calls: Sequence[Call], feeders: Sequence[int], *, window: timedelta
) -> list[CallGroup]:
    """Calls in time order per feeder; a new group when a call comes more than ``window``
    after its group's first call. Groups in order of their first call."""
    by_feeder: dict[int, list[int]] = defaultdict(list)
    for i in sorted(range(len(calls)), key=lambda i: (calls[i].at, i)):
        by_feeder[feeders[i]].append(i)
    groups: list[CallGroup] = []
    for feeder, members in by_feeder.items():
        current: list[int] = []
        for i in members:
            if current and calls[i].at - calls[current[0]].at > window:
                groups.append(_group(feeder, current, calls))
                current = []
            current.append(i)
        groups.append(_group(feeder, current, calls))
    return sorted(groups, key=lambda g: (g.first_at, g.feeder))


def _group(feeder: int, members: list[int], calls: Sequence[Call]) -> CallGroup:
    return CallGroup(feeder, tuple(members), calls[members[0]].at, calls[members[-1]].at)


def _tree_dp(
    levels: list[Ints],
    local: NDArray[np.int64],
    parent_local: NDArray[np.int64],
    *,
    score: Floats,
    allowed: NDArray[np.bool_],
    unit_local: NDArray[np.int64],
    unit_w: Floats,
    lam: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Maximise Σ (S(D) − λ) over antichains of devices (areas' own devices included):
    best(v) = Σ_{units at v} max(0, w_u − λ) + Σ_{children c} best_edge(c), where
    best_edge(c) = max(S(c) − λ, best(c)) if c's parent edge may be predicted, else best(c).
    A device is chosen only when strictly better (a tie keeps the lower devices)."""
    chosen_unit = unit_w - lam > 0
    best = np.zeros(len(score))
    np.add.at(best, unit_local, np.maximum(unit_w - lam, 0.0))
    chosen = np.zeros(len(score), dtype=np.bool_)
    for level in levels:
        i = local[level]
        chosen[i] = allowed[i] & (score[i] - lam > best[i])
        value = np.where(chosen[i], score[i] - lam, best[i])
        up = parent_local[i]
        keep = up >= 0
        np.add.at(best, up[keep], value[keep])
    return chosen, chosen_unit


def _rules(
    levels: list[Ints],
    local: NDArray[np.int64],
    parent_local: NDArray[np.int64],
    *,
    device: NDArray[np.bool_],
    allowed: NDArray[np.bool_],
    unit_local: NDArray[np.int64],
    callers: NDArray[np.int64],
    options: CallOptions,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Units with a caller are out. Counting a device's child units (areas and devices
    directly below it): ``rules_children`` or more out → the device is out, and counts as one
    out unit for the device above it; a device not out counts as none (a section or a
    disconnector passes its count through)."""
    chosen_unit = callers > 0
    out = np.zeros(len(parent_local), dtype=np.int64)
    np.add.at(out, unit_local, chosen_unit.astype(np.int64))
    chosen = np.zeros(len(parent_local), dtype=np.bool_)
    for level in levels:
        i = local[level]
        chosen[i] = allowed[i] & (out[i] >= options.rules_children)
        passed = np.where(device[i], chosen[i].astype(np.int64), out[i])
        up = parent_local[i]
        keep = up >= 0
        np.add.at(out, up[keep], passed[keep])
    return chosen, chosen_unit
