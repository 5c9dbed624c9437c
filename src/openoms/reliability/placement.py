"""Where the next automation pays off: candidate changes ranked by predicted benefit per cost.

Pure: a :class:`~openoms.grid.model.Network`, the predictive settings and a cost table in;
frozen results out. Each candidate is one change to the network:

- ``remote_switch``: an existing manual switch (not a fuse) gets a remote terminal (FTU
  retrofit): its switching time becomes the remote one;
- ``new_ftu_switch``: a remote load-break switch (with its FTU) in the middle of a section: the
  section is split in two halves of half its length (and half its own failure rate, when it
  has one), joined by the new switch, which bounds a new zone;
- ``recloser``: a fuse, or a closed non-protective switch, replaced by a remote-controlled
  recloser: it clears faults below it by itself;
- ``tie``: a normally-open remote tie switch between two given nodes on different feeders (or
  a feeder node and a station busbar).

Each is evaluated with :func:`openoms.reliability.predict.predict`: the change in SAIFI,
SAIDI and EENS of the system and of each feeder it touches, and ranked by the benefit (the
objective's reduction: SAIDI minutes per customer-year by default) per unit cost (the cost
table, 10k CNY in the settings). :meth:`Placement.plan` picks greedily for a budget (a number
of devices, a cost limit, or both) and re-evaluates after every pick, because benefits
interact: the second FTU on a feeder is worth less than the first.

Two evaluation paths give the same numbers (tests/reliability/test_placement.py): the
*incremental* one predicts only the feeders a candidate touches, each on a sub-network of
that feeder alone (its nodes and edges, its busbar, and its ties with their far ends moved
onto that busbar: the engine only asks whether a tie's far end is energised from elsewhere);
the *full* one applies the candidate to the whole network and predicts it all. The
incremental one predicts the candidates of a feeder in batches: copies of the feeder's
sub-network, one candidate made in each, side by side as separate feeders of one network
(the network editing is :mod:`openoms.reliability.network_edits`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from openoms.errors import InputError, UnsupportedOperationError
from openoms.grid.model import ElementKind, Network
from openoms.grid.schema import SectionKind, SwitchKind
from openoms.grid.topology import STATION, Topology
from openoms.reliability.network_edits import (
    add_switch,
    feeder_alone,
    fresh_id,
    ids_of,
    side_by_side,
    split_section,
    with_tables,
)
from openoms.reliability.predict import PROTECTIVE, Override, PredictSettings, predict

__all__ = [
    "KINDS",
    "OBJECTIVES",
    "Candidate",
    "Effect",
    "FeederChange",
    "Placement",
    "Plan",
    "PlanStep",
    "apply_candidate",
]

Floats = NDArray[np.float64]
Progress = Callable[[int, int], None]

KINDS: Final = ("remote_switch", "new_ftu_switch", "recloser", "tie")
OBJECTIVES: Final = ("saidi", "saifi", "eens")
_PROTECTIVE: Final = frozenset(k.value for k in PROTECTIVE)
_TO_RECLOSER: Final = frozenset(
    {
        SwitchKind.FUSE.value,
        SwitchKind.SECTIONALISER.value,
        SwitchKind.LOAD_BREAK_SWITCH.value,
        SwitchKind.DISCONNECTOR.value,
    }
)
_LOOP: Final = "a closed edge off the feeders' trees (a loop), which the prediction ignores"
_BATCH: Final = 32  # candidates of one feeder predicted together
_EPS: Final = 1e-12  # a benefit below this (relative) is no benefit: rounding only


@dataclass(frozen=True, slots=True)
class Candidate:
    """One change: ``kind`` (:data:`KINDS`) on ``element`` (a switch id for remote_switch
    and recloser, a section id for new_ftu_switch, the first node id for tie, ``other``
    being the second)."""

    kind: str
    element: str
    other: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.element}" + (f":{self.other}" if self.other else "")


@dataclass(frozen=True, slots=True)
class FeederChange:
    """The change on one feeder (negative: better)."""

    id: str
    name: str
    customers: float
    d_saifi: float
    d_saidi_h: float
    d_eens_kwh: float


@dataclass(frozen=True, slots=True)
class Effect:
    """A candidate's predicted change of the system (negative: better), its cost and its
    benefit (the objective's reduction, > 0 is good) per cost."""

    candidate: Candidate
    name: str  # the element's name (the id when it has none); a tie: both node names
    cost: float
    d_saifi: float
    d_saidi_h: float
    d_eens_kwh: float
    feeders: tuple[FeederChange, ...]
    benefit: float  # saidi: minutes per customer-year; saifi: per customer-year; eens: kWh/yr
    ratio: float  # benefit per unit cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.candidate.kind,
            "element": self.candidate.element,
            "other": self.candidate.other or None,
            "name": self.name,
            "cost": self.cost,
            "d_saifi": self.d_saifi,
            "d_saidi_min": 60.0 * self.d_saidi_h,
            "d_eens_kwh": self.d_eens_kwh,
            "benefit": self.benefit,
            "benefit_per_cost": self.ratio,
            "feeders": [
                {
                    "id": f.id,
                    "name": f.name,
                    "d_saifi": f.d_saifi,
                    "d_saidi_min": 60.0 * f.d_saidi_h,
                    "d_eens_kwh": f.d_eens_kwh,
                }
                for f in self.feeders
            ],
        }


@dataclass(frozen=True, slots=True)
class PlanStep:
    effect: Effect  # its marginal effect when picked (after the earlier picks)
    cost_total: float
    saifi: float  # the system after this pick
    saidi_h: float
    eens_kwh: float


@dataclass(frozen=True, slots=True)
class Plan:
    objective: str
    count_limit: int | None
    cost_limit: float | None
    customers: float
    base_saifi: float
    base_saidi_h: float
    base_eens_kwh: float
    steps: tuple[PlanStep, ...]

    @property
    def cost(self) -> float:
        return self.steps[-1].cost_total if self.steps else 0.0

    def final(self) -> tuple[float, float, float]:
        """System SAIFI, SAIDI (h) and EENS after every pick."""
        if not self.steps:
            return self.base_saifi, self.base_saidi_h, self.base_eens_kwh
        last = self.steps[-1]
        return last.saifi, last.saidi_h, last.eens_kwh

    def as_dict(self) -> dict[str, Any]:
        saifi, saidi, eens = self.final()

        def pct(after: float, before: float) -> float | None:
            return 100.0 * (after - before) / before if before > 0 else None

        return {
            "objective": self.objective,
            "count_limit": self.count_limit,
            "cost_limit": self.cost_limit,
            "devices": len(self.steps),
            "cost": self.cost,
            "customers": self.customers,
            "before": {
                "saifi": self.base_saifi,
                "saidi_min": 60.0 * self.base_saidi_h,
                "eens_kwh": self.base_eens_kwh,
            },
            "after": {"saifi": saifi, "saidi_min": 60.0 * saidi, "eens_kwh": eens},
            "change_pct": {
                "saifi": pct(saifi, self.base_saifi),
                "saidi": pct(saidi, self.base_saidi_h),
                "eens": pct(eens, self.base_eens_kwh),
            },
            "steps": [
                dict(
                    s.effect.as_dict(),
                    cost_total=s.cost_total,
                    saifi_after=s.saifi,
                    saidi_min_after=60.0 * s.saidi_h,
                    eens_kwh_after=s.eens_kwh,
                )
                for s in self.steps
            ],
        }


# -- per-feeder sums --------------------------------------------------------------------------


def _sums(network: Network, settings: PredictSettings, over: Mapping[str, Override]) -> Floats:
    """(feeders, 4): customers, customer interruptions, customer-hours and EENS per year."""
    lp = predict(network, settings, over, top=0).load_points
    ok = lp.feeder >= 0
    f = lp.feeder[ok]
    n = len(network.feeders.id)
    return np.stack(
        [
            np.bincount(f, lp.customers[ok], minlength=n),
            np.bincount(f, lp.failure_rate[ok] * lp.customers[ok], minlength=n),
            np.bincount(f, lp.unavailability_h[ok] * lp.customers[ok], minlength=n),
            np.bincount(f, lp.unavailability_h[ok] * lp.load_kw[ok], minlength=n),
        ],
        axis=1,
    )


def _apply(
    network: Network,
    over: Mapping[str, Override],
    candidate: Candidate,
    outside: int | None = None,
) -> tuple[Network, dict[str, Override]]:
    """``network`` and its overrides with ``candidate`` made. ``outside``: the node that
    stands for every node not in ``network`` (a feeder sub-network's busbar)."""
    over = dict(over)
    kind, element = candidate.kind, candidate.element
    if kind in ("remote_switch", "recloser"):
        k = network.locate(element)[1]
        sw = network.switches
        remote = sw.remote.copy()
        remote[k] = True
        kinds = list(sw.kind)
        if kind == "recloser":
            kinds[k] = SwitchKind.RECLOSER.value
        o = over.get(element)
        if o is not None and o.switching_h is not None:
            over[element] = replace(o, switching_h=None)  # the remote time now
        return with_tables(network, switches=replace(sw, remote=remote, kind=tuple(kinds))), over
    if kind == "new_ftu_switch":
        return split_section(network, over, network.locate(element)[1])
    # tie
    ends = []
    for node_id in (element, candidate.other):
        if node_id in network:
            ends.append(network.locate(node_id)[1])
        elif outside is not None:
            ends.append(outside)
        else:
            network.locate(node_id)  # raises: unknown
    ids = ids_of(network)
    tie_id = fresh_id(network, f"TIE-{element}-{candidate.other}")
    name = f"{element}—{candidate.other}"
    switches = add_switch(
        network,
        ids,
        tie_id,
        name,
        (ends[0], ends[1]),
        SwitchKind.LOAD_BREAK_SWITCH.value,
        False,
        float("nan"),
    )
    return with_tables(network, switches=switches, _ids=ids), over


def apply_candidate(
    network: Network, candidate: Candidate, overrides: Mapping[str, Override] | None = None
) -> tuple[Network, dict[str, Override]]:
    """``network`` (and its overrides) with ``candidate`` made: the straightforward path,
    for checks and for a plan's network after its picks. Does not check that the candidate
    applies (:meth:`Placement.check` does)."""
    return _apply(network, overrides or {}, candidate)


# -- one feeder alone -------------------------------------------------------------------------


@dataclass(slots=True)
class _Feeder:
    network: Network
    over: dict[str, Override]
    busbar: int  # in ``network``
    sums: Floats  # (4,)


# -- the evaluator ----------------------------------------------------------------------------


class Placement:
    """Candidates on ``network`` and their predicted effects (see the module docstring).

    ``costs``: the cost of one change of each kind (the settings'
    ``reliability_automation_costs``, 10k CNY); a kind without a cost cannot be evaluated.
    """

    def __init__(
        self,
        network: Network,
        costs: Mapping[str, float],
        settings: PredictSettings | None = None,
        overrides: Mapping[str, Override] | None = None,
        *,
        topology: Topology | None = None,
    ) -> None:
        for kind, cost in costs.items():
            if kind not in KINDS:
                raise InputError(f"costs: unknown kind {kind!r} (known: {', '.join(KINDS)})")
            if not (np.isfinite(cost) and cost > 0):
                raise InputError(f"costs: {kind} must be a number > 0, got {cost!r}")
        self.network = network
        self.costs = dict(costs)
        self.settings = settings or PredictSettings()
        if self.settings.tie_capacity:
            # Each feeder is evaluated alone, its ties ending on its own busbar: the receiving
            # feeder's spare capacity is not there to check.
            raise InputError(
                "placement does not check tie transfer capacity yet: evaluate without "
                "tie_capacity (predict --tie-capacity shows its effect on today's network)"
            )
        self.overrides: dict[str, Override] = dict(overrides or {})
        if topology is None:
            topology = Topology.build(network.graph_arrays(), network.closed_edges(normal=True))
        self.feeder_of = np.asarray(topology.feeder_of_nodes, dtype=np.int64)
        # closed edges of the feeders' trees (a closed edge off them is a loop edge, which
        # the engine ignores: no candidate there)
        parent_edge = np.asarray(topology.parent_edge_of_nodes, dtype=np.int64)
        self._tree = np.zeros(network.n_edges, dtype=np.bool_)
        self._tree[parent_edge[(self.feeder_of >= 0) & (parent_edge >= 0)]] = True
        self._base = _sums(network, self.settings, self.overrides)
        self._feeders: dict[int, _Feeder] = {}
        self._names = tuple(
            network.feeders.name[i] or fid for i, fid in enumerate(network.feeders.id)
        )

    # -- what applies where --------------------------------------------------------------

    def feeders_of(self, candidate: Candidate) -> tuple[int, ...]:
        """The feeders a candidate changes (checks it; see :meth:`check`)."""
        self.check(candidate)
        net, fo = self.network, self.feeder_of
        if candidate.kind == "tie":
            nodes = [net.locate(n)[1] for n in (candidate.element, candidate.other)]
        else:
            table, index = net.locate(candidate.element)
            t = net.sections if table is ElementKind.SECTION else net.switches
            nodes = [int(t.from_node[index]), int(t.to_node[index])]
        return tuple(sorted({int(fo[n]) for n in nodes if fo[n] >= 0}))

    def check(self, candidate: Candidate) -> None:
        """Raise a clear :class:`InputError` if ``candidate`` does not apply to the network:
        an unknown kind or id, or a change that makes no sense for that element."""
        kind, element, net = candidate.kind, candidate.element, self.network
        if kind not in KINDS:
            raise InputError(f"unknown candidate kind {kind!r} (known: {', '.join(KINDS)})")
        if kind == "tie":
            self._check_tie(candidate)
            return
        table, index = net.locate(element)  # UnknownDeviceError
        fo = self.feeder_of
        if kind == "new_ftu_switch":
            if table is not ElementKind.SECTION:
                raise UnsupportedOperationError(
                    element, f"new_ftu_switch needs a section, this is one of {table.value}"
                )
            sec = net.sections
            if sec.kind[index] == SectionKind.TRANSFORMER.value:
                raise UnsupportedOperationError(
                    element, "a transformer cannot be split by a switch"
                )
            if fo[sec.from_node[index]] < 0 and fo[sec.to_node[index]] < 0:
                raise UnsupportedOperationError(element, "the section is on no feeder")
            if not self._tree[index]:
                raise UnsupportedOperationError(element, _LOOP)
            return
        if table is not ElementKind.SWITCH:
            raise UnsupportedOperationError(
                element, f"{kind} needs a switch, this is one of {table.value}"
            )
        sw = net.switches
        what = sw.kind[index]
        a, b = int(sw.from_node[index]), int(sw.to_node[index])
        if fo[a] < 0 and fo[b] < 0:
            raise UnsupportedOperationError(element, "the switch is on no feeder")
        if sw.normal_closed[index] and not self._tree[len(net.sections.id) + index]:
            raise UnsupportedOperationError(element, _LOOP)
        if kind == "remote_switch":
            if what == SwitchKind.FUSE.value:
                raise UnsupportedOperationError(
                    element, "a fuse cannot be made remote (kind 'recloser' replaces it)"
                )
            if bool(sw.remote[index]):
                raise UnsupportedOperationError(element, "the switch is already remote")
            if not sw.normal_closed[index] and not (_energised(fo[a]) and _energised(fo[b])):
                raise UnsupportedOperationError(element, "an open switch to a dead node")
            return
        # recloser
        if what not in _TO_RECLOSER:
            raise UnsupportedOperationError(
                element, f"a {what} is already protective: no recloser to put in its place"
            )
        if not sw.normal_closed[index]:
            raise UnsupportedOperationError(element, "a normally-open switch cannot be a recloser")

    def _check_tie(self, candidate: Candidate) -> None:
        net, fo = self.network, self.feeder_of
        ends = []
        for node_id in (candidate.element, candidate.other):
            table, index = net.locate(node_id)
            if table is not ElementKind.NODE:
                raise UnsupportedOperationError(
                    node_id, f"a tie joins two nodes, this is one of {table.value}"
                )
            ends.append(int(fo[index]))
        a, b = ends
        if a < 0 and b < 0:
            raise UnsupportedOperationError(candidate.element, "neither end is on a feeder")
        if not (_energised(a) and _energised(b)):
            raise UnsupportedOperationError(candidate.element, "one end is on no feeder")
        if a == b:
            raise UnsupportedOperationError(
                candidate.element,
                f"both ends are on feeder {net.feeders.id[a]}: a tie must join two feeders",
            )

    def candidates(
        self,
        kinds: Iterable[str] = ("remote_switch", "new_ftu_switch", "recloser"),
        ties: Sequence[tuple[str, str]] = (),
    ) -> list[Candidate]:
        """Every candidate of ``kinds`` on the network (``tie``: the given node pairs)."""
        kinds = tuple(kinds)
        for kind in kinds:
            if kind not in KINDS:
                raise InputError(f"unknown candidate kind {kind!r} (known: {', '.join(KINDS)})")
            if kind not in self.costs:
                raise InputError(f"no cost for the candidate kind {kind!r} (costs table)")
        net, fo = self.network, self.feeder_of
        out: list[Candidate] = []
        sw, sec = net.switches, net.sections
        a_sw, b_sw = fo[sw.from_node], fo[sw.to_node]
        n_sec = len(sec.id)
        on = ((a_sw >= 0) | (b_sw >= 0)) & (~sw.normal_closed | self._tree[n_sec:])
        live = _energised(a_sw) & _energised(b_sw)
        if "remote_switch" in kinds:
            ok = on & ~sw.remote & (np.asarray(sw.kind) != SwitchKind.FUSE.value)
            ok &= sw.normal_closed | live
            out += [Candidate("remote_switch", sw.id[k]) for k in np.flatnonzero(ok).tolist()]
        if "new_ftu_switch" in kinds:
            ok = self._tree[:n_sec] & (np.asarray(sec.kind) != SectionKind.TRANSFORMER.value)
            out += [Candidate("new_ftu_switch", sec.id[e]) for e in np.flatnonzero(ok).tolist()]
        if "recloser" in kinds:
            ok = on & sw.normal_closed & np.isin(np.asarray(sw.kind), list(_TO_RECLOSER))
            out += [Candidate("recloser", sw.id[k]) for k in np.flatnonzero(ok).tolist()]
        if ties:
            if "tie" not in self.costs:
                raise InputError("no cost for the candidate kind 'tie' (costs table)")
            for a, b in ties:
                c = Candidate("tie", a, b)
                self.check(c)
                out.append(c)
        return out

    # -- evaluation ----------------------------------------------------------------------

    def _feeder(self, f: int) -> _Feeder:
        state = self._feeders.get(f)
        if state is None:
            sub, busbar = feeder_alone(self.network, self.feeder_of, f)
            state = _Feeder(
                sub, self.overrides, busbar, _sums(sub, self.settings, self.overrides)[0]
            )
            self._feeders[f] = state
        return state

    def evaluate(
        self,
        candidates: Sequence[Candidate],
        *,
        objective: str = "saidi",
        incremental: bool = True,
        progress: Progress | None = None,
    ) -> list[Effect]:
        """The effect of each candidate alone on the present network, in the given order.
        ``incremental``: predict only the touched feeders (else the whole network). The
        candidates of one feeder are predicted together, :data:`_BATCH` at a time: copies
        of the feeder's sub-network, each with one candidate made, side by side as separate
        feeders of one network (the engine is vectorised over feeders)."""
        if objective not in OBJECTIVES:
            raise InputError(f"unknown objective {objective!r} (known: {', '.join(OBJECTIVES)})")
        if not incremental:
            out = []
            for i, c in enumerate(candidates):
                out.append(self._full(c, objective))
                if progress is not None:
                    progress(i + 1, len(candidates))
            return out
        results: dict[int, Effect] = {}
        by_feeder: dict[int, list[int]] = {}
        for i, c in enumerate(candidates):
            touched = self.feeders_of(c)
            if len(touched) == 1:
                by_feeder.setdefault(touched[0], []).append(i)
            else:  # a tie, or a switch between two feeders: one at a time
                results[i] = self._incremental(c, objective)
        done = len(results)
        for f, members in by_feeder.items():
            for start in range(0, len(members), _BATCH):
                part = members[start : start + _BATCH]
                effects = self._batch(f, [candidates[i] for i in part], objective)
                results.update(zip(part, effects, strict=True))
                done += len(part)
                if progress is not None:
                    progress(done, len(candidates))
        if progress is not None and not by_feeder:
            progress(len(candidates), len(candidates))
        return [results[i] for i in range(len(candidates))]

    def _batch(self, f: int, candidates: list[Candidate], objective: str) -> list[Effect]:
        state = self._feeder(f)
        made = [_apply(state.network, state.over, c, state.busbar) for c in candidates]
        net, over = side_by_side(made)
        after = _sums(net, self.settings, over)
        return [
            self._effect(c, [(f, state.sums, after[k])], objective)
            for k, c in enumerate(candidates)
        ]

    def rank(self, effects: Iterable[Effect]) -> list[Effect]:
        """Best benefit per cost first (then larger benefit, then the candidate's order)."""
        return sorted(effects, key=lambda e: (-e.ratio, -e.benefit))

    def _incremental(self, c: Candidate, objective: str) -> Effect:
        changes = []
        for f in self.feeders_of(c):
            state = self._feeder(f)
            net, over = _apply(state.network, state.over, c, state.busbar)
            after = _sums(net, self.settings, over)[0]
            changes.append((f, state.sums, after))
        return self._effect(c, changes, objective)

    def _full(self, c: Candidate, objective: str) -> Effect:
        touched = self.feeders_of(c)
        net, over = _apply(self.network, self.overrides, c)
        after = _sums(net, self.settings, over)
        return self._effect(c, [(f, self._base[f], after[f]) for f in touched], objective)

    def _effect(
        self, c: Candidate, changes: list[tuple[int, Floats, Floats]], objective: str
    ) -> Effect:
        total = float(self._base[:, 0].sum())
        d = np.zeros(4)
        rows = []
        for f, before, after in changes:
            delta = after - before
            d += delta
            n = float(before[0])
            rows.append(
                FeederChange(
                    self.network.feeders.id[f],
                    self._names[f],
                    n,
                    float(delta[1] / n) if n > 0 else 0.0,
                    float(delta[2] / n) if n > 0 else 0.0,
                    float(delta[3]),
                )
            )
        d_saifi = float(d[1] / total) if total > 0 else 0.0
        d_saidi = float(d[2] / total) if total > 0 else 0.0
        d_eens = float(d[3])
        benefit = {"saidi": -60.0 * d_saidi, "saifi": -d_saifi, "eens": -d_eens}[objective]
        saifi, saidi, eens = self.system()
        scale = {"saidi": 60.0 * saidi, "saifi": saifi, "eens": eens}[objective]
        if abs(benefit) <= _EPS * max(scale, 1.0):
            benefit = 0.0  # rounding of sums, not a change
        cost = self.costs[c.kind]
        return Effect(
            c, self._name(c), cost, d_saifi, d_saidi, d_eens, tuple(rows), benefit, benefit / cost
        )

    def system(self) -> tuple[float, float, float]:
        """System SAIFI, SAIDI (h) and EENS (kWh/yr) of the network as given."""
        total = self._base.sum(axis=0)
        n = float(total[0])
        if n <= 0:
            return 0.0, 0.0, float(total[3])
        return float(total[1] / n), float(total[2] / n), float(total[3])

    def _name(self, c: Candidate) -> str:
        net = self.network
        if c.kind == "tie":
            names = []
            for node_id in (c.element, c.other):
                index = net.locate(node_id)[1]
                names.append(net.nodes.name[index] or node_id)
            return "—".join(names)
        table, index = net.locate(c.element)
        t = net.sections if table is ElementKind.SECTION else net.switches
        return t.name[index] or c.element

    # -- the budget plan -----------------------------------------------------------------

    def plan(
        self,
        candidates: Sequence[Candidate],
        *,
        count: int | None = None,
        cost_limit: float | None = None,
        objective: str = "saidi",
        effects: Sequence[Effect] | None = None,
        progress: Progress | None = None,
        on_pick: Callable[[int], None] | None = None,
    ) -> Plan:
        """Greedy: pick the best benefit per cost that fits the budget, make it, re-evaluate
        the candidates of the feeders it touched, repeat until ``count`` devices, the
        ``cost_limit``, or no candidate with a benefit left. ``effects``: the candidates'
        effects on the network, if the caller has them; ``on_pick(n)`` is called after the
        n-th pick (its re-evaluation done). The network itself is not changed:
        after the plan, the evaluator answers for the network as it was."""
        if count is None and cost_limit is None:
            raise InputError("a plan needs a budget: a number of devices or a cost limit")
        if count is not None and count < 1:
            raise InputError(f"budget: the number of devices must be ≥ 1, got {count}")
        if cost_limit is not None and not (np.isfinite(cost_limit) and cost_limit > 0):
            raise InputError(f"budget: the cost limit must be a number > 0, got {cost_limit}")
        current = (
            list(effects)
            if effects is not None
            else self.evaluate(candidates, objective=objective, progress=progress)
        )
        saved = {f: replace(state) for f, state in self._feeders.items()}
        try:
            steps = self._greedy(current, count, cost_limit, objective, on_pick)
        finally:
            self._feeders = saved
        return Plan(
            objective, count, cost_limit, float(self._base[:, 0].sum()), *self.system(), steps
        )

    def _greedy(
        self,
        current: list[Effect],
        count: int | None,
        cost_limit: float | None,
        objective: str,
        on_pick: Callable[[int], None] | None,
    ) -> tuple[PlanStep, ...]:
        saifi, saidi, eens = self.system()
        total_n = float(self._base[:, 0].sum())
        ci, ch = saifi * total_n, saidi * total_n
        steps: list[PlanStep] = []
        spent = 0.0
        while count is None or len(steps) < count:
            left = None if cost_limit is None else cost_limit - spent
            fits = [e for e in current if e.benefit > 0 and (left is None or e.cost <= left + 1e-9)]
            if not fits:
                break
            best = self.rank(fits)[0]
            touched = set(self.feeders_of(best.candidate))
            for f in touched:
                state = self._feeder(f)
                state.network, state.over = _apply(
                    state.network, state.over, best.candidate, state.busbar
                )
                state.sums = _sums(state.network, self.settings, state.over)[0]
            spent += best.cost
            ci += best.d_saifi * total_n
            ch += best.d_saidi_h * total_n
            eens += best.d_eens_kwh
            steps.append(
                PlanStep(
                    best,
                    spent,
                    ci / total_n if total_n else 0.0,
                    ch / total_n if total_n else 0.0,
                    eens,
                )
            )
            rest: list[Effect | Candidate] = []
            again = []
            for e in current:
                if e.candidate == best.candidate:
                    continue
                if not touched & set(self.feeders_of(e.candidate)):
                    rest.append(e)
                elif self._still_applies(e.candidate):
                    rest.append(e.candidate)
                    again.append(e.candidate)
            fresh = iter(self.evaluate(again, objective=objective))
            current = [x if isinstance(x, Effect) else next(fresh) for x in rest]
            if on_pick is not None:
                on_pick(len(steps))
        return tuple(steps)

    def _still_applies(self, c: Candidate) -> bool:
        """After picks: a switch made remote or a recloser takes no remote_switch."""
        if c.kind not in ("remote_switch", "recloser"):
            return True
        for f in self.feeders_of(c):
            sub = self._feeder(f).network
            k = sub.locate(c.element)[1]
            if c.kind == "remote_switch" and bool(sub.switches.remote[k]):
                return False
            if c.kind == "recloser" and sub.switches.kind[k] in _PROTECTIVE:
                return False
        return True


def _energised(feeder: Any) -> Any:
    """On a feeder or in a station zone (as numpy or a plain int)."""
    return (feeder >= 0) | (feeder == STATION)
